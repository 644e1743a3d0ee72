"""Running a workflow on a collection: one task per chunk of files, each image in memory.

One task per chunk of files reads each image and runs every step on the whole
image in memory (a local step's kernel on the whole image *is* the scipy function
on it), labels it with ``scipy.ndimage.label``, filters and measures its regions,
writes its saved steps and labels into its slot of the result arrays, and records
its table rows (a part file) and its manifest record, last. Labels are per image;
the table has the image's path, the per-image ``label`` and a ``global_label``
numbered across the collection in file order. Steps with a whole-image statistic
(an Otsu threshold) use each image's own statistic.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np

from .. import measure as _measure
from ..errors import InputError
from . import outputs, registry
from .graph import ImagePlan, _greater, _props, build_graph, compute, image_plan, intensity_name


def _measure_image(lab: np.ndarray, intensity: np.ndarray | None, props: Sequence[str]):
    """One image's table rows as numpy columns."""
    needs_img = any(p in registry.intensity_properties() for p in props)
    return _measure.regionprops_columns(
        lab, intensity if needs_img else None, properties=list(props)
    )


def _task_table(paths: Sequence[str], columns: Sequence[dict[str, np.ndarray]]):
    """One DataFrame of a task's rows: the ``image`` column, then each image's columns."""
    import pandas as pd

    if not columns:
        return None
    sizes = [len(next(iter(c.values()))) for c in columns]
    data = {"image": np.repeat(np.asarray(paths, dtype=object), sizes)}
    for key in columns[0]:
        data[key] = np.concatenate([c[key] for c in columns])
    return pd.DataFrame(data)


@functools.lru_cache(maxsize=32)
def _output_array(path: str, run: str):
    """An output array opened once per process and run (``run``: its staging folder)."""
    import zarr

    return zarr.open_array(path, mode="r+", config=outputs.WRITE_CONFIG)


@dataclass(frozen=True)
class _ChunkJob:
    """What every collection task shares (small: paths and kernels, no pixels)."""

    plan: ImagePlan
    result: str
    saved: tuple[str, ...]
    labels: str | None
    props: tuple[str, ...]
    intensity: str
    layouts: dict  # output path in result.zarr -> (image shape, dtype)
    expect: tuple  # (shape, dtype) every decoded image must have
    staging: str
    retries: int = 2
    max_failures: int | None = None
    open_failed: int = 0


def _read_checked(path: str, expect: tuple, retries: int) -> np.ndarray:
    """Read one image, retrying transient failures; check its shape and dtype."""
    from .. import io as _io

    for attempt in range(retries + 1):
        try:
            # looked up at call time, so that a wrapped read_image is the one used
            image = _io.read_image(path)
            break
        except Exception:
            if attempt >= retries:
                raise
            time.sleep(0.05 * 2**attempt)
    shape, dtype = tuple(expect[0]), np.dtype(expect[1])
    if image.shape != shape or image.dtype != dtype:
        raise InputError(
            f"{path!r} decoded to shape {image.shape} of {image.dtype}, but the collection's "
            f"images have {shape} of {dtype}."
        )
    return image


