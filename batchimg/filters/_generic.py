"""Filters with a user function: generic_filter, generic_filter1d and vectorized_filter.

Public through :mod:`batchimg.filters`; see there for the equivalence contract. The
user function must be a function of the values it is given (no state kept between
calls): dask calls it on overlapped blocks, in any order, and on halo pixels that are
then trimmed away, so it sees more windows than scipy gives it.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .._overlap import Spec, Step, apply
from ..errors import InvalidParameterError, ParameterRuntimeError
from ._support import (
    WHOLE,
    Plan,
    as_footprint,
    as_input,
    canonical_mode,
    check_axes,
    check_axis,
    check_origin,
    check_output_shape,
    checked_dtype,
    expand_window,
    fill,
    fill_doc,
    is_dtype_like,
    plan_or_whole,
    refuse_complex,
    resolve_output,
    scipy_operation,
    scipy_step,
    sequence,
    window_reach,
)


def _noop(*args: Any, **kwargs: Any) -> float:
    """The stand-in user function scipy's checks run with."""
    return 0.0


def _generic_plan(spec, size, footprint, output, mode, origin, axes) -> Plan:
    """The reach of ``generic_filter``, after scipy's checks in scipy's order."""
    refuse_complex(spec.dtype, "generic_filter")
    ax = check_axes(axes, spec.ndim)
    if footprint is None:
        if size is None:
            raise ParameterRuntimeError(
                "size or footprint must be given (no footprint or filter size provided); got "
                "neither. Hint: size=3 uses a 3-pixel window on every axis."
            )
        fp = np.ones(sequence(size, len(ax), "size"), bool)
    else:
        fp = as_footprint(footprint)
    window = expand_window(spec.ndim, ax, fp.shape, origin)
    for length, o in window.values():
        check_origin(o, length)
    resolve_output(output, spec.dtype)
    m = canonical_mode(mode)
    plan = Plan()
    for a, (length, o) in window.items():
        plan.add(a, window_reach(length, o), m)
    return plan


def _check_callable(function: Any) -> None:
    if not callable(function):
        raise InvalidParameterError(
            f"function must be callable or a LowLevelCallable (invalid callable given); "
            f"got {function!r}."
        )


@scipy_operation
@fill_doc
def generic_filter(
    spec: Spec,
    function: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    extra_arguments: Any = (),
    extra_keywords: Any = None,
    *,
    axes: Any = None,
) -> Step:
    """Filter with a user function of each window, equal to ``scipy.ndimage.generic_filter``.

    Bit for bit and with scipy's dtype, on the whole array: the output pixel is
    ``function(values)``, the 1-D float64 array of the window's pixels (the
    ``footprint``'s, in C order), as scipy computes it. The value at a pixel
    depends on its window only, so each block carries the window's halo; the
    function must keep no state between calls (it is called on blocks in any order,
    and on halo pixels that are then trimmed).

    Parameters
    ----------
    %(input)s
    function : callable
        ``function(values, *extra_arguments, **extra_keywords) -> float`` (or a
        ``scipy.LowLevelCallable``, as scipy takes).
    %(size_footprint)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin_multiple)s
    %(extra)s
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    InputTypeError
        For complex input.
    ParameterTypeError
        When ``function`` is not callable.
    ParameterRuntimeError
        With neither ``size`` nor ``footprint``, for a footprint of the wrong rank, or
        an unknown mode.
    InvalidParameterError
        For an origin outside the window, or axes out of range or repeated.

    See Also
    --------
    scipy.ndimage.generic_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import generic_filter
    >>> image = np.arange(36, dtype=float).reshape(6, 6) %% 7
    >>> out = generic_filter(image, np.ptp, size=3).compute()
    >>> bool((out == ndi.generic_filter(image, np.ptp, size=3)).all())
    True
    """
    kw = dict(
        function=function,
        size=size,
        footprint=None if footprint is None else as_footprint(footprint),
        output=output,
        mode=mode,
        cval=cval,
        origin=origin,
        extra_arguments=extra_arguments,
        extra_keywords=extra_keywords,
        axes=axes,
    )

    def plan():
        return _generic_plan(spec, size, footprint, output, mode, origin, axes)

    # scipy's checks, with a stand-in for the user's function (never called here)
    dtype = checked_dtype(
        "generic_filter", ndi.generic_filter, spec, (), dict(kw, function=_noop), explain=plan
    )
    _check_callable(function)
    if kw["footprint"] is not None:
        kw["size"] = None  # scipy ignores it (and warned once, above)
    p = plan_or_whole(plan, spec.ndim)
    count = np.prod(kw["footprint"].shape) if kw["footprint"] is not None else 9
    return scipy_step("generic_filter", ndi.generic_filter, spec, kw, p, dtype, cost=count * 10)


