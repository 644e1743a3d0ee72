"""Chunked filters with scipy.ndimage's names, parameters and defaults.

Every function takes a numpy or dask array and returns a lazy dask array equal,
bit for bit and with the same dtype, to the scipy.ndimage function of the same
name run on the whole in-memory array, for any chunking and every mode.
``axes=`` restricts the filter to some axes; the other axes are treated as a stack
of independent images, so pixels never mix across images.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from . import _params as P
from ._overlap import BOUNDARY, Spec, Step, local_operation, make_step
from .errors import InvalidParameterError

#: A reach that stands for "the whole axis": the planner then keeps that axis in one
#: chunk (see ``_overlap._axis_plan``). Used where scipy's answer at a pixel depends
#: on the whole line (the running sum of ``uniform_filter`` on floats).
WHOLE_AXIS = 2**40


# ---------------------------------------------------------------------------
# shared helpers


def _doc(template: str, **fields: str):
    """Give an operation the docstring ``template.format(**fields)`` (shared texts)."""

    def set_doc(operation):
        operation.__doc__ = template.format(**fields)
        return operation

    return set_doc


def _gaussian_reach(sigma, truncate, radius, n):
    if radius is not None:
        return P.normalize_sequence(radius, n, "radius", kind=int, minimum=0)
    return tuple(int(truncate * s + 0.5) for s in sigma)


def _separable_cost(reach) -> float:
    return sum(2 * r + 1 for r in reach) / 3


def _refuse_complex(spec: Spec, name: str) -> None:
    if spec.dtype.kind == "c":
        raise InvalidParameterError(
            f"image must be real-valued for {name}; got dtype {spec.dtype}."
        )


def _single_mode(mode: Any, modes: tuple[str, ...], name: str) -> str:
    """Return the one mode of a non-separable filter (scipy takes one for every axis)."""
    if len(set(modes)) > 1:
        raise InvalidParameterError(
            f"mode must be a single mode name for {name} (scipy applies one mode to "
            f"every axis of a non-separable filter); got {mode!r}."
        )
    return modes[0]


def _check_origin(origin, shape, *, skip_size_one: bool = False) -> None:
    """Refuse an origin outside scipy's range ``[-(s // 2), (s - 1) // 2]`` for size ``s``."""
    for o, s in zip(origin, shape, strict=True):
        if skip_size_one and s <= 1:
            continue
        if not -(s // 2) <= o <= (s - 1) // 2:
            raise InvalidParameterError(
                f"origin must lie in [-(size // 2), (size - 1) // 2] on every axis, "
                f"for a window of shape {tuple(shape)}; got {tuple(origin)!r}."
            )


def _full_step(name, kernel, spec, reach_by_axis, mode_by_axis, *, dtype, params, cost):
    """Build a step whose kernel sees whole blocks (scipy is given ``axes=`` itself).

    Axes missing from ``reach_by_axis`` get no halo: scipy never mixes pixels across
    them, so they may stay chunked.
    """
    ndim = spec.ndim
    return make_step(
        name,
        kernel,
        ndim=ndim,
        axes=tuple(range(ndim)),
        reach=[reach_by_axis.get(a, 0) for a in range(ndim)],
        modes=[mode_by_axis.get(a, "reflect") for a in range(ndim)],
        dtype=dtype,
        params=params,
        cost=cost,
    )


def _window_by_axis(axes, ndim, shape, origin):
    """Map a footprint's shape and origin to image axes, as scipy's ``axes=`` does.

    scipy expands a footprint with ``np.expand_dims``, so its dimensions follow the
    *sorted* axes, while origins follow ``axes`` in the given order when ``axes``
    names fewer than all dimensions.
    """
    shape_by_axis = dict(zip(sorted(axes), shape, strict=True))
    if len(axes) < ndim:
        origin_by_axis = dict(zip(axes, origin, strict=True))
    else:
        origin_by_axis = dict(enumerate(origin))
    return shape_by_axis, origin_by_axis


def _footprint_window(size, footprint, n, name):
    """``(shape, footprint_or_None)`` from scipy's ``size``/``footprint`` pair."""
    if size is not None and footprint is not None:
        raise InvalidParameterError(
            f"size and footprint must not both be given to {name}; got size={size!r} "
            "and a footprint. Hint: the footprint's shape already sets the window."
        )
    shape, fp = P.footprint_shape(size, footprint, n)
    if fp is not None and not fp.any():
        raise InvalidParameterError(
            f"footprint must select at least one pixel; got an all-False footprint "
            f"of shape {fp.shape}."
        )
    return shape, fp


# ---------------------------------------------------------------------------
# Gaussian derivatives


def _derivative_step(name, func, spec, sigma, mode, cval, truncate, radius, axes):
    """gaussian_gradient_magnitude / gaussian_laplace: one Gaussian per axis, combined."""
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    sigma = P.normalize_sequence(sigma, n, "sigma", minimum=0)
    modes = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    truncate = P.normalize_number(truncate, "truncate", minimum=0)
    if radius is not None:
        radius = P.normalize_sequence(radius, n, "radius", kind=int, minimum=0)
    reach = _gaussian_reach(sigma, truncate, radius, n)
    # scipy runs the derivative along axis k with modes[k] on *every* axis, so the
    # halo of every axis must suit every mode: mixing wrap with the others needs
    # whole axes.
    if len({BOUNDARY[m] for m in modes}) > 1:
        reach = (WHOLE_AXIS,) * n
    kw = dict(
        sigma=sigma,
        mode=modes,
        cval=cval,
        truncate=truncate,
        radius=radius,
    )
    params = (sigma, modes, cval, truncate, radius, axes)
    cost = n * _separable_cost(min(r, 64) for r in reach)
    if sorted(axes) == list(range(spec.ndim)):
        # every axis: scipy itself with axes=, which maps sigma[i] to axis i
        kernel = functools.partial(func, axes=axes, **kw)
        step_axes = tuple(range(spec.ndim))
    else:
        # a stack: scipy on each image (the sub-array spanned by axes), never across
        # images (scipy's gaussian_gradient_magnitude(axes=) smooths across them)
        kernel = functools.partial(func, **kw)
        step_axes = axes
    return make_step(
        name,
        kernel,
        ndim=spec.ndim,
        axes=step_axes,
        reach=reach,
        modes=modes,
        dtype=spec.dtype,
        params=params,
        cost=cost,
    )


# ---------------------------------------------------------------------------
# public operations


@local_operation
def gaussian_filter(
    spec: Spec,
    sigma: Any,
    *,
    order: Any = 0,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    radius: Any = None,
    axes: Any = None,
) -> Step:
    """Gaussian filter, equal to ``scipy.ndimage.gaussian_filter`` on the whole array.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    sigma : float or sequence of float
        Standard deviation of the Gaussian, one value or one per filtered axis.
    order : int or sequence of int, optional
        Derivative order per axis (0 smooths).
    mode : str or sequence of str, optional
        Boundary mode: ``reflect``, ``constant``, ``nearest``, ``mirror`` or ``wrap``.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    truncate : float, optional
        Kernel radius in standard deviations.
    radius : int or sequence of int, optional
        Kernel radius, overriding ``truncate``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        Filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For a negative sigma, a sigma of the wrong length or an unknown mode.

    See Also
    --------
    scipy.ndimage.gaussian_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import gaussian_filter
    >>> image = np.arange(64, dtype=float).reshape(8, 8)
    >>> out = gaussian_filter(image, 1.5)
    >>> bool((out.compute() == ndi.gaussian_filter(image, 1.5)).all())
    True
    """
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    sigma = P.normalize_sequence(sigma, n, "sigma", minimum=0)
    order = P.normalize_sequence(order, n, "order", kind=int, minimum=0)
    modes = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    truncate = P.normalize_number(truncate, "truncate", minimum=0)
    reach = _gaussian_reach(sigma, truncate, radius, n)
    kernel = functools.partial(
        ndi.gaussian_filter,
        sigma=sigma,
        order=order,
        mode=modes,
        cval=cval,
        truncate=truncate,
        radius=None if radius is None else reach,
    )
    return make_step(
        "gaussian_filter",
        kernel,
        ndim=spec.ndim,
        axes=axes,
        reach=reach,
        modes=modes,
        dtype=spec.dtype,
        params=(sigma, order, modes, cval, truncate, radius),
        cost=_separable_cost(reach),
    )


@local_operation
def gaussian_gradient_magnitude(
    spec: Spec,
    sigma: Any,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    radius: Any = None,
    axes: Any = None,
) -> Step:
    """Gradient magnitude with Gaussian derivatives, equal to scipy's on the whole array.

    The result equals ``scipy.ndimage.gaussian_gradient_magnitude`` run on the whole
    in-memory array, bit for bit and with the input's dtype. With ``axes`` naming
    fewer than all axes, it equals scipy run on each image of the stack in a loop
    (scipy's own ``axes=`` would still smooth across the other axes).

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    sigma : float or sequence of float
        Standard deviation of the Gaussian, one value or one per filtered axis.
    mode : str or sequence of str, optional
        Boundary mode; as in scipy, the mode given for axis ``k`` is used for the
        whole derivative along ``k``.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    truncate : float, optional
        Kernel radius in standard deviations.
    radius : int or sequence of int, optional
        Kernel radius, overriding ``truncate``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The gradient magnitude, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For a negative sigma, a sigma of the wrong length or an unknown mode.

    See Also
    --------
    scipy.ndimage.gaussian_gradient_magnitude : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import gaussian_gradient_magnitude
    >>> image = np.arange(64, dtype=float).reshape(8, 8)
    >>> out = gaussian_gradient_magnitude(image, 1.0).compute()
    >>> bool((out == ndi.gaussian_gradient_magnitude(image, 1.0)).all())
    True
    """
    return _derivative_step(
        "gaussian_gradient_magnitude",
        ndi.gaussian_gradient_magnitude,
        spec,
        sigma,
        mode,
        cval,
        truncate,
        radius,
        axes,
    )


@local_operation
def gaussian_laplace(
    spec: Spec,
    sigma: Any,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    radius: Any = None,
    axes: Any = None,
) -> Step:
    """Laplacian of Gaussian, equal to ``scipy.ndimage.gaussian_laplace`` on the whole array.

    Bit for bit and with the input's dtype. With ``axes`` naming fewer than all
    axes, it equals scipy run on each image of the stack in a loop (which is also
    what scipy's own ``axes=`` gives here).

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    sigma : float or sequence of float
        Standard deviation of the Gaussian, one value or one per filtered axis.
    mode : str or sequence of str, optional
        Boundary mode; as in scipy, the mode given for axis ``k`` is used for the
        whole second derivative along ``k``.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    truncate : float, optional
        Kernel radius in standard deviations.
    radius : int or sequence of int, optional
        Kernel radius, overriding ``truncate``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The Laplacian of Gaussian, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For a negative sigma, a sigma of the wrong length or an unknown mode.

    See Also
    --------
    scipy.ndimage.gaussian_laplace : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import gaussian_laplace
    >>> image = np.arange(64, dtype=float).reshape(8, 8) ** 2
    >>> out = gaussian_laplace(image, 1.0).compute()
    >>> bool((out == ndi.gaussian_laplace(image, 1.0)).all())
    True
    """
    return _derivative_step(
        "gaussian_laplace", ndi.gaussian_laplace, spec, sigma, mode, cval, truncate, radius, axes
    )


@local_operation
def laplace(spec: Spec, *, mode: Any = "reflect", cval: float = 0.0, axes: Any = None) -> Step:
    """Discrete Laplacian, equal to ``scipy.ndimage.laplace`` on the whole array.

    Bit for bit and with the input's dtype: the sum over the filtered axes of the
    second differences ``[1, -2, 1]``.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    mode : str or sequence of str, optional
        Boundary mode, one or one per filtered axis.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The Laplacian, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For an unknown mode or axes out of range.

    See Also
    --------
    scipy.ndimage.laplace : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import laplace
    >>> image = np.arange(16, dtype=float).reshape(4, 4) ** 2
    >>> bool((laplace(image).compute() == ndi.laplace(image)).all())
    True
    """
    axes = P.normalize_axes(axes, spec.ndim)
    modes = P.normalize_mode(mode, len(axes))
    cval = P.normalize_number(cval, "cval")
    kernel = functools.partial(ndi.laplace, mode=modes, cval=cval, axes=axes)
    return _full_step(
        "laplace",
        kernel,
        spec,
        dict.fromkeys(axes, 1),
        dict(zip(axes, modes, strict=True)),
        dtype=spec.dtype,
        params=(modes, cval, axes),
        cost=len(axes),
    )


def _edge_step(name, func, spec, axis, mode, cval, axes):
    """Build sobel / prewitt: a derivative along ``axis``, smoothing along the other axes."""
    user_axes = P.normalize_axes(axes, spec.ndim)
    modes = P.normalize_mode(mode, len(user_axes))
    cval = P.normalize_number(cval, "cval")
    axis = P.normalize_axis(axis, spec.ndim)
    if axis not in user_axes:
        raise InvalidParameterError(
            f"axis must be one of the filtered axes {user_axes}; got {axis!r}."
        )
    # scipy smooths the other axes in increasing order: keep the images' axis order
    sub_axes = tuple(sorted(user_axes))
    mode_by_axis = dict(zip(user_axes, modes, strict=True))
    sub_modes = tuple(mode_by_axis[a] for a in sub_axes)
    kernel = functools.partial(func, axis=sub_axes.index(axis), mode=sub_modes, cval=cval)
    return make_step(
        name,
        kernel,
        ndim=spec.ndim,
        axes=sub_axes,
        reach=(1,) * len(sub_axes),
        modes=sub_modes,
        dtype=spec.dtype,
        params=(axis, sub_modes, cval),
        cost=len(sub_axes),
    )


_EDGE_DOC = """{title}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with the input's dtype: the derivative ``[-1, 0, 1]`` along
    ``axis`` and the smoothing ``{smooth}`` along every other filtered axis.
    ``axes`` is not a scipy parameter: it names the image axes of a stack, and the
    result then equals ``scipy.ndimage.{name}`` run on each image in a loop.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    axis : int, optional
        The axis of the derivative (an axis of ``image``, one of ``axes``).
    mode : str or sequence of str, optional
        Boundary mode, one or one per filtered axis.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The filtered image, of the input's dtype (integers wrap as in scipy).

    Raises
    ------
    InvalidParameterError
        For an unknown mode, or an axis out of range or not among ``axes``.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(25, dtype=float).reshape(5, 5) ** 2
    >>> bool(({name}(image, axis=0).compute() == ndi.{name}(image, axis=0)).all())
    True
    """


@_doc(_EDGE_DOC, title="Sobel filter", name="sobel", smooth="[1, 2, 1]")
@local_operation
def sobel(  # noqa: D103 (docstring: _EDGE_DOC)
    spec: Spec, axis: int = -1, *, mode: Any = "reflect", cval: float = 0.0, axes: Any = None
) -> Step:
    return _edge_step("sobel", ndi.sobel, spec, axis, mode, cval, axes)


@_doc(_EDGE_DOC, title="Prewitt filter", name="prewitt", smooth="[1, 1, 1]")
@local_operation
def prewitt(  # noqa: D103 (docstring: _EDGE_DOC)
    spec: Spec, axis: int = -1, *, mode: Any = "reflect", cval: float = 0.0, axes: Any = None
) -> Step:
    return _edge_step("prewitt", ndi.prewitt, spec, axis, mode, cval, axes)


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


def _unsharp(block, *, sigma, amount, mode, cval, truncate, axes):
    blurred = block.astype(np.float64)
    smooth = ndi.gaussian_filter(blurred, sigma, mode=mode, cval=cval, truncate=truncate, axes=axes)
    return blurred + amount * (blurred - smooth)


@local_operation
def unsharp_mask(
    spec: Spec,
    sigma: Any = 1.0,
    *,
    amount: float = 1.0,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
) -> Step:
    """Sharpening by unsharp masking, equal to the scipy lecture notes' recipe.

    The result equals, bit for bit, the numpy formula on the whole in-memory array::

        blurred = image.astype(np.float64)
        blurred + amount * (blurred - scipy.ndimage.gaussian_filter(blurred, sigma))

    (with ``mode``, ``cval``, ``truncate`` and ``axes`` passed to the Gaussian).
    The input is converted to float64 first, so integer images do not wrap; the
    output is float64. The lecture notes ("Image manipulation and processing using
    Numpy and Scipy", sharpening) blur first and then sharpen strongly:
    ``unsharp_mask(gaussian_filter(f, 3), sigma=1, amount=30)``.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask), real-valued.
    sigma : float or sequence of float, optional
        Standard deviation of the Gaussian, one value or one per filtered axis.
    amount : float, optional
        How much of the detail (``blurred - smoothed``) to add back.
    mode : str or sequence of str, optional
        Boundary mode of the Gaussian.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    truncate : float, optional
        Kernel radius in standard deviations.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        The sharpened image, float64.

    Raises
    ------
    InvalidParameterError
        For complex input, a negative sigma, a sigma of the wrong length, a
        non-numeric amount or an unknown mode.

    See Also
    --------
    scipy.ndimage.gaussian_filter : the Gaussian of the oracle formula.
    skimage.filters.unsharp_mask : a variant that rescales and clips.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import unsharp_mask
    >>> image = np.arange(36, dtype=np.uint8).reshape(6, 6)
    >>> f = image.astype(np.float64)
    >>> expected = f + 30 * (f - ndi.gaussian_filter(f, 1))
    >>> bool((unsharp_mask(image, 1, amount=30).compute() == expected).all())
    True
    """
    _refuse_complex(spec, "unsharp_mask")
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    sigma = P.normalize_sequence(sigma, n, "sigma", minimum=0)
    amount = P.normalize_number(amount, "amount")
    modes = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    truncate = P.normalize_number(truncate, "truncate", minimum=0)
    reach = _gaussian_reach(sigma, truncate, None, n)
    kernel = functools.partial(
        _unsharp, sigma=sigma, amount=amount, mode=modes, cval=cval, truncate=truncate, axes=axes
    )
    return _full_step(
        "unsharp_mask",
        kernel,
        spec,
        dict(zip(axes, reach, strict=True)),
        dict(zip(axes, modes, strict=True)),
        dtype=np.float64,
        params=(sigma, amount, modes, cval, truncate, axes),
        cost=_separable_cost(reach) + 1,
    )


__all__ = [
    "convolve",
    "correlate",
    "gaussian_filter",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "laplace",
    "maximum_filter",
    "median_filter",
    "minimum_filter",
    "percentile_filter",
    "prewitt",
    "rank_filter",
    "sobel",
    "uniform_filter",
    "unsharp_mask",
]