def _collection_task(index: int, items: Sequence[tuple[int, str]], start: int, stop: int,
                     job: _ChunkJob) -> dict:  # fmt: skip
    """Run the workflow on one chunk of images, each on its own; record the chunk.

    A file that cannot be read, decodes to another shape or dtype, or makes a step
    fail is left out (its slots stay at the fill value, 0) and noted with its
    error; the others go on. The chunk's arrays are written whole (so running a
    task twice changes nothing), then its table rows (a Parquet part file), then
    its manifest record, last.
    """
    from . import journal

    keep = set(job.saved) | ({job.labels} if job.labels else set()) | {job.intensity}
    out = {
        name: np.zeros((stop - start, *shape), np.dtype(dtype))
        for name, (shape, dtype) in job.layouts.items()
    }
    measured, measured_paths, failures, hashes = [], [], [], {}
    counts = [0] * (stop - start)
    for slot, path in items:
        i = slot - start
        step = "read"
        try:
            image = _read_checked(path, job.expect, job.retries)
            step = "workflow"
            values = job.plan(image, keep=keep)
            step = "measure"
            columns = None
            if job.labels is not None:
                lab = values[job.labels]
                if job.props:
                    columns = _measure_image(lab, values[job.intensity], job.props)
            step = "read"
            digest = journal.file_hash(path)
        except Exception as exc:
            for arr in out.values():
                arr[i] = 0
            row = journal.error_row(path, getattr(exc, "batchimg_step", step), exc)
            row["slot"] = slot
            failures.append(row)
            journal.record_failure(job.staging, slot, row)
            continue
        for name in job.saved:
            out[name][i] = values[name]
        if job.labels is not None:
            out[outputs.LABELS_PATH][i] = lab
            counts[i] = int(lab.max()) if lab.size else 0
        if columns is not None:
            measured.append(columns)
            measured_paths.append(path)
        hashes[str(slot)] = digest
    for name, block in out.items():
        _output_array(os.path.join(job.result, name), job.staging)[start:stop] = block
    table = _task_table(measured_paths, measured)
    record = {
        "chunk": index,
        "start": start,
        "stop": stop,
        "counts": counts,
        "failed": failures,
        "hashes": hashes,
        "part": journal.write_part(job.staging, index, table),
    }
    journal.record_chunk(job.staging, index, record)
    if job.max_failures is not None:
        n = journal.count_failures(job.staging) + job.open_failed
        if n > job.max_failures:
            raise InputError(
                f"more than max_failures={job.max_failures} inputs failed ({n} so far; "
                f"latest: {failures[-1]['path']!r}: {failures[-1]['message']})"
                if failures
                else f"more than max_failures={job.max_failures} inputs failed ({n} so far)."
            )
    return record


def _prefix_block(block: np.ndarray, *, plan: ImagePlan, take: str) -> np.ndarray:
    return np.stack([plan(image)[take] for image in block])


def _collection_thresholds(wf, src, plan, lazy, scheduler, workers, progress) -> ImagePlan:
    """First pass for ``threshold: {method: ..., per_image: false}`` in a collection.

    The threshold is computed over the whole collection (the stack of every image's
    input to that step), and the step becomes ``image > t`` with that one ``t``.
    """
    from .. import point

    steps = list(plan.steps)
    for i, s in enumerate(wf.steps):
        if s.op != "threshold" or s.params.get("per_image") is not False:
            continue
        if s.params.get("method") is None:
            continue
        _, source, _ = steps[i]
        a = lazy[source]
        stack = src.data.map_blocks(
            _prefix_block,
            plan=ImagePlan(tuple(steps[:i])),
            take=source,
            chunks=(src.data.chunks[0], *((d,) for d in a.shape)),
            dtype=a.dtype,
            meta=np.empty((0,) * (a.ndim + 1), a.dtype),
        )
        t = point._global_threshold(stack, s.params["method"], s.params.get("percentile"))
        (t,) = compute(t, scheduler=scheduler, workers=workers, progress=progress)
        steps[i] = (s.name, source, functools.partial(_greater, t=np.asarray(t)))
    return ImagePlan(tuple(steps))


