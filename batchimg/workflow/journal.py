"""Bookkeeping that makes runs safe to interrupt, resume and share: lock, state, manifest.

Inside a run's staging folder ``DIR/.partial-<id>/``::

    run.json                  what the run is: workflow, inputs (paths, sizes, mtimes),
                              images per task or block shape, table name
    manifest/chunk-000003.json  one record per finished collection task (written
                              atomically, last): counts, failures, content hashes
    parts/chunk-000003.parquet  that task's table rows (written atomically, before
                              the record)
    failed/slot-000012.json   one file per failed image (counts failures while the
                              run goes, for ``max_failures``)

and in ``DIR``: ``.lock`` (pid, host and start time of the run writing the folder),
``_FAILED`` (the error of a run that raised) and ``errors.csv`` (the inputs that
failed, one row each). Every file is written under a temporary name and renamed, so a
reader sees it whole or not at all; every name is made from numbers, never from an
input's path. Nothing here is pickled: records are JSON, rows are Parquet.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import InputError

LOCK = ".lock"
FAILED_MARKER = "_FAILED"
ERRORS = "errors.csv"
STATE = "run.json"
MANIFEST = "manifest"
PARTS = "parts"
FAILED_DIR = "failed"
#: Staging entries that are bookkeeping, not results (not moved into ``DIR``).
BOOKKEEPING = (STATE, MANIFEST, PARTS, FAILED_DIR)
ERROR_COLUMNS = ("path", "step", "exception", "message")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (whole or absent)."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: str, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write(path, json.dumps(obj, indent=1, default=str).encode())


def read_json(path: str) -> Any:
    """Read a JSON file; None when it is absent or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


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
    over (with a message).
    """

    def __init__(self, output: str) -> None:
        self.path = os.path.join(output, LOCK)
        self.held = False

    def acquire(self, say: Callable[[str], None]) -> None:
        """Take the lock or raise :class:`InputError` naming the run that holds it."""
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now()}
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
                    say(
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
            return
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
# the run's state and resuming


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


def workflow_record(wf) -> dict:
    """The parts of a workflow that shape its results, as plain JSON values."""
    steps = [[s.op, dict(s.params), s.source] for s in wf.steps]
    rec = {"name": wf.name, "steps": steps, "measure": list(wf.measure), "save": list(wf.save)}
    return json.loads(json.dumps(rec, default=str))


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def workflow_changes(old: dict, new: dict) -> list[str]:
    """Say how workflow record ``new`` differs from ``old`` (empty when equal)."""
    out = []
    if old.get("name") != new.get("name"):
        out.append(f"name {old.get('name')!r} -> {new.get('name')!r}")
    a, b = old.get("steps", []), new.get("steps", [])
    for i in range(max(len(a), len(b))):
        if i >= len(a):
            out.append(f"step {i + 1} {b[i][0]!r} added")
        elif i >= len(b):
            out.append(f"step {i + 1} {a[i][0]!r} removed")
        elif a[i] != b[i]:
            if a[i][0] != b[i][0]:
                out.append(f"step {i + 1} {a[i][0]!r} -> {b[i][0]!r}")
            else:
                what = f"{_short(a[i][1])} -> {_short(b[i][1])}"
                if a[i][2] != b[i][2]:
                    what = f"from {a[i][2]!r} -> {b[i][2]!r}"
                out.append(f"step {i + 1} {a[i][0]!r}: {what}")
    for key in ("measure", "save"):
        if old.get(key) != new.get(key):
            out.append(f"{key} {old.get(key)} -> {new.get(key)}")
    return out


def input_changes(old: dict, new: dict) -> list[str]:
    """Say how input description ``new`` differs from ``old`` (paths, sizes, mtimes)."""
    if "images" in old and "images" in new:
        a = dict(zip(old["images"], zip(old["sizes"], old["mtimes_ns"], strict=True), strict=True))
        b = dict(zip(new["images"], zip(new["sizes"], new["mtimes_ns"], strict=True), strict=True))
        out = []
        added = [p for p in b if p not in a]
        removed = [p for p in a if p not in b]
        changed = [p for p in b if p in a and a[p] != b[p]]
        if added:
            out.append(f"{len(added)} file(s) added ({_names(added)})")
        if removed:
            out.append(f"{len(removed)} file(s) removed ({_names(removed)})")
        if changed:
            p = changed[0]
            out.append(
                f"{len(changed)} file(s) changed size or modification time ({_names(changed)}; "
                f"{os.path.basename(p)!r}: size {a[p][0]} -> {b[p][0]})"
            )
        if not out and list(a) != list(b):
            out.append("the order of the files changed")
        return out
    keys = sorted(set(old) | set(new))
    return [
        f"{k} {_short(old.get(k))} -> {_short(new.get(k))}"
        for k in keys
        if old.get(k) != new.get(k)
    ]


def _names(paths: list[str]) -> str:
    shown = ", ".join(repr(os.path.basename(p)) for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def check_resumable(output: str, old: dict, new: dict) -> None:
    """Refuse to resume when the workflow, the inputs or the table differ from ``old``."""
    problems = []
    wf = workflow_changes(old.get("workflow", {}), new["workflow"])
    if wf:
        problems.append("the workflow changed: " + "; ".join(wf))
    if old.get("input_kind") != new["input_kind"]:
        problems.append(
            f"the input changed from a {old.get('input_kind')} to a {new['input_kind']}"
        )
    else:
        inp = input_changes(old.get("input", {}), json.loads(json.dumps(new["input"])))
        if inp:
            problems.append("the inputs changed: " + "; ".join(inp))
    if old.get("table") != new["table"]:
        problems.append(f"the table changed: {old.get('table')!r} -> {new['table']!r}")
    if problems:
        raise InputError(
            f"cannot resume the run in {output!r}: " + "; ".join(problems) + ". Hint: run "
            "without --resume to start over."
        )


# ---------------------------------------------------------------------------
# the manifest of finished work


def file_hash(path: str) -> str:
    """Return the BLAKE2b hash of a file's bytes (hex)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()[:32]


