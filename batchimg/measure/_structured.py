"""Lazy results that compute to scipy.ndimage's own Python structures.

scipy's measurement functions return numpy scalars, tuples (a centroid, a
position) and lists of tuples; dask-image returns dask arrays of the same
numbers. A :class:`Structured` array is both: a plain dask array (its shape is
``numpy.array(scipy_result).shape``, so slicing, arithmetic and ``numpy.asarray``
work as on any dask array), whose *computed* value is converted to scipy's
structure. Arrays derived from it (``x + 1``, ``x[0]``) are ordinary dask arrays.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._lazy import da


def _finalize(results, func, args, kind):
    value = func(results, *args)
    return to_structure(np.asarray(value) if kind != "raw" else value, kind)


def to_structure(value: Any, kind: str) -> Any:
    """Convert a computed array to scipy's structure ``kind``.

    ``scalar``: a numpy scalar; ``tuple``: a tuple of numpy scalars; ``tuples``: a
    list of tuples (one per row); ``raw``: the value itself (an object array's only
    element for a 0-d object array).
    """
    if kind == "scalar":
        return value[()] if isinstance(value, np.ndarray) else value
    if kind == "tuple":
        return tuple(value[i] for i in range(len(value)))
    if kind == "tuples":
        return [tuple(v) for v in value]
    if kind == "raw":
        if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 0:
            return value[()]
        return value
    raise AssertionError(kind)  # pragma: no cover


@functools.cache
def _structured_class() -> type:
    """The :class:`Structured` class, made on first use.

    It subclasses ``da.Array``, whose import waits until a dask array is wanted (see
    :mod:`batchimg._lazy`).
    """

    class Structured(da.Array):
        """A dask array that computes to a scipy structure (see the module docstring)."""

        __slots__ = ("_structure",)

        def __dask_postcompute__(self):
            func, args = super().__dask_postcompute__()
            return _finalize, (func, args, self._structure)

        def __reduce__(self):
            return (_rebuild, (self.dask, self.name, self.chunks, self._meta, self._structure))

    Structured.__module__ = __name__
    Structured.__qualname__ = "Structured"
    return Structured


def __getattr__(name: str) -> Any:
    if name == "Structured":
        return _structured_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _rebuild(dsk, name, chunks, meta, kind):
    out = _structured_class()(dsk, name, chunks, meta=meta)
    out._structure = kind
    return out


def structured(x: da.Array, kind: str) -> Any:
    """``x`` as a :class:`Structured` array computing to ``kind``."""
    out = _structured_class()(x.dask, x.name, x.chunks, meta=x._meta)
    out._structure = kind
    return out
