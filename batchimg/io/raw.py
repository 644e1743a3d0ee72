"""Raw volumes (headerless binary files) as lazy dask arrays, read per task."""

from __future__ import annotations

import math
import numbers
import operator
import os
from typing import Any

import numpy as np
from dask.base import tokenize

from .._lazy import da
from .._params import normalize_choice, normalize_int, normalize_sequence
from ..errors import InputError, InputNotFoundError, InvalidParameterError


class RawFile:
    """An array-like over a raw file that reads each selection into a new array.

    It holds ``(path, shape, dtype, offset, order)`` and nothing else, so a dask
    graph built on it pickles to a few hundred bytes whatever the file's size.
    Indexing with integers and step-1 slices (what dask's blocks are) reads the
    selection's contiguous runs of the file straight into a new C-contiguous array;
    runs shorter than 64 KiB are widened to whole rows (or planes, up to 1 MiB a
    run) read into a small scratch buffer and cut, so a block costs hundreds of
    system calls, not one per row. Any other key opens a read-only
    :class:`numpy.memmap`, copies the selection out and closes the map again.

    Why not memory-map every block: a page cache held in large folios (ext4 and
    XFS on Linux 6.x) maps the whole 2 MiB folio under every row a block touches,
    so copying a (256, 128, 128) block out of a 256x1024x1024 volume put all
    256 MiB of the volume's slab into the process's resident set while it ran.
    Read into buffers, the resident memory is the block's.

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
        window = self._window(key)
        if window is not None:
            return self._read(*window)
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

    def _window(self, key: Any) -> tuple[list[int], list[int], list[int]] | None:
        """``(starts, stops, dropped axes)`` of a key of integers and step-1 slices, else None.

        The axes are those of the file's layout: reversed for Fortran order.
        """
        key = key if isinstance(key, tuple) else (key,)
        if len(key) > self.ndim:
            return None
        key = key + (slice(None),) * (self.ndim - len(key))
        starts, stops, dropped = [], [], []
        for axis, (k, n) in enumerate(zip(key, self.shape, strict=True)):
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step != 1:
                    return None
                starts.append(start)
                stops.append(max(start, stop))
            elif isinstance(k, numbers.Integral) and not isinstance(k, bool) and -n <= k < n:
                starts.append(int(k) % n)
                stops.append(int(k) % n + 1)
                dropped.append(axis)
            else:
                return None  # arrays, Ellipsis, None, out of range: numpy decides
        if len(dropped) == self.ndim:
            return None  # one element: numpy's scalar
        if self.order == "F":
            starts, stops = starts[::-1], stops[::-1]
        return starts, stops, dropped

    def _read(self, starts: list[int], stops: list[int], dropped: list[int]) -> np.ndarray:
        """The window ``starts:stops`` (in the file's layout) read into a new array."""
        shape = self.shape if self.order == "C" else self.shape[::-1]
        item = self.dtype.itemsize
        ndim = len(shape)
        size = [b - a for a, b in zip(starts, stops, strict=True)]
        out = np.empty(size, self.dtype)
        if out.size:
            strides = [math.prod(shape[i + 1 :]) * item for i in range(ndim)]
            # axis k is the last one read in part: every read is one contiguous run of
            # the file, axis k's window by all of the later axes
            k = ndim - 1
            while k > 0 and size[k] == shape[k]:
                k -= 1
            # a short run reads axis k whole and moves the window to axis k - 1, while
            # the run stays within _MAX_RUN (the scratch buffer it is read into)
            wide = False
            while (
                k > 0
                and size[k] * strides[k] < _MIN_RUN
                and size[k - 1] * strides[k - 1] <= _MAX_RUN
            ):
                wide = wide or size[k] < shape[k]
                k -= 1
            run = size[k] * strides[k]
            scratch = np.empty(run, np.uint8) if wide else None
            if wide:  # the rows read, and the window cut from them
                rows = scratch.view(self.dtype).reshape(size[k], *shape[k + 1 :])
                cut = (slice(None), *map(slice, starts[k + 1 :], stops[k + 1 :]))
            first = sum(a * st for a, st in zip(starts[: k + 1], strides, strict=False))
            with open(self.path, "rb", buffering=0) as f:
                for lead in np.ndindex(*size[:k]):
                    at = self.offset + first + sum(map(operator.mul, lead, strides))
                    target = out[lead]
                    buf = scratch if wide else target.reshape(-1).view(np.uint8)
                    _read_into(f, buf, at, self.path)
                    if wide:
                        target[...] = rows[cut]
        if self.order == "F":
            out = np.ascontiguousarray(out.transpose())
        if dropped:
            out = out.reshape([n for axis, n in enumerate(out.shape) if axis not in dropped])
        return out

    def __repr__(self) -> str:
        return (
            f"RawFile({self.path!r}, shape={self.shape}, dtype={self.dtype.str!r}, "
            f"offset={self.offset}, order={self.order!r})"
        )


#: a read shorter than this widens to the whole rows (planes) around it ...
_MIN_RUN = 1 << 16
#: ... unless a run would then exceed this
_MAX_RUN = 1 << 20


def _read_into(f: Any, buf: np.ndarray, offset: int, path: str) -> None:
    """Fill ``buf`` from the unbuffered file ``f`` at ``offset``; a short file is an InputError."""
    view = memoryview(buf).cast("B")
    f.seek(offset)
    while len(view):
        got = f.readinto(view)
        if not got:
            raise InputError(
                f"{path!r} ended at byte {offset}, inside the volume its shape describes; "
                "was it truncated while the run read it?"
            )
        view, offset = view[got:], offset + got


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
