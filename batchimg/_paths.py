"""What a local path is, by its name and its metadata files (the standard library only)."""

from __future__ import annotations

import os
import re

#: The files that make a folder a Zarr node (v3; v2 array; v2 group).
ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup")


def has_zarr_metadata(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds Zarr metadata (it is a Zarr array or group)."""
    return os.path.isdir(folder) and any(
        os.path.exists(os.path.join(folder, m)) for m in ZARR_METADATA
    )


def is_zarr(path: str | os.PathLike) -> bool:
    """Whether ``path`` is (inside) a Zarr store: a ``.zarr`` component or Zarr metadata."""
    text = os.fspath(path).rstrip("/")
    if re.search(r"\.zarr(/|$)", text.replace(os.sep, "/")):
        return True
    return has_zarr_metadata(text)


__all__ = ["ZARR_METADATA", "has_zarr_metadata", "is_zarr"]
