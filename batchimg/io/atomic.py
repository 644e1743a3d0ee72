"""The one atomic writer: a file is whole at its path, or absent.

Every file batchimg writes that a reader may see half-done (tables, records,
markers, reports) goes through :func:`atomic_file`: the content is written to a
temporary file in the destination folder, flushed to disk, and renamed over the
destination (:func:`os.replace`, atomic on POSIX file systems).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import IO, Any


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it to ``path``.

    The temporary name ends with the real name (so compression inferred from the
    suffix is the same); on an error it is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_file(f"{d}/a.txt", "w") as f:
    ...         _ = f.write("whole")
    ...     with open(f"{d}/a.txt") as f:
    ...         f.read()
    'whole'
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{uuid.uuid4().hex[:12]}.tmp-{name}")
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def temporary_path(path: str | os.PathLike) -> str:
    """A fresh temporary path beside ``path`` for writers that need a file name."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f".{uuid.uuid4().hex[:12]}.tmp-{name}")


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (whole or absent)."""
    with atomic_file(path, "wb") as f:
        f.write(data)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write(path, json.dumps(obj, indent=1, default=str).encode())


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; None when it is absent or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


__all__ = ["atomic_file", "atomic_write", "read_json", "temporary_path", "write_json"]
