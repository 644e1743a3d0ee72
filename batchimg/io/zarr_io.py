"""Zarr arrays (format 2 or 3) as lazy dask arrays with chunks aligned to storage.

This module is not named ``zarr`` so that it can never shadow the zarr library.
"""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
from dask.base import tokenize

from ..errors import InputError, InputNotFoundError, InvalidParameterError

_METADATA_FILES = ("zarr.json", ".zarray")


def _array_names(group) -> list[str]:
    import zarr

    return sorted(
        name for name, node in group.members(max_depth=None) if isinstance(node, zarr.Array)
    )


def _listing(names: list[str]) -> str:
    if not names:
        return "it holds no arrays"
    return "it holds " + ", ".join(repr(n) for n in names)


def _metadata_mtime(path: str, component: str | None) -> int:
    folder = os.path.join(path, component) if component else path
    for name in _METADATA_FILES:
        try:
            return os.stat(os.path.join(folder, name)).st_mtime_ns
        except OSError:
            continue
    return 0


def open_zarr(path: str | os.PathLike, component: str | None = None) -> da.Array:
    """Open an array of a Zarr store lazily, one dask chunk per storage chunk (or shard).

    Computing the array gives exactly ``zarr.open_array(path, path=component)[...]``.
    The graph holds the zarr array's handle (store location and metadata), never
    its data; each task reads the storage chunks it covers.

    Parameters
    ----------
    path : str or os.PathLike
        The Zarr store: a directory holding an array or a group.
    component : str, optional
        The array's path inside a group store (``'labels/0'``); leave it out when
        ``path`` is an array.

    Returns
    -------
    dask.array.Array
        The array, chunked as stored: by shard where the array is sharded, by
        chunk otherwise.

    Raises
    ------
    InputNotFoundError
        If ``path`` does not exist, or the group has no array ``component``; the
        message lists the arrays the store holds.
    InputError
        If ``path`` is not a Zarr store.
    InvalidParameterError
        If ``path`` is a group and ``component`` is not given.

    See Also
    --------
    dask.array.from_zarr, zarr.open_array

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as d:
    ...     z = zarr.create_array(f"{d}/a.zarr", shape=(4, 6), chunks=(2, 3), dtype="u1")
    ...     z[:] = 7
    ...     x = open_zarr(f"{d}/a.zarr")
    ...     x.chunks, int(x.sum().compute())
    (((2, 2), (3, 3)), 168)
    """
    import zarr

    text = os.fspath(path)
    if not os.path.exists(text):
        raise InputNotFoundError(f"zarr store {text!r} does not exist.")
    try:
        root = zarr.open(text, mode="r")
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(
            f"{text!r} must be a Zarr store (an array or a group); it holds no Zarr metadata."
        ) from exc

    if isinstance(root, zarr.Group):
        names = _array_names(root)
        if component is None:
            raise InvalidParameterError(
                f"component must name an array of the group {text!r} ({_listing(names)}); got None."
            )
        node = root.get(component)
        if not isinstance(node, zarr.Array):
            what = "a group, not an array" if node is not None else "no such array"
            raise InputNotFoundError(
                f"zarr store {text!r} has {what} at {component!r}; {_listing(names)}."
            )
    else:
        if component not in (None, ""):
            raise InputNotFoundError(
                f"zarr store {text!r} is a single array, with no component {component!r}; "
                "leave component out."
            )
        node = root

    chunks = node.shards or node.chunks
    token = tokenize(
        "open_zarr",
        os.path.abspath(text),
        component,
        node.shape,
        np.dtype(node.dtype).str,
        chunks,
        _metadata_mtime(text, component),
    )
    return da.from_zarr(node, chunks=chunks, name=f"open_zarr-{token}")


__all__ = ["open_zarr"]
