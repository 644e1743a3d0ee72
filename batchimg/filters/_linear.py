"""Linear filters: correlation and convolution (N-D and 1-D) and the uniform (box mean) filter.

Public through :mod:`batchimg.filters`; see there for the equivalence contract.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .._overlap import Spec, Step
from ..errors import BatchimgError, ParameterRuntimeError
from ._support import (
    EXACT_SUM,
    WHOLE,
    Plan,
    as_weights,
    canonical_mode,
    check_axes,
    check_axis,
    check_origin,
    checked_dtype,
    expand_window,
    fill_doc,
    plan_or_whole,
    scipy_operation,
    scipy_step,
    sequence,
    single_mode,
    window_reach,
)

# ---------------------------------------------------------------------------
# correlate1d / convolve1d


def _plan_1d(spec: Spec, weights: Any, axis: Any, mode: Any, origin: Any, flip: bool) -> Plan:
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] < 1:
        raise ParameterRuntimeError(
            f"weights must be a non-empty 1-D array (no filter weights given); got shape {w.shape}."
        )
    n = int(w.shape[0])
    o = int(origin)
    if flip:
        o = -o - (0 if n & 1 else 1)
    a = check_axis(axis, spec.ndim)
    m = canonical_mode(mode)
    check_origin(o, n)
    plan = Plan()
    plan.add(a, window_reach(n, o), m)
    return plan


def _step_1d(name, func, spec, weights, axis, output, mode, cval, origin):
    weights = as_weights(weights)
    kw = dict(weights=weights, axis=axis, output=output, mode=mode, cval=cval, origin=origin)
    flip = name == "convolve1d"

    def plan():
        return _plan_1d(spec, weights, axis, mode, origin, flip)

    dtype = checked_dtype(name, func, spec, (), kw, explain=plan)
    return scipy_step(name, func, spec, kw, plan_or_whole(plan, spec.ndim), dtype)


_DOC_1D = """{title} along one axis, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype (the input's, ``output``'s, or complex when
    the input or the weights are complex): {what} Each block carries a halo of the
    kernel's reach along ``axis`` only.

    Parameters
    ----------
    %(input)s
    weights : array_like
        The 1-D kernel.
    %(axis)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For empty or multi-dimensional weights, or an unknown mode.
    ParameterIndexError
        For an axis out of range.
    InvalidParameterError
        For an origin outside the kernel.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(30, dtype=float).reshape(5, 6) ** 2
    >>> out = {name}(image, [1, -2, 3, 1], axis=0)
    >>> bool((out.compute() == ndi.{name}(image, [1, -2, 3, 1], axis=0)).all())
    True
    """


@scipy_operation
def correlate1d(
    spec: Spec,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Step:  # noqa: D103 (docstring: _DOC_1D)
    return _step_1d("correlate1d", ndi.correlate1d, spec, weights, axis, output, mode, cval, origin)


@scipy_operation
def convolve1d(
    spec: Spec,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Step:  # noqa: D103 (docstring: _DOC_1D)
    return _step_1d("convolve1d", ndi.convolve1d, spec, weights, axis, output, mode, cval, origin)


correlate1d.__doc__ = _DOC_1D.format(
    title="One-dimensional correlation",
    name="correlate1d",
    what="each output pixel is the sum of its neighbours along ``axis`` times the weights.",
)
convolve1d.__doc__ = _DOC_1D.format(
    title="One-dimensional convolution",
    name="convolve1d",
    what="the correlation with the reversed weights.",
)
fill_doc(correlate1d)
fill_doc(convolve1d)


# ---------------------------------------------------------------------------
# correlate / convolve


def _plan_nd(spec: Spec, weights: Any, mode: Any, origin: Any, axes: Any, flip: bool) -> Plan:
    axes = check_axes(axes, spec.ndim)
    w = np.asarray(weights)
    window = expand_window(spec.ndim, axes, w.shape, origin, name="weights")
    m = single_mode(mode, "correlate and convolve")
    plan = Plan()
    for a, (n, o) in window.items():
        if flip:
            o = -o - (0 if n & 1 else 1)
        check_origin(o, n)
        plan.add(a, window_reach(n, o), m)
    return plan


def _step_nd(name, func, spec, weights, output, mode, cval, origin, axes):
    weights = as_weights(weights)
    kw = dict(weights=weights, output=output, mode=mode, cval=cval, origin=origin, axes=axes)
    flip = name == "convolve"

    def plan():
        return _plan_nd(spec, weights, mode, origin, axes, flip)

    dtype = checked_dtype(name, func, spec, (), kw, explain=plan)
    return scipy_step(
        name, func, spec, kw, plan_or_whole(plan, spec.ndim), dtype, cost=max(weights.size, 3) / 3
    )


_DOC_ND = """{title}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype (the input's, ``output``'s, or complex when
    the input or the weights are complex): {what} Each block carries a halo of the
    kernel's reach along every filtered axis.

    Parameters
    ----------
    %(input)s
    weights : array_like
        The kernel, one dimension per filtered axis.
    %(output)s
    %(mode)s
    %(cval)s
    %(origin_multiple)s
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For weights with the wrong number of dimensions, a sequence of modes, an
        unknown mode, or a real ``output`` array for a complex result.
    ParameterTypeError
        For axes that are not integers.
    InvalidParameterError
        For an origin outside the kernel, or axes out of range or repeated.

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


