"""Running a workflow: the facade over the plan, the engines and the output folder.

:func:`run` opens the input (:func:`batchimg.io.open_input`: headers only),
compiles the plan (:func:`batchimg.workflow.plan.compile_plan`), chooses the
scheduler (:func:`batchimg.workflow.scheduler.resolve`) and the chunking, takes the
output folder's lock, and hands the work to the collection or the volume engine;
then it writes the table (a part at a time), ``errors.csv``, the resolution
pyramid, the report, and ``_COMPLETE`` last. :func:`check` does the first half --
everything that needs no pixel -- for ``batchimg validate``.

The way from the command line to the labels: ``cli.run`` -> :func:`run` ->
:func:`batchimg.io.open_input` -> :func:`~batchimg.workflow.plan.compile_plan` ->
:func:`~batchimg.workflow.collection.run_collection` (each image in memory:
``scipy.ndimage.label``) or :func:`~batchimg.workflow.volume.run_volume` (a
``components`` stage: :func:`batchimg.label.label_measure_store`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, InvalidParameterError
from . import folder as F
from .plan import ImageSpec, Plan, compile_plan
from .spec import Workflow

log = logging.getLogger("batchimg")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class RunOptions:
    """Everything :func:`run` can be told besides the workflow, the input and the folder.

    Input: ``raw_shape``, ``raw_dtype``, ``raw_offset`` (a raw file's layout),
    ``axes``, ``scale``, ``unit``, ``channel_names`` (what the input is; they take
    precedence over the workflow's ``input:`` section and the file's metadata),
    ``level`` and ``dataset`` (an OME-Zarr level, a path inside a store or an HDF5
    file), ``gray`` (RGB to grey levels as read), ``allow_remote`` (accept URLs).

    Chunking: ``chunks`` (images per task for a collection; block shape ``Z,Y,X``
    of a volume's spatial axes; default chosen from the plan and the memory budget).

    Outputs: ``save`` (more step outputs to keep), ``table`` (the table's file name:
    ``measurements.csv``, ``measurements.parquet``...), ``table_format`` (``csv`` or
    ``parquet`` when ``table`` is not given), ``report`` (write ``report.html``; default
    True),
    ``overwrite`` (replace entries batchimg did not write).

    Reliability: ``resume`` (continue the interrupted run in the folder; a complete
    one is left as it is), ``verify`` (with ``resume``, compare content hashes of
    processed files), ``max_failures`` (abort once more inputs failed), ``retries``
    (read attempts after a failed one).

    Scheduler: ``scheduler`` (a name, an address or a ``distributed.Client``),
    ``scheduler_file``, ``workers`` (local threads or processes), ``default_scheduler``
    (when neither ``scheduler`` nor dask's config names one: ``"threads"``, dask's
    default, or ``"auto"``, local processes for a collection and threads for a volume,
    what ``batchimg run`` uses; processes re-import the main module of a script, so a
    script that asks for them guards its work with ``if __name__ == "__main__":``),
    ``progress`` (report progress through the ``batchimg`` logger and a bar on a
    terminal).
    """

    raw_shape: Any = None
    raw_dtype: Any = None
    raw_offset: int = 0
    axes: str | None = None
    scale: Any = None
    unit: str | None = None
    channel_names: Any = None
    level: Any = None
    dataset: str | None = None
    gray: bool = False
    allow_remote: bool = False
    chunks: Any = None
    save: Sequence[str] | None = None
    table: str | None = None
    table_format: str | None = None
    report: bool = True
    overwrite: bool = False
    resume: bool = False
    verify: bool = False
    max_failures: int | None = None
    retries: int = 2
    scheduler: Any = None
    scheduler_file: str | None = None
    workers: int | None = None
    default_scheduler: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        for name in ("gray", "allow_remote", "report", "overwrite", "resume", "verify", "progress"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise InvalidParameterError(f"{name} must be True or False; got {value!r}.")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise InvalidParameterError(f"retries must be an integer >= 0; got {self.retries!r}.")
        mf = self.max_failures
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, int) or mf < 0):
            raise InvalidParameterError(
                f"max_failures must be an integer >= 0 or None; got {mf!r}."
            )
        if self.verify and not self.resume:
            raise InvalidParameterError("verify applies only with resume=True; got resume=False.")
        if self.default_scheduler not in (None, "threads", "auto"):
            raise InvalidParameterError(
                f"default_scheduler must be 'threads' or 'auto'; got {self.default_scheduler!r}."
            )
        if isinstance(self.save, str):
            object.__setattr__(self, "save", tuple(s for s in self.save.split(",") if s))

    def input_options(self, workflow: Workflow | None) -> dict[str, Any]:
        """The reader's options: the workflow's ``input:`` section, then these."""
        out: dict[str, Any] = {}
        if workflow is not None:
            wf = workflow.input.as_options()
            out.update({"as_gray" if k == "gray" else k: v for k, v in wf.items()})
        for key in ("axes", "scale", "unit", "channel_names", "level", "dataset"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.gray:
            out["as_gray"] = True
        raw = {
            "raw_shape": self.raw_shape,
            "raw_dtype": self.raw_dtype,
            "raw_offset": self.raw_offset,
        }
        out.update({k: v for k, v in raw.items() if v is not None})
        out["allow_remote"] = self.allow_remote
        return out


@dataclass(frozen=True)
class RunResult:
    """What a run produced.

    Parameters
    ----------
    output : str
        The output folder (absolute).
    table_file : str or None
        The table's file name in ``output`` (None without a label step); the table
        itself is :attr:`table`, read from it.
    arrays : dict
        Path inside ``result.zarr`` -> shape.
    kind : str
        ``"collection"`` or ``"volume"``.
    seconds : float
        Wall time of the run.
    failed : tuple of dict
        The inputs left out, as rows of ``errors.csv``.
    n_inputs : int
        The number of input files (1 for a volume).
    n_regions : int
        The number of rows of the table.
    statistics : dict
        Thresholds computed over a whole input: step name -> value.
    resumed : str or None
        ``"complete"`` when ``resume`` found the run already complete (nothing done).
    """

    output: str
    table_file: str | None
    arrays: dict
    kind: str
    seconds: float
    failed: tuple = ()
    n_inputs: int = 1
    n_regions: int = 0
    statistics: dict = field(default_factory=dict)
    resumed: str | None = None

    @property
    def table(self):
        """The measurements as a DataFrame, read from the output folder (None without one)."""
        from ..io import read_table

        if self.table_file is None:
            return None
        return read_table(os.path.join(self.output, self.table_file))


# ---------------------------------------------------------------------------
# the first half: input and plan


def _absolute(source: Any) -> Any:
    """Paths made absolute before any task is built (workers may run elsewhere)."""
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        return text if _URL.match(text) else os.path.abspath(os.path.expanduser(text))
    if isinstance(source, list | tuple) and all(isinstance(s, str | os.PathLike) for s in source):
        return [_absolute(s) for s in source]
    return source


def open_input(workflow: Workflow | None, source: Any, options: RunOptions, **kw: Any):
    """Open ``source`` for ``workflow`` with ``options`` (headers only)."""
    from ..io import open_input as io_open

    return io_open(_absolute(source), **options.input_options(workflow), **kw)


def image_spec(inp: Any) -> ImageSpec:
    """The plan's view of an opened input (its shape, dtype and axes)."""
    ax = inp.axes
    shape = inp.image_shape
    if inp.kind == "collection" and "t" in ax.names:
        raise InputError(
            f"the images of a collection must not have a time axis; got axes {ax.names!r} "
            f"(shape {shape}). Hint: open each time series as a volume."
        )
    units = [u for u in ax.spatial_units if u]
    return ImageSpec(
        shape,
        inp.data.dtype,
        ax.names,
        ax.spatial_scale,
        units[0] if units else None,
        ax.channel_names,
    )


def check(workflow: Workflow, source: Any = None, **options: Any) -> Plan:
    """Check ``workflow`` (and, with ``source``, that it fits the input); read no pixel.

    Without ``source`` every mistake that needs no input is found (see
    :func:`batchimg.workflow.plan.check`); with it the input is opened (headers only)
    and the workflow compiled for it. Files of a collection that cannot be opened are
    what :func:`run` would leave out: reported in the log, not raised.

    Returns
    -------
    Plan

    Raises
    ------
    WorkflowError
        Naming the step at fault.
    InputError, InputNotFoundError, InvalidParameterError
        For an input that cannot be opened or options that do not fit it.
    """
    from .plan import check as check_plan

    opts = RunOptions(**options)
    if source is None:
        return check_plan(workflow)
    inp = open_input(workflow, source, opts, on_error="collect")
    for row in inp.failed.values():
        log.warning(f"{row['path']!r} would be left out: {row['message']}")
    return compile_plan(workflow.with_save(opts.save or ()), image_spec(inp), inp.kind)


# ---------------------------------------------------------------------------
# the run


def _state(workflow: Workflow, inp: Any, chunks: Any, table: str) -> dict:
    return {
        "workflow_fingerprint": workflow.fingerprint(),
        "workflow": workflow.record(),
        "input_kind": inp.kind,
        "input": inp.description,
        "input_fingerprint": inp.fingerprint(),
        "chunks": chunks,
        "table": table,
        "started": F.utc_now(),
    }


def _writes(plan: Plan, table: str, report: bool) -> list[str]:
    names = [F.RESULT, F.ERRORS]
    if plan.labels is not None:
        names.append(table)
    if report:
        names.append(F.REPORT)
    return names


def run(workflow: Workflow, source: Any, output: str | os.PathLike, **options: Any) -> RunResult:
    """Run ``workflow`` on ``source``; write ``result.zarr``, the table and the report.

    Parameters
    ----------
    workflow : Workflow
        The workflow.
    source : str, os.PathLike, sequence, array or xarray.DataArray
        The input: a folder, glob, image file or list of files (a collection), a raw,
        TIFF, Zarr/OME-Zarr or HDF5 file (a volume), or an array.
    output : str or os.PathLike
        The output folder; see :mod:`batchimg.workflow.folder` for its layout.
    **options
        The fields of :class:`RunOptions`.

    Returns
    -------
    RunResult
        ``failed`` lists the inputs left out (also in ``DIR/errors.csv``).

    Raises
    ------
    WorkflowError
        When the workflow does not fit the input (checked before any pixel is read).
    InputError, InputNotFoundError, InvalidParameterError
        For bad inputs or options, more than ``max_failures`` failed inputs (or all of
        them), an output folder in use by another run or holding what batchimg did not
        write, or a refused resume.
    """
    from .scheduler import WORKER_MODULES, resolve

    t0 = time.perf_counter()
    opts = RunOptions(**options)
    # connect first: a cluster's workers import the engines while this process plans
    executor = resolve(opts.scheduler, scheduler_file=opts.scheduler_file, workers=opts.workers)
    try:
        executor.warm(WORKER_MODULES)
        return _run(workflow, source, output, opts, executor, t0)
    finally:
        executor.close()


def _run(
    workflow: Workflow, source: Any, output: Any, opts: RunOptions, executor: Any, t0: float
) -> RunResult:
    from . import chunking
    from .progress import Progress

    if isinstance(output, str) and _URL.match(output):
        raise InputError(f"output must be a local folder; got the URL {output!r}.")
    out = F.OutputFolder(output)
    table = F.table_name(opts.table, opts.table_format)
    workflow = workflow.with_save(opts.save or ())
    partial = F.find_partial(out.path) if opts.resume else None
    old = F.Staging(partial).state() if partial else None
    chunks = chunking.parse_chunks(opts.chunks)
    if old is not None and old.get("chunks") is not None:
        recorded = old["chunks"]
        recorded = tuple(recorded) if isinstance(recorded, list) else recorded
        if chunks is not None and chunks != recorded:
            log.info(f"resuming with the interrupted run's chunks {recorded}, not {chunks}")
        chunks = recorded
    inp = open_input(workflow, source, opts, on_error="collect")
    if executor.default_for(inp.kind, opts.default_scheduler):
        from .scheduler import WORKER_MODULES

        executor.warm(WORKER_MODULES)  # the processes start while this one plans
    elif inp.kind == "volume" and executor.distributed:
        from .scheduler import VOLUME_WORKER_MODULES

        executor.warm(VOLUME_WORKER_MODULES)  # a cluster's workers, while this one plans
    plan = compile_plan(workflow, image_spec(inp), inp.kind)
    if opts.resume and old is None:
        done = _already_complete(out.path, workflow, inp, table)
        if done is not None:
            log.info(f"{out.path}: the run is already complete; nothing to do")
            return dataclasses.replace(done, seconds=time.perf_counter() - t0)
    if plan.kind == "collection":
        n = len(inp.paths)
        per = chunking.images_per_task(
            n, math.prod(inp.image_shape) * inp.data.dtype.itemsize, chunks
        )
        chunk_record: Any = per
        log.info(
            f"chunks: {per} image(s) per task, {-(-n // per)} task(s) for {n} images of "
            f"{plan.image.axes} {plan.image.shape} {plan.image.dtype}"
        )
        for row in inp.failed.values():
            log.info(f"left out {row['path']!r}: {row['message']}")
    else:
        block = chunking.volume_block(plan, chunks)
        chunk_record = list(block)
        nblocks = math.prod(
            -(-s // b) for s, b in zip(plan.image.spatial_shape, block, strict=True)
        )
        log.info(
            f"blocks: {tuple(block)} ({nblocks} blocks) for the volume {plan.image.axes} "
            f"{plan.image.shape} {plan.image.dtype}"
        )
    for line in plan.describe()[-1 - len(plan.stages) :]:
        log.debug(line)
    state = _state(workflow, inp, chunk_record, table)
    if old is not None:
        _check_resumable(out.path, old, state)
    elif opts.resume:
        log.info(f"nothing to resume in {out.path}; starting a new run")
    out.prepare(_writes(plan, table, opts.report), overwrite=opts.overwrite)
    executor.progress = Progress(enabled=opts.progress)
    if executor.distributed:
        link = executor.dashboard
        log.info(f"scheduler: {executor.describe()}" + (f", dashboard {link}" if link else ""))
    message = out.lock.acquire()
    if message:
        log.info(message)
    try:
        return _run_locked(
            plan,
            inp,
            out,
            partial if old is not None else None,
            state,
            table,
            chunk_record,
            opts,
            executor,
            t0,
        )
    except BaseException as exc:
        out.fail(exc)
        raise
    finally:
        out.lock.release()


def _already_complete(path: str, workflow: Workflow, inp: Any, table: str) -> RunResult | None:
    """The result of a complete run of the same workflow and input in ``path``, if any."""
    marker = F.info(path)["marker"] if os.path.isdir(path) else None
    if not marker:
        return None
    if (
        marker.get("workflow_fingerprint") != workflow.fingerprint()
        or marker.get("input_fingerprint") != inp.fingerprint()
    ):
        return None
    if marker.get("table") not in (None, table):
        return None
    d = F.info(path)
    arrays = {k: v[0] for k, v in d["arrays"].items()}
    return RunResult(
        path,
        marker.get("table"),
        arrays,
        inp.kind,
        0.0,
        n_inputs=len(inp.paths) if inp.paths else 1,
        n_regions=marker.get("rows") or 0,
        resumed="complete",
    )


def _check_resumable(output: str, old: dict, new: dict) -> None:
    from .resume import changes

    problems = changes(old, new)
    if problems:
        raise InputError(
            f"cannot resume the run in {output!r}: " + "; ".join(problems) + ". Hint: run "
            "without --resume to start over."
        )


def _run_locked(
    plan: Plan,
    inp: Any,
    out: F.OutputFolder,
    partial: str | None,
    state: dict,
    table: str,
    chunks: Any,
    opts: RunOptions,
    executor: Any,
    t0: float,
) -> RunResult:
    from .collection import run_collection
    from .omezarr import ResultZarr
    from .tables import write_tables
    from .volume import run_volume

    staging = out.stage(partial)
    resuming = partial is not None and os.path.isdir(staging.result)
    if not resuming:
        if partial is not None:
            log.info("the interrupted run left no results to reuse; starting it over")
        staging.clear()
        staging.write_state(state)
    attrs = {
        "workflow_name": plan.workflow.name,
        "workflow": plan.workflow.to_yaml(),
        "workflow_fingerprint": plan.workflow.fingerprint(),
        "input": inp.description,
        "input_kind": inp.kind,
        "versions": F.versions(),
        "time": F.utc_now(),
        "saved": list(plan.saved),
        "labels": "labels/labels" if plan.labels is not None else None,
        "plan": plan.describe(),
    }
    if plan.kind == "collection":
        result = ResultZarr(
            staging.result,
            plan,
            len(inp.paths),
            plan.image.spatial_shape,
            images_per_chunk=chunks,
            attrs=attrs,
        )
    else:
        result = ResultZarr(staging.result, plan, None, tuple(chunks), attrs=attrs)
    result.open() if resuming else result.create()
    if plan.kind == "collection":
        engine = run_collection(
            plan,
            inp,
            result,
            staging,
            executor,
            per_task=chunks,
            resume=resuming,
            verify=opts.verify,
            retries=opts.retries,
            max_failures=opts.max_failures,
        )
    else:
        engine = run_volume(
            plan, inp, result, staging, executor, block=tuple(chunks), resume=resuming
        )
    rows = None
    if plan.labels is not None:
        rows = write_tables(
            plan, engine, os.path.join(staging.path, table), result.group, inp.paths
        )
    if engine.failures:
        F.write_errors(os.path.join(staging.path, F.ERRORS), engine.failures)
    for level, tasks in enumerate(result.pyramid_tasks(), 1):
        executor.compute(tasks, label=f"pyramid level {level}", unit="chunk")
    result.finish(engine.max_label)
    seconds = time.perf_counter() - t0
    marker = {
        "workflow": plan.workflow.name,
        "workflow_fingerprint": plan.workflow.fingerprint(),
        "input_fingerprint": inp.fingerprint(),
        "versions": F.versions(),
        "time": F.utc_now(),
        "seconds": round(seconds, 3),
        "table": table if rows is not None else None,
        "rows": rows,
        "failed_inputs": len(engine.failures),
        "errors": F.ERRORS if engine.failures else None,
        "statistics": {k: _plain(v) for k, v in (engine.statistics or {}).items()},
        "scheduler": executor.describe(),
        "chunks": chunks,
        "kind": plan.kind,
        "n_inputs": len(inp.paths) if inp.paths else 1,
        "input": {
            "axes": plan.image.axes,
            "shape": list(plan.image.shape),
            "dtype": str(plan.image.dtype),
            "scale": list(plan.image.scale),
            "unit": plan.image.unit,
            "channel_names": list(plan.image.channel_names or []),
        },
        "phases": [
            {"label": label, "units": n, "seconds": round(t, 3)}
            for label, n, t in (executor.progress.phases if executor.progress else [])
        ],
        "peak_rss_bytes": _peak_rss(),
    }
    if opts.report:
        from .report import write_report

        write_report(staging.path, marker=marker)
    out.finish(staging, marker, [])
    what = "no table" if rows is None else f"{rows} regions in {table}"
    failed = f"; {len(engine.failures)} input(s) failed, see {F.ERRORS}" if engine.failures else ""
    log.info(f"done in {seconds:.1f} s: {what}{failed}; results in {out.path}")
    return RunResult(
        out.path,
        table if rows is not None else None,
        engine.arrays,
        plan.kind,
        seconds,
        engine.failures,
        len(inp.paths) if inp.paths else 1,
        rows or 0,
        {k: _plain(v) for k, v in (engine.statistics or {}).items()},
    )


def _peak_rss() -> int | None:
    """The peak resident memory of this process so far, in bytes (None where unknown)."""
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except (ImportError, OSError):  # pragma: no cover - platforms without getrusage
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = ["RunOptions", "RunResult", "check", "image_spec", "open_input", "run"]
