"""Edge and derivative filters: Sobel, Prewitt, Laplace, and the generic derivative filters.

Public through :mod:`batchimg.filters`; see there for the equivalence contract.
"""

from __future__ import annotations

from typing import Any

import scipy.ndimage as ndi

from .._overlap import Spec, Step
from ..errors import ParameterTypeError
from ._support import (
    Plan,
    canonical_mode,
    check_axes,
    check_axis,
    checked_dtype,
    fill_doc,
    plan_or_whole,
    resolve_output,
    scipy_operation,
    scipy_step,
    sequence,
    whole_plan,
)

# ---------------------------------------------------------------------------
# sobel / prewitt


def _edge_plan(spec: Spec, axis: Any, mode: Any) -> Plan:
    check_axis(axis, spec.ndim)
    plan = Plan()
    for a, m in enumerate(sequence(mode, spec.ndim, "mode")):
        plan.add(a, 1, canonical_mode(m))
    return plan


def _edge_step(name: str, spec: Spec, axis, output, mode, cval) -> Step:
    func = getattr(ndi, name)
    kw = dict(axis=axis, output=output, mode=mode, cval=cval)

    def plan():
        return _edge_plan(spec, axis, mode)

    dtype = checked_dtype(name, func, spec, (), kw, explain=plan)
    return scipy_step(name, func, spec, kw, plan_or_whole(plan, spec.ndim), dtype)


_EDGE_DOC = """{title}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype: the derivative ``[-1, 0, 1]`` along
    ``axis`` and the smoothing ``{smooth}`` along every other axis, each pass stored
    in the output dtype (integers wrap as in scipy). Each block carries a halo of 1
    on every axis.

    Parameters
    ----------
    %(input)s
    %(axis)s
    %(output)s
    mode : str or sequence of str, optional
        How the image extends beyond its edges (see :func:`gaussian_filter`), one
        for every axis or one per axis of the image.
    %(cval)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterIndexError
        For an axis out of range.
    ParameterRuntimeError
        For a mode sequence of the wrong length or an unknown mode.

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


@scipy_operation
def sobel(
    spec: Spec, axis: int = -1, output: Any = None, mode: Any = "reflect", cval: Any = 0.0
) -> Step:  # noqa: D103 (docstring: _EDGE_DOC)
    return _edge_step("sobel", spec, axis, output, mode, cval)


@scipy_operation
def prewitt(
    spec: Spec, axis: int = -1, output: Any = None, mode: Any = "reflect", cval: Any = 0.0
) -> Step:  # noqa: D103 (docstring: _EDGE_DOC)
    return _edge_step("prewitt", spec, axis, output, mode, cval)


sobel.__doc__ = _EDGE_DOC.format(title="Sobel filter", name="sobel", smooth="[1, 2, 1]")
prewitt.__doc__ = _EDGE_DOC.format(title="Prewitt filter", name="prewitt", smooth="[1, 1, 1]")
fill_doc(sobel)
fill_doc(prewitt)


# ---------------------------------------------------------------------------
# laplace


@scipy_operation
@fill_doc
def laplace(
    spec: Spec, output: Any = None, mode: Any = "reflect", cval: Any = 0.0, *, axes: Any = None
) -> Step:
    """Discrete Laplacian, equal to ``scipy.ndimage.laplace`` on the whole array.

    Bit for bit and with scipy's dtype: the sum over the filtered axes of the
    second differences ``[1, -2, 1]``, accumulated in the output dtype. Each block
    carries a halo of 1 on every filtered axis.

    Parameters
    ----------
    %(input)s
    %(output)s
    %(mode_multiple)s
    %(cval)s
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterRuntimeError
        For a mode sequence of the wrong length or an unknown mode.
    InvalidParameterError
        For axes out of range or repeated.

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
    kw = dict(output=output, mode=mode, cval=cval, axes=axes)

    def plan():
        p = Plan()
        ax = check_axes(axes, spec.ndim)
        for a, m in zip(ax, sequence(mode, len(ax), "mode"), strict=True):
            p.add(a, 1, canonical_mode(m))
        return p

    dtype = checked_dtype("laplace", ndi.laplace, spec, (), kw, explain=plan)
    return scipy_step("laplace", ndi.laplace, spec, kw, plan_or_whole(plan, spec.ndim), dtype)


