"""Region readers: small picklable objects that read one region of a file per call.

Each reader holds a recipe (path, dataset, shape, dtype), never a file handle or
pixels, and opens the file afresh inside every ``reader[region]``, so it pickles to a
few hundred bytes and works on any worker that sees the file. :class:`Transposed`
presents a reader's array in canonical axis order (see :mod:`.axes`): a region is
given, and returned, in that order.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def _full_key(key: Any, ndim: int) -> tuple:
    """``key`` as one int or slice per axis (Ellipsis and short keys filled with ``:``)."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = next(j for j, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1 :]
    key = key + (slice(None),) * (ndim - len(key))
    for k in key:
        if not isinstance(k, slice | numbers.Integral):
            raise TypeError(f"a region must be ints and slices, one per axis; got {key!r}.")
    if len(key) != ndim:
        raise IndexError(f"a region must have at most {ndim} entries; got {key!r}.")
    return key


class Transposed:
    """An array-like reader shown with its axes reordered: ``stored.transpose(order)``.

    ``reader[region]`` takes the region in the new order, reads just that part of
    ``stored`` (in the file's order) and returns it transposed, C-contiguous.

    Parameters
    ----------
    stored : array-like
        A reader indexable by a tuple of slices in the file's order, with ``shape``
        and ``dtype``.
    order : tuple of int
        Axis ``i`` of this reader is axis ``order[i]`` of ``stored``.

    Examples
    --------
    >>> r = Transposed(np.arange(24).reshape(2, 3, 4), (2, 0, 1))
    >>> r.shape, r[1:3, 0, :2].tolist()
    ((4, 2, 3), [[1, 5], [2, 6]])
    """

    def __init__(self, stored: Any, order: tuple[int, ...]) -> None:
        self.stored = stored
        self.order = tuple(int(o) for o in order)
        self.shape = tuple(int(stored.shape[o]) for o in self.order)
        self.dtype = np.dtype(stored.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = _full_key(key, self.ndim)
        stored_key: list[Any] = [None] * self.ndim
        for i, o in enumerate(self.order):
            k = key[i]
            if isinstance(k, numbers.Integral):
                # an int keeps its axis while reading, so that the transposition holds
                if not -self.shape[i] <= k < self.shape[i]:
                    raise IndexError(f"index {k} is out of bounds for axis {i} of {self.shape}.")
                k = slice(int(k) % self.shape[i], int(k) % self.shape[i] + 1)
            stored_key[o] = k
        block = np.asarray(self.stored[tuple(stored_key)]).transpose(self.order)
        drop = tuple(0 if isinstance(k, numbers.Integral) else slice(None) for k in key)
        return np.ascontiguousarray(block[drop])

    def __reduce__(self):
        return (Transposed, (self.stored, self.order))

    def __repr__(self) -> str:
        return f"Transposed({self.stored!r}, order={self.order})"


def transposed(stored: Any, order: tuple[int, ...]) -> Any:
    """``stored`` itself when ``order`` is the identity, else :class:`Transposed`."""
    if tuple(order) == tuple(range(len(order))):
        return stored
    return Transposed(stored, order)


class ZarrFile:
    """One Zarr array (format 2 or 3), opened afresh for each region read.

    Parameters
    ----------
    path : str
        The array's own folder (``store.zarr/0``) or URL.
    shape, dtype
        The array's layout, as its metadata says (for dask).
    storage_options : dict, optional
        Passed to ``zarr.open_array`` for a URL.
    """

    def __init__(
        self, path: str, shape: tuple[int, ...], dtype: Any, storage_options: dict | None = None
    ) -> None:
        self.path = path
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.storage_options = storage_options

    def __getitem__(self, key: Any) -> np.ndarray:
        import zarr

        kw = {"storage_options": self.storage_options} if self.storage_options else {}
        return zarr.open_array(self.path, mode="r", **kw)[key]

    def __repr__(self) -> str:
        return f"ZarrFile({self.path!r}, shape={self.shape}, dtype={self.dtype.str!r})"


class TiffSeries:
    """One series (and resolution level) of a TIFF file, read through tifffile's Zarr store.

    Each read opens the file, wraps the series in ``series.aszarr(level=...)`` and
    reads just the pages, strips or tiles the region covers.

    Parameters
    ----------
    path : str
        The TIFF file.
    series, level : int
        Which series of the file and which of its resolution levels (0: full).
    shape, dtype
        The series' layout (for dask).
    """

    def __init__(
        self, path: str, series: int, level: int, shape: tuple[int, ...], dtype: Any
    ) -> None:
        self.path = path
        self.series = int(series)
        self.level = int(level)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        import tifffile
        import zarr

        with tifffile.TiffFile(self.path) as tif:
            store = tif.series[self.series].aszarr(level=self.level)
            try:
                return zarr.open_array(store, mode="r", zarr_format=2)[key]
            finally:
                store.close()

    def __repr__(self) -> str:
        return (
            f"TiffSeries({self.path!r}, series={self.series}, level={self.level}, "
            f"shape={self.shape}, dtype={self.dtype.str!r})"
        )


class H5Dataset:
    """One HDF5 dataset, the file opened read-only (h5py) for each region read.

    Parameters
    ----------
    path : str
        The HDF5 file.
    name : str
        The dataset's path inside it (``/images/raw``).
    shape, dtype
        The dataset's layout (for dask).
    """

    def __init__(self, path: str, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        self.path = path
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        import h5py

        with h5py.File(self.path, "r") as f:
            return np.asarray(f[self.name][key])

    def __repr__(self) -> str:
        return (
            f"H5Dataset({self.path!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype.str!r})"
        )


__all__ = ["H5Dataset", "TiffSeries", "Transposed", "ZarrFile", "transposed"]
