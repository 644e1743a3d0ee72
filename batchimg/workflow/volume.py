"""Label, filter and measure a volume in two bounded passes, writing labels to Zarr.

This is the sink behind volume workflows. Memory is set by the chunk size, never
by the volume's size, and every upstream step runs once per chunk:

**Pass 1** (one task per block): compute the mask block (the upstream chain runs
here, once), write it to a compressed cache array, label the block locally with
``scipy.ndimage.label``, and keep only per-label summaries -- the first pixel of
each local label, the block's boundary faces, and the partial statistics of every
requested measurement (:func:`batchimg._reduce.block_stats` on the *local*
labels). Small pairing tasks turn neighbouring faces into equivalences. The local
label image is dropped.

**Resolve** (in memory, per label): union the equivalences, number components by
their first pixel (scipy's raster order), merge the per-block statistics by
component, evaluate the region filter, and renumber the kept regions.

**Pass 2** (one task per block): read the cached mask block, label it again
(deterministic, and cheaper than keeping int32 labels for the whole volume), map
local labels through the block's small lookup table, and write the final labels.

The labels equal ``scipy.ndimage.label`` (then ``filter_regions``) on the whole
array, and the table equals ``regionprops_table`` of those labels.

The end of this module runs a workflow on a volume: :func:`_run_volume` uses the
two passes when the workflow ends in ``label`` (and ``filter_regions``), and
otherwise stores the lazy arrays of :func:`.graph.build_graph` and computes the
table in one ``dask.compute``.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from .. import _reduce
from .. import label as L
from .. import measure as M
from .._overlap import Spec
from . import outputs, registry
from .graph import (
    _props,
    _sources,
    build_graph,
    compute,
    intensity_name,
    local_step,
    needed_outputs,
    resolve_params,
)
from .spec import INPUT, Workflow


def streamed_arrays(
    read: Any,
    x: da.Array,
    steps: Sequence[Any],
    want: dict[int, str],
) -> dict[str, da.Array] | None:
    """The outputs ``want`` of a chain of local steps over ``x``, one task per block.

    Each block's task reads its block and the chain's halo straight from ``read``
    (the input's own storage: a raw file, a Zarr array) and runs the whole chain
    (:func:`batchimg._overlap.run_on_region`); the outputs are views of that one
    task. No block's data is held for its neighbours, so pass 1 holds one region
    per running task whatever the volume's size (halo exchanges between tasks made
    dask keep a slab of neighbouring blocks alive, which grew with the volume).
    Returns None when the chain cannot run this way (``region_depth``).
    """
    import operator

    from .._overlap import region_depth, run_on_region

    depth = region_depth(steps) if steps else (0,) * x.ndim
    if depth is None:
        return None
    token = tokenize(x.name, [s.token for s in steps], sorted(want.items()), x.chunks)
    layer = f"chain-region-{token}"
    dsk: dict = {}
    for idx, start in _reduce.block_offsets(x.chunks):
        core = tuple(slice(b, b + c[i]) for b, c, i in zip(start, x.chunks, idx, strict=True))
        dsk[(layer, *idx)] = (
            functools.partial(
                run_on_region,
                read,
                core,
                x.shape,
                tuple(steps),
                depth,
                want,
            ),
        )
    dtypes = {want[i]: (x.dtype if i < 0 else steps[i].dtype) for i in want}
    out = {}
    for name, dtype in dtypes.items():
        getter = f"{layer}-{name}"
        gdsk = {(getter, *k[1:]): (operator.getitem, k, name) for k in dsk}
        graph = HighLevelGraph({layer: dsk, getter: gdsk}, {layer: set(), getter: {layer}})
        out[name] = da.Array(graph, getter, x.chunks, dtype=dtype)
    return out


def _write_block(block, *, target, region, done=None):
    target[region] = block
    if done is not None:
        _touch(done)


def _touch(path: str) -> None:
    from .journal import atomic_write

    atomic_write(path, b"")


def _recorded(*blocks, func, path):
    """Run pass 1 on a block and record its result (plain arrays, written atomically)."""
    import io as _io

    from .journal import atomic_write

    small, faces, stats = func(*blocks)
    arrays = {"n": np.asarray(small["n"]), "first": small["first"]}
    for a, (lo, hi) in enumerate(faces["labels"]):
        arrays[f"face{a}_lo"] = lo
        arrays[f"face{a}_hi"] = hi
    for k, v in stats.items():
        arrays[f"stat_{k}"] = v
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())
    return small, faces, stats


def _load_pass1(*, path, ndim):
    with np.load(path, allow_pickle=False) as z:
        small = {"n": int(z["n"]), "first": z["first"]}
        faces = {"labels": [(z[f"face{a}_lo"], z[f"face{a}_hi"]) for a in range(ndim)]}
        stats = {k[5:]: z[k] for k in z.files if k.startswith("stat_")}
    return small, faces, stats


def _pass1_block(mask, *intensity, structure, start, shape, needs, cache=None, region=None):
    if cache is not None:
        cache[region] = mask != 0
    local, n = ndi.label(mask, structure)
    nz = np.flatnonzero(local)
    img = intensity[0] if intensity else None
    stats = _reduce._sparse_stats(local, img, start, shape, needs | {"first"}, nz)
    stats["image"] = np.zeros(n, np.int64)
    small = {"n": n, "first": stats["first"]}
    return small, {"labels": L._faces(local)}, stats


def _pass2_block(mask, mapping, *, structure, target, region, done=None):
    local, _ = ndi.label(mask, structure)
    target[region] = mapping[local]
    if done is not None:
        _touch(done)


def _resolve(smalls, pairs, pair_blocks, tables, *, where, props, ndim, spacing, dtype):
    ncomp, glob, counts, bases = L._raster_numbers(smalls, pairs, pair_blocks)
    merged = None
    if tables is not None:
        parts = []
        for t, base in zip(tables, bases, strict=True):
            if len(t["label"]):
                t = dict(t)
                t["label"] = glob[base + t["label"] - 1]
                parts.append(t)
        if parts:
            merged = _reduce.group(_reduce._concat(parts))
        else:
            merged = tables[0]
    new = np.arange(ncomp + 1, dtype=np.int64)  # global label -> final label
    if where is not None:
        frame = M._frame(merged, props, ndim, spacing, False)
        keep = np.asarray(_reduce.evaluate(where, frame), bool)
        new = np.zeros(ncomp + 1, np.int64)
        new[merged["label"][keep]] = np.arange(1, int(keep.sum()) + 1)
        merged = {k: v[keep] for k, v in merged.items()}
        merged["label"] = new[merged["label"]]
    final = new[glob]
    maps = [
        np.concatenate([[0], final[b : b + c]]).astype(dtype)
        for b, c in zip(bases, counts, strict=True)
    ]
    n = int(new.max(initial=0))
    return n, maps, merged


def label_measure_store(
    mask: da.Array,
    *,
    structure: Any = None,
    intensity: da.Array | None = None,
    properties: Sequence[str] = ("label", "area"),
    spacing: Any = None,
    where: str | None = None,
    labels_out: Any = None,
    mask_cache: Any = None,
    also_store: Sequence[tuple[da.Array, Any]] = (),
    compute: Any = dask.compute,
    journal: str | None = None,
):
    """Label ``mask``, keep the regions satisfying ``where``, measure them, store labels.

    A sink that computes: pass 1 and ``also_store`` (saved steps, written from the
    same upstream tasks) in one ``compute`` call, then pass 2.

    Parameters
    ----------
    mask : dask.array.Array
        The (lazy) binary image; nonzero is foreground.
    structure : array_like, optional
        Connectivity for ``scipy.ndimage.label``; default connectivity 1.
    intensity : dask.array.Array, optional
        Intensity image for intensity measurements.
    properties : sequence of str
        ``regionprops_table`` properties to measure.
    spacing : float or sequence of float, optional
        Pixel size per axis.
    where : str, optional
        ``filter_regions`` condition.
    labels_out : zarr.Array, optional
        Where the final labels go (same shape; chunks aligned with ``mask``'s).
    mask_cache : zarr.Array, optional
        A bool array of ``mask``'s shape and chunks; with it, pass 2 reads the mask
        from there instead of recomputing the upstream chain.
    also_store : sequence of (dask.array.Array, zarr.Array)
        Further arrays to write during pass 1.
    compute : callable
        ``dask.compute`` or a scheduler-bound equivalent (``compute(*objs)``).

    Returns
    -------
    table : pandas.DataFrame
        ``regionprops_table`` of the final labels (``label`` always included).
    n : int
        Number of final labels.
    """
    ndim = mask.ndim
    s = L._normalize_structure(structure, ndim)
    props = M._normalize_properties(properties, intensity is not None)
    node = None if where is None else _reduce.parse_where(where)
    filter_props = () if node is None else _where_properties(node, ndim)
    all_props = tuple(dict.fromkeys(("label", *props, *filter_props)))
    needs = M._needs(all_props)
    sp = M._normalize_spacing(spacing, ndim)
    dtype = L.label_dtype(mask.shape)
    if intensity is not None and intensity.chunks != mask.chunks:
        intensity = intensity.rechunk(mask.chunks)

    # pass 1 -------------------------------------------------------------------------
    token = tokenize(mask.name, None if intensity is None else intensity.name, s, needs)
    p1 = f"label-pass1-{token}"
    pr = f"label-pairs-{token}"
    # every block's index, start and region, in the raster order of the block grid
    layout = [
        (
            idx,
            start,
            tuple(slice(b, b + c[i]) for b, c, i in zip(start, mask.chunks, idx, strict=True)),
        )
        for idx, start in _reduce.block_offsets(mask.chunks)
    ]
    grid = [idx for idx, _, _ in layout]
    dsk: dict = {}
    for i, (idx, start, region) in enumerate(layout):
        # pass 1 also writes the mask block to the cache: the upstream runs once
        func = functools.partial(
            _pass1_block,
            structure=s,
            start=start,
            shape=mask.shape,
            needs=needs,
            cache=mask_cache,
            region=region,
        )
        args = [(mask.name, *idx)]
        if intensity is not None:
            args.append((intensity.name, *idx))
        record = None if journal is None else os.path.join(journal, f"pass1-{i:06d}.npz")
        if record is not None and os.path.exists(record):
            dsk[(p1, *idx)] = (functools.partial(_load_pass1, path=record, ndim=ndim),)
        elif record is not None:
            dsk[(p1, *idx)] = (functools.partial(_recorded, func=func, path=record), *args)
        else:
            dsk[(p1, *idx)] = (func, *args)
    offsets = np.argwhere(s) - 1
    pair_keys, pair_blocks = L._pair_tasks(dsk, pr, mask.numblocks, offsets, p1, _pair_from_pass1)
    # what the resolve step needs of each block (its first pixels and statistics),
    # without the boundary faces: a block's faces are released as soon as its pair
    # tasks have run, so memory never holds the faces of the whole volume
    p1s = f"label-pass1-small-{token}"
    for idx in grid:
        dsk[(p1s, *idx)] = (_drop_faces, (p1, *idx))
    # saved steps are written by tasks of this same graph (not by da.store, whose
    # array optimisation would fuse and rename the upstream tasks it shares with
    # pass 1, so they would run twice)
    writes = []
    for j, (a, target) in enumerate(also_store):
        a = a.rechunk(mask.chunks)
        for i, (idx, _, region) in enumerate(layout):
            key = (f"label-save-{j}-{token}", *idx)
            done = None if journal is None else os.path.join(journal, f"save{j}-{i:06d}")
            if done is not None and os.path.exists(done):
                continue
            dsk[key] = (
                functools.partial(_write_block, target=target, region=region, done=done),
                (a.name, *idx),
            )
            writes.append(key)
    deps = [mask, *(a for a, _ in also_store)] + ([intensity] if intensity is not None else [])
    if journal is not None:
        os.makedirs(journal, exist_ok=True)
    graph = HighLevelGraph.from_collections(p1, dsk, dependencies=deps)
    keys = [(p1s, *idx) for idx in grid] + pair_keys + writes
    (values,) = compute([Delayed(k, graph, layer=p1) for k in keys])
    blocks = values[: len(grid)]
    pairs = values[len(grid) : len(grid) + len(pair_keys)]
    smalls = [b[0] for b in blocks]
    tables = [b[2] for b in blocks]

    # resolve --------------------------------------------------------------------------
    n, maps, merged = _resolve(
        smalls,
        pairs,
        pair_blocks,
        tables,
        where=node,
        props=all_props,
        ndim=ndim,
        spacing=sp,
        dtype=dtype,
    )
    if merged is None:
        merged = _reduce.empty_table(ndim, needs)
    table = M._frame(merged, props if "label" in props else ("label", *props), ndim, sp, False)

    # pass 2 -------------------------------------------------------------------------
    if labels_out is not None:
        src = mask
        if mask_cache is not None:
            src = da.from_zarr(mask_cache, chunks=mask.chunks)
        p2 = f"label-pass2-{tokenize(token, src.name, [m.tobytes() for m in maps])}"
        dsk2 = {}
        for i, (idx, _, region) in enumerate(layout):
            done = None if journal is None else os.path.join(journal, f"pass2-{i:06d}")
            if done is not None and os.path.exists(done):
                continue
            dsk2[(p2, *idx)] = (
                functools.partial(
                    _pass2_block, structure=s, target=labels_out, region=region, done=done
                ),
                (src.name, *idx),
                maps[i],
            )
        if dsk2:
            g2 = HighLevelGraph.from_collections(p2, dsk2, dependencies=[src])
            compute([Delayed(k, g2, layer=p2) for k in dsk2])
    return table, n


def _drop_faces(block):
    small, _, stats = block
    return small, None, stats


def _pair_from_pass1(a, b, *, d, offsets):
    return L._face_pairs(a[1], b[1], d=d, offsets=offsets)


def _where_properties(node: tuple, ndim: int) -> tuple[str, ...]:
    columns = {c: p for p in M.PROPERTIES for c in M._columns(p, ndim)}
    out = []
    for col in sorted(_reduce.where_columns(node)):
        if col not in columns:
            from .._params import _did_you_mean
            from ..errors import InvalidParameterError

            raise InvalidParameterError(
                f"where must name measurement columns; got unknown column {col!r}."
                f"{_did_you_mean(col, list(columns))}"
            )
        out.append(columns[col])
    return tuple(dict.fromkeys(out))


# ---------------------------------------------------------------------------
# a workflow on a volume


def _regular(a: da.Array, chunks: tuple[int, ...]) -> da.Array:
    target = da.core.normalize_chunks(chunks, a.shape)
    return a if a.chunks == target else a.rechunk(target)


def _two_pass_plan(wf: Workflow) -> tuple[int, Any, str | None] | None:
    """Return how the two-pass engine runs the workflow's tail, or None if it cannot.

    It can when the tail is ``label`` then only ``filter_regions`` steps, nothing
    from the label step on is saved or read by name, and there is no ``axes``. The
    plan is ``(index of the label step, its structure, the combined where)``.
    """
    ops = [s.op for s in wf.steps]
    if "label" not in ops:
        return None
    k = ops.index("label")
    tail = wf.steps[k + 1 :]
    if any(s.op != "filter_regions" for s in tail):
        return None
    names = {s.name for s in wf.steps[k:]}
    if any(s.source is not None for s in wf.steps[k:]) or names & set(wf.save):
        return None
    if wf.steps[k].params.get("axes") is not None:
        return None
    if any(s.params.get("spacing") is not None for s in tail):
        return None
    wheres = [s.params.get("where", "area > 10") for s in tail]
    where = " and ".join(f"({w})" for w in wheres) if wheres else None
    return k, wf.steps[k].params.get("structure"), where


def _chain_regions(wf: Workflow, src: Any, k: int, need: set[str]) -> dict | None:
    """The ``need`` outputs of the steps before ``label``, one task per block.

    Each task reads its own region of the input (:func:`streamed_arrays`).
    None when that cannot be (an input not in a file, a step that is not local or
    reads another's output, a ``wrap`` mode): the chain then runs as a graph of
    halo exchanges.
    """
    if src.reader is None:
        return None
    ops = registry.operations()
    names, steps = [INPUT], []
    dtype, shape = src.data.dtype, tuple(src.data.shape)
    for s, source in zip(wf.steps[:k], _sources(wf)[:k], strict=True):
        if source != names[-1]:
            return None
        op = ops[s.op]
        step = local_step(
            op, resolve_params(op, s.params, len(shape)), Spec(len(shape), dtype, shape)
        )
        if step is None:
            return None
        steps.append(step)
        names.append(s.name)
        dtype = step.dtype
    if not need <= set(names):
        return None
    want = {names.index(n) - 1: n for n in need}
    return streamed_arrays(src.reader, src.data, steps, want)


def _run_volume_two_pass(wf, src, group, staging, plan, scheduler, workers, progress, resume):
    """Label, filter and measure in two bounded passes (see :mod:`.volume`).

    Finished blocks are recorded in ``staging/.volume-journal``; with ``resume`` the
    arrays of the interrupted run are reopened and every recorded block is skipped.
    """
    import zarr

    k, structure, where = plan
    mask_name = wf.steps[k - 1].name if k > 0 else INPUT
    props = _props(wf)
    needs_img = any(p in registry.intensity_properties() for p in props) or (
        where is not None and any(p in where for p in registry.intensity_properties())
    )
    inten_name = intensity_name(wf)
    need = (set(wf.save) | {mask_name} | ({inten_name} if needs_img else set())) - {
        s.name for s in wf.steps[k:]
    }
    arrays_d = _chain_regions(wf, src, k, need) or build_graph(wf, src.data, need=need)
    chunks = src.data.chunksize
    also, arrays = [], {}
    for name in wf.save:
        a = _regular(arrays_d[name], chunks)
        if resume:
            target = group[name]
        else:
            target = outputs.create_array(group, name, a.shape, chunks, a.dtype, {"step": name})
        also.append((a, target))
        arrays[name] = a.shape
    mask = _regular(arrays_d[mask_name], chunks)
    dtype = L.label_dtype(mask.shape)
    if resume:
        target = group[outputs.LABELS_PATH]
    else:
        target = outputs.create_labels(group, mask.shape, chunks, dtype, collection=False)
    arrays[outputs.LABELS_PATH] = mask.shape
    cache_path = os.path.join(staging, ".mask-cache.zarr")
    journal_path = os.path.join(staging, ".volume-journal")
    if resume and os.path.isdir(cache_path):
        cache = zarr.open_array(cache_path, mode="r+")
        recorded = (
            [f for f in os.listdir(journal_path) if f.startswith("pass1-")]
            if os.path.isdir(journal_path)
            else []
        )
        sys.stderr.write(
            f"resuming: {len(recorded)} of {mask.npartitions} volume block(s) already through "
            "pass 1 are not computed again\n"
        )
    else:
        shutil.rmtree(journal_path, ignore_errors=True)
        cache = zarr.create_array(
            store=cache_path, shape=mask.shape, chunks=chunks, dtype=bool, overwrite=True
        )
    s = None if structure is None else registry.resolve_structure(structure, mask.ndim)
    intensity = _regular(arrays_d[inten_name], chunks) if needs_img else None
    frame, n = label_measure_store(
        mask,
        structure=s,
        intensity=intensity,
        properties=list(props) or ["label"],
        where=where,
        labels_out=target,
        mask_cache=cache,
        also_store=also,
        compute=lambda *objs: compute(
            *objs, scheduler=scheduler, workers=workers, progress=progress
        ),
        journal=journal_path,
    )
    shutil.rmtree(cache_path, ignore_errors=True)
    shutil.rmtree(journal_path, ignore_errors=True)
    return frame, arrays, n


def _run_volume(wf, src, group, scheduler, workers, progress, staging=None, resume=False):
    plan = _two_pass_plan(wf)
    if plan is not None and staging is not None and src.data.ndim >= 1:
        return _run_volume_two_pass(
            wf, src, group, staging, plan, scheduler, workers, progress, resume
        )
    need = needed_outputs(wf)
    arrays_d = build_graph(wf, src.data, need=need)
    chunks = src.data.chunksize
    sources, targets, arrays = [], [], {}
    for name in wf.save:
        a = _regular(arrays_d[name], chunks)
        targets.append(outputs.create_array(group, name, a.shape, chunks, a.dtype, {"step": name}))
        sources.append(a)
        arrays[name] = a.shape
    table_d = None
    n_d = None
    if wf.label_step is not None:
        lab = _regular(arrays_d[wf.label_step.name], chunks)
        targets.append(outputs.create_labels(group, lab.shape, chunks, lab.dtype, collection=False))
        sources.append(lab)
        arrays[outputs.LABELS_PATH] = lab.shape
        props = _props(wf)
        needs_img = any(p in registry.intensity_properties() for p in props)
        intensity = arrays_d[intensity_name(wf)] if needs_img else None
        table_d = M.regionprops_delayed(lab, intensity, properties=list(props))
        n_d = lab.max()
    store_d = da.store(sources, targets, lock=False, compute=False) if sources else None
    _, frame, n = compute(
        store_d, table_d, n_d, scheduler=scheduler, workers=workers, progress=progress
    )
    max_label = 0 if n is None else int(n)
    return frame, arrays, max_label