# ---------------------------------------------------------------------------
# generic_laplace / generic_gradient_magnitude


def _generic_derivative_step(name, spec, derivative, output, mode, cval, extra_arguments,
                             extra_keywords, axes):  # fmt: skip
    dtype = resolve_output(output, spec.dtype)
    ax = check_axes(axes, spec.ndim)
    sequence(mode, len(ax), "mode")
    if ax and not callable(derivative):
        raise ParameterTypeError(f"the derivative must be callable; got {derivative!r}.")
    kw = dict(
        output=output,
        mode=mode,
        cval=cval,
        extra_arguments=extra_arguments,
        extra_keywords=extra_keywords,
        axes=axes,
    )
    func = getattr(ndi, name)
    kw["derivative2" if name == "generic_laplace" else "derivative"] = derivative
    return scipy_step(name, func, spec, kw, whole_plan(spec.ndim), dtype, cost=spec.ndim * 3)


_GENERIC_DOC = """{title} by a user derivative, equal to ``scipy.ndimage.{name}`` on a whole array.

    Bit for bit and with scipy's dtype: {what} The derivative is a user function of
    the whole array, so how far it reaches cannot be known: the array is filtered
    in one block (every axis whole), exactly as scipy filters it, which needs the
    whole array in memory. For a Gaussian derivative, use
    :func:`gaussian_{short}`, which exchanges only the kernel's halo.

    Parameters
    ----------
    %(input)s
    {param} : callable
        ``{param}(input, axis, output, mode, cval, *extra_arguments,
        **extra_keywords)``, as scipy calls it.
    %(output)s
    %(mode_multiple)s
    %(cval)s
    %(extra)s
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    ParameterTypeError
        When ``{param}`` is not callable, or for axes that are not integers.
    ParameterRuntimeError
        For a mode sequence of the wrong length.
    InvalidParameterError
        For axes out of range or repeated.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> def d(input, axis, output, mode, cval):
    ...     return ndi.{example}(input, axis, output, mode, cval)
    >>> image = np.arange(30, dtype=float).reshape(5, 6) ** 2
    >>> bool(({name}(image, d).compute() == ndi.{name}(image, d)).all())
    True
    """


@scipy_operation
def generic_laplace(
    spec: Spec,
    derivative2: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    extra_arguments: Any = (),
    extra_keywords: Any = None,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _GENERIC_DOC)
    return _generic_derivative_step(
        "generic_laplace", spec, derivative2, output, mode, cval, extra_arguments,
        extra_keywords, axes,
    )  # fmt: skip


@scipy_operation
def generic_gradient_magnitude(
    spec: Spec,
    derivative: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    extra_arguments: Any = (),
    extra_keywords: Any = None,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _GENERIC_DOC)
    return _generic_derivative_step(
        "generic_gradient_magnitude", spec, derivative, output, mode, cval, extra_arguments,
        extra_keywords, axes,
    )  # fmt: skip


generic_laplace.__doc__ = _GENERIC_DOC.format(
    title="N-D Laplace filter",
    name="generic_laplace",
    short="laplace",
    param="derivative2",
    what="the sum over the filtered axes of ``derivative2`` along each axis, "
    "accumulated in the output dtype.",
    example="sobel",
)
generic_gradient_magnitude.__doc__ = _GENERIC_DOC.format(
    title="Gradient magnitude",
    name="generic_gradient_magnitude",
    short="gradient_magnitude",
    param="derivative",
    what="the square root of the sum over the filtered axes of the squared "
    "``derivative`` along each axis, accumulated in the output dtype.",
    example="sobel",
)
fill_doc(generic_laplace)
fill_doc(generic_gradient_magnitude)
