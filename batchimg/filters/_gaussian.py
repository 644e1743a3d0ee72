"""Gaussian filters and their derivatives, and unsharp masking.

Public through :mod:`batchimg.filters`; see there for the equivalence contract.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .. import _params as P
from .._overlap import Spec, Step
from ..errors import InvalidParameterError
from ._support import (
    WHOLE,
    Plan,
    canonical_mode,
    check_axes,
    check_axis,
    checked_dtype,
    cost_of,
    fill_doc,
    full_step,
    kernel_kwargs,
    plan_or_whole,
    refuse_complex,
    scipy_operation,
    scipy_step,
    sequence,
)


def gaussian_radius(sigma: Any, truncate: Any, radius: Any) -> int:
    """The kernel radius of ``gaussian_filter1d``: ``radius`` or ``int(truncate * sigma + 0.5)``."""
    lw = int(float(truncate) * float(sigma) + 0.5) if radius is None else radius
    if not isinstance(lw, numbers.Integral) or lw < 0:
        raise InvalidParameterError(
            f"radius must be a nonnegative integer (Radius must be a nonnegative integer); "
            f"got {lw!r}."
        )
    return int(lw)


def _gaussian_passes(plan: Plan, ndim, axes, sigma, mode, truncate, radius) -> None:
    """Add to ``plan`` the passes of ``gaussian_filter(..., axes=axes)``.

    One pass per axis whose sigma exceeds 1e-15, each with its own mode.
    """
    n = len(axes)
    sigmas = sequence(sigma, n, "sigma")
    ms = sequence(mode, n, "mode")
    radii = sequence(radius, n, "radius")
    for a, s, m, r in zip(axes, sigmas, ms, radii, strict=True):
        if s > 1e-15:
            plan.add(a, gaussian_radius(s, truncate, r), canonical_mode(m))


def _cut(a: np.ndarray, axis: int, sides) -> np.ndarray:
    lo, hi = sides
    if not (lo or hi):
        return a
    index = [slice(None)] * a.ndim
    index[axis] = slice(lo, a.shape[axis] - hi)
    return a[tuple(index)]


def _cut_all(a: np.ndarray, cut) -> np.ndarray:
    """``a`` without ``cut`` (per axis, what to drop from each side); ``a`` for None."""
    if cut is None:
        return a
    return a[tuple(slice(lo, n - hi) for (lo, hi), n in zip(cut, a.shape, strict=True))]


def smooth(input, sigma, order=0, output=None, mode="reflect", cval=0.0, truncate=4.0, *,
           radius=None, axes=None, cut=None, shared=None):  # fmt: skip
    """``scipy.ndimage.gaussian_filter``, a pass at a time, each pass's spent halo dropped.

    scipy runs one ``gaussian_filter1d`` per axis whose sigma exceeds 1e-15, in axis
    order, each stored in the output dtype; this runs the same passes with the same
    arguments. With ``cut`` (per axis, the halo to drop from each side) the result is
    cut, and each axis is cut right after its own pass, so later passes run on less
    (the values are the same: a pass along one axis is the same on a cut array, and
    what it computes near a cut side is what the cut drops). ``shared``, a dict kept
    across calls on the same ``input`` with the same dtype, cval and cut, holds the
    first pass's result, so a call whose first pass is another's (same axis, sigma,
    order, mode and radius) starts from it. A complex image or an output array takes
    scipy's own call.
    """
    input = np.asarray(input)
    if input.dtype.kind == "c" or not isinstance(output, type(None) | np.dtype | type):
        out = ndi.gaussian_filter(input, sigma, order, output, mode, cval, truncate,
                                  radius=radius, axes=axes)  # fmt: skip
        return _cut_all(out, cut)
    dtype = input.dtype if output is None else np.dtype(output)
    axes = check_axes(axes, input.ndim)
    n = len(axes)
    passes = [
        (a, s, o, m, r)
        for a, s, o, m, r in zip(
            axes,
            sequence(sigma, n, "sigma"),
            sequence(order, n, "order"),
            sequence(mode, n, "mode"),
            sequence(radius, n, "radius"),
            strict=True,
        )
        if s > 1e-15
    ]
    out = input if passes else input.astype(dtype)
    cut = cut or ((0, 0),) * input.ndim
    done: tuple = (truncate,)
    for a, s, o, m, r in passes:
        done += ((a, s, o, m, r),)
        if shared is not None and done in shared:
            out = shared[done]
            continue
        out = ndi.gaussian_filter1d(out, s, a, o, dtype, m, cval, truncate, radius=r)
        out = _cut(out, a, cut[a])
        if shared is not None and len(done) == 2:
            shared[done] = out  # the first pass only: the rest are rarely shared
    for a in set(range(input.ndim)) - {p[0] for p in passes}:
        out = _cut(out, a, cut[a])
    return out


# ---------------------------------------------------------------------------
# gaussian_filter1d / gaussian_filter


@scipy_operation
@fill_doc
def gaussian_filter1d(
    spec: Spec,
    sigma: Any,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
) -> Step:
    """1-D Gaussian filter, equal to ``scipy.ndimage.gaussian_filter1d`` on the whole array.

    Bit for bit and with scipy's dtype: the correlation along ``axis`` with scipy's
    Gaussian kernel (or its derivative of ``order``) of radius ``radius`` or
    ``int(truncate * sigma + 0.5)``; each block carries that radius as its halo.

    Parameters
    ----------
    %(input)s
    sigma : float
        Standard deviation of the Gaussian.
    %(axis)s
    order : int, optional
        Derivative order (0 smooths).
    %(output)s
    %(mode)s
    %(cval)s
    truncate : float, optional
        Kernel radius in standard deviations.
    radius : int, optional
        Kernel radius, overriding ``truncate``.

    Returns
    -------
    %(returns)s

    Raises
    ------
    InvalidParameterError
        For a negative order or radius.
    ParameterIndexError
        For an axis out of range.
    ParameterRuntimeError
        For an unknown mode.

    See Also
    --------
    scipy.ndimage.gaussian_filter1d : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import gaussian_filter1d
    >>> image = np.arange(30, dtype=float).reshape(5, 6) ** 2
    >>> out = gaussian_filter1d(image, 1.5, axis=0, order=1).compute()
    >>> bool((out == ndi.gaussian_filter1d(image, 1.5, axis=0, order=1)).all())
    True
    """
    kw = dict(
        sigma=sigma,
        axis=axis,
        order=order,
        output=output,
        mode=mode,
        cval=cval,
        truncate=truncate,
        radius=radius,
    )

    def plan():
        p = Plan()
        lw = gaussian_radius(sigma, truncate, radius)
        p.add(check_axis(axis, spec.ndim), lw, canonical_mode(mode))
        return p

    dtype = checked_dtype("gaussian_filter1d", ndi.gaussian_filter1d, spec, (), kw, explain=plan)
    return scipy_step(
        "gaussian_filter1d", ndi.gaussian_filter1d, spec, kw, plan_or_whole(plan, spec.ndim), dtype
    )


@scipy_operation
@fill_doc
def gaussian_filter(
    spec: Spec,
    sigma: Any,
    order: Any = 0,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
    axes: Any = None,
) -> Step:
    """Gaussian filter, equal to ``scipy.ndimage.gaussian_filter`` on the whole array.

    Bit for bit and with scipy's dtype: one :func:`gaussian_filter1d` pass per
    filtered axis whose sigma exceeds 1e-15, each stored in the output dtype; each
    block carries the kernel radius of every axis as its halo.

    Parameters
    ----------
    %(input)s
    sigma : float or sequence of float
        Standard deviation of the Gaussian, one or one per filtered axis.
    order : int or sequence of int, optional
        Derivative order per axis (0 smooths).
    %(output)s
    %(mode_multiple)s
    %(cval)s
    truncate : float, optional
        Kernel radius in standard deviations.
    radius : int or sequence of int, optional
        Kernel radius, overriding ``truncate``.
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For sequences of the wrong length or an unknown mode.
    InvalidParameterError
        For a negative order or radius, or axes out of range or repeated.

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
    kw = dict(
        sigma=sigma,
        order=order,
        output=output,
        mode=mode,
        cval=cval,
        truncate=truncate,
        radius=radius,
        axes=axes,
    )

    def plan():
        p = Plan()
        _gaussian_passes(p, spec.ndim, check_axes(axes, spec.ndim), sigma, mode, truncate, radius)
        return p

    dtype = checked_dtype("gaussian_filter", ndi.gaussian_filter, spec, (), kw, explain=plan)
    kernel = functools.partial(smooth, **kernel_kwargs(kw, dtype))
    return scipy_step(
        "gaussian_filter", ndi.gaussian_filter, spec, kw, plan_or_whole(plan, spec.ndim), dtype,
        kernel=kernel, trims=True,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# gaussian_gradient_magnitude / gaussian_laplace


@functools.cache
def _sqrt_table(dtype: np.dtype) -> np.ndarray:
    """``np.sqrt(v, v, casting="unsafe")`` for every value ``v`` of an unsigned 8/16-bit dtype."""
    table = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
    np.sqrt(table, table, casting="unsafe")
    return table


def gradient_magnitude(input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None,
                       cut=None, **kw):  # fmt: skip
    """``scipy.ndimage.gaussian_gradient_magnitude``, its Gaussians a pass at a time.

    scipy's steps in scipy's order (``generic_gradient_magnitude``): for each filtered
    axis a Gaussian over every axis with order 1 on that axis (:func:`smooth`, so
    with ``cut`` each pass drops its spent halo), squared in the output dtype and
    summed, then ``np.sqrt(output, output, casting="unsafe")``; passes two derivatives
    have in common run once (in 3-D the last two share their first). For a uint8/uint16
    result that square root runs numpy's float16/float32 loop over every pixel; it
    is a function of the pixel value alone, so a table of it over the dtype's values
    gives the same bits (8x faster on uint8). A complex image or an output array
    takes scipy's own call.
    """
    input = np.asarray(input)
    axes = check_axes(axes, input.ndim)
    if input.dtype.kind == "c" or not isinstance(output, type(None) | np.dtype | type) or not axes:
        out = ndi.gaussian_gradient_magnitude(input, sigma, output, mode, cval, axes=axes, **kw)
        return _cut_all(out, cut)
    dtype = input.dtype if output is None else np.dtype(output)
    ms = sequence(mode, len(axes), "mode")

    shared: dict = {}  # the derivatives along axes 1.. share their first pass (order 0)

    def derivative(axis, m):
        order = [0] * input.ndim
        order[axis] = 1
        return smooth(input, sigma, order, dtype, m, cval, cut=cut, shared=shared, **kw)

    # squares into new arrays: a derivative's result may be a shared first pass
    result = np.multiply(*(derivative(axes[0], ms[0]),) * 2)
    for axis, m in zip(axes[1:], ms[1:], strict=True):
        result += np.multiply(*(derivative(axis, m),) * 2)
    if dtype in (np.uint8, np.uint16):
        return _sqrt_table(result.dtype)[result]
    np.sqrt(result, result, casting="unsafe")
    return result


def _derivative_plan(spec, sigma, mode, axes, kwargs, laplace: bool) -> Plan:
    """The reach of scipy's Gaussian derivative filters.

    Each filtered axis runs one ``gaussian_filter`` over the whole array with that
    axis's mode on every axis. ``gaussian_laplace`` gives it sigma 0 (no pass) on
    the axes it does not filter; ``gaussian_gradient_magnitude`` passes ``sigma``
    unchanged, so it smooths every axis, filtered or not, as scipy 1.17 does.
    """
    axes = check_axes(axes, spec.ndim)
    n = len(axes)
    ms = sequence(mode, n, "mode")
    truncate = kwargs.get("truncate", 4.0)
    radius = kwargs.get("radius")
    if laplace:
        sigma = sequence(sigma, n, "sigma")
        if n < spec.ndim:
            full = [0] * spec.ndim
            for a, s in zip(axes, sigma, strict=True):
                full[a] = s
            sigma = full
    plan = Plan()
    for m in ms:
        _gaussian_passes(plan, spec.ndim, tuple(range(spec.ndim)), sigma, m, truncate, radius)
    return plan


_DERIVATIVE_DOC = """{title}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype: {what} As in scipy, the mode given for a
    filtered axis is the mode of its whole Gaussian; mixing ``'wrap'`` with other
    modes keeps every axis whole (one halo cannot be both periodic and not).

    Parameters
    ----------
    %(input)s
    sigma : float or sequence of float
        Standard deviation of the Gaussian, one or one per {per}.
    %(output)s
    %(mode_multiple)s
    %(cval)s
    %(axes)s
    **kwargs
        ``truncate`` and ``radius``, passed to the Gaussian as in scipy.

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For sequences of the wrong length or an unknown mode.
    InvalidParameterError
        For axes out of range or repeated, or a negative radius.
    ParameterTypeError
        For a keyword argument the Gaussian does not take.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(64, dtype=float).reshape(8, 8) ** 2
    >>> out = {name}(image, 1.0).compute()
    >>> bool((out == ndi.{name}(image, 1.0)).all())
    True
    """


def _derivative_step(name, func, spec, sigma, output, mode, cval, axes, kwargs, laplace):
    kw = dict(sigma=sigma, output=output, mode=mode, cval=cval, axes=axes, **kwargs)

    def plan():
        return _derivative_plan(spec, sigma, mode, axes, kwargs, laplace)

    dtype = checked_dtype(name, getattr(ndi, name), spec, (), kw, explain=plan)
    p = plan_or_whole(plan, spec.ndim)
    # one Gaussian over every axis per filtered axis
    passes = len(sequence(mode, len(check_axes(axes, spec.ndim)), "mode"))
    trims = func is gradient_magnitude
    kernel = functools.partial(func, **kernel_kwargs(kw, dtype)) if trims else None
    return scipy_step(name, func, spec, kw, p, dtype, cost=max(passes, 1) * cost_of(p),
                      kernel=kernel, trims=trims)  # fmt: skip


@scipy_operation
def gaussian_gradient_magnitude(
    spec: Spec,
    sigma: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    axes: Any = None,
    **kwargs: Any,
) -> Step:  # noqa: D103 (docstring: _DERIVATIVE_DOC)
    return _derivative_step(
        "gaussian_gradient_magnitude",
        gradient_magnitude,
        spec,
        sigma,
        output,
        mode,
        cval,
        axes,
        kwargs,
        laplace=False,
    )


@scipy_operation
def gaussian_laplace(
    spec: Spec,
    sigma: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    axes: Any = None,
    **kwargs: Any,
) -> Step:  # noqa: D103 (docstring: _DERIVATIVE_DOC)
    return _derivative_step(
        "gaussian_laplace",
        ndi.gaussian_laplace,
        spec,
        sigma,
        output,
        mode,
        cval,
        axes,
        kwargs,
        laplace=True,
    )


gaussian_gradient_magnitude.__doc__ = _DERIVATIVE_DOC.format(
    title="Gradient magnitude with Gaussian derivatives",
    name="gaussian_gradient_magnitude",
    per="axis of the image",
    what="the square root of the sum over the filtered axes of the squared first "
    "Gaussian derivatives, each stored in the output dtype as scipy does. scipy "
    "smooths each derivative along every axis of the image with ``sigma`` (also "
    "the axes ``axes`` leaves out), and so does this function; for uint8 and uint16 "
    "results the last square root is a table lookup with scipy's bits.",
)
gaussian_laplace.__doc__ = _DERIVATIVE_DOC.format(
    title="Laplacian of Gaussian",
    name="gaussian_laplace",
    per="filtered axis",
    what="the sum over the filtered axes of the second Gaussian derivatives (the "
    "other axes are not smoothed), each stored in the output dtype as scipy does.",
)
fill_doc(gaussian_gradient_magnitude)
fill_doc(gaussian_laplace)


# ---------------------------------------------------------------------------
# unsharp masking (not a scipy function: the lecture notes' recipe)


def _unsharp(block, *, sigma, amount, mode, cval, truncate, axes):
    blurred = block.astype(np.float64)
    smooth = ndi.gaussian_filter(blurred, sigma, mode=mode, cval=cval, truncate=truncate, axes=axes)
    return blurred + amount * (blurred - smooth)


@scipy_operation(first="image")
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
    InputTypeError
        For complex input.
    InvalidParameterError
        For a negative sigma, a sigma of the wrong length, a non-numeric amount or
        an unknown mode.

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
    refuse_complex(spec.dtype, "unsharp_mask")
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    sigma = P.normalize_sequence(sigma, n, "sigma", minimum=0)
    amount = P.normalize_number(amount, "amount")
    ms = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    truncate = P.normalize_number(truncate, "truncate", minimum=0)
    plan = Plan()
    for a, s, m in zip(axes, sigma, ms, strict=True):
        if s > 1e-15:
            plan.add(a, gaussian_radius(s, truncate, None), m)
    kernel = functools.partial(
        _unsharp, sigma=sigma, amount=amount, mode=ms, cval=cval, truncate=truncate, axes=axes
    )
    return full_step(
        "unsharp_mask",
        kernel,
        spec,
        plan,
        dtype=np.float64,
        params=(sigma, amount, ms, cval, truncate, axes),
        cost=cost_of(plan) + 1,
    )


__all__ = [
    "WHOLE",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "gaussian_radius",
    "gradient_magnitude",
    "unsharp_mask",
]
