"""The collection engine: one task per group of files, each image run whole in memory.

Each task reads its images (:attr:`batchimg.io.Input.image_reader`, retried), runs
every step of the plan on each whole image (a local step's kernel on the whole image
*is* the scipy function on it; spatial steps run on every time point and channel
separately), labels it with ``scipy.ndimage.label``, filters and measures its
regions, writes the input, the saved steps and the labels into its slots of
``result.zarr``, then its table rows (a Parquet part with the plan's schema), then
its manifest record, last. A file that cannot be read, decodes to another layout or
makes a step fail is left out (its slots stay 0) and recorded; the others go on.
Labels are per image (per time point and channel where the labels have them);
``global_label`` numbers them on across the collection in file order.

A threshold computed over the whole collection (``per_image: false``) is a first
pass: :class:`batchimg.point.GlobalThreshold` over every image's input to that step,
one image at a time, so memory never holds the collection.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError
from . import folder as F
from .plan import INPUT, Plan, intensity_for, make_threshold_step, run_image, statistic_for


@dataclass(frozen=True)
class EngineResult:
    """What an engine produced (the table is in ``parts``, read one at a time).

    Parameters
    ----------
    arrays : dict
        Path in result.zarr -> shape.
    parts : tuple of str
        The table's part files (paths), in row order; the table's rows are theirs.
    counts : list of int
        Regions per labelled sub-image, in table order (global numbering).
    keys : list of tuple
        The key of each sub-image of ``counts`` (``(slot, t, c)`` as present).
    failures : tuple of dict
        ``errors.csv`` rows of the inputs left out, in file order.
    max_label : int
        The largest label value written.
    statistics : dict
        Thresholds computed over the whole input: step name -> value.
    """

    arrays: dict
    parts: tuple[str, ...]
    counts: list[int]
    keys: list[tuple]
    failures: tuple[dict, ...] = ()
    max_label: int = 0
    statistics: dict | None = None


@functools.lru_cache(maxsize=64)
def _output_array(path: str, run: str):
    """An output array opened once per process and run (``run``: its staging folder)."""
    from .omezarr import open_array

    return open_array(path, "r+")


@dataclass(frozen=True)
class _Job:
    """What every collection task shares (small: the plan and paths, no pixels)."""

    plan: Plan
    read: Any  # the Input's ImageReader
    targets: dict  # plan output -> path of its full-resolution array
    staging: str
    retries: int = 2
    max_failures: int | None = None
    open_failed: int = 0


def _read(job: _Job, path: str) -> np.ndarray:
    for attempt in range(job.retries + 1):
        try:
            return job.read(path)
        except Exception:
            if attempt >= job.retries:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def measure_image(plan: Plan, values: dict) -> list[tuple[tuple, dict]]:
    """The table rows of one image: ``(batch index, columns)`` per labelled sub-image."""
    from ..measure import regionprops_columns

    labels = values[plan.labels]
    lab_out = plan.outputs[plan.labels]
    needs = any(
        c.startswith(("intensity", "centroid_weighted", "moments_weighted")) for c, _ in plan.table
    )
    inten = plan.outputs[plan.intensity]
    rows = []
    batch_shape = labels.shape[: len(lab_out.batch)]
    for idx in np.ndindex(*batch_shape):
        img = intensity_for(lab_out, inten, values[plan.intensity], idx) if needs else None
        columns = regionprops_columns(
            labels[idx], img, properties=list(plan.properties), spacing=plan.image.scale
        )
        rows.append((idx, columns))
    return rows


def _arrow(values: np.ndarray, strings: bool = False):
    """An Arrow array of ``values`` (numbers, or strings), made from buffers.

    ``pyarrow.array`` imports pandas to ask whether its argument is a pandas object;
    a worker process has no other use for pandas (half a second to import).
    """
    import pyarrow as pa

    n = len(values)
    if strings:
        encoded = [str(v).encode() for v in values]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        data = pa.py_buffer(b"".join(encoded))
        return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), data])
    v = np.ascontiguousarray(values)
    if v.dtype.kind not in "iuf":  # a table column is an integer or a float
        raise AssertionError(f"no Arrow buffer layout here for {v.dtype}")
    return pa.Array.from_buffers(pa.from_numpy_dtype(v.dtype), n, [None, pa.py_buffer(v)])


def _part(plan: Plan, keys: list, columns: list):
    """One Arrow table of a task's rows, with the plan's schema (global_label left out)."""
    import pyarrow as pa

    from .tables import SLOT, SUB

    fields = [(k, d) for k, d in plan.table if k != "global_label"]
    sizes = [len(next(iter(c.values()))) if c else 0 for c in columns]
    batch_shape = plan.outputs[plan.labels].batch_shape
    subs = [int(np.ravel_multi_index(k[1], batch_shape)) if batch_shape else 0 for k in keys]
    data = {
        SLOT: _arrow(np.repeat(np.asarray([k[2] for k in keys], np.int64), sizes)),
        SUB: _arrow(np.repeat(np.asarray(subs, np.int64), sizes)),
    }
    for name, dtype in fields:
        if name == "image":
            data[name] = _arrow(np.repeat(np.asarray([k[0] for k in keys], object), sizes), True)
        elif name in ("t", "c"):
            pos = plan.outputs[plan.labels].batch.index(name)
            data[name] = _arrow(np.repeat(np.asarray([k[1][pos] for k in keys], np.int64), sizes))
        else:
            parts = [np.asarray(c[name]) for c in columns]
            vals = np.concatenate(parts) if parts else np.zeros(0, dtype)
            data[name] = _arrow(vals.astype(dtype, copy=False))
    schema = pa.schema([(n, data[n].type) for n in [SLOT, SUB, *(f for f, _ in fields)]])
    return pa.table(data, schema=schema)


def _task(index: int, items: Sequence[tuple[int, str]], start: int, stop: int, job: _Job) -> dict:
    """Run the workflow on one group of images, each on its own; record the group."""
    plan = job.plan
    staging = F.Staging(job.staging)
    keep = set(job.targets) | ({plan.intensity} if plan.labels else set())
    out = {
        name: np.zeros((stop - start, *plan.outputs[name].shape), plan.outputs[name].dtype)
        for name in job.targets
    }
    keys, columns, failures, hashes = [], [], [], {}
    counts: dict[str, list[int]] = {}
    for slot, path in items:
        i = slot - start
        step = "read"
        try:
            image = _read(job, path)
            step = "workflow"
            values = run_image(plan, image, keep=keep)
            step = "measure"
            rows = measure_image(plan, values) if plan.labels is not None else []
            step = "read"
            digest = F.file_hash(path)
        except Exception as exc:
            for arr in out.values():
                arr[i] = 0
            row = F.error_row(path, getattr(exc, "batchimg_step", step), exc)
            row["slot"] = slot
            failures.append(row)
            staging.record_failure(slot, row)
            continue
        for name in job.targets:
            out[name][i] = values[name]
        if plan.labels is not None:
            lab = values[plan.labels]
            nb = len(plan.outputs[plan.labels].batch)
            counts[str(slot)] = [
                int(lab[idx].max(initial=0)) for idx in np.ndindex(*lab.shape[:nb])
            ]
            for idx, cols in rows:
                keys.append((path, idx, slot))
                columns.append(cols)
        hashes[str(slot)] = digest
    for name, block in out.items():
        _output_array(job.targets[name], job.staging)[start:stop] = block
    part = None
    if plan.labels is not None and keys:
        part = staging.write_part(index, _part(plan, keys, columns))
    record = {
        "chunk": index,
        "start": start,
        "stop": stop,
        "counts": counts,
        "failed": failures,
        "hashes": hashes,
        "part": part,
    }
    staging.record_chunk(index, record)
    if job.max_failures is not None:
        n = staging.count_failures() + job.open_failed
        if n > job.max_failures:
            latest = (
                f"; latest: {failures[-1]['path']!r}: {failures[-1]['message']}" if failures else ""
            )
            raise InputError(
                f"more than max_failures={job.max_failures} inputs failed ({n} so far{latest})."
            )
    return {"chunk": index}


def _prefix_values(image, *, plan: Plan, upto: int, read: Any, retries: int, take: str):
    """One image's input to step ``upto`` (the steps before it, run in memory)."""
    job = _Job(plan, read, {}, "", retries)
    values = run_image(replace(plan, steps=plan.steps[:upto]), _read(job, image))
    return values[take]


