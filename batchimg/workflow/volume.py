"""The volume engine: a plan's stages, each a bounded pass over blocks read from stores.

A volume runs in the stages :func:`batchimg.workflow.plan.volume_stages` planned.
Every task of a stage reads its block plus the stage's halo from *stored* arrays
(the input file through its region reader, or an array an earlier stage wrote),
runs the local steps on the way (trimming each step's reach as it goes, scipy's
modes at the array's true edges: the core equals the steps on the whole array), and
then does the stage's own work:

- ``write``: store the outputs the stage computes (saved steps, or the input of a
  statistic);
- ``statistic``: a threshold over the whole volume (each time point and channel on
  its own), in the passes of :class:`batchimg.point.GlobalThreshold`, each block
  reduced to a small partial result;
- ``components``: labels (with the region filters after them, and the
  measurements when they are the workflow's labels) in the two passes of
  :func:`batchimg.label.label_measure_store`; holes, propagation and borders in
  those of :func:`batchimg.label.flag_store`;
- ``regions``: a region filter over stored labels (:func:`batchimg.measure.filter_mapping_delayed`,
  then :func:`batchimg.label.relabel_store`);
- ``measure``: one pass of partial sums over the stored labels.

No task waits on a neighbour's pixels, so nothing is held for neighbours: memory is
one block's region per running task, whatever the volume's size. Time points and
channels are independent images: a stage's blocks are one (time, channel) index and
a spatial block, and components never connect across them. Every block of every
pass is recorded in the staging folder's ``work/`` (written stores, ``.npz`` partial
results, markers), so a resumed run reuses everything already done.
"""

from __future__ import annotations

import functools
import io as _io
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .chunking import block_grid
from .collection import EngineResult
from .folder import Staging
from .omezarr import compressors, create_array
from .plan import INPUT, Output, Plan, PlannedStep, Stage, apply_step, make_threshold_step

log = logging.getLogger("batchimg")


# ---------------------------------------------------------------------------
# stores and regions


@dataclass(frozen=True)
class Store:
    """A stored output: where it is, and which batch axes its array has (before spatial)."""

    name: str
    path: str | None  # a zarr array; None: the input's own reader
    batch: str
    reader: Any = None


@functools.lru_cache(maxsize=128)
def _zarr(path: str, mode: str = "r"):
    from .omezarr import open_array

    return open_array(path, mode)


def _read(store: Store, fixed: dict[str, int], spatial: tuple) -> np.ndarray:
    """A region of a store: its batch axes fixed where given, the others whole."""
    index = tuple(fixed[a] if a in fixed else slice(None) for a in store.batch) + spatial
    if store.path is None:
        return np.asarray(store.reader[index])
    return np.asarray(_zarr(store.path)[index])


def _write(path: str, fixed: dict[str, int], batch: str, spatial: tuple, value) -> None:
    index = tuple(fixed[a] if a in fixed else slice(None) for a in batch) + spatial
    _zarr(path, "r+")[index] = value


def _task_outputs(plan: Plan, fixed: str, extra: dict | None = None) -> dict[str, Output]:
    """The plan's outputs as a task sees them: the fixed batch axes are gone."""
    out = {}
    for name, o in {**plan.outputs, **(extra or {})}.items():
        keep = [(a, s) for a, s in zip(o.batch, o.batch_shape, strict=True) if a not in fixed]
        out[name] = replace(
            o, batch="".join(a for a, _ in keep), batch_shape=tuple(s for _, s in keep)
        )
    return out


@dataclass(frozen=True)
class Region:
    """What every task of a stage shares to compute its outputs on one block (no pixels)."""

    plan: Plan
    stores: tuple[Store, ...]  # the stage's roots
    nodes: tuple[PlannedStep, ...]  # local steps, in order
    need: tuple[tuple[str, tuple[int, ...]], ...]  # output -> halo it must carry
    shape: tuple[int, ...]  # spatial shape
    fixed: str  # the batch axes one task fixes
    values: tuple[tuple[str, tuple], ...] = ()  # resolved statistics: step -> per-index values
    write_input: str | None = None  # result.zarr/0, written by this stage's tasks
    extra: tuple[tuple[str, Output], ...] = ()  # outputs of helper nodes (not the plan's)