def chunk_name(index: int) -> str:
    """File stem of collection task ``index`` (a number, never a path)."""
    return f"chunk-{int(index):06d}"


def ensure_dirs(staging: str) -> None:
    """Create the manifest, parts and failed folders of a staging folder."""
    for d in (MANIFEST, PARTS, FAILED_DIR):
        os.makedirs(os.path.join(staging, d), exist_ok=True)


def write_part(staging: str, index: int, frame) -> str | None:
    """Write a task's table rows to ``parts/chunk-NNNNNN.parquet``; return the name."""
    if frame is None:
        return None
    import io

    name = chunk_name(index) + ".parquet"
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    atomic_write(os.path.join(staging, PARTS, name), buf.getvalue())
    return name


def read_part(staging: str, name: str):
    """Read a part file written by :func:`write_part`."""
    import pandas as pd

    return pd.read_parquet(os.path.join(staging, PARTS, name))


def record_failure(staging: str, slot: int, row: dict) -> None:
    """Note one failed image (for counting failures while the run goes)."""
    write_json(os.path.join(staging, FAILED_DIR, f"slot-{int(slot):09d}.json"), row)


def count_failures(staging: str) -> int:
    """The number of images noted failed so far."""
    try:
        return sum(1 for e in os.listdir(os.path.join(staging, FAILED_DIR)) if e.endswith(".json"))
    except FileNotFoundError:
        return 0


def record_chunk(staging: str, index: int, record: dict) -> None:
    """Record collection task ``index`` as finished (written last, atomically)."""
    write_json(os.path.join(staging, MANIFEST, chunk_name(index) + ".json"), record)


def done_chunks(staging: str) -> dict[int, dict]:
    """Return the finished tasks' records by task index."""
    out = {}
    folder = os.path.join(staging, MANIFEST)
    if not os.path.isdir(folder):
        return out
    for entry in os.listdir(folder):
        if entry.startswith("chunk-") and entry.endswith(".json"):
            rec = read_json(os.path.join(folder, entry))
            if rec is not None:
                out[int(rec["chunk"])] = rec
    return out


def forget_unfinished(staging: str, done: dict[int, dict]) -> None:
    """Remove failure notes and parts of tasks that did not finish (they run again)."""
    failed = {int(f["slot"]) for rec in done.values() for f in rec["failed"]}
    folder = os.path.join(staging, FAILED_DIR)
    for entry in os.listdir(folder):
        if entry.endswith(".json") and int(entry[5:-5]) not in failed:
            os.remove(os.path.join(folder, entry))
    parts = {rec["part"] for rec in done.values() if rec.get("part")}
    folder = os.path.join(staging, PARTS)
    for entry in os.listdir(folder):
        if entry not in parts:
            os.remove(os.path.join(folder, entry))


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


def error_row(path: str, step: str, exc: BaseException) -> dict:
    """One ``errors.csv`` row for ``exc`` raised at ``step`` on ``path``."""
    message = " ".join(str(exc).split()) or repr(exc)
    return {"path": path, "step": step, "exception": type(exc).__name__, "message": message}


def write_failed(output: str, exc: BaseException) -> None:
    """Write ``DIR/_FAILED`` with the error that ended the run."""
    write_json(
        os.path.join(output, FAILED_MARKER),
        {"exception": type(exc).__name__, "message": str(exc), "time": _now(), "pid": os.getpid()},
    )


__all__ = [
    "ERRORS",
    "FAILED_MARKER",
    "LOCK",
    "RunLock",
    "atomic_write",
    "check_resumable",
    "count_failures",
    "done_chunks",
    "error_row",
    "file_hash",
    "find_partial",
    "input_changes",
    "read_json",
    "record_chunk",
    "record_failure",
    "workflow_changes",
    "workflow_record",
    "write_errors",
    "write_failed",
    "write_json",
    "write_part",
]