def _collection_statistics(plan, source, executor, retries, per_task) -> tuple[Plan, dict]:
    """First passes for thresholds computed over the whole collection (per_image: false)."""
    import dask

    found = {}
    steps = list(plan.steps)
    paths = [p for k, p in enumerate(source.paths) if k not in source.failed]
    for i, s in enumerate(steps):
        if s.road != "statistic":
            continue
        src = plan.outputs[s.source]
        g = statistic_for(s, src.dtype)
        passes = 0
        while (fn := g.block_function()) is not None:
            passes += 1
            # the plan rides in a partial: dask walks a call's arguments, dataclasses too
            part = functools.partial(
                _group_partials,
                fn=fn,
                plan=replace(plan, steps=tuple(steps)),
                upto=i,
                read=source.image_reader,
                retries=retries,
                take=s.source,
            )
            tasks = [
                dask.delayed(part, pure=False)(paths[k : k + per_task])
                for k in range(0, len(paths), per_task)
            ]
            groups = executor.compute(
                tasks, label=f"step {s.number} {s.op}: pass {passes}", unit="task"
            )
            g.merge([p for group in groups for p in group])
        found[s.name] = g.value
        steps[i] = make_threshold_step(s, g.value)
    return replace(plan, steps=tuple(steps)), found


def _group_partials(paths: Sequence[str], *, fn, **kw) -> list:
    """One statistic pass's partial results for a group of images, in order."""
    return [fn(np.ascontiguousarray(_prefix_values(p, **kw))) for p in paths]


