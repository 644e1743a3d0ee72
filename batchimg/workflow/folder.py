"""A run's output folder: its layout, the lock, staging, the manifest, markers, info.

Layout of ``DIR``::

    DIR/result.zarr/          OME-Zarr 0.5: the input, labels, saved steps, the table
                              (see :mod:`.omezarr`)
    DIR/measurements.csv      one row per region (or .parquet; the name is recorded)
    DIR/errors.csv            the inputs that failed, one row each
    DIR/report.html           the run's report
    DIR/_COMPLETE             JSON, written last: fingerprints, versions, time, the
                              table's name and rows, every file the run wrote
    DIR/_FAILED               the error of a run that raised
    DIR/.lock                 pid, host and start time of the run writing the folder
    DIR/.batchimg.json        what batchimg wrote here (top-level names, result.zarr nodes)
    DIR/.partial-<id>/        the staging folder of a run in progress:
      run.json                  what the run is (workflow, inputs, chunking, table)
      manifest/chunk-N.json     one record per finished collection task (written last)
      parts/chunk-N.parquet     that task's table rows (written before the record)
      failed/slot-N.json        one file per failed image (counted for max_failures)
      work/                     a volume's intermediate stores and per-block journal

A run works in the staging folder and moves its results into ``DIR`` at the end;
``_COMPLETE`` is removed when a run starts and written only after every other file
is in place, so an interrupted run never looks complete. A new run never leaves a
previous run's outputs behind (what the previous run wrote and this one does not is
removed when this one finishes), and never deletes or replaces anything batchimg did
not write: such an entry in the way is refused unless ``overwrite=True``. Every
file is written whole or not at all (:mod:`batchimg.io.atomic`); every name is made
from numbers, never from an input's path. Nothing is pickled: records are JSON,
rows are Parquet.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._paths import has_zarr_metadata
from ..errors import InputError, InputNotFoundError
from ..io.atomic import atomic_write, read_json, write_json

RESULT = "result.zarr"
MARKER = "_COMPLETE"
FAILED = "_FAILED"
LOCK = ".lock"
LEDGER = ".batchimg.json"
ERRORS = "errors.csv"
REPORT = "report.html"
STATE = "run.json"
MANIFEST = "manifest"
PARTS = "parts"
FAILED_DIR = "failed"
WORK = "work"
#: Staging entries that are bookkeeping, not results (not moved into ``DIR``).
BOOKKEEPING = (STATE, MANIFEST, PARTS, FAILED_DIR, WORK)
ERROR_COLUMNS = ("path", "step", "exception", "message")
#: Table suffixes and their formats.
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".csv.gz": "csv"}


def utc_now() -> str:
    """Return the current UTC time in ISO 8601."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Return the versions of batchimg and the libraries that shape its results."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("batchimg", "numpy", "scipy", "scikit-image", "dask", "zarr"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            out[name] = "unknown"
    return out


def table_name(table: str | None, table_format: str | None) -> str:
    """The table's file name: ``table`` as given, or ``measurements.<format>``.

    Raises
    ------
    InputError
        For a path with folders, an unknown suffix or an unknown format.
    """
    from ..errors import InvalidParameterError

    if table is None:
        fmt = table_format or "csv"
        if fmt not in ("csv", "parquet"):
            raise InvalidParameterError(f"table_format must be 'csv' or 'parquet'; got {fmt!r}.")
        return f"measurements.{fmt}"
    if not isinstance(table, str) or os.path.dirname(table) or table in ("", ".", ".."):
        raise InvalidParameterError(
            f"table must be a file name inside the output folder; got {table!r}."
        )
    if not any(table.lower().endswith(s) for s in TABLE_FORMATS):
        raise InvalidParameterError(
            f"table must end in {', '.join(TABLE_FORMATS)}; got {table!r}. Hint: "
            "measurements.csv or measurements.parquet."
        )
    if table in (RESULT, MARKER, FAILED, ERRORS, REPORT, LEDGER):
        raise InvalidParameterError(
            f"table must not take the name of a result file; got {table!r}."
        )
    if table_format is not None and TABLE_FORMATS[_suffix(table)] != table_format:
        raise InvalidParameterError(
            f"table_format {table_format!r} does not match the table's name {table!r}."
        )
    return table


def _suffix(name: str) -> str:
    return next(s for s in sorted(TABLE_FORMATS, key=len, reverse=True) if name.lower().endswith(s))


# ---------------------------------------------------------------------------
# the lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class RunLock:
    """``DIR/.lock``: one run writes a folder at a time.

    The lock file holds the pid, host and start time of the run. A second run
    refuses, naming the first; a lock left by a dead process on this host is taken
    over (with a message); a lock from another host is never guessed stale.
    """

    def __init__(self, output: str) -> None:
        self.path = os.path.join(output, LOCK)
        self.held = False

    def acquire(self) -> str | None:
        """Take the lock; return a message when a stale lock was taken over.

        Raises
        ------
        InputError
            Naming the run that holds the lock.
        """
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()}
        message = None
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = read_json(self.path)
                if other is None:  # being written, or garbage: look once more
                    other = {"pid": -1, "host": me["host"], "started": "?"}
                same_host = other.get("host") == me["host"]
                pid = int(other.get("pid", -1))
                if same_host and (pid <= 0 or not _pid_alive(pid)):
                    message = (
                        f"taking over the stale lock of process {pid} on {other.get('host')} "
                        f"(started {other.get('started')}), which is no longer running"
                    )
                    try:
                        os.remove(self.path)
                    except FileNotFoundError:
                        pass
                    continue
                raise InputError(
                    f"output folder {os.path.dirname(self.path)!r} is in use by another run: "
                    f"process {pid} on {other.get('host')}, started {other.get('started')}. "
                    f"Hint: wait for it, or remove {self.path!r} if that run is gone."
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            self.held = True
            return message
        raise InputError(f"could not take the lock {self.path!r}; another run keeps taking it.")

    def release(self) -> None:
        """Remove the lock file if this run holds it."""
        if self.held:
            self.held = False
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass


# ---------------------------------------------------------------------------
# ownership


def _zarr_nodes(path: str) -> list[str]:
    """The groups and arrays of a Zarr v3 store (paths of their zarr.json), no chunks read."""
    out = []
    for root, dirs, files in os.walk(path):
        rel = os.path.relpath(root, path)
        if "zarr.json" in files or ".zarray" in files or ".zgroup" in files:
            out.append("" if rel == "." else rel.replace(os.sep, "/"))
        # chunk folders hold no metadata: do not walk millions of chunk files
        dirs[:] = [d for d in dirs if d != "c" and not d.isdigit() or _has_meta(root, d)]
    return sorted(out)


def _has_meta(root: str, d: str) -> bool:
    return has_zarr_metadata(os.path.join(root, d))


def _owned(output: str) -> dict[str, Any]:
    ledger = read_json(os.path.join(output, LEDGER))
    if isinstance(ledger, dict):
        return ledger
    marker = read_json(os.path.join(output, MARKER))
    if isinstance(marker, dict):  # a folder from before the ledger: its known outputs
        names = [RESULT, "summary.png", ERRORS, marker.get("table") or "measurements.csv"]
        return {"files": names, "zarr_nodes": None}
    return {"files": [], "zarr_nodes": None}


def check_owned(output: str, names: Iterable[str], *, overwrite: bool) -> None:
    """Refuse to replace what batchimg did not write in ``output`` (unless ``overwrite``).

    Raises
    ------
    InputError
        Naming the first entry in the way and how to proceed.
    """
    if overwrite or not os.path.isdir(output):
        return
    owned = _owned(output)
    for name in names:
        path = os.path.join(output, name)
        if not os.path.lexists(path):
            continue
        if name not in owned["files"]:
            raise InputError(
                f"output folder {output!r} holds {name!r}, which batchimg did not write; it is "
                "never replaced. Hint: choose another --output, or pass --overwrite to "
                "replace it."
            )
        if name == RESULT and owned.get("zarr_nodes") is not None:
            extra = sorted(set(_zarr_nodes(path)) - set(owned["zarr_nodes"]))
            if extra:
                raise InputError(
                    f"{path!r} holds {extra[0]!r}, which batchimg did not write; it is never "
                    "replaced. Hint: choose another --output, or pass --overwrite to replace it."
                )


# ---------------------------------------------------------------------------
# staging


def find_partial(output: str) -> str | None:
    """Return the newest staging folder of ``output`` that records a run, or None."""
    if not os.path.isdir(output):
        return None
    found = []
    for entry in os.listdir(output):
        path = os.path.join(output, entry)
        if entry.startswith(".partial-") and os.path.isfile(os.path.join(path, STATE)):
            found.append((os.path.getmtime(os.path.join(path, STATE)), path))
    return max(found)[1] if found else None


def chunk_name(index: int) -> str:
    """File stem of collection task ``index`` (a number, never a path)."""
    return f"chunk-{int(index):06d}"


def file_hash(path: str) -> str:
    """Return the BLAKE2b hash of a file's bytes (hex)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()[:32]


def error_row(path: str, step: str, exc: BaseException) -> dict:
    """One ``errors.csv`` row for ``exc`` raised at ``step`` on ``path``."""
    message = " ".join(str(exc).split()) or repr(exc)
    return {"path": path, "step": step, "exception": type(exc).__name__, "message": message}


def write_errors(path: str, rows: Iterable[dict]) -> int:
    """Write ``errors.csv`` (path, step, exception, message) atomically; return the rows."""
    import io

    rows = list(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ERROR_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r[k] for k in ERROR_COLUMNS})
    atomic_write(path, buf.getvalue().encode())
    return len(rows)


@dataclass(frozen=True)
class Staging:
    """The staging folder of a run in progress (see the module docstring)."""

    path: str

    @property
    def result(self) -> str:
        """Where result.zarr is written."""
        return os.path.join(self.path, RESULT)

    @property
    def work(self) -> str:
        """The folder of a volume's intermediate stores and journal."""
        return os.path.join(self.path, WORK)

    def state(self) -> dict | None:
        """The recorded run (``run.json``), or None."""
        return read_json(os.path.join(self.path, STATE))

    def write_state(self, state: dict) -> None:
        """Record what the run is."""
        write_json(os.path.join(self.path, STATE), state)

    def ensure_dirs(self) -> None:
        """Create the manifest, parts, failed and work folders."""
        for d in (MANIFEST, PARTS, FAILED_DIR, WORK):
            os.makedirs(os.path.join(self.path, d), exist_ok=True)

    def clear(self) -> None:
        """Remove everything (a run that starts over)."""
        for entry in os.listdir(self.path):
            p = os.path.join(self.path, entry)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)

    # collection tasks ---------------------------------------------------------

    def write_part(self, index: int, table) -> str | None:
        """Write a task's rows (a pyarrow Table) to ``parts/chunk-N.parquet``; return the name."""
        if table is None:
            return None
        import io

        import pyarrow.parquet as pq

        name = chunk_name(index) + ".parquet"
        buf = io.BytesIO()
        pq.write_table(table, buf)
        atomic_write(os.path.join(self.path, PARTS, name), buf.getvalue())
        return name

    def part_path(self, name: str) -> str:
        """The path of a part file."""
        return os.path.join(self.path, PARTS, name)

    def record_failure(self, slot: int, row: dict) -> None:
        """Note one failed image (for counting failures while the run goes)."""
        write_json(os.path.join(self.path, FAILED_DIR, f"slot-{int(slot):09d}.json"), row)

    def count_failures(self) -> int:
        """The number of images noted failed so far."""
        try:
            folder = os.path.join(self.path, FAILED_DIR)
            return sum(1 for e in os.listdir(folder) if e.endswith(".json"))
        except FileNotFoundError:
            return 0

    def failures(self) -> list[dict]:
        """The failure notes, in slot order."""
        folder = os.path.join(self.path, FAILED_DIR)
        rows = []
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            row = read_json(os.path.join(folder, name))
            if row is not None:
                rows.append(row)
        return rows

    def record_chunk(self, index: int, record: dict) -> None:
        """Record collection task ``index`` as finished (written last, atomically)."""
        write_json(os.path.join(self.path, MANIFEST, chunk_name(index) + ".json"), record)

    def done_chunks(self) -> dict[int, dict]:
        """The finished tasks' records by task index."""
        out = {}
        folder = os.path.join(self.path, MANIFEST)
        if not os.path.isdir(folder):
            return out
        for entry in os.listdir(folder):
            if entry.startswith("chunk-") and entry.endswith(".json"):
                rec = read_json(os.path.join(folder, entry))
                if rec is not None:
                    out[int(rec["chunk"])] = rec
        return out

    def forget_unfinished(self, done: dict[int, dict]) -> None:
        """Remove failure notes and parts of tasks that did not finish (they run again)."""
        failed = {int(f["slot"]) for rec in done.values() for f in rec["failed"]}
        folder = os.path.join(self.path, FAILED_DIR)
        for entry in os.listdir(folder):
            if entry.endswith(".json") and int(entry[5:-5]) not in failed:
                os.remove(os.path.join(folder, entry))
        parts = {rec["part"] for rec in done.values() if rec.get("part")}
        folder = os.path.join(self.path, PARTS)
        for entry in os.listdir(folder):
            if entry not in parts:
                os.remove(os.path.join(folder, entry))