def _ext(core: tuple, halo: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(
        slice(max(c.start - h, 0), min(c.stop + h, n))
        for c, h, n in zip(core, halo, shape, strict=True)
    )


def _resolved(ps: PlannedStep, src: np.ndarray, batch: str, fixed: dict, values: dict):
    """A statistic step resolved per (time, channel) index: each image its own value."""
    full = {**fixed}
    out = np.empty(src.shape, bool) if ps.op == "threshold" else None
    nb = len(batch)
    for idx in np.ndindex(*src.shape[:nb]):
        key = dict(full)
        key.update(zip(batch, idx, strict=True))
        k = tuple(key.get(a, 0) for a in ps.method[2])
        kernel = make_threshold_step(ps, values[k]).kernel
        r = kernel(src[idx])
        if out is None:
            out = np.empty(src.shape[:nb] + r.shape, r.dtype)
        out[idx] = r
    return out


def compute_region(region: Region, fixed: dict[str, int], core: tuple, want: Sequence[str]):
    """The core of every output in ``want`` for one block (see the module docstring)."""
    plan = region.plan
    need = dict(region.need)
    outputs = _task_outputs(plan, region.fixed, dict(region.extra))
    values: dict[str, tuple[np.ndarray, tuple]] = {}
    for store in region.stores:
        ext = _ext(core, need.get(store.name, (0,) * len(core)), region.shape)
        values[store.name] = (_read(store, fixed, ext), ext)
    if region.write_input is not None:
        arr, ext = values[INPUT]
        cut = tuple(
            slice(c.start - e.start, c.stop - e.start) for c, e in zip(core, ext, strict=True)
        )
        _write(region.write_input, fixed, plan.outputs[INPUT].batch, core, arr[(Ellipsis, *cut)])
    resolved = {k: dict(v) for k, v in region.values}
    for ps in region.nodes:
        if ps.name in values:
            continue
        src, sext = values[ps.source]
        ext = _ext(core, need.get(ps.name, (0,) * len(core)), region.shape)
        depth = ps.step.depth
        sub = _ext(ext, depth, region.shape)
        cut_src = tuple(
            slice(s.start - e.start, s.stop - e.start) for s, e in zip(sub, sext, strict=True)
        )
        block = src[(Ellipsis, *cut_src)]
        if ps.name in resolved:
            batch = outputs[ps.source].batch
            if ps.channel is not None:
                block = np.take(block, ps.channel, axis=batch.index("c"))
                batch = batch.replace("c", "")
            out = _resolved(ps, block, batch, fixed, resolved[ps.name])
        else:
            out = apply_step(ps, {ps.source: block}, outputs)
        trim = tuple(
            slice(e.start - s.start, e.stop - s.start) for e, s in zip(ext, sub, strict=True)
        )
        values[ps.name] = (out[(Ellipsis, *trim)], ext)
    result = {}
    for name in want:
        arr, ext = values[name]
        cut = tuple(
            slice(c.start - e.start, c.stop - e.start) for c, e in zip(core, ext, strict=True)
        )
        result[name] = np.ascontiguousarray(arr[(Ellipsis, *cut)])
    return result


# ---------------------------------------------------------------------------
# records of partial results (plain arrays, no pickle)


def _pack(obj: Any) -> bytes:
    """Nested tuples/lists of numbers, arrays and None as an ``.npz`` (no pickle)."""
    arrays: dict[str, np.ndarray] = {}

    def enc(o):
        if o is None:
            return None
        if isinstance(o, tuple | list):
            return [enc(v) for v in o]
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(o)
        return key

    tree = enc(obj)
    arrays["tree"] = np.frombuffer(json.dumps(tree).encode(), np.uint8)
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _unpack(path: str) -> Any:
    with np.load(path, allow_pickle=False) as z:
        tree = json.loads(bytes(z["tree"]).decode())

        def dec(o):
            if o is None:
                return None
            if isinstance(o, list):
                return tuple(dec(v) for v in o)
            a = z[o]
            return a[()] if a.ndim == 0 else a

        return dec(tree)


def _touch(path: str) -> None:
    from ..io import atomic_write

    atomic_write(path, b"")


# ---------------------------------------------------------------------------
# tasks


def _write_task(region: Region, fixed: dict, core: tuple, targets: tuple, done: str):
    """Compute a block's outputs and store them; mark the block done."""
    out = compute_region(region, fixed, core, [n for n, _, _ in targets])
    for name, path, batch in targets:
        _write(path, fixed, batch, core, out[name])
    _touch(done)


def _partial_task(
    region: Region,
    fixed: dict,
    core: tuple,
    source: str,
    fn,
    record: str,
    channel: int | None = None,
):
    """One block's partial result of a statistic pass (of one channel, if given), recorded."""
    from ..io import atomic_write

    arr = compute_region(region, fixed, core, [source])[source]
    batch = _task_outputs(region.plan, region.fixed)[source].batch
    if channel is not None:
        arr = np.take(arr, channel, axis=batch.index("c"))
        batch = batch.replace("c", "")
    parts = []
    for idx in np.ndindex(*arr.shape[: len(batch)]):
        parts.append(fn(arr[idx]))
    atomic_write(record, _pack(parts))
    return tuple(parts)


def _load_partial(record: str):
    return _unpack(record)


def _region_values(region: Region, fixed: dict, core: tuple, want: tuple) -> dict:
    return compute_region(region, fixed, core, list(want))


# ---------------------------------------------------------------------------
# the engine


class VolumeRun:
    """One volume run: the plan's stages in order (see the module docstring)."""

    def __init__(
        self,
        plan: Plan,
        source: Any,
        result: Any,
        staging: Staging,
        executor: Any,
        block: tuple[int, ...],
        resume: bool,
    ) -> None:
        self.plan = plan
        self.source = source
        self.result = result
        self.staging = staging
        self.executor = executor
        self.block = tuple(block)
        self.resume = resume
        self.shape = tuple(plan.image.spatial_shape)
        self.work = staging.work
        os.makedirs(self.work, exist_ok=True)
        self.stores: dict[str, Store] = {}
        self.values: dict[str, dict] = {}  # resolved statistics per step
        self.steps = {s.name: s for s in plan.steps}
        self.table_parts: list[str] = []
        self.counts: list[int] = []
        self.keys: list[tuple] = []
        self.max_label = 0
        self.statistics: dict[str, Any] = {}
        self.input_written = False

    # stores ---------------------------------------------------------------------

    def _store_for(self, name: str) -> Store:
        """Where output ``name`` is stored (result.zarr when it is a result, else work/)."""
        out = self.plan.outputs[name]
        if self.result.holds(name):
            return Store(name, self.result.array_path(name), out.batch)
        path = os.path.join(self.work, f"{name}.zarr")
        if not (self.resume and os.path.isdir(path)):
            import zarr

            group = zarr.open_group(self.work, mode="a")
            create_array(
                group,
                f"{name}.zarr",
                out.shape,
                (1,) * len(out.batch) + self.block,
                out.dtype,
                tuple(out.axes),
            )
        return Store(name, path, out.batch)

    def _input_store(self) -> Store:
        inp = self.plan.outputs[INPUT]
        if self.source.reader is not None:
            return Store(INPUT, None, inp.batch, self.source.reader)
        return Store(INPUT, self.result.array_path(INPUT), inp.batch)

    def _copy_input(self) -> None:
        """An input held in memory (or as a lazy dask array) is stored first, block by block."""
        import dask

        path = self.result.array_path(INPUT)
        inp = self.plan.outputs[INPUT]
        data = self.source.data
        tasks = []
        marks = os.path.join(self.work, "input")
        os.makedirs(marks, exist_ok=True)
        for i, (fixed, core) in enumerate(self._grid(inp.batch)):
            done = os.path.join(marks, f"{i:06d}")
            if os.path.exists(done):
                continue
            index = tuple(fixed[a] for a in inp.batch) + core
            tasks.append(dask.delayed(_copy_block, pure=False)(data[index], path, index, done))
        self.executor.compute(tasks, label="input: store", unit="block")

    def _grid(self, batch: str):
        """Every (fixed batch indices, spatial core) of one stage, in raster order."""
        inp = self.plan.outputs[INPUT]
        sizes = dict(zip(inp.batch, inp.batch_shape, strict=True))
        for bidx in np.ndindex(*[sizes[a] for a in batch]):
            fixed = dict(zip(batch, bidx, strict=True))
            for _, core in block_grid(self.shape, self.block):
                yield fixed, core

    # the stages -------------------------------------------------------------------

    def run(self) -> EngineResult:
        """Run every stage; return what was written and the table's parts."""
        self.stores[INPUT] = self._input_store()
        if self.source.reader is None:
            self._copy_input()
            self.input_written = True
        for k, stage in enumerate(self.plan.stages):
            getattr(self, f"_stage_{stage.kind}")(k, stage)
        return EngineResult(
            self.result.arrays,
            tuple(self.table_parts),
            self.counts,
            self.keys,
            (),
            self.max_label,
            self.statistics,
        )

    def _region(
        self,
        stage: Stage,
        fixed_axes: str,
        extra_need: dict | None = None,
        extra_nodes: Sequence[PlannedStep] = (),
    ) -> Region:
        """The shared context of a stage's tasks."""
        nodes = tuple(self._local(n) for n in stage.computes) + tuple(extra_nodes)
        need = dict(_needs(nodes, stage, self.plan, extra_need or {}))
        write_input = None
        if not self.input_written and INPUT in stage.roots:
            write_input = self.result.array_path(INPUT)
            self.input_written = True
        return Region(
            self.plan,
            tuple(self.stores[r] for r in stage.roots),
            nodes,
            tuple(need.items()),
            self.shape,
            fixed_axes,
            tuple((k, tuple(v.items())) for k, v in self.values.items()),
            write_input,
            tuple((n.name, n.output) for n in extra_nodes),
        )

    def _local(self, name: str) -> PlannedStep:
        s = self.steps[name]
        if s.road == "statistic":  # resolved by its statistic stage
            return make_threshold_step(s, next(iter(self.values[name].values())))
        return s

    def _stage_write(self, k: int, stage: Stage) -> None:
        import dask

        axes = _common_batch([self.plan.outputs[n] for n in stage.stores])
        targets = []
        for name in stage.stores:
            st = self._store_for(name)
            self.stores[name] = st
            targets.append((name, st.path, st.batch))
        region = self._region(stage, axes)
        marks = os.path.join(self.work, f"stage{k}")
        os.makedirs(marks, exist_ok=True)
        tasks = []
        for i, (fixed, core) in enumerate(self._grid(axes)):
            done = os.path.join(marks, f"{i:06d}")
            if os.path.exists(done):
                continue
            tasks.append(
                dask.delayed(_write_task, pure=False)(region, fixed, core, tuple(targets), done)
            )
        self.executor.compute(tasks, label=f"stage {k + 1}: {stage.reason}", unit="block")

    def _stage_statistic(self, k: int, stage: Stage) -> None:
        import dask

        from .plan import statistic_for

        s = self.plan.steps[stage.step - 1]
        src = self.plan.outputs[s.source]
        # one statistic per (time, channel) image the step reads
        axes = src.batch.replace("c", "") if s.channel is not None else src.batch
        region = self._region(replace(stage, computes=()), axes)
        keys = [tuple(fixed[a] for a in axes) for fixed, _ in self._grid(axes)][:: self._nblocks]
        stats = {key: statistic_for(s, src.dtype) for key in keys}
        passes = 0
        while True:
            fns = {key: g.block_function() for key, g in stats.items()}
            if all(f is None for f in fns.values()):
                break
            passes += 1
            tasks, where = [], []
            for i, (fixed, core) in enumerate(self._grid(axes)):
                key = tuple(fixed[a] for a in axes)
                if fns[key] is None:
                    continue
                record = os.path.join(self.work, f"stat{k}-pass{passes}-{i:06d}.npz")
                if os.path.exists(record):
                    tasks.append(dask.delayed(_load_partial)(record))
                else:
                    tasks.append(
                        dask.delayed(_partial_task, pure=False)(
                            region, fixed, core, s.source, fns[key], record, s.channel
                        )
                    )
                where.append(key)
            parts = self.executor.compute(
                tasks, label=f"stage {k + 1}: step {s.number} {s.op}, pass {passes}", unit="block"
            )
            by_key: dict[tuple, list] = {}
            for key, p in zip(where, parts, strict=True):
                by_key.setdefault(key, []).append(p[0])
            for key, ps in by_key.items():
                stats[key].merge(ps)
        self.values[s.name] = {key: g.value for key, g in stats.items()}
        found = self.values[s.name]
        self.statistics[s.name] = (
            next(iter(found.values())) if len(found) == 1 else {str(k): v for k, v in found.items()}
        )
        # the plan's step now carries the axes its values are indexed by
        self.steps[s.name] = replace(s, method=(*s.method[:2], axes))

    @property
    def _nblocks(self) -> int:
        return math.prod(-(-n // b) for n, b in zip(self.shape, self.block, strict=True))

    def _sink_arrays(
        self,
        stage: Stage,
        axes: str,
        want: Sequence[str],
        extra_need=None,
        extra_nodes: Sequence[PlannedStep] = (),
    ):
        """Dask arrays of ``want``, one region task a block, as the two-pass sinks take them.

        With batch axes, axis 0 indexes the images (the batch indices, flattened) with
        one image per chunk; a channel axis an output keeps goes last.
        """
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph

        region = self._region(stage, axes, extra_need, extra_nodes)
        grid = list(self._grid(axes))
        nb = self._nblocks
        stack = bool(axes)
        token = tokenize(
            self.staging.path,
            stage.reason,
            axes,
            tuple(want),
            self.block,
            sorted(self.values),
            [n.name for n in extra_nodes],
        )
        layer = f"stage-region-{token}"
        per_image = list(block_grid(self.shape, self.block))
        dsk = {}
        for i, (fixed, core) in enumerate(grid):
            b, j = divmod(i, nb)
            idx = ((b,) if stack else ()) + per_image[j][0]
            dsk[(layer, *idx)] = (
                functools.partial(_region_values, region, fixed, core, tuple(want)),
            )
        spatial = tuple(
            tuple(min(bk, n - s) for s in range(0, n, bk))
            for n, bk in zip(self.shape, self.block, strict=True)
        )
        chunks = (((1,) * (len(grid) // nb),) if stack else ()) + spatial
        outputs = _task_outputs(self.plan, axes, {n.name: n.output for n in extra_nodes})
        arrays = {}
        for name in want:
            getter = f"{layer}-{name}"
            keeps = outputs[name].batch  # a channel axis that stays (multichannel intensity)
            gdsk = {(getter, *key[1:]): (_getter, key, name, bool(keeps), stack) for key in dsk}
            graph = HighLevelGraph({layer: dsk, getter: gdsk}, {layer: set(), getter: {layer}})
            ch = chunks + (((outputs[name].batch_shape[0],),) if keeps else ())
            arrays[name] = da.Array(graph, getter, ch, dtype=outputs[name].dtype)
        return arrays

    def _stage_components(self, k: int, stage: Stage) -> None:
        from ..label import flag_store, label_measure_store

        s = self.plan.steps[stage.step - 1]
        last = self.plan.steps[(stage.tail[-1] if stage.tail else stage.step) - 1]
        out = self.plan.outputs[last.name]
        axes = out.batch
        measured = stage.measures
        extra_need = {}
        want = [s.source]
        if s.op == "reconstruct_by_propagation":
            extra_need[s.source] = (int(s.params.get("iterations", 1)),) * len(self.shape)
        inten = None
        if (measured and self.plan.measures_intensity) or any(
            self.plan.steps[t - 1].intensity for t in stage.tail
        ):
            inten = self.plan.intensity
            if inten not in want:
                want.append(inten)
        saved = [n for n in stage.stores if n != last.name]
        want += [n for n in saved if n not in want]
        arrays = self._sink_arrays(stage, axes, want, extra_need)
        target = self._store_for(last.name)
        self.stores[last.name] = target
        stack = bool(axes)
        also = []
        for name in saved:
            st = self._store_for(name)
            self.stores[name] = st
            sizes = self.plan.outputs[name].batch_shape
            also.append((arrays[name], _FlatTarget(st.path, sizes, stacked=stack)))
        flat_out = _FlatTarget(target.path, out.batch_shape, stacked=stack)
        journal = os.path.join(self.work, f"stage{k}")
        self._say_resumed(k, journal, len(list(self._grid(axes))))
        cache = self._cache(k, arrays[s.source])
        name = f"stage {k + 1}: step {s.number} {s.op}"
        if s.op == "label":
            filters = [
                (p["where"], p["renumber"], p["spacing"])
                for p in (self.plan.steps[t - 1].params for t in stage.tail)
            ]
            props = list(self.plan.properties) if measured else ["label"]
            table, n = label_measure_store(
                arrays[s.source],
                structure=s.params.get("structure"),
                intensity=arrays.get(inten) if inten else None,
                properties=props,
                spacing=self.plan.image.scale,
                filters=filters,
                labels_out=flat_out,
                mask_cache=cache,
                also_store=also,
                compute=self.executor.compute,
                journal=journal,
                stack=stack,
                name=name,
            )
            if measured:
                self._record_table(table, axes)
        else:
            kind = {"binary_fill_holes": "fill_holes", "clear_border": "clear_border"}.get(
                s.op, "propagation"
            )
            seed = None
            image = arrays[s.source]
            if s.op == "reconstruct_by_propagation":
                seed = self._eroded(stage, axes, s, extra_need)
            elif s.op == "binary_propagation":
                seed = image != 0
                image = image.map_blocks(np.ones_like, dtype=bool)
            flag_store(
                image,
                kind,
                out=flat_out,
                structure=s.params.get("structure"),
                seed=seed,
                cache=cache,
                buffer_size=int(s.params.get("buffer_size", 0)),
                bgval=s.params.get("bgval", 0),
                also_store=also,
                compute=self.executor.compute,
                journal=journal,
                stack=stack,
                name=name,
            )
            if measured:
                self._measure(k, last.name)

    def _say_resumed(self, k: int, journal: str, total: int) -> None:
        if self.resume and os.path.isdir(journal):
            done = sum(1 for e in os.listdir(journal) if e.startswith("pass1-"))
            log.info(
                f"resuming: {done} of {total} blocks of stage {k + 1} already through "
                "pass 1 are not computed again"
            )

    def _eroded(self, stage: Stage, axes: str, s: PlannedStep, extra_need: dict):
        """The erosion of a reconstruct_by_propagation step's input: its seeds."""
        from .._overlap import Spec
        from ..label import normalize_structure
        from ..morphology import binary_erosion

        n = len(self.shape)
        structure = normalize_structure(s.params.get("structure"), n)
        step = binary_erosion.step(
            Spec(n, np.dtype(bool), self.shape),
            structure=structure,
            iterations=int(s.params.get("iterations", 1)),
        )
        name = f"{s.name}.eroded"
        node = replace(
            s,
            name=name,
            step=step,
            kernel=step.kernel,
            road="local",
            output=replace(self.plan.outputs[s.source], name=name, dtype=np.dtype(bool)),
        )
        return self._sink_arrays(stage, axes, [name], extra_need, (node,))[name]

    def _cache(self, k: int, like):
        """The compressed cache of a sink's input (pass 2 reads it, not the upstream)."""
        import zarr

        path = os.path.join(self.work, f"stage{k}-cache.zarr")
        if self.resume and os.path.isdir(path):
            return zarr.open_array(path, mode="r+")
        chunks = tuple(c[0] for c in like.chunks)
        return zarr.create_array(
            store=path,
            shape=like.shape,
            chunks=chunks,
            dtype=like.dtype,
            compressors=compressors(),
            overwrite=True,
        )

    def _stage_regions(self, k: int, stage: Stage) -> None:
        from ..label import relabel_store
        from ..measure import filter_mapping_delayed

        s = self.plan.steps[stage.step - 1]
        out = self.plan.outputs[s.name]
        src = self.stores[s.source]
        stack = bool(out.batch)
        labels = _flat_dask(src.path, self.plan.outputs[s.source], self.block)
        intensity = None
        if s.intensity:
            arrays = self._sink_arrays(replace(stage, computes=()), out.batch, [s.intensity])
            intensity = arrays[s.intensity]
            intensity = intensity if stack else intensity[None]
            intensity = intensity.rechunk(labels.chunks + intensity.chunks[labels.ndim :])
        name = f"stage {k + 1}: step {s.number} {s.op}"
        mapping = filter_mapping_delayed(
            labels,
            s.params["where"],
            intensity,
            spacing=s.params["spacing"],
            stack=True,
            renumber=s.params["renumber"],
        )
        (mapping,) = self.executor.compute([mapping], label=f"{name}: pass 1 of 2", unit="table")
        target = self._store_for(s.name)
        self.stores[s.name] = target
        relabel_store(
            labels,
            mapping,
            out=_FlatTarget(target.path, out.batch_shape, stacked=True),
            compute=self.executor.compute,
            journal=os.path.join(self.work, f"stage{k}"),
            stack=True,
            name=name,
        )
        if stage.measures:
            self._measure(k, s.name)

    def _stage_measure(self, k: int, stage: Stage) -> None:
        self._measure(k, self.plan.labels)

    def _measure(self, k: int, name: str) -> None:
        """One pass of partial sums over the stored labels and the input."""
        from ..measure import regionprops_delayed

        out = self.plan.outputs[name]
        labels = _flat_dask(self.stores[name].path, out, self.block)
        inten = None
        needs = any(
            c.startswith(("intensity", "centroid_weighted", "moments_weighted"))
            for c, _ in self.plan.table
        )
        if needs:
            src = self.plan.intensity
            path = self.result.array_path(INPUT) if src == INPUT else self.stores[src].path
            inten = _flat_dask(path, self.plan.outputs[src], self.block, like=out)
        d = regionprops_delayed(
            labels,
            inten,
            properties=list(self.plan.properties),
            spacing=self.plan.image.scale,
            stack=True,
        )
        (table,) = self.executor.compute([d], label=f"measure {name}", unit="table")
        table = table.drop(columns=["image_label"], errors="ignore")
        # each image's labels follow the previous images' largest labels (as collections)
        n_images = labels.shape[0]
        top = np.zeros(n_images, np.int64)
        if len(table):
            np.maximum.at(top, table["image"].to_numpy(), table["label"].to_numpy())
        offsets = np.concatenate(([0], np.cumsum(top)))[:-1]
        table.insert(
            table.columns.get_loc("label") + 1,
            "global_label",
            table["label"].to_numpy() + offsets[table["image"].to_numpy()],
        )
        self._record_table(table, out.batch)

    def _record_table(self, table, axes: str) -> None:
        """Write the volume's table as one part with the plan's schema; note the counts."""
        import pyarrow as pa

        plan = self.plan
        out = plan.outputs[plan.labels]
        if "image" not in table:
            table = table.copy()
            table.insert(0, "image", np.zeros(len(table), np.int64))
        images = table["image"].to_numpy()
        sizes = out.batch_shape
        n_images = math.prod(sizes) if sizes else 1
        counts = np.bincount(images, minlength=n_images) if len(table) else np.zeros(n_images, int)
        self.counts = [int(c) for c in counts]
        self.keys = [tuple(np.unravel_index(b, sizes)) if sizes else () for b in range(n_images)]
        self.max_label = int(table["label"].max()) if len(table) else 0
        data = {}
        for col, dtype in plan.table:
            if col in ("t", "c"):
                pos = out.batch.index(col)
                idx = np.unravel_index(images, sizes)[pos] if len(images) else np.zeros(0, int)
                data[col] = pa.array(np.asarray(idx, np.int64))
            elif col == "global_label" and col not in table:
                data[col] = pa.array(table["label"].to_numpy().astype(np.int64))
            else:
                data[col] = pa.array(table[col].to_numpy().astype(dtype, copy=False))
        schema = pa.schema([(c, data[c].type) for c, _ in plan.table])
        path = os.path.join(self.work, "table.parquet")
        import pyarrow.parquet as pq

        from ..io import atomic_file

        with atomic_file(path) as f:
            pq.write_table(pa.table(data, schema=schema), f)
        self.table_parts = [path]


class _FlatTarget:
    """A zarr array of shape ``batch + spatial`` as a two-pass sink sees it.

    With ``stacked``, sinks write ``target[region]`` with region ``(image slice,
    *spatial slices)``: axis 0 runs over the batch indices, flattened (one image per
    chunk), whatever batch axes the array has (none: one image). Without, regions are
    the array's own.
    """

    def __init__(self, path: str, sizes: tuple[int, ...], stacked: bool) -> None:
        self.path = path
        self.sizes = tuple(sizes)
        self.stacked = stacked

    def _index(self, region):
        if not self.stacked:
            return region
        idx = np.unravel_index(region[0].start, self.sizes) if self.sizes else ()
        return tuple(int(i) for i in idx) + tuple(region[1:])

    def __setitem__(self, region, value):
        arr = _zarr(self.path, "r+")
        arr[self._index(region)] = value[0] if self.stacked else value

    def __getitem__(self, region):
        value = _zarr(self.path)[self._index(region)]
        return value[None] if self.stacked else value


def _flat_dask(path: str, out: Output, block: tuple, like: Output | None = None):
    """A stored output as a dask array ``(images, *spatial)`` with one image per chunk.

    With ``like`` (the labels' output), the images follow ``like``'s batch axes and an
    extra channel axis of the stored output goes last (multichannel intensity).
    """
    import dask.array as da

    arr = da.from_zarr(_zarr(path), chunks=(1,) * len(out.batch) + tuple(block))
    batch = out.batch
    if like is not None and "c" in batch and "c" not in like.batch:
        arr = da.moveaxis(arr, batch.index("c"), -1)
        batch = batch.replace("c", "")
        lead = len(batch)
        n = math.prod(arr.shape[:lead]) if lead else 1
        return arr.reshape((n, *arr.shape[lead:]))
    lead = len(batch)
    n = math.prod(arr.shape[:lead]) if lead else 1
    return arr.reshape((n, *arr.shape[lead:]))


def _copy_block(block, path, index, done):
    _zarr(path, "r+")[index] = np.asarray(block)
    _touch(done)


def _getter(values, name, channels_last, stack):
    arr = values[name]
    if channels_last:
        arr = np.moveaxis(arr, 0, -1)
    return arr[None] if stack else arr


def _common_batch(outputs: Sequence[Output]) -> str:
    axes = None
    for o in outputs:
        axes = set(o.batch) if axes is None else axes & set(o.batch)
    return "".join(a for a in "tc" if axes and a in axes)


def _needs(nodes, stage: Stage, plan: Plan, extra: dict):
    """The halo each output of a stage must carry (the roots' is the stage's halo)."""
    n = len(plan.image.spatial_shape)
    need: dict[str, list[int]] = {}
    for name in stage.computes + stage.stores + tuple(extra):
        need.setdefault(name, [0] * n)
    for name, h in extra.items():
        need[name] = [max(a, b) for a, b in zip(need.get(name, [0] * n), h, strict=True)]
    for ps in reversed(nodes):
        mine = need.get(ps.name, [0] * n)
        up = [m + d for m, d in zip(mine, ps.step.depth, strict=True)]
        prev = need.get(ps.source, [0] * n)
        need[ps.source] = [max(a, b) for a, b in zip(prev, up, strict=True)]
    return {k: tuple(v) for k, v in need.items()}


def run_volume(
    plan: Plan,
    source: Any,
    result: Any,
    staging: Staging,
    executor: Any,
    *,
    block: tuple[int, ...],
    resume: bool = False,
) -> EngineResult:
    """Run a volume plan's stages (see the module docstring); return what was written."""
    return VolumeRun(plan, source, result, staging, executor, block, resume).run()


__all__ = ["VolumeRun", "compute_region", "run_volume"]