def run_collection(
    plan: Plan,
    source: Any,
    result: Any,
    staging: F.Staging,
    executor: Any,
    *,
    per_task: int,
    resume: bool = False,
    verify: bool = False,
    retries: int = 2,
    max_failures: int | None = None,
) -> EngineResult:
    """Run a collection in tasks of whole Zarr chunks, recording each as it finishes.

    With ``resume``, tasks recorded in the staging folder's manifest are skipped.

    Raises
    ------
    InputError
        When more than ``max_failures`` inputs failed, or every input did.
    """
    import dask

    n = len(source.paths)
    targets = {name: result.array_path(name) for name in [INPUT, *plan.saved]}
    if plan.labels is not None:
        targets[plan.labels] = result.array_path(plan.labels)
    staging.ensure_dirs()
    done = staging.done_chunks() if resume else {}
    staging.forget_unfinished(done)
    bounds = [(i, s, min(s + per_task, n)) for i, s in enumerate(range(0, n, per_task))]
    if resume:
        import logging

        logging.getLogger("batchimg").info(
            f"resuming: {len(done)} of {len(bounds)} task(s) already done"
        )
        if verify:
            _verify_hashes(source.paths, done)
    open_rows = [dict(row, slot=slot) for slot, row in sorted(source.failed.items())]
    if max_failures is not None and len(open_rows) > max_failures:
        F.write_errors(os.path.join(os.path.dirname(staging.path), F.ERRORS), open_rows)
        raise InputError(
            f"more than max_failures={max_failures} inputs failed ({len(open_rows)} could "
            f"not be opened; first: {open_rows[0]['path']!r}: {open_rows[0]['message']})"
        )
    statistics: dict = {}
    if any(s.road == "statistic" for s in plan.steps):
        plan, statistics = _collection_statistics(plan, source, executor, retries, per_task)
    job = _Job(
        plan, source.image_reader, targets, staging.path, int(retries), max_failures, len(open_rows)
    )
    # the job rides in a partial: dask walks a call's arguments, dataclasses too (the
    # plan, for every task: half a second of a 2,000-image run)
    task = functools.partial(_task, job=job)
    tasks = []
    for i, start, stop in bounds:
        if i in done:
            continue
        items = [(k, source.paths[k]) for k in range(start, stop) if k not in source.failed]
        tasks.append(dask.delayed(task, pure=False)(i, items, start, stop))
    try:
        executor.compute(tasks, label="images", unit="task")
    except BaseException:
        rows = sorted(open_rows + staging.failures(), key=lambda r: r["slot"])
        if rows:  # say what failed, even though the run did not finish
            F.write_errors(os.path.join(os.path.dirname(staging.path), F.ERRORS), rows)
        raise
    done = staging.done_chunks()
    missing = [i for i, _, _ in bounds if i not in done]
    if missing:
        raise InputError(f"tasks {missing[:5]} finished without a record in {staging.path!r}.")
    failures = sorted(
        open_rows + [f for i, _, _ in bounds for f in done[i]["failed"]], key=lambda r: r["slot"]
    )
    if len(failures) == n:
        F.write_errors(os.path.join(os.path.dirname(staging.path), F.ERRORS), failures)
        raise InputError(
            f"every input failed ({n} of {n}); first: {failures[0]['path']!r}: "
            f"{failures[0]['message']}"
        )
    counts, keys = [], []
    for i, _, _ in bounds:
        for slot, per in sorted(done[i]["counts"].items(), key=lambda kv: int(kv[0])):
            for j, c in enumerate(per):
                keys.append((int(slot), j))
                counts.append(int(c))
    parts = tuple(staging.part_path(done[i]["part"]) for i, _, _ in bounds if done[i]["part"])
    return EngineResult(
        result.arrays, parts, counts, keys, tuple(failures), max(counts, default=0), statistics
    )


def _verify_hashes(paths: Sequence[str], done: dict[int, dict]) -> None:
    """Refuse to resume when a finished task's file has other content now (--verify)."""
    changed = []
    for rec in done.values():
        for slot, digest in rec["hashes"].items():
            path = paths[int(slot)]
            try:
                now = F.file_hash(path)
            except OSError:
                now = None
            if now != digest:
                changed.append(path)
    if changed:
        shown = ", ".join(repr(p) for p in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise InputError(
            f"cannot resume: the content of {len(changed)} input file(s) changed since they "
            f"were processed (--verify): {shown}{more}. Hint: run without --resume to start over."
        )


__all__ = ["EngineResult", "measure_image", "run_collection"]
