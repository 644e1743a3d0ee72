"""Window filters: uniform, minimum/maximum, rank-type and correlate/convolve.

Public through :mod:`batchimg.filters`; see there for the equivalence contract.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from . import _params as P
from ._filtering import (
    WHOLE_AXIS,
    _check_origin,
    _doc,
    _footprint_window,
    _full_step,
    _refuse_complex,
    _single_mode,
    _window_by_axis,
)
from ._overlap import Spec, Step, local_operation
from .errors import InvalidParameterError


def _exact_running_sum(dtype: np.dtype) -> bool:
    """Whether scipy's running sum (in float64) is exact for ``dtype``'s values."""
    return dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 4)


@local_operation
def uniform_filter(
    spec: Spec,
    size: Any = 3,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    """Uniform (box mean) filter, equal to ``scipy.ndimage.uniform_filter`` on the whole array.

    Bit for bit and with the input's dtype. scipy computes each line's means with a
    running sum in float64, so on floats (and 64-bit integers) an output pixel
    depends on the whole line up to it, not only on its window: for those dtypes
    each block holds whole lines along the filtered axes (those axes are not
    chunked). Integers of up to 32 bits and booleans sum exactly and need only a
    halo of the window's reach.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    size : int or sequence of int, optional
        Window length, one or one per filtered axis.
    mode : str or sequence of str, optional
        Boundary mode, one or one per filtered axis.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    origin : int or sequence of int, optional
        Shift of the window, in ``[-(size // 2), (size - 1) // 2]``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For a size below 1, an origin outside the window or an unknown mode.

    See Also
    --------
    scipy.ndimage.uniform_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import uniform_filter
    >>> image = np.arange(36, dtype=float).reshape(6, 6) ** 2
    >>> bool((uniform_filter(image, 4).compute() == ndi.uniform_filter(image, 4)).all())
    True
    """
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    sizes = P.normalize_sequence(size, n, "size", kind=int, minimum=1)
    origins = P.normalize_origin(origin, n)
    _check_origin(origins, sizes, skip_size_one=True)
    modes = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    exact = _exact_running_sum(spec.dtype)
    reach = {}
    for a, s, o in zip(axes, sizes, origins, strict=True):
        if s > 1:
            reach[a] = s // 2 + abs(o) if exact else WHOLE_AXIS
    kernel = functools.partial(
        ndi.uniform_filter, size=sizes, mode=modes, cval=cval, origin=origins, axes=axes
    )
    return _full_step(
        "uniform_filter",
        kernel,
        spec,
        reach,
        dict(zip(axes, modes, strict=True)),
        dtype=spec.dtype,
        params=(sizes, modes, cval, origins, axes),
        cost=len(reach),
    )


def _min_or_max_step(name, func, spec, size, footprint, mode, cval, origin, axes):
    _refuse_complex(spec, name)
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    shape, fp = _footprint_window(size, footprint, n, name)
    origins = P.normalize_origin(origin, n)
    modes = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    if fp is None or fp.all():
        # separable, as scipy does it: 1-D passes along axes[k] of length shape[k]
        _check_origin(origins, shape, skip_size_one=True)
        reach = {a: s // 2 + abs(o) for a, s, o in zip(axes, shape, origins, strict=True) if s > 1}
        kernel = functools.partial(
            func, size=shape, mode=modes, cval=cval, origin=origins, axes=axes
        )
        mode_by_axis = dict(zip(axes, modes, strict=True))
        cost = len(reach)
    else:
        single = _single_mode(mode, modes, name)
        shape_by_axis, origin_by_axis = _window_by_axis(axes, spec.ndim, shape, origins)
        _check_origin([origin_by_axis[a] for a in axes], [shape_by_axis[a] for a in axes])
        reach = {a: shape_by_axis[a] // 2 + abs(origin_by_axis[a]) for a in axes}
        kernel = functools.partial(
            func, footprint=fp, mode=single, cval=cval, origin=origins, axes=axes
        )
        mode_by_axis = dict.fromkeys(axes, single)
        cost = int(fp.sum()) / 3
    return _full_step(
        name,
        kernel,
        spec,
        reach,
        mode_by_axis,
        dtype=spec.dtype,
        params=(shape, fp, modes, cval, origins, axes),
        cost=cost,
    )


_MINMAX_DOC = """{title} filter, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with the input's dtype: the {what} over the window (a box of
    ``size`` or the ``footprint``) around each pixel.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask), real-valued.
    size : int or sequence of int, optional
        Box window length, one or one per filtered axis (give this or ``footprint``).
    footprint : array_like of bool, optional
        Window shape, one dimension per filtered axis.
    mode : str or sequence of str, optional
        Boundary mode; one per axis only for a box (separable) window.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    origin : int or sequence of int, optional
        Shift of the window, in ``[-(size // 2), (size - 1) // 2]``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For complex input, neither or both of ``size`` and ``footprint``, an empty
        footprint, an origin outside the window or an unknown mode.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(36).reshape(6, 6) % 7
    >>> bool(({name}(image, size=3).compute() == ndi.{name}(image, size=3)).all())
    True
    """


@_doc(_MINMAX_DOC, title="Minimum", name="minimum_filter", what="minimum")
@local_operation
def minimum_filter(  # noqa: D103 (docstring: _MINMAX_DOC)
    spec: Spec,
    size: Any = None,
    footprint: Any = None,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    return _min_or_max_step(
        "minimum_filter", ndi.minimum_filter, spec, size, footprint, mode, cval, origin, axes
    )


@_doc(_MINMAX_DOC, title="Maximum", name="maximum_filter", what="maximum")
@local_operation
def maximum_filter(  # noqa: D103 (docstring: _MINMAX_DOC)
    spec: Spec,
    size: Any = None,
    footprint: Any = None,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    return _min_or_max_step(
        "maximum_filter", ndi.maximum_filter, spec, size, footprint, mode, cval, origin, axes
    )


def _as_row(block, *, func, **kwargs):
    """Run a 2-D-capable scipy filter on a 1-D block viewed as one row."""
    return func(block[None], **kwargs)[0]


def _rank_step(name, spec, which, size, footprint, mode, cval, origin, axes):
    """Build median / rank / percentile: ``which`` is ``(kind, value)``; scipy does the rest."""
    _refuse_complex(spec, name)
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    shape, fp = _footprint_window(size, footprint, n, name)
    count = int(np.prod(shape)) if fp is None else int(fp.sum())
    kind, value = which
    if kind == "percentile":
        value = P.normalize_number(value, "percentile")
        if not -100 <= value <= 100:
            raise InvalidParameterError(f"percentile must be in [-100, 100]; got {value!r}.")
        extra = dict(percentile=value)
    elif kind == "rank":
        value = P.normalize_int(value, "rank")
        if not -count <= value < count:
            raise InvalidParameterError(
                f"rank must be in [{-count}, {count - 1}] for a window of {count} "
                f"pixels; got {value!r}."
            )
        extra = dict(rank=value)
    else:
        extra = {}
    origins = P.normalize_origin(origin, n)
    modes = P.normalize_mode(mode, n)
    single = _single_mode(mode, modes, name)
    cval = P.normalize_number(cval, "cval")
    shape_by_axis, origin_by_axis = _window_by_axis(axes, spec.ndim, shape, origins)
    _check_origin([origin_by_axis[a] for a in axes], [shape_by_axis[a] for a in axes])
    reach = {a: shape_by_axis[a] // 2 + abs(origin_by_axis[a]) for a in axes}
    func = getattr(ndi, name)
    window = dict(size=shape) if fp is None else dict(footprint=fp)
    kernel = functools.partial(
        func, **extra, **window, mode=single, cval=cval, origin=origins, axes=axes
    )
    if spec.ndim == 1:
        # scipy 1.17's 1-D rank filter returns uninitialised memory when a window with a
        # positive origin reaches past a line shorter than it (e.g. 1 pixel, size 4,
        # origin 1); its N-D path gives the defined answer, so 1-D input runs as one row
        window2 = dict(size=(1, *shape)) if fp is None else dict(footprint=fp[None])
        kernel = functools.partial(
            _as_row, func=func, **extra, **window2, mode=single, cval=cval, origin=(0, *origins)
        )
    return _full_step(
        name,
        kernel,
        spec,
        reach,
        dict.fromkeys(axes, single),
        dtype=spec.dtype,
        params=(extra, shape, fp, single, cval, origins, axes),
        cost=count / 3,
    )


_RANK_PARAMS = """image : array_like
        Input image (numpy or dask), real-valued.{first}
    size : int or sequence of int, optional
        Box window length, one or one per filtered axis (give this or ``footprint``).
    footprint : array_like of bool, optional
        Window shape, one dimension per filtered axis.
    mode : str, optional
        Boundary mode, one for every axis (as scipy's rank filters take).
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    origin : int or sequence of int, optional
        Shift of the window, in ``[-(size // 2), (size - 1) // 2]``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images."""


@local_operation
def median_filter(
    spec: Spec,
    size: Any = None,
    footprint: Any = None,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    """Median filter, equal to ``scipy.ndimage.median_filter`` on the whole array.

    Bit for bit and with the input's dtype: the median (the element of rank
    ``count // 2``) over the window around each pixel.

    Parameters
    ----------
    {params}

    Returns
    -------
    dask.array.Array
        The filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For complex input, neither or both of ``size`` and ``footprint``, an empty
        footprint, an origin outside the window, or a mode per axis.

    See Also
    --------
    scipy.ndimage.median_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import median_filter
    >>> image = np.arange(36).reshape(6, 6) % 7
    >>> bool((median_filter(image, size=3).compute() == ndi.median_filter(image, size=3)).all())
    True
    """
    return _rank_step(
        "median_filter", spec, ("median", None), size, footprint, mode, cval, origin, axes
    )


@local_operation
def rank_filter(
    spec: Spec,
    rank: int,
    size: Any = None,
    footprint: Any = None,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    """Rank filter, equal to ``scipy.ndimage.rank_filter`` on the whole array.

    Bit for bit and with the input's dtype: the element of rank ``rank`` (0 is the
    minimum, -1 the maximum) over the window around each pixel.

    Parameters
    ----------
    {params}

    Returns
    -------
    dask.array.Array
        The filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For complex input, a rank outside the window, neither or both of ``size``
        and ``footprint``, an empty footprint, an origin outside the window, or a
        mode per axis.

    See Also
    --------
    scipy.ndimage.rank_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import rank_filter
    >>> image = np.arange(36).reshape(6, 6) % 7
    >>> bool((rank_filter(image, 2, size=3).compute() == ndi.rank_filter(image, 2, 3)).all())
    True
    """
    return _rank_step(
        "rank_filter", spec, ("rank", rank), size, footprint, mode, cval, origin, axes
    )


@local_operation
def percentile_filter(
    spec: Spec,
    percentile: float,
    size: Any = None,
    footprint: Any = None,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    """Percentile filter, equal to ``scipy.ndimage.percentile_filter`` on the whole array.

    Bit for bit and with the input's dtype: the element at ``percentile`` (scipy's
    rank rule: ``int(count * percentile / 100)``, negative values count from 100)
    over the window around each pixel.

    Parameters
    ----------
    {params}

    Returns
    -------
    dask.array.Array
        The filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For complex input, a percentile outside [-100, 100], neither or both of
        ``size`` and ``footprint``, an empty footprint, an origin outside the
        window, or a mode per axis.

    See Also
    --------
    scipy.ndimage.percentile_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import percentile_filter
    >>> image = np.arange(36).reshape(6, 6) % 7
    >>> out = percentile_filter(image, 25, size=3).compute()
    >>> bool((out == ndi.percentile_filter(image, 25, size=3)).all())
    True
    """
    return _rank_step(
        "percentile_filter",
        spec,
        ("percentile", percentile),
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
    )


median_filter.__doc__ = median_filter.__doc__.replace("{params}", _RANK_PARAMS.format(first=""))
rank_filter.__doc__ = rank_filter.__doc__.replace(
    "{params}",
    _RANK_PARAMS.format(
        first="\n    rank : int\n        Rank of the output in the sorted window, in "
        "``[-count, count)``."
    ),
)
percentile_filter.__doc__ = percentile_filter.__doc__.replace(
    "{params}",
    _RANK_PARAMS.format(first="\n    percentile : float\n        Percentile in ``[-100, 100]``."),
)


def _correlate_step(name, func, spec, weights, mode, cval, origin, axes):
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    weights = P.normalize_kernel(weights, n, "weights")
    origins = P.normalize_origin(origin, n)
    modes = P.normalize_mode(mode, n)
    single = _single_mode(mode, modes, name)
    cval = P.normalize_number(cval, "cval")
    shape_by_axis, origin_by_axis = _window_by_axis(axes, spec.ndim, weights.shape, origins)
    _check_origin([origin_by_axis[a] for a in axes], [shape_by_axis[a] for a in axes])
    reach = {a: shape_by_axis[a] // 2 + abs(origin_by_axis[a]) for a in axes}
    dtype = spec.dtype
    if dtype.kind == "c" or weights.dtype.kind == "c":
        dtype = np.promote_types(dtype, np.complex64)
    kernel = functools.partial(
        func, weights=weights, mode=single, cval=cval, origin=origins, axes=axes
    )
    return _full_step(
        name,
        kernel,
        spec,
        reach,
        dict.fromkeys(axes, single),
        dtype=dtype,
        params=(weights, single, cval, origins, axes),
        cost=weights.size / 3,
    )


_CORRELATE_DOC = """{title}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype (the input's, or complex when the input or
    the weights are complex): {what}

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    weights : array_like
        The kernel, one dimension per filtered axis.
    mode : str, optional
        Boundary mode, one for every axis (as scipy takes).
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    origin : int or sequence of int, optional
        Shift of the kernel, in ``[-(size // 2), (size - 1) // 2]``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The filtered image.

    Raises
    ------
    InvalidParameterError
        For empty or non-numeric weights, weights with the wrong number of
        dimensions, an origin outside the kernel, or a mode per axis.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(25, dtype=float).reshape(5, 5) ** 2
    >>> w = np.array([[0, 1, 0], [1, -2, 1], [0, 2, 0]])
    >>> bool(({name}(image, w).compute() == ndi.{name}(image, w)).all())
    True
    """


@_doc(
    _CORRELATE_DOC,
    title="Multidimensional correlation",
    name="correlate",
    what="each output pixel is the sum of the window's pixels times the weights.",
)
@local_operation
def correlate(  # noqa: D103 (docstring: _CORRELATE_DOC)
    spec: Spec,
    weights: Any,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    return _correlate_step("correlate", ndi.correlate, spec, weights, mode, cval, origin, axes)


@_doc(
    _CORRELATE_DOC,
    title="Multidimensional convolution",
    name="convolve",
    what="the correlation with the weights flipped on every axis.",
)
@local_operation
def convolve(  # noqa: D103 (docstring: _CORRELATE_DOC)
    spec: Spec,
    weights: Any,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    axes: Any = None,
) -> Step:
    return _correlate_step("convolve", ndi.convolve, spec, weights, mode, cval, origin, axes)