@scipy_operation
@fill_doc
def generic_filter1d(
    spec: Spec,
    function: Any,
    filter_size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
    extra_arguments: Any = (),
    extra_keywords: Any = None,
) -> Step:
    """Filter each line with a user function, equal to ``scipy.ndimage.generic_filter1d``.

    Bit for bit and with scipy's dtype, on the whole array: scipy hands ``function``
    each whole line along ``axis`` (in float64, extended by ``filter_size - 1``
    pixels) and the line to write. What the function reads of its line cannot be
    known, so ``axis`` is kept whole (one chunk); the other axes stay chunked, as
    lines never mix.

    Parameters
    ----------
    %(input)s
    function : callable
        ``function(input_line, output_line, *extra_arguments, **extra_keywords)``,
        writing ``output_line`` in place (or a ``scipy.LowLevelCallable``).
    filter_size : int
        The window length (at least 1).
    %(axis)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(extra)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    InputTypeError
        For complex input.
    ParameterTypeError
        When ``function`` is not callable.
    ParameterRuntimeError
        For a filter size below 1 or an unknown mode.
    ParameterIndexError
        For an axis out of range.
    InvalidParameterError
        For an origin outside the window.

    See Also
    --------
    scipy.ndimage.generic_filter1d : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import generic_filter1d
    >>> def mean3(iline, oline):
    ...     oline[...] = (iline[:-2] + iline[1:-1] + iline[2:]) / 3
    >>> image = np.arange(30, dtype=float).reshape(5, 6) ** 2
    >>> out = generic_filter1d(image, mean3, 3).compute()
    >>> bool((out == ndi.generic_filter1d(image, mean3, 3)).all())
    True
    """
    kw = dict(
        function=function,
        filter_size=filter_size,
        axis=axis,
        output=output,
        mode=mode,
        cval=cval,
        origin=origin,
        extra_arguments=extra_arguments,
        extra_keywords=extra_keywords,
    )

    def plan():
        refuse_complex(spec.dtype, "generic_filter1d")
        resolve_output(output, spec.dtype)
        if filter_size < 1:
            raise ParameterRuntimeError(
                f"filter_size must be >= 1 (invalid filter size); got {filter_size!r}."
            )
        a = check_axis(axis, spec.ndim)
        check_origin(origin, int(filter_size))
        p = Plan()
        p.add(a, WHOLE, canonical_mode(mode))
        return p

    # scipy's checks, with a stand-in for the user's function (never called here)
    dtype = checked_dtype(
        "generic_filter1d", ndi.generic_filter1d, spec, (), dict(kw, function=_noop), explain=plan
    )
    _check_callable(function)
    plan = plan_or_whole(plan, spec.ndim)
    return scipy_step("generic_filter1d", ndi.generic_filter1d, spec, kw, plan, dtype, cost=10)


# ---------------------------------------------------------------------------
# vectorized_filter

_PAD_MODES = ("reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant",
              "grid-wrap", "valid")  # fmt: skip


