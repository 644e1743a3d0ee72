"""Raw volumes (headerless binary files) as lazy dask arrays, memory-mapped per task."""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np
from dask.base import tokenize

from .._lazy import da
from .._params import normalize_choice, normalize_int, normalize_sequence
from ..errors import InputError, InputNotFoundError, InvalidParameterError


class RawFile:
    """An array-like over a raw file that memory-maps it only while it is indexed.

    It holds ``(path, shape, dtype, offset, order)`` and nothing else, so a dask
    graph built on it pickles to a few hundred bytes whatever the file's size.
    Indexing opens a read-only :class:`numpy.memmap`, copies the selection out (as a
    C-contiguous array, whatever ``order``) and closes the map again.

    Parameters
    ----------
    path : str
        The raw file.
    shape : tuple of int
        The volume's shape.
    dtype : numpy.dtype
        The element type, byte order included.
    offset : int
        Bytes to skip at the start of the file (a header).
    order : {'C', 'F'}
        The memory layout of the volume in the file.
    """

    def __init__(
        self, path: str, shape: tuple[int, ...], dtype: np.dtype, offset: int, order: str
    ) -> None:
        self.path = path
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.offset = offset
        self.order = order
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        mm = np.memmap(
            self.path,
            dtype=self.dtype,
            mode="r",
            offset=self.offset,
            shape=self.shape,
            order=self.order,
        )
        try:
            return np.array(mm[key], order="C", copy=True)
        finally:
            del mm

    def __repr__(self) -> str:
        return (
            f"RawFile({self.path!r}, shape={self.shape}, dtype={self.dtype.str!r}, "
            f"offset={self.offset}, order={self.order!r})"
        )


def normalize_dtype(dtype: Any) -> np.dtype:
    """A fixed-size numeric numpy dtype from what a user passes (``'uint16'``, ``'>u2'``)."""
    try:
        out = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidParameterError(
            f"dtype must be a numpy dtype such as 'uint16' or '>u2'; got {dtype!r}."
        ) from exc
    if out.hasobject or out.itemsize == 0:
        raise InvalidParameterError(f"dtype must be a fixed-size numeric dtype; got {dtype!r}.")
    return out


def open_raw(
    path: str | os.PathLike,
    *,
    shape: int | tuple[int, ...],
    dtype: Any,
    offset: int = 0,
    order: str = "C",
    chunks: Any = "auto",
) -> da.Array:
    """Open a headerless binary volume lazily; each task memory-maps the file itself.

    Computing the array gives exactly ``np.fromfile(path, dtype, offset=offset)
    .reshape(shape, order=order)``. The graph holds the recipe (path, shape, dtype,
    offset, order), never a memory map or pixels, so it pickles small and runs on
    any worker that sees the file.

    Parameters
    ----------
    path : str or os.PathLike
        The raw file.
    shape : int or tuple of int
        The volume's shape, each axis at least 1.
    dtype : numpy dtype or str
        The element type; byte order may be given (``'>u2'`` is big-endian uint16).
    offset : int, optional
        Bytes to skip at the start of the file.
    order : {'C', 'F'}, optional
        Row-major (C) or column-major (Fortran) layout in the file.
    chunks : optional
        Dask chunks, as for :func:`dask.array.from_array` (``'auto'`` by default).

    Returns
    -------
    dask.array.Array
        The volume, of ``shape`` and ``dtype``.

    Raises
    ------
    InputNotFoundError
        If ``path`` does not exist.
    InputError
        If ``path`` is not a file, or its size is not ``offset`` plus
        ``prod(shape) * itemsize`` bytes.
    InvalidParameterError
        If ``shape``, ``dtype``, ``offset``, ``order`` or ``chunks`` is invalid.

    See Also
    --------
    numpy.memmap, numpy.fromfile : the in-memory oracle.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.arange(24, dtype=">u2").tofile(f"{d}/vol.raw")
    ...     x = open_raw(f"{d}/vol.raw", shape=(2, 3, 4), dtype=">u2", chunks=(1, 3, 2))
    ...     int(x[1, 2, 3].compute()), x.numblocks
    (23, (2, 1, 2))
    """
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    if not isinstance(shape, tuple | list) or not shape:
        raise InvalidParameterError(
            f"shape must be a non-empty tuple of positive integers; got {shape!r}."
        )
    shape = normalize_sequence(shape, len(shape), "shape", kind=int, minimum=1)
    dtype = normalize_dtype(dtype)
    offset = normalize_int(offset, "offset", minimum=0)
    order = normalize_choice(order, "order", ("C", "F"))

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputNotFoundError(f"raw file {path!r} does not exist.")
    if not os.path.isfile(path):
        raise InputError(f"{path!r} must be a file holding a raw volume; it is a directory.")
    stat = os.stat(path)
    needed = offset + math.prod(shape) * dtype.itemsize
    if stat.st_size != needed:
        raise InputError(
            f"{path!r} has {stat.st_size} bytes, but shape {shape} of {dtype} at offset "
            f"{offset} needs {needed}."
        )

    try:
        normalized = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise InvalidParameterError(
            f"chunks must be dask chunks for shape {shape}; got {chunks!r} ({exc})."
        ) from exc
    token = tokenize(
        "open_raw",
        os.path.abspath(path),
        stat.st_size,
        stat.st_mtime_ns,
        shape,
        dtype.str,
        offset,
        order,
        normalized,
    )
    return da.from_array(
        RawFile(path, shape, dtype, offset, order),
        chunks=normalized,
        name=f"open_raw-{token}",
        meta=np.empty((0,) * len(shape), dtype=dtype),
        asarray=False,
    )


# the workflow's open_source still imports the old name; remove once it uses open_input
_normalize_dtype = normalize_dtype


def read_npy_header(path: str) -> tuple[tuple[int, ...], np.dtype, int, str]:
    """Return ``(shape, dtype, offset, order)`` of a ``.npy`` file, from its header only.

    Raises
    ------
    InputError
        If the file is not a ``.npy`` file of a numeric array.
    """
    from numpy.lib import format as npy

    try:
        with open(path, "rb") as f:
            version = npy.read_magic(f)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, fortran, dtype = read(f)
            offset = f.tell()
    except (ValueError, OSError) as exc:
        raise InputError(f"{path!r} could not be read as a .npy file: {exc}") from exc
    if dtype.hasobject or not shape:
        raise InputError(
            f"{path!r} must hold a numeric array of at least one axis; it holds {shape} of {dtype}."
        )
    return tuple(int(n) for n in shape), np.dtype(dtype), offset, "F" if fortran else "C"


__all__ = ["RawFile", "normalize_dtype", "open_raw", "read_npy_header"]
