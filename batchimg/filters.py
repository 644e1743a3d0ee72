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
from ._filtering import (
    WHOLE_AXIS,
    _doc,
    _full_step,
    _gaussian_reach,
    _refuse_complex,
    _separable_cost,
)
from ._overlap import BOUNDARY, Spec, Step, local_operation, make_step
from ._window import (
    convolve,
    correlate,
    maximum_filter,
    median_filter,
    minimum_filter,
    percentile_filter,
    rank_filter,
    uniform_filter,
)
from .errors import InvalidParameterError

# ---------------------------------------------------------------------------
# Gaussian derivatives


@functools.cache
def _sqrt_table(dtype: np.dtype) -> np.ndarray:
    """``np.sqrt(v, v, casting="unsafe")`` for every value ``v`` of an unsigned 8/16-bit dtype."""
    table = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
    np.sqrt(table, table, casting="unsafe")
    return table


def _gradient_magnitude(input, sigma, mode="reflect", cval=0.0, *, axes=None, **kwargs):
    """``scipy.ndimage.gaussian_gradient_magnitude``, with a faster square root.

    For uint8/uint16 images scipy's last step, ``np.sqrt(output, output,
    casting="unsafe")``, runs numpy's float16/float32 loop over every pixel; it is
    a function of the pixel value alone, so a table of it over the dtype's values
    gives the same bits (8x faster on uint8). The steps before it are scipy's own,
    in scipy's order (``generic_gradient_magnitude``). Other dtypes call scipy.
    """
    input = np.asarray(input)
    axes = tuple(range(input.ndim)) if axes is None else tuple(axes)
    if input.dtype not in (np.uint8, np.uint16) or sorted(axes) != list(range(input.ndim)):
        return ndi.gaussian_gradient_magnitude(
            input, sigma, mode=mode, cval=cval, axes=axes, **kwargs
        )
    modes = [mode] * len(axes) if isinstance(mode, str) else list(mode)
    output = np.zeros(input.shape, input.dtype)

    def derivative(axis, out, m):
        order = [0] * input.ndim
        order[axis] = 1
        return ndi.gaussian_filter(input, sigma, order, out, m, cval, **kwargs)

    derivative(axes[0], output, modes[0])
    np.multiply(output, output, output)
    for axis, m in zip(axes[1:], modes[1:], strict=True):
        tmp = derivative(axis, output.dtype, m)
        np.multiply(tmp, tmp, tmp)
        output += tmp
    return _sqrt_table(output.dtype)[output]


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
        _gradient_magnitude,
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