class OutputFolder:
    """The folder a run writes (see the module docstring).

    Parameters
    ----------
    path : str
        The folder (made absolute).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.lock = RunLock(self.path)

    def prepare(self, writes: Iterable[str], *, overwrite: bool) -> None:
        """Check the folder can take a run writing ``writes``; create it.

        Raises
        ------
        InputError
            When it is a file, or holds an entry in the way that batchimg did not write.
        """
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise InputError(f"output must be a folder; got the file {self.path!r}.")
        writes = list(writes)
        check_owned(self.path, writes, overwrite=overwrite)
        os.makedirs(self.path, exist_ok=True)
        # from now on these names are batchimg's here (an errors.csv of a failed run too)
        owned = _owned(self.path)
        files = sorted(set(owned["files"]) | set(writes))
        nodes = owned.get("zarr_nodes")
        result = os.path.join(self.path, RESULT)
        if overwrite and os.path.isdir(result):
            nodes = _zarr_nodes(result)
        write_json(os.path.join(self.path, LEDGER), {"files": files, "zarr_nodes": nodes})

    def stage(self, resume_from: str | None) -> Staging:
        """Mark the folder incomplete and return the run's staging folder.

        ``_COMPLETE`` and ``_FAILED`` are removed first. A fresh staging folder is made,
        unless ``resume_from`` names the staging folder of an interrupted run to
        continue; other staging folders are removed.
        """
        for name in (MARKER, FAILED):
            p = os.path.join(self.path, name)
            if os.path.exists(p):
                os.remove(p)
        keep = None if resume_from is None else os.path.basename(os.path.normpath(resume_from))
        for entry in os.listdir(self.path):
            if entry.startswith(".partial-") and entry != keep:
                shutil.rmtree(os.path.join(self.path, entry), ignore_errors=True)
        if keep is not None:
            return Staging(os.path.join(self.path, keep))
        staging = os.path.join(self.path, f".partial-{uuid.uuid4().hex[:12]}")
        os.makedirs(staging)
        return Staging(staging)

    def finish(self, staging: Staging, marker: dict[str, Any], written: Iterable[str]) -> None:
        """Move the staged results into place, drop the previous run's, write ``_COMPLETE``.

        ``written`` are the names the run put directly into the folder (``errors.csv``,
        the report) besides what is in the staging folder.
        """
        owned = _owned(self.path)
        names = set(written)
        for entry in sorted(os.listdir(staging.path)):
            if entry in BOOKKEEPING:
                continue
            target = os.path.join(self.path, entry)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.remove(target)
            os.replace(os.path.join(staging.path, entry), target)
            names.add(entry)
        shutil.rmtree(staging.path)
        for stale in owned["files"]:
            if stale not in names and stale not in (MARKER, FAILED, LOCK, LEDGER):
                p = os.path.join(self.path, stale)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p)
                elif os.path.lexists(p):
                    os.remove(p)
        files = sorted(names)
        result = os.path.join(self.path, RESULT)
        nodes = _zarr_nodes(result) if os.path.isdir(result) else []
        write_json(os.path.join(self.path, LEDGER), {"files": files, "zarr_nodes": nodes})
        write_json(os.path.join(self.path, MARKER), {**marker, "files": files})

    def fail(self, exc: BaseException) -> None:
        """Write ``_FAILED`` with the error that ended the run."""
        write_json(
            os.path.join(self.path, FAILED),
            {
                "exception": type(exc).__name__,
                "message": str(exc),
                "time": utc_now(),
                "pid": os.getpid(),
            },
        )


# ---------------------------------------------------------------------------
# reading a folder back


def info(output: str | os.PathLike) -> dict[str, Any]:
    """Describe a run's output folder: state, arrays, table, workflow, versions.

    Parameters
    ----------
    output : str or os.PathLike
        The folder given to ``batchimg run --output``.

    Returns
    -------
    dict
        ``state`` (``"complete"``, ``"incomplete"``: interrupted or still running,
        ``"failed"``: the run raised, ``failure`` holds its error, or ``"empty"``: not
        a result folder), ``complete`` (bool), ``marker`` (the ``_COMPLETE`` content
        or None), ``failed_inputs`` (rows of ``errors.csv``), ``arrays`` (path ->
        (shape, dtype)), ``table`` (path or None), ``rows``, ``workflow`` (its name),
        ``versions``, ``lock``, ``partial`` (staging folders).

    Raises
    ------
    InputNotFoundError
        If ``output`` is not a folder.
    """
    output = os.fspath(output)
    if not os.path.isdir(output):
        raise InputNotFoundError(f"output folder {output!r} does not exist.")
    marker = read_json(os.path.join(output, MARKER))
    marker = marker if isinstance(marker, dict) else None
    failure = None if marker is not None else read_json(os.path.join(output, FAILED))
    errors_path = os.path.join(output, ERRORS)
    failed_inputs = None
    if os.path.isfile(errors_path):
        with open(errors_path, encoding="utf-8", newline="") as f:
            failed_inputs = max(sum(1 for _ in csv.reader(f)) - 1, 0)
    partial = sorted(e for e in os.listdir(output) if e.startswith(".partial-"))
    result = os.path.join(output, RESULT)
    if marker is not None:
        state = "complete"
    elif failure:
        state = "failed"
    elif partial or os.path.isdir(result) or os.path.exists(os.path.join(output, LOCK)):
        state = "incomplete"
    else:
        state = "empty"
    out: dict[str, Any] = {
        "output": output,
        "state": state,
        "failure": failure,
        "failed_inputs": failed_inputs,
        "lock": read_json(os.path.join(output, LOCK)),
        "complete": marker is not None,
        "marker": marker,
        "arrays": {},
        "table": None,
        "rows": None,
        "workflow": None,
        "versions": None,
        "partial": partial,
    }
    if os.path.isdir(result):
        try:
            import zarr

            group = zarr.open_group(result, mode="r")
            meta = dict(group.attrs).get("batchimg", {})
            out["workflow"] = meta.get("workflow_name")
            out["versions"] = meta.get("versions")
            for name, arr in group.members(max_depth=None):
                if isinstance(arr, zarr.Array):
                    out["arrays"][name] = (tuple(arr.shape), str(arr.dtype))
        except Exception as exc:  # an unreadable store is reported, not raised
            out["error"] = f"{result!r} could not be read: {exc}"
    if marker is not None:
        out["workflow"] = out["workflow"] or marker.get("workflow")
        out["versions"] = out["versions"] or marker.get("versions")
        if marker.get("table"):
            out["table"] = os.path.join(output, marker["table"])
            out["rows"] = marker.get("rows")
    return out


@dataclass(frozen=True)
class Result:
    """A finished run's outputs, opened for reading.

    Parameters
    ----------
    output : str
        The folder.
    group : zarr.Group or None
        ``result.zarr``, read-only (None when an incomplete folder has none yet).
    table : pandas.DataFrame or None
        The measurements.
    state : str
        ``"complete"``, ``"incomplete"`` or ``"failed"``.
    info : dict
        :func:`info` of the folder.
    """

    output: str
    group: Any
    table: Any
    state: str
    info: dict

    @property
    def labels(self):
        """The full-resolution label image (a zarr array), or None."""
        if self.group is None:
            return None
        try:
            return self.group["labels/labels/0"]
        except KeyError:
            return None

    @property
    def image(self):
        """The full-resolution input image (a zarr array), or None."""
        if self.group is None:
            return None
        try:
            return self.group["0"]
        except KeyError:
            return None

    def step(self, name: str):
        """The full-resolution array of saved step ``name``."""
        return self.group[f"{name}/0"]


def open_result(output: str | os.PathLike, *, allow_incomplete: bool = False) -> Result:
    """Open a run's outputs for reading; refuse a folder that is not complete.

    Parameters
    ----------
    output : str or os.PathLike
        The output folder.
    allow_incomplete : bool, optional
        Open an incomplete or failed folder anyway (with a warning).

    Returns
    -------
    Result

    Raises
    ------
    InputError
        If the folder is not complete and ``allow_incomplete`` is False.
    InputNotFoundError
        If ``output`` does not exist.
    """
    import warnings

    d = info(output)
    if d["state"] != "complete":
        what = d["state"]
        if d["failure"]:
            f = d["failure"]
            what += f": the run failed ({f.get('exception')}: {f.get('message')})"
        if not allow_incomplete:
            raise InputError(
                f"output folder {os.fspath(output)!r} is {what}; it has no {MARKER} marker. "
                "Hint: run again with --resume, or pass allow_incomplete=True to read it anyway."
            )
        warnings.warn(
            f"reading the {what} output folder {os.fspath(output)!r}: its files may be partial",
            stacklevel=2,
        )
    group = None
    result = os.path.join(os.fspath(output), RESULT)
    if os.path.isdir(result):
        import zarr

        group = zarr.open_group(result, mode="r")
    table = None
    if d["table"] and os.path.isfile(d["table"]):
        from ..io import read_table

        table = read_table(d["table"])
    return Result(os.fspath(output), group, table, d["state"], d)


__all__ = [
    "ERRORS",
    "FAILED",
    "LOCK",
    "MARKER",
    "REPORT",
    "RESULT",
    "OutputFolder",
    "Result",
    "RunLock",
    "Staging",
    "check_owned",
    "chunk_name",
    "error_row",
    "file_hash",
    "find_partial",
    "info",
    "open_result",
    "table_name",
    "utc_now",
    "versions",
    "write_errors",
]