def _vectorized_window(spec: Spec, function, size, footprint, mode, cval, origin, axes):
    """Run the checks of scipy's ``vectorized_filter`` in its order; (axes, sizes, origins).

    The messages keep scipy's words (scipy's tests match them).
    """
    if not callable(function):
        raise InvalidParameterError(f"`function` must be a callable; got {function!r}.")
    if size is None and footprint is None:
        raise InvalidParameterError("Either `size` or `footprint` must be provided; got neither.")
    if size is not None and footprint is not None:
        raise InvalidParameterError(
            f"Either `size` or `footprint` may be provided, not both; got size={size!r} and "
            "a footprint."
        )
    ax = None if axes is None else ((axes,) if np.isscalar(axes) else tuple(axes))
    if size is not None:
        sizes = (size,) * (spec.ndim if ax is None else len(ax)) if np.isscalar(size) else size
        sizes = tuple(sizes)
        if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
            raise InvalidParameterError(
                f"All elements of `size` must be positive integers; got {size!r}."
            )
    else:
        sizes = np.asarray(footprint, dtype=bool).shape
    n = len(sizes) if ax is None else len(ax)
    if ax is not None and len(ax) > spec.ndim:
        raise InvalidParameterError(
            f"The length of `axes` may not exceed the dimensionality of `input` "
            f"({spec.ndim}); got axes={axes!r}."
        )
    if ax is None and len(sizes) != spec.ndim or ax is not None and len(sizes) != len(ax):
        raise InvalidParameterError(
            f"`axes` must be compatible with the dimensionality of the window; got a window "
            f"of {len(sizes)} dimensions, axes={axes!r} and an image of {spec.ndim}."
        )
    if ax is None:
        ax = tuple(range(-spec.ndim, 0))
    if origin is None:
        origins = (0,) * n
    else:
        origins = (origin,) * n if np.isscalar(origin) else tuple(origin)
        if not all(isinstance(o, numbers.Integral) for o in origins):
            raise InvalidParameterError(
                f"All elements of `origin` must be integers; got {origin!r}."
            )
        if len(origins) != n:
            raise InvalidParameterError(
                f"`origin` must be an integer or tuple of integers with length equal to the "
                f"number of axes ({n}); got {origin!r}."
            )
    if mode not in _PAD_MODES:
        raise InvalidParameterError(f"`mode` must be one of {', '.join(_PAD_MODES)}; got {mode!r}.")
    if mode == "valid" and any(origins):
        raise InvalidParameterError(
            f"`mode='valid'` is incompatible with use of `origin`; got origin={origin!r}."
        )
    if cval is not None and mode not in ("constant", "grid-constant"):
        raise InvalidParameterError(
            f"Use of `cval` is compatible only with `mode='constant'`; got mode={mode!r}."
        )
    return tuple(a % spec.ndim for a in ax), tuple(int(s) for s in sizes), origins


def _vectorized_plan(spec, axes, sizes, origins, mode) -> Plan:
    plan = Plan()
    boundary = "wrap" if mode in ("wrap", "grid-wrap") else "constant"
    for a, s, o in zip(axes, sizes, origins, strict=True):
        plan.add(a, window_reach(s, int(o)), boundary)
    return plan


def _vectorized_kernel(block, *, kwargs):
    return ndi.vectorized_filter(block, **kwargs)