@scipy_operation
def correlate(
    spec: Spec,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _DOC_ND)
    return _step_nd("correlate", ndi.correlate, spec, weights, output, mode, cval, origin, axes)


@scipy_operation
def convolve(
    spec: Spec,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _DOC_ND)
    return _step_nd("convolve", ndi.convolve, spec, weights, output, mode, cval, origin, axes)


correlate.__doc__ = _DOC_ND.format(
    title="Multidimensional correlation",
    name="correlate",
    what="each output pixel is the sum of the window's pixels times the weights.",
)
convolve.__doc__ = _DOC_ND.format(
    title="Multidimensional convolution",
    name="convolve",
    what="the correlation with the weights flipped on every axis.",
)
fill_doc(correlate)
fill_doc(convolve)


# ---------------------------------------------------------------------------
# uniform filters


def _exact_sum(dtype: np.dtype, mode: str, cval: Any) -> bool:
    """Whether scipy's running sum over a line of ``dtype`` is exact (so a halo suffices).

    scipy sums each line in float64, adding the pixel entering the window and
    subtracting the one leaving it; for booleans and integers of up to 32 bits every
    partial sum is an exact integer, so the mean at a pixel depends on its window
    only. For other dtypes rounding (and NaN or infinity) carries along the line.
    A non-integer ``cval`` enters the sum at the edges and leaves rounding behind.
    """
    if np.dtype(dtype) not in EXACT_SUM:
        return False
    if canonical_mode(mode) == "constant":
        c = complex(cval)
        return c.imag == 0 and float(c.real).is_integer() and abs(c.real) < 2**31
    return True


def _plan_uniform_1d(spec, size, axis, output_dtype, mode, cval, origin) -> Plan:
    a = check_axis(axis, spec.ndim)
    size = int(size)
    m = canonical_mode(mode)
    check_origin(origin, size)
    plan = Plan()
    exact = _exact_sum(spec.dtype, m, cval)
    plan.add(a, window_reach(size, int(origin)) if exact else WHOLE, m)
    return plan