def _run_collection(wf, src, group, result_path, scheduler, workers, progress, *,
                    staging=None, resume=False, verify=False, retries=2, max_failures=None,
                    say=None):  # fmt: skip
    """Run a collection in tasks of whole Zarr chunks, recording each as it finishes.

    Returns ``(table, arrays, max_label, failures)``; ``failures`` are the
    ``errors.csv`` rows, in file order. With ``resume``, tasks recorded in the
    staging folder's manifest are skipped.
    """
    import pandas as pd

    from . import journal

    say = say or (lambda _msg: None)
    n = len(src.paths)
    shape = src.image_shape
    plan = image_plan(wf, len(shape), src.data.dtype, shape)
    lazy = build_graph(wf, da.zeros(shape, dtype=src.data.dtype, chunks=shape), need=None)
    per = src.data.chunks[0][0]
    arrays, layouts = {}, {}
    labels = wf.label_step.name if wf.label_step is not None else None
    for name in wf.save:
        a = lazy[name]
        if not resume:
            outputs.create_array(
                group, name, (n, *a.shape), (per, *a.shape), a.dtype, {"step": name}
            )
        arrays[name] = (n, *a.shape)
        layouts[name] = (tuple(a.shape), a.dtype.str)
    if labels is not None:
        a = lazy[labels]
        if not resume:
            outputs.create_labels(group, (n, *a.shape), (per, *a.shape), a.dtype, collection=True)
        arrays[outputs.LABELS_PATH] = (n, *a.shape)
        layouts[outputs.LABELS_PATH] = (tuple(a.shape), a.dtype.str)
    props = _props(wf)
    journal.ensure_dirs(staging)
    done = journal.done_chunks(staging) if resume else {}
    journal.forget_unfinished(staging, done)
    bounds = [(i, s, min(s + per, n)) for i, s in enumerate(range(0, n, per))]
    if resume:
        say(f"resuming: {len(done)} of {len(bounds)} task(s) already done")
        if verify:
            _verify_hashes(src.paths, done)
    open_rows = [dict(row, slot=slot) for slot, row in sorted(src.failed.items())]

    def gather_failures() -> list[dict]:
        recorded = []
        for name in sorted(os.listdir(os.path.join(staging, journal.FAILED_DIR))):
            row = journal.read_json(os.path.join(staging, journal.FAILED_DIR, name))
            if row is not None:
                recorded.append(row)
        return sorted(open_rows + recorded, key=lambda r: r["slot"])

    try:
        if max_failures is not None and len(open_rows) > max_failures:
            raise InputError(
                f"more than max_failures={max_failures} inputs failed ({len(open_rows)} could "
                f"not be opened; first: {open_rows[0]['path']!r}: {open_rows[0]['message']})"
            )
        plan = _collection_thresholds(wf, src, plan, lazy, scheduler, workers, progress)
        job = _ChunkJob(
            plan, result_path, tuple(wf.save), labels, tuple(props), intensity_name(wf), layouts,
            (tuple(shape), src.data.dtype.str), staging, int(retries), max_failures,
            len(open_rows),
        )  # fmt: skip
        tasks = []
        for i, start, stop in bounds:
            if i in done:
                continue
            items = [(k, src.paths[k]) for k in range(start, stop) if k not in src.failed]
            tasks.append(dask.delayed(_collection_task, pure=False)(i, items, start, stop, job))
        if tasks:
            compute(*tasks, scheduler=scheduler, workers=workers, progress=progress)
    except BaseException:
        rows = gather_failures()
        if rows:  # say what failed, even though the run did not finish
            journal.write_errors(os.path.join(os.path.dirname(staging), journal.ERRORS), rows)
        raise
    done = journal.done_chunks(staging)
    missing = [i for i, _, _ in bounds if i not in done]
    if missing:
        raise InputError(f"tasks {missing[:5]} finished without a record in {staging!r}.")
    failures = sorted(
        open_rows + [f for i, _, _ in bounds for f in done[i]["failed"]], key=lambda r: r["slot"]
    )
    if len(failures) == n:
        journal.write_errors(os.path.join(os.path.dirname(staging), journal.ERRORS), failures)
        raise InputError(
            f"every input failed ({n} of {n}); first: {failures[0]['path']!r}: "
            f"{failures[0]['message']}"
        )
    counts = [c for i, _, _ in bounds for c in done[i]["counts"]]
    if labels is None:
        return None, arrays, 0, failures, None
    names = [done[i]["part"] for i, _, _ in bounds if done[i]["part"]]
    offsets = dict(zip(src.paths, np.cumsum([0, *counts[:-1]]).tolist(), strict=True))

    def with_global(frame):
        glob = frame["label"].to_numpy() + frame["image"].map(offsets).to_numpy(dtype=np.int64)
        frame.insert(2, "global_label", glob.astype(np.int64))
        return frame

    rows = np.zeros(n, np.int64)  # rows per image, filled as the parts are read
    slot = {p: i for i, p in enumerate(src.paths)}

    def parts():
        # one task's rows at a time: the table's size never sits in memory
        if not names:
            columns = _measure_image(np.zeros((1,) * len(shape), np.int32), None, props)
            yield with_global(pd.DataFrame({"image": np.zeros(0, dtype=object), **columns}))
        for name in names:
            frame = journal.read_part(staging, name)
            for path, c in frame["image"].value_counts().items():
                rows[slot[path]] += c
            yield with_global(frame)

    return parts, arrays, max(counts, default=0), failures, rows


def _verify_hashes(paths: Sequence[str], done: dict[int, dict]) -> None:
    """Refuse to resume when a finished task's file has other content now (--verify)."""
    from . import journal

    changed = []
    for rec in done.values():
        for slot, digest in rec["hashes"].items():
            path = paths[int(slot)]
            try:
                now = journal.file_hash(path)
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
