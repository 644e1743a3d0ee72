"""Running a workflow: open the input, plan the run, write the outputs.

:func:`run` opens the input (:func:`open_source`: a collection of images or one
volume, reading at most headers), checks the workflow against it, takes the output
folder's lock, and hands the work to one of two paths, both exact by construction:

- **collections** (:mod:`.collection`): one task per chunk of files, each image run
  through the whole workflow in memory, labels per image, a ``global_label`` across
  the collection;
- **volumes** (:mod:`.volume`): the local steps planned into halo exchanges (or, for
  a volume in a file ending in ``label``, each block read with its halo and run
  whole), labels merged across blocks, measurements reduced per label.

It then writes the table a task's rows at a time, ``errors.csv``, ``summary.png``,
and ``_COMPLETE`` last. The default scheduler is dask's local threads on all cores
(scipy.ndimage releases the GIL); ``scheduler="processes"`` or ``"sync"`` choose
another local scheduler, and any other string is the address of a running
``dask.distributed`` scheduler (:func:`.graph.compute`).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np

from .._overlap import Spec
from ..errors import InputError, InvalidParameterError
from . import outputs, registry
from .collection import _run_collection
from .graph import (
    ImagePlan,
    _sources,
    build_graph,
    check_steps,
    compute,
    image_plan,
    needed_outputs,
    resolve_params,
)
from .spec import INPUT, Workflow
from .volume import _run_volume, _two_pass_plan

#: Bytes per block that the default volume chunking aims at (float64 intermediates).
VOLUME_CHUNK_BYTES = 8 * 2**20


#: The most bytes the volume blocks in flight may take together (see _auto_volume_chunks).
VOLUME_BLOCKS_BYTES = 512 * 2**20


#: Bytes per overlapped voxel a block in flight takes, per byte of the chain's widest
#: dtype (its input and neighbours read for the halo, the chain's intermediates), plus
#: VOLUME_LABEL_BYTES (labels, compressed writes); ~60 measured on a float64 chain.
VOLUME_BYTES_PER_ITEM_BYTE = 8


VOLUME_LABEL_BYTES = 8


#: Bytes per collection task that the default image grouping aims at, counting 8 bytes
#: per pixel (8 images of 512x512 a task: fewer, larger Zarr chunks and manifest records).
COLLECTION_CHUNK_BYTES = 16 * 2**20


_RAW_SUFFIXES = (".raw", ".bin", ".dat")


@dataclass(frozen=True)
class Source:
    """An opened input: a collection of images or one volume.

    Parameters
    ----------
    kind : {"collection", "volume"}
        How the workflow runs on it.
    data : dask.array.Array
        The images stacked along axis 0 (collections) or the volume.
    paths : list of str or None
        The image files of a collection.
    description : dict
        What the input was (recorded with the results).
    failed : dict
        Collections opened with ``on_error="collect"``: position in ``paths`` ->
        ``errors.csv`` row of each file left out when opening (unreadable header,
        other shape or dtype). ``data`` then holds only the other files, while
        ``paths`` lists every file (one slot each in the results).
    reader : array-like, optional
        Volumes stored in a file (raw, Zarr): the file itself, indexable by a
        region (``reader[slices]`` reads just that region), so a task can read its
        block and halo directly.
    """

    kind: str
    data: da.Array
    paths: list[str] | None
    description: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    reader: Any = None

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape one workflow run sees: one image, or the whole volume."""
        return tuple(self.data.shape[1:] if self.kind == "collection" else self.data.shape)

    def fingerprint(self) -> str:
        """Return a hash of the input's identity (paths, sizes, modification times)."""
        return hashlib.sha256(repr(sorted(self.description.items())).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _ZarrRegions:
    """A Zarr array, opened afresh for each region read (pickles as its path)."""

    path: str

    def __getitem__(self, region: Any) -> np.ndarray:
        import zarr

        return zarr.open_array(self.path, mode="r")[region]


def _stat(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _is_zarr(path: str) -> bool:
    return path.rstrip("/").endswith(".zarr") or any(
        os.path.exists(os.path.join(path, m)) for m in ("zarr.json", ".zarray", ".zgroup")
    )


def _parse_chunks(chunks: Any, ndim: int | None = None) -> Any:
    if chunks is None or isinstance(chunks, int | tuple | list):
        return tuple(chunks) if isinstance(chunks, list) else chunks
    if isinstance(chunks, str):
        if chunks == "auto":
            return None
        try:
            parts = tuple(int(c) for c in chunks.split(","))
        except ValueError:
            raise InvalidParameterError(
                f"chunks must be an integer or comma-separated integers like '32,128,128'; "
                f"got {chunks!r}."
            ) from None
        return parts[0] if len(parts) == 1 else parts
    raise InvalidParameterError(f"chunks must be an integer or a tuple; got {chunks!r}.")


def _volume_chunks(
    shape: tuple[int, ...], chunks: Any, halo: Sequence[int] | None = None
) -> tuple[int, ...]:
    if chunks is None:
        return _auto_volume_chunks(tuple(shape), halo)
    if isinstance(chunks, tuple) and len(chunks) != len(shape):
        raise InvalidParameterError(
            f"chunks must have one size per axis of the volume {shape}; got {chunks!r}."
        )
    norm = da.core.normalize_chunks(chunks, shape)
    return tuple(max(c) for c in norm)


def _memory_budget() -> int:
    """Bytes the blocks in flight may take: a quarter of the available memory, <= 512 MiB."""
    try:
        import psutil

        available = psutil.virtual_memory().available
    except Exception:  # psutil missing or unsupported platform
        available = 4 * 2**30
    return int(min(max(available // 4, 64 * 2**20), VOLUME_BLOCKS_BYTES))


def _auto_volume_chunks(shape: tuple[int, ...], halo: Sequence[int] | None) -> tuple[int, ...]:
    """The block shape with the least halo overhead that fits the memory budget.

    Every block in flight (one per core) holds its overlapped input and the chain's
    intermediates, about ``VOLUME_BYTES_PER_ITEM_BYTE * itemsize + VOLUME_LABEL_BYTES``
    bytes per overlapped voxel (``itemsize`` of the chain's widest dtype); the
    block shape minimises the overlapped voxels per core voxel (an axis that is one
    chunk needs no halo) among power-of-two sizes (or whole axes) whose overlapped
    block fits ``_memory_budget() / cores``, keeping at least two blocks per core
    when the volume has that many.
    """
    ndim = len(shape)
    # the chain's intermediates (scipy keeps the input's dtype) plus int32 labels
    itemsize = getattr(halo, "itemsize", 8)
    bytes_per_voxel = VOLUME_BYTES_PER_ITEM_BYTE * itemsize + VOLUME_LABEL_BYTES
    halo = tuple(halo) if halo is not None else (0,) * ndim
    cores = os.cpu_count() or 1
    per_block = _memory_budget() // cores // bytes_per_voxel
    total = math.prod(shape)
    min_blocks = min(2 * cores, max(1, total // 2**18))
    options = []
    for n in shape:
        sizes = {n}
        c = 16
        while c < n:
            sizes.add(c)
            c *= 2
        options.append(sorted(sizes))
    best, best_key = None, None
    for cand in itertools.product(*options):
        nblocks = math.prod(-(-n // c) for n, c in zip(shape, cand, strict=True))
        ext = [c + 2 * h if c < n else c for n, c, h in zip(shape, cand, halo, strict=True)]
        if math.prod(ext) > per_block and math.prod(cand) > 16**ndim:
            continue
        # overhead of the halo, then fewer tasks, then long contiguous rows
        over = math.prod(ext) / math.prod(cand)
        key = (nblocks < min_blocks, round(over, 2), nblocks, tuple(-c for c in cand[::-1]))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return tuple(best) if best is not None else tuple(min(16, n) for n in shape)


def _halo(halo: Any, x: Any) -> tuple[int, ...] | None:
    if callable(halo):
        return halo(x.ndim, x.dtype, tuple(x.shape))
    return halo


class _Halo(tuple):
    """The summed depth of a chain per axis; ``itemsize`` is its widest output's."""

    itemsize: int = 8


def _chain_halo(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The summed depth of the workflow's local steps per axis (0 where it cannot tell)."""
    halo = _Halo(_chain_depth(wf, ndim, dtype, shape))
    try:
        halo.itemsize = max(_chain_dtypes(wf, ndim, dtype, shape), default=8)
    except Exception:  # validation reports bad steps later, with their names
        pass
    return halo


def _chain_dtypes(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> list[int]:
    """The itemsizes of the input and of every local step's output."""
    ops = registry.operations()
    dtypes: dict[str, Any] = {INPUT: np.dtype(dtype)}
    for s, src in zip(wf.steps, _sources(wf), strict=True):
        op = ops[s.op]
        if op.local:
            params = resolve_params(op, s.params, ndim)
            spec = Spec(ndim, dtypes.get(src, np.dtype(dtype)), shape)
            dtypes[s.name] = op.func.step(spec, **params).dtype
    return [d.itemsize for d in dtypes.values()]


def _chain_depth(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    ops = registry.operations()
    total = [0] * ndim
    dtypes: dict[str, Any] = {INPUT: np.dtype(dtype)}
    try:
        for s, src in zip(wf.steps, _sources(wf), strict=True):
            op = ops[s.op]
            if not op.local:
                dtypes[s.name] = np.dtype(np.int32)
                continue
            params = resolve_params(op, s.params, ndim)
            step = op.func.step(Spec(ndim, dtypes.get(src, np.dtype(dtype)), shape), **params)
            dtypes[s.name] = step.dtype
            total = [t + d for t, d in zip(total, step.depth, strict=True)]
    except Exception:  # validation reports bad steps later, with their names
        return tuple(total)
    return tuple(total)


def open_source(
    source: Any,
    *,
    chunks: Any = None,
    raw_shape: Any = None,
    raw_dtype: Any = None,
    raw_offset: int = 0,
    on_error: str = "raise",
    allow_remote: bool = False,
    halo: Any = None,
) -> Source:
    """Open a workflow's input lazily, reading at most headers.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array
        A directory, glob, image file or list of files (a collection, or one 3-D
        image: a volume), a raw file (with ``raw_shape`` and ``raw_dtype``), a Zarr
        array, or a numpy/dask array (a volume).
    chunks : int, str or tuple, optional
        Images per task for collections; block shape for volumes (``"32,128,128"``).
    raw_shape, raw_dtype, raw_offset
        The layout of a raw file.
    on_error : {"raise", "collect"}, optional
        For collections: ``"collect"`` leaves out files whose header is unreadable
        or of another shape or dtype, listing them in ``Source.failed``.
    allow_remote : bool, optional
        Accept URLs (``s3://``, ``http://``...); refused by default.
    halo : sequence of int or callable, optional
        The depth the workflow's local steps need per axis, or
        ``halo(ndim, dtype, shape)`` returning it; the automatic block shape of a
        volume minimises the overlap this costs (see ``_auto_volume_chunks``).

    Returns
    -------
    Source

    Raises
    ------
    InputNotFoundError, InputError, InvalidParameterError
        For missing or unreadable inputs, refused URLs and bad chunking.
    """
    from ..io import open_images, open_raw, open_zarr
    from ..io.raw import RawFile
    from ..io.raw import _normalize_dtype as normalize_raw_dtype

    _check_remote(source, allow_remote)
    chunks = _parse_chunks(chunks)
    if isinstance(source, np.ndarray | da.Array):
        x = da.asarray(source)
        x = x.rechunk(_volume_chunks(x.shape, chunks, _halo(halo, x)))
        return Source("volume", x, None, {"array": f"{x.shape} {x.dtype}", "name": x.name})
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if raw_shape is not None or path.lower().endswith(_RAW_SUFFIXES):
            if raw_shape is None or raw_dtype is None:
                raise InvalidParameterError(
                    f"a raw input needs its shape and dtype; got shape={raw_shape!r}, "
                    f"dtype={raw_dtype!r} for {path!r}. Hint: --raw-shape 64,128,128 "
                    "--raw-dtype uint8."
                )
            if isinstance(raw_shape, str):
                raw_shape = tuple(int(s) for s in raw_shape.split(","))
            x = open_raw(path, shape=raw_shape, dtype=raw_dtype, offset=int(raw_offset))
            # open it again with the blocks themselves: each task reads its own block
            block = _volume_chunks(x.shape, chunks, _halo(halo, x))
            x = open_raw(
                path, shape=raw_shape, dtype=raw_dtype, offset=int(raw_offset), chunks=block
            )
            size, mtime = _stat(path)
            desc = {
                "raw": os.path.abspath(path),
                "shape": list(x.shape),
                "dtype": str(x.dtype),
                "offset": int(raw_offset),
                "size": size,
                "mtime_ns": mtime,
            }
            reader = RawFile(path, x.shape, normalize_raw_dtype(raw_dtype), int(raw_offset), "C")
            return Source("volume", x, None, desc, reader=reader)
        if os.path.isdir(path) and _is_zarr(path):
            x = open_zarr(path)
            x = x.rechunk(_volume_chunks(x.shape, chunks, _halo(halo, x)))
            desc = {"zarr": os.path.abspath(path), "shape": list(x.shape), "name": x.name}
            return Source("volume", x, None, desc, reader=_ZarrRegions(os.path.abspath(path)))
    per_chunk = chunks if isinstance(chunks, int) else "auto"
    if isinstance(chunks, tuple):
        raise InvalidParameterError(
            f"chunks must be a number of images per task for an image collection; got {chunks!r}."
        )
    stack = open_images(source, images_per_chunk=per_chunk, on_error=on_error)
    data, paths = stack.data, stack.paths
    failed = list(stack.failed)
    image = data.shape[1:]
    rgb = len(image) == 3 and image[-1] in (3, 4)
    if len(paths) == 1 and not failed and len(image) == 3 and not rgb:
        x = data[0].rechunk(_volume_chunks(image, chunks, _halo(halo, data[0])))
        size, mtime = _stat(paths[0])
        desc = {"file": os.path.abspath(paths[0]), "size": size, "mtime_ns": mtime}
        return Source("volume", x, None, desc)
    if per_chunk == "auto":
        nbytes = int(np.prod(image)) * 8
        per = max(1, min(COLLECTION_CHUNK_BYTES // max(nbytes, 1), -(-len(paths) // 4)))
        data = open_images(paths, images_per_chunk=per).data
    # every listed file keeps its slot (its position in the listing)
    listing: list[str] = []
    bad: dict[int, dict] = {}
    good = iter(paths)
    for pos, path, exc in failed:
        while len(listing) < pos:
            listing.append(next(good))
        bad[len(listing)] = _error_row(path, "open", exc)
        listing.append(path)
    listing.extend(good)
    stats = [_stat_or_none(p) for p in listing]
    desc = {
        "images": [os.path.abspath(p) for p in listing],
        "sizes": [s[0] for s in stats],
        "mtimes_ns": [s[1] for s in stats],
    }
    return Source("collection", data, listing, desc, bad)


def _error_row(path: str, step: str, exc: BaseException) -> dict:
    from .journal import error_row

    return error_row(path, step, exc)


def _stat_or_none(path: str) -> tuple[int, int]:
    try:
        return _stat(path)
    except OSError:
        return -1, -1


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _check_remote(source: Any, allow_remote: bool) -> None:
    """Refuse URLs (``s3://``, ``http://``...) unless the user opted in."""
    items = [source] if isinstance(source, str | os.PathLike) else source
    if allow_remote or not isinstance(items, Sequence) or isinstance(items, bytes):
        return
    for item in items:
        if isinstance(item, str) and _URL.match(item):
            raise InputError(
                f"input must be a local path; got the URL {item!r}. batchimg reads remote "
                "data only when asked: pass --allow-remote (allow_remote=True) to read it."
            )


@dataclass(frozen=True)
class RunResult:
    """What a run produced.

    Parameters
    ----------
    output : str
        The output folder.
    table_file : str or None
        The table's file name in ``output`` (None without a label step); the
        table itself is :attr:`table`, read from it.
    arrays : dict
        Path inside ``result.zarr`` -> shape.
    kind : str
        ``"collection"`` or ``"volume"``.
    seconds : float
        Wall time of the run.
    failed : tuple of dict
        The inputs left out, as rows of ``errors.csv`` (path, step, exception,
        message).
    n_inputs : int
        The number of input files (1 for a volume).
    n_regions : int
        The number of rows of the table.
    """

    output: str
    table_file: str | None
    arrays: dict
    kind: str
    seconds: float
    failed: tuple = ()
    n_inputs: int = 1
    n_regions: int = 0

    @property
    def table(self):
        """The measurements as a DataFrame, read from the output folder (None without one).

        The run writes the table a task's rows at a time and never holds all of
        it, so memory does not grow with the number of regions; this reads it.
        """
        from ..io import read_table

        if self.table_file is None:
            return None
        return read_table(os.path.join(self.output, self.table_file))


def _table_path(output: str, table: str | None, table_format: str | None) -> str:
    if table is None:
        fmt = table_format or "csv"
        if fmt not in ("csv", "parquet"):
            raise InvalidParameterError(f"table_format must be 'csv' or 'parquet'; got {fmt!r}.")
        table = f"measurements.{fmt}"
    if os.path.dirname(table):
        raise InvalidParameterError(
            f"table must be a file name inside the output folder; got {table!r}."
        )
    return table


def run(
    workflow: Workflow,
    source: Any,
    output: str | os.PathLike,
    *,
    chunks: Any = None,
    save: Sequence[str] | None = None,
    raw_shape: Any = None,
    raw_dtype: Any = None,
    raw_offset: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    table: str | None = None,
    table_format: str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    resume: bool = False,
    verify: bool = False,
    max_failures: int | None = None,
    retries: int = 2,
    allow_remote: bool = False,
) -> RunResult:
    """Run ``workflow`` on ``source``; write ``result.zarr``, the table and ``summary.png``.

    Parameters
    ----------
    workflow : Workflow
        The validated workflow.
    source : str, os.PathLike, sequence or array
        The input (see :func:`open_source`).
    output : str or os.PathLike
        The output folder; see :mod:`batchimg.workflow.outputs` for its layout.
    chunks : int, str or tuple, optional
        Images per task (collections) or the block shape (volumes).
    save : sequence of str, optional
        Step outputs to save in addition to the workflow's ``save`` list.
    raw_shape, raw_dtype, raw_offset
        The layout of a raw input file.
    workers : int, optional
        Local threads or processes (default: all cores).
    scheduler : str, optional
        ``"threads"`` (default), ``"processes"``, ``"sync"``, or a distributed
        scheduler's address.
    table : str, optional
        The table's file name (``measurements.parquet`` writes Parquet).
    table_format : {"csv", "parquet"}, optional
        The table's format when ``table`` is not given.
    progress : bool, optional
        Show a progress bar for runs longer than a second.
    log : callable, optional
        Receives one-line messages (the chunking, where results went).
    resume : bool, optional
        Continue the interrupted run in ``output``: collection tasks recorded in
        its manifest are skipped (a volume is computed again). Refused when the
        workflow, the inputs (paths, sizes, modification times) or the table
        changed.
    verify : bool, optional
        With ``resume``, also compare the content hash of every file already
        processed.
    max_failures : int, optional
        Abort (raise) once more than this many inputs failed; default: no limit.
    retries : int, optional
        Read attempts after a failed one before a file counts as failed.
    allow_remote : bool, optional
        Accept URL inputs (``s3://``, ``http://``...), refused by default.

    Returns
    -------
    RunResult
        ``failed`` lists the inputs left out (also in ``DIR/errors.csv``).

    Raises
    ------
    WorkflowError
        When the workflow does not fit the input (checked before any pixel is read).
    InputError, InputNotFoundError, InvalidParameterError
        For bad inputs or options, more than ``max_failures`` failed inputs (or all
        of them), an output folder in use by another run, or a refused resume.
    """
    from . import journal

    t0 = time.perf_counter()
    say = log or (lambda _msg: None)
    if save:
        extra = tuple(s for s in save if s not in workflow.save)
        workflow = Workflow(
            workflow.name,
            workflow.steps,
            workflow.measure,
            workflow.save + extra,
            source=workflow.source,
            text=workflow.text,
        )
    if isinstance(output, str) and _URL.match(output):
        raise InputError(f"output must be a local folder; got the URL {output!r}.")
    output = os.fspath(output)
    table_name = _table_path(output, table, table_format)
    if not isinstance(retries, int) or retries < 0:
        raise InvalidParameterError(f"retries must be an integer >= 0; got {retries!r}.")
    if max_failures is not None and (not isinstance(max_failures, int) or max_failures < 0):
        raise InvalidParameterError(
            f"max_failures must be an integer >= 0 or None; got {max_failures!r}."
        )
    partial = journal.find_partial(output) if resume else None
    state = journal.read_json(os.path.join(partial, journal.STATE)) if partial else None
    if state is not None and state.get("chunks") is not None:
        if chunks is not None and _parse_chunks(chunks) != _parse_chunks(state["chunks"]):
            say(f"resuming with the interrupted run's chunks {state['chunks']}, not {chunks}")
        chunks = state["chunks"]
    src = open_source(
        source, chunks=chunks, raw_shape=raw_shape, raw_dtype=raw_dtype, raw_offset=raw_offset,
        on_error="collect", allow_remote=allow_remote,
        halo=functools.partial(_chain_halo, workflow),
    )  # fmt: skip
    shape = src.image_shape
    workflow.check_input(len(shape), src.data.dtype, shape)
    if src.kind == "collection":
        say(
            f"chunks: {src.data.chunks[0][0]} image(s) per task, "
            f"{-(-len(src.paths) // src.data.chunks[0][0])} task(s) for {len(src.paths)} "
            f"images of {shape} {src.data.dtype}"
        )
        for row in src.failed.values():
            say(f"left out {row['path']!r}: {row['message']}")
    else:
        say(
            f"chunks: {src.data.chunksize} ({src.data.npartitions} blocks) for the volume "
            f"{src.data.shape} {src.data.dtype}"
        )
    new_state = {
        "workflow_fingerprint": workflow.fingerprint(),
        "workflow": journal.workflow_record(workflow),
        "input_kind": src.kind,
        "input": src.description,
        "input_fingerprint": src.fingerprint(),
        "chunks": src.data.chunks[0][0] if src.kind == "collection" else list(src.data.chunksize),
        "table": table_name,
        "started": outputs.utc_now(),
    }
    if state is not None:
        journal.check_resumable(output, state, new_state)
    elif resume:
        say(f"nothing to resume in {output}; starting a new run")
    outputs.make_folder(output)
    lock = journal.RunLock(output)
    lock.acquire(say)
    try:
        return _run_locked(
            workflow, src, output, partial if state is not None else None, new_state,
            table_name, t0, say, scheduler=scheduler, workers=workers, progress=progress,
            verify=verify, retries=retries, max_failures=max_failures,
        )  # fmt: skip
    except BaseException as exc:
        journal.write_failed(output, exc)
        raise
    finally:
        lock.release()


def _run_locked(workflow, src, output, partial, state, table_name, t0, say, *, scheduler,
                workers, progress, verify, retries, max_failures) -> RunResult:  # fmt: skip
    """The part of :func:`run` that writes, under the output folder's lock."""
    from . import journal

    outputs.prefetch_plotting()
    staging = outputs.prepare(output, resume_from=partial)
    result_path = os.path.join(staging, outputs.RESULT)
    resumable = src.kind == "collection" or _two_pass_plan(workflow) is not None
    resuming = partial is not None and resumable and os.path.isdir(result_path)
    if not resuming:
        if partial is not None:
            say("the interrupted run's volume pass is computed again")
        for entry in os.listdir(staging):  # a volume restarts from a clean staging folder
            path = os.path.join(staging, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        journal.write_json(os.path.join(staging, journal.STATE), state)
    attrs = {
        "batchimg": {
            "workflow_name": workflow.name,
            "workflow": workflow.to_yaml(),
            "workflow_fingerprint": workflow.fingerprint(),
            "input": src.description,
            "input_kind": src.kind,
            "versions": outputs.versions(),
            "time": outputs.utc_now(),
            "saved": list(workflow.save),
            "labels": outputs.LABELS_PATH if workflow.label_step is not None else None,
        }
    }
    if resuming:
        import zarr

        group = zarr.open_group(result_path, mode="r+")
    else:
        group = outputs.create_group(result_path, attrs)
    failures: list[dict] = []
    counts = None  # regions per image, for the summary of a collection
    if src.kind == "collection":
        parts, arrays, max_label, failures, counts = _run_collection(
            workflow, src, group, result_path, scheduler, workers, progress, staging=staging,
            resume=resuming, verify=verify, retries=retries, max_failures=max_failures,
            say=say,
        )  # fmt: skip
        frame = None
    else:
        frame, arrays, max_label = _run_volume(
            workflow, src, group, scheduler, workers, progress, staging=staging, resume=resuming
        )
        parts = None if frame is None else (lambda: iter([frame]))
    if workflow.label_step is not None:
        labels_group = group["labels/labels"]
        meta = dict(labels_group.attrs)["ome"]
        meta["image-label"]["colors"] = outputs.label_colors(max_label)
        labels_group.attrs["ome"] = meta
    rows = None
    if parts is not None:
        from ..io.tables import write_table_parts

        _, rows = write_table_parts(parts(), os.path.join(staging, table_name))
    if failures:
        journal.write_errors(os.path.join(staging, journal.ERRORS), failures)
    outputs.summary_png(
        os.path.join(staging, outputs.SUMMARY),
        frame,
        collection=src.kind == "collection",
        paths=src.paths,
        counts=counts if rows is not None else None,
    )
    marker = {
        "workflow": workflow.name,
        "workflow_fingerprint": workflow.fingerprint(),
        "input_fingerprint": src.fingerprint(),
        "versions": outputs.versions(),
        "time": outputs.utc_now(),
        "table": table_name if rows is not None else None,
        "rows": rows,
        "failed_inputs": len(failures),
        "errors": journal.ERRORS if failures else None,
    }
    outputs.finish(output, staging, marker)
    seconds = time.perf_counter() - t0
    what = "no table" if rows is None else f"{rows} regions in {table_name}"
    failed = f"; {len(failures)} input(s) failed, see {journal.ERRORS}" if failures else ""
    say(f"done in {seconds:.1f} s: {what}{failed}; results in {output}")
    n_inputs = len(src.paths) if src.paths is not None else 1
    return RunResult(
        output,
        None if rows is None else table_name,
        arrays,
        src.kind,
        seconds,
        tuple(failures),
        n_inputs,
        rows or 0,
    )


__all__ = [
    "ImagePlan",
    "RunResult",
    "Source",
    "build_graph",
    "check_steps",
    "compute",
    "image_plan",
    "needed_outputs",
    "open_source",
    "resolve_params",
    "run",
]