@scipy_operation
@fill_doc
def uniform_filter1d(
    spec: Spec,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Step:
    """One-dimensional box mean, equal to ``scipy.ndimage.uniform_filter1d`` on the whole array.

    Bit for bit and with scipy's dtype. scipy computes each line's means with a
    running sum in float64, so on floats, complex and 64-bit integers a pixel's
    value depends on the whole line up to it: for those dtypes each block holds
    whole lines along ``axis`` (that axis is not chunked). Booleans and integers of
    up to 32 bits sum exactly and need only a halo of the window's reach.

    Parameters
    ----------
    %(input)s
    size : int
        The window length (at least 1).
    %(axis)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For a size below 1 or an unknown mode.
    ParameterIndexError
        For an axis out of range.
    InvalidParameterError
        For an origin outside the window.

    See Also
    --------
    scipy.ndimage.uniform_filter1d : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import uniform_filter1d
    >>> image = np.arange(30, dtype=np.uint8).reshape(5, 6) ** 2
    >>> out = uniform_filter1d(image, 3, axis=0).compute()
    >>> bool((out == ndi.uniform_filter1d(image, 3, axis=0)).all())
    True
    """
    kw = dict(size=size, axis=axis, output=output, mode=mode, cval=cval, origin=origin)
    dtype = checked_dtype("uniform_filter1d", ndi.uniform_filter1d, spec, (), kw)

    def plan():
        return _plan_uniform_1d(spec, size, axis, dtype, mode, cval, origin)

    return scipy_step(
        "uniform_filter1d", ndi.uniform_filter1d, spec, kw, plan_or_whole(plan, spec.ndim), dtype
    )


def _plan_uniform(spec, size, output_dtype, mode, cval, origin, axes) -> Plan:
    axes = check_axes(axes, spec.ndim)
    n = len(axes)
    sizes = sequence(size, n, "size")
    origins = sequence(origin, n, "origin")
    ms = [canonical_mode(m) for m in sequence(mode, n, "mode")]
    plan = Plan()
    pass_dtype = spec.dtype
    for a, s, o, m in zip(axes, sizes, origins, ms, strict=True):
        if not s > 1:
            continue
        s = int(s)
        check_origin(o, s)
        exact = _exact_sum(pass_dtype, m, cval)
        plan.add(a, window_reach(s, int(o)) if exact else WHOLE, m)
        pass_dtype = output_dtype
    return plan


def _uniform_passes(step, spec, size=3, output=None, mode="reflect", cval=0.0, origin=0, *,
                    axes=None):  # fmt: skip
    """``uniform_filter`` as scipy's 1-D passes, when one of them keeps its axis whole.

    Run as separate steps, a pass whose running sum is inexact holds one line of
    blocks rather than the whole array. None where one step serves as well.
    """
    try:
        ax = check_axes(axes, spec.ndim)
        n = len(ax)
        todo = [
            (a, int(s), int(o), m)
            for a, s, o, m in zip(
                ax,
                sequence(size, n, "size"),
                sequence(origin, n, "origin"),
                sequence(mode, n, "mode"),
                strict=True,
            )
            if s > 1
        ]
    except (BatchimgError, TypeError, ValueError):
        return None
    if len(todo) < 2:
        return None
    steps, pass_dtype, whole_any = [], spec.dtype, False
    for a, s, o, m in todo:
        whole = not _exact_sum(pass_dtype, m, cval)
        plan = Plan()
        plan.add(a, WHOLE if whole else window_reach(s, o), canonical_mode(m))
        kw = dict(size=s, axis=a, output=step.dtype, mode=m, cval=cval, origin=o)
        pass_spec = Spec(spec.ndim, np.dtype(pass_dtype), spec.shape)
        steps.append(
            scipy_step("uniform_filter", ndi.uniform_filter1d, pass_spec, kw, plan, step.dtype)
        )
        whole_any = whole_any or whole
        pass_dtype = step.dtype
    return steps if whole_any else None


@scipy_operation(passes=_uniform_passes)
@fill_doc
def uniform_filter(
    spec: Spec,
    size: Any = 3,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:
    """Uniform (box mean) filter, equal to ``scipy.ndimage.uniform_filter`` on the whole array.

    Bit for bit and with scipy's dtype: one :func:`uniform_filter1d` pass per
    filtered axis whose size exceeds 1, each pass stored in the output dtype. scipy's
    running sum is exact for booleans and integers of up to 32 bits, so such a pass
    needs only a halo of its window; on floats, complex and 64-bit integers (the
    input of the first pass, the output dtype for the others) a pixel depends on the
    whole line, so that axis is kept in one chunk.

    Parameters
    ----------
    %(input)s
    size : int or sequence of int, optional
        Window length, one or one per filtered axis (lengths up to 1 leave an axis
        as it is).
    %(output)s
    %(mode_multiple)s
    %(cval)s
    %(origin_multiple)s
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For sequences of the wrong length or an unknown mode.
    InvalidParameterError
        For an origin outside the window, or axes out of range or repeated.

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
    kw = dict(size=size, output=output, mode=mode, cval=cval, origin=origin, axes=axes)

    def plan():
        return _plan_uniform(spec, size, dtype, mode, cval, origin, axes)

    dtype = np.dtype(spec.dtype)
    dtype = checked_dtype("uniform_filter", ndi.uniform_filter, spec, (), kw, explain=plan)
    return scipy_step(
        "uniform_filter", ndi.uniform_filter, spec, kw, plan_or_whole(plan, spec.ndim), dtype
    )