def vectorized_filter(
    input: Any,
    function: Any,
    *,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = None,
    origin: Any = None,
    axes: Any = None,
    batch_memory: int = 2**30,
) -> Any:
    """Filter with a vectorized user function, equal to ``scipy.ndimage.vectorized_filter``.

    On the whole array, bit for bit and with the function's dtype: the output pixel
    is ``function(windows, axis=...)`` reduced over the window axes of
    ``numpy.lib.stride_tricks.sliding_window_view`` (the ``footprint``'s pixels when
    one is given), with the image padded by ``numpy.pad`` in ``mode``. Each block
    carries the window's halo; ``mode='valid'`` gives the smaller array of the
    windows that fit, cut from the same-shape result. The function must be a function
    of the windows it is given (no state kept between calls); its dtype is taken
    from one call on a tiny array of the input's dtype.

    Parameters
    ----------
    input : array_like
        The image: a numpy or dask array of any chunking.
    function : callable
        ``function(windows, axis=axes)``, reducing the window axes (``numpy.mean``...).
    size : int or sequence of int, optional
        Box window length, one or one per filtered axis.
    footprint : array_like of bool, optional
        The window's shape (give this or ``size``).
    output : array, optional
        An array of the result's shape to write the result into; the call then
        computes it with dask's current scheduler and returns that array.
    mode : str, optional
        ``'reflect'`` (default), ``'constant'``, ``'nearest'``, ``'mirror'``,
        ``'wrap'``, scipy's ``'grid-'`` spellings, or ``'valid'`` (no padding).
    cval : scalar, optional
        The value beyond the edges; only with ``mode='constant'``.
    origin : int or sequence of int, optional
        Shift of the window.
    axes : int or sequence of int, optional
        The axes the window spans (by default the last ones, as many as the window has).
    batch_memory : int, optional
        Bytes of windows the function is given at once, per block.

    Returns
    -------
    dask.array.Array or array
        The result (lazy); the ``output`` array itself when one is given.

    Raises
    ------
    InvalidParameterError
        For each of scipy's checks (a function that is not callable, neither or both
        of ``size`` and ``footprint``, non-positive sizes, axes that do not match the
        window, non-integer origins, an unknown mode, ``cval`` without
        ``mode='constant'``, a non-positive ``batch_memory``), with scipy's words.

    See Also
    --------
    scipy.ndimage.vectorized_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import vectorized_filter
    >>> image = np.arange(36, dtype=float).reshape(6, 6) % 7
    >>> out = vectorized_filter(image, np.std, size=3).compute()
    >>> bool((out == ndi.vectorized_filter(image, np.std, size=3)).all())
    True
    """
    x = as_input(input)
    spec = Spec(x.ndim, x.dtype, tuple(x.shape))
    step, crop = vectorized_filter_step(
        spec, function, size=size, footprint=footprint, output=output, mode=mode, cval=cval,
        origin=origin, axes=axes, batch_memory=batch_memory,
    )  # fmt: skip
    result = apply(x, step)
    if crop is not None:
        result = result[crop]
    if output is None or is_dtype_like(output):
        return result
    check_output_shape(output, result.shape)
    return fill(output, result)


def vectorized_filter_step(
    spec: Spec,
    function: Any,
    *,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = None,
    origin: Any = None,
    axes: Any = None,
    batch_memory: int = 2**30,
) -> tuple[Step, tuple | None]:
    """The step of :func:`vectorized_filter` and, for ``mode='valid'``, the cut of its result."""
    if spec.shape is not None and 0 in spec.shape:
        # scipy returns an empty input as it is
        plan = Plan()
        kw = dict(function=function, size=size, footprint=footprint, mode=mode, cval=cval,
                  origin=origin, axes=axes, batch_memory=batch_memory)  # fmt: skip
        kernel = functools.partial(_vectorized_kernel, kwargs=kw)
        return scipy_step("vectorized_filter", ndi.vectorized_filter, spec, kw, plan,
                          np.dtype(spec.dtype), kernel=kernel), None  # fmt: skip
    kw = dict(function=function, size=size, footprint=footprint, mode=mode, cval=cval,
              origin=origin, axes=axes, batch_memory=batch_memory)  # fmt: skip
    if output is not None and not is_dtype_like(output):
        kw["output"] = output

    def window():
        return _vectorized_window(spec, function, size, footprint, mode, cval, origin, axes)

    dummy = None
    try:
        ax, sizes, _ = window()
        dummy = [1] * spec.ndim
        for a, s in zip(ax, sizes, strict=True):
            dummy[a] = s if spec.shape is None else min(s, spec.shape[a])
    except (InvalidParameterError, TypeError, ValueError):
        pass
    dtype = checked_dtype(
        "vectorized_filter", ndi.vectorized_filter, spec, (), kw, explain=window, shape=dummy
    )
    ax, sizes, origins = window()
    crop = None
    kw_block = dict(kw)
    if mode == "valid":
        if spec.shape is not None:
            crop = tuple(
                slice(sizes[ax.index(a)] // 2, n - (sizes[ax.index(a)] - 1) // 2)
                if a in ax
                else slice(None)
                for a, n in enumerate(spec.shape)
            )
        kw_block.update(mode="constant", cval=0 if cval is None else cval)
    kw_block.pop("output", None)
    plan = _vectorized_plan(spec, ax, sizes, origins, mode)
    kernel = functools.partial(_vectorized_kernel, kwargs=kw_block)
    step = scipy_step(
        "vectorized_filter", ndi.vectorized_filter, spec, kw_block, plan, dtype, kernel=kernel,
        cost=max(int(np.prod(sizes)), 1),
    )  # fmt: skip
    return step, crop
