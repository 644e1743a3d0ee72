"""Order-statistic filters: minimum and maximum (N-D and 1-D), rank, median, percentile.

Public through :mod:`batchimg.filters`; see there for the equivalence contract.

NaN. scipy computes a box minimum or maximum as one 1-D pass per axis with the
MINLIST running algorithm (a deque of candidates carried along each line), and a 1-D
rank filter with a running double heap. With NaN in a line their answers are not a
function of the window: a NaN stops the deque from dropping older candidates and
blocks comparisons, so the value at a pixel depends on the line's history, however far
back (measured: one NaN changes pixels up to ~30 windows away, with no bound). A
block that starts mid-line with any finite halo therefore can disagree with scipy. So
where NaN can occur (float images, or ``cval=nan`` with ``mode='constant'``), those
passes keep their axis whole: each line is filtered in one piece, exactly as scipy
filters it. Integer and boolean images cannot hold NaN; for them (and for
non-rectangular footprints, and N-D rank filters, whose value at a pixel is computed
from its window alone) each block carries only the window's halo.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .. import _networks as networks
from .._overlap import Spec, Step
from ..errors import (
    BatchimgError,
    InvalidParameterError,
    ParameterRuntimeError,
    ParameterTypeError,
)
from ._support import (
    WHOLE,
    Plan,
    as_footprint,
    canonical_mode,
    check_axes,
    check_axis,
    check_origin,
    checked_dtype,
    expand_window,
    fill_doc,
    is_nan,
    kernel_kwargs,
    plan_or_whole,
    refuse_complex,
    run_scipy,
    scipy_operation,
    scipy_step,
    sequence,
    single_mode,
    window_reach,
)


def nan_possible(dtype: Any, cval: Any, modes) -> bool:
    """Whether a line scipy filters may hold NaN: a float image, or NaN put in at the edges."""
    if np.dtype(dtype).kind in "fc":
        return True
    return is_nan(cval) and any(canonical_mode(m) == "constant" for m in modes)


# ---------------------------------------------------------------------------
# minimum_filter1d / maximum_filter1d


def _plan_minmax_1d(spec, size, axis, mode, cval, origin) -> Plan:
    a = check_axis(axis, spec.ndim)
    size = operator.index(size)
    if size < 1:
        raise ParameterRuntimeError(f"size must be >= 1 (incorrect filter size); got {size!r}.")
    check_origin(origin, size)
    m = canonical_mode(mode)
    plan = Plan()
    if size > 1:
        whole = nan_possible(spec.dtype, cval, [m])
        plan.add(a, WHOLE if whole else window_reach(size, int(origin)), m)
    return plan


def _minmax_1d_step(name, spec, size, axis, output, mode, cval, origin):
    refuse_complex(spec.dtype, name)
    func = getattr(ndi, name)
    kw = dict(size=size, axis=axis, output=output, mode=mode, cval=cval, origin=origin)

    def plan():
        return _plan_minmax_1d(spec, size, axis, mode, cval, origin)

    dtype = checked_dtype(name, func, spec, (), kw, explain=plan)
    return scipy_step(name, func, spec, kw, plan_or_whole(plan, spec.ndim), dtype)


_DOC_1D = """One-dimensional {what} filter, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype: the {what} over a window of ``size`` pixels
    along ``axis``. Integer and boolean images exchange the window's halo; on float
    images scipy's running algorithm carries NaN along the line (see
    :mod:`batchimg.filters`), so ``axis`` is kept whole there.

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
    InputTypeError
        For complex input.
    ParameterRuntimeError
        For a size below 1 or an unknown mode.
    ParameterIndexError
        For an axis out of range.
    InvalidParameterError
        For an origin outside the window.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.array([[2, 8, 0, 4, 1, 9, 9, 0]])
    >>> bool(({name}(image, 3).compute() == ndi.{name}(image, 3)).all())
    True
    """


@scipy_operation
def minimum_filter1d(
    spec: Spec,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Step:  # noqa: D103 (docstring: _DOC_1D)
    return _minmax_1d_step("minimum_filter1d", spec, size, axis, output, mode, cval, origin)


@scipy_operation
def maximum_filter1d(
    spec: Spec,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Step:  # noqa: D103 (docstring: _DOC_1D)
    return _minmax_1d_step("maximum_filter1d", spec, size, axis, output, mode, cval, origin)


minimum_filter1d.__doc__ = _DOC_1D.format(what="minimum", name="minimum_filter1d")
maximum_filter1d.__doc__ = _DOC_1D.format(what="maximum", name="maximum_filter1d")
fill_doc(minimum_filter1d)
fill_doc(maximum_filter1d)


# ---------------------------------------------------------------------------
# minimum_filter / maximum_filter


def minmax_plan(spec: Spec, size, footprint, mode, cval, origin, axes) -> Plan:
    """The reach of scipy's ``_min_or_max_filter`` (also grey erosion and dilation).

    A box (``size``, or an all-True footprint) runs one 1-D pass per axis longer than
    1, each with its own mode, whole along its axis where NaN can occur; any other
    footprint is one N-D pass, local with the footprint's reach.
    """
    if footprint is not None:
        fp = np.asarray(footprint, dtype=bool)
        if not fp.any():
            raise InvalidParameterError(
                f"footprint must select at least one pixel (All-zero footprint is not "
                f"supported); got an all-False footprint of shape {fp.shape}."
            )
        if fp.all():
            size, footprint = fp.shape, None
    elif size is None:
        raise ParameterRuntimeError(
            "size or footprint must be given (no footprint provided); got neither. Hint: "
            "size=3 uses a 3-pixel window on every axis."
        )
    axes = check_axes(axes, spec.ndim)
    n = len(axes)
    plan = Plan()
    if footprint is None:
        origins = sequence(origin, n, "origin")
        sizes = sequence(size, n, "size")
        ms = [canonical_mode(m) for m in sequence(mode, n, "mode")]
        whole = nan_possible(spec.dtype, cval, ms)
        for a, s, o, m in zip(axes, sizes, origins, ms, strict=True):
            if s > 1:
                s = int(s)
                check_origin(o, s)
                plan.add(a, WHOLE if whole else window_reach(s, int(o)), m)
        return plan
    window = expand_window(spec.ndim, axes, fp.shape, origin)
    m = single_mode(mode, "a non-separable footprint")
    for a, (length, o) in window.items():
        check_origin(o, length)
        plan.add(a, window_reach(length, o), m)
    return plan


def minmax_passes(name, minimum, spec, dtype, size, footprint, mode, cval, origin, axes):
    """A box minimum/maximum as scipy's 1-D passes, when one of them keeps its axis whole.

    scipy filters a box one axis at a time (``minimum_filter1d`` per axis longer than
    1, each pass stored in the output dtype); run as separate steps, a pass that
    needs its line whole holds one line of blocks rather than the whole array.
    Returns None where one step serves as well (no whole axis, or a single pass).
    """
    try:
        if footprint is not None:
            fp = np.asarray(footprint, dtype=bool)
            if not fp.all():
                return None
            size = fp.shape
        if size is None:
            return None
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
    func = ndi.minimum_filter1d if minimum else ndi.maximum_filter1d
    steps, pass_dtype, whole_any = [], spec.dtype, False
    for a, s, o, m in todo:
        whole = nan_possible(pass_dtype, cval, [m])
        plan = Plan()
        plan.add(a, WHOLE if whole else window_reach(s, o), canonical_mode(m))
        kw = dict(size=s, axis=a, output=dtype, mode=m, cval=cval, origin=o)
        pass_spec = Spec(spec.ndim, np.dtype(pass_dtype), spec.shape)
        steps.append(scipy_step(name, func, pass_spec, kw, plan, dtype))
        whole_any = whole_any or whole
        pass_dtype = dtype
    return steps if whole_any else None


def _min_passes(step, spec, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                origin=0, *, axes=None):  # fmt: skip
    return minmax_passes(
        "minimum_filter", True, spec, step.dtype, size, footprint, mode, cval, origin, axes
    )


def _max_passes(step, spec, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                origin=0, *, axes=None):  # fmt: skip
    return minmax_passes(
        "maximum_filter", False, spec, step.dtype, size, footprint, mode, cval, origin, axes
    )


def _minmax_step(name, spec, size, footprint, output, mode, cval, origin, axes):
    refuse_complex(spec.dtype, name)
    func = getattr(ndi, name)
    footprint = None if footprint is None else as_footprint(footprint)
    kw = dict(size=size, footprint=footprint, output=output, mode=mode, cval=cval, origin=origin)
    kw["axes"] = axes

    def plan():
        return minmax_plan(spec, size, footprint, mode, cval, origin, axes)

    dtype = checked_dtype(name, func, spec, (), kw, explain=plan)
    if footprint is not None:
        kw["size"] = None  # scipy ignores it (and warned once, above)
    cost = (np.prod(footprint.shape) if footprint is not None else 3) / 3
    return scipy_step(name, func, spec, kw, plan_or_whole(plan, spec.ndim), dtype, cost=cost)


_DOC_ND = """{title} filter, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype: the {what} over the window (a box of
    ``size``, or the ``footprint``) around each pixel. A box runs as one 1-D pass
    per axis, as in scipy; on float images scipy's running algorithm carries NaN
    along each line (see :mod:`batchimg.filters`), so each pass keeps its axis
    whole (one line of blocks per task).
    Other footprints, and integer or boolean images, exchange the window's halo.

    Parameters
    ----------
    %(input)s
    %(size_footprint)s
    %(output)s
    mode : str or sequence of str, optional
        How the image extends beyond its edges (see :func:`gaussian_filter`); one
        per filtered axis only for a box window.
    %(cval)s
    %(origin_multiple)s
    %(axes)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    InputTypeError
        For complex input.
    ParameterRuntimeError
        With neither ``size`` nor ``footprint``, for sequences of the wrong length,
        a footprint of the wrong rank, or a mode sequence with a non-box footprint.
    InvalidParameterError
        For an all-False footprint, an origin outside the window, or axes out of
        range or repeated.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(36).reshape(6, 6) %% 7
    >>> bool(({name}(image, size=3).compute() == ndi.{name}(image, size=3)).all())
    True
    """


@scipy_operation(passes=_min_passes)
def minimum_filter(
    spec: Spec,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _DOC_ND)
    return _minmax_step("minimum_filter", spec, size, footprint, output, mode, cval, origin, axes)


@scipy_operation(passes=_max_passes)
def maximum_filter(
    spec: Spec,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _DOC_ND)
    return _minmax_step("maximum_filter", spec, size, footprint, output, mode, cval, origin, axes)


minimum_filter.__doc__ = _DOC_ND.format(title="Minimum", name="minimum_filter", what="minimum")
maximum_filter.__doc__ = _DOC_ND.format(title="Maximum", name="maximum_filter", what="maximum")
fill_doc(minimum_filter)
fill_doc(maximum_filter)


# ---------------------------------------------------------------------------
# rank_filter / median_filter / percentile_filter


def _expanded_footprint(spec, size, footprint, axes):
    """The footprint of scipy's ``_rank_filter``: from ``size``, or the one given."""
    axes = check_axes(axes, spec.ndim)
    if footprint is None:
        if size is None:
            raise ParameterRuntimeError(
                "size or footprint must be given (no footprint or filter size provided); got "
                "neither. Hint: size=3 uses a 3-pixel window on every axis."
            )
        fp = np.ones([operator.index(s) for s in sequence(size, len(axes), "size")], bool)
    else:
        fp = np.asarray(footprint, dtype=bool)
    return axes, fp


def rank_of(operation: str, value: Any, count: int) -> int:
    """The rank scipy picks for ``operation`` over a window of ``count`` pixels."""
    if operation == "median":
        rank = count // 2
    elif operation == "percentile":
        percentile = float(value)
        if percentile < 0.0:
            percentile += 100.0
        if not 0 <= percentile <= 100:
            raise ParameterRuntimeError(
                f"percentile must be in [-100, 100] (invalid percentile); got {value!r}."
            )
        rank = count - 1 if percentile == 100.0 else int(float(count) * percentile / 100.0)
    else:
        rank = operator.index(value)
    if rank < 0:
        rank += count
    if not 0 <= rank < count:
        raise ParameterRuntimeError(
            f"rank must be in [{-count}, {count - 1}] for a window of {count} pixels (rank not "
            f"within filter footprint size); got {value!r}."
        )
    return rank


def _as_minmax(spec: Spec, operation, value, size, footprint, mode, origin, axes):
    """The minimum/maximum filter scipy runs for a rank filter at rank 0 or ``count - 1``.

    Returns ``(minimum, footprint, origins, mode)`` over every axis, or None.
    """
    axes, fp = _expanded_footprint(spec, size, footprint, axes)
    window = expand_window(spec.ndim, axes, fp.shape, origin)
    for length, o in window.values():
        check_origin(o, length)
    count = int(fp.sum())
    rank = rank_of(operation, value, count)
    if rank not in (0, count - 1):
        return None
    full = np.expand_dims(fp, tuple(a for a in range(spec.ndim) if a not in axes))
    origins = [0] * spec.ndim
    for a, (_, o) in window.items():
        origins[a] = o
    if isinstance(mode, str):
        expanded = mode
    else:
        expanded = ["constant"] * spec.ndim
        for a, m in zip(axes, sequence(mode, len(axes), "mode"), strict=True):
            expanded[a] = m
    return rank == 0, full, origins, expanded


def rank_plan(spec: Spec, operation, value, size, footprint, mode, cval, origin, axes) -> Plan:
    """The reach of scipy's ``_rank_filter``.

    Ranks 0 and ``count - 1`` are scipy's minimum and maximum filters over every axis
    (a box is separable, so float images keep those axes whole); a 1-D float image
    takes scipy's running 1-D path (whole); other ranks are local.
    """
    reduced = _as_minmax(spec, operation, value, size, footprint, mode, origin, axes)
    if reduced is not None:
        _, full, origins, expanded = reduced
        return minmax_plan(spec, None, full, expanded, cval, origins, None)
    axes, fp = _expanded_footprint(spec, size, footprint, axes)
    window = expand_window(spec.ndim, axes, fp.shape, origin)
    m = single_mode(mode, "a rank filter")
    plan = Plan()
    if spec.ndim == 1 and np.dtype(spec.dtype).kind == "f":
        return plan.whole([0])
    for a, (length, o) in window.items():
        plan.add(a, window_reach(length, o), m)
    return plan


#: np.pad's name for each scipy boundary mode (scipy's "reflect" repeats the edge).
_NP_PAD = {
    "reflect": "symmetric",
    "grid-mirror": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
}


def _median_network(block, func, kwargs) -> np.ndarray | None:
    """The 3x3 or 3x3x3 median of an integer block by a network (scipy's values), or None.

    The median of integers is a pure function of the window's values: compare-exchanges
    (numpy ``minimum``/``maximum`` on shifted views of the padded block) give scipy's
    values, many times faster than its per-pixel selection (3x3 on 256x256 uint8: 0.22
    against 7.2 ms; 3x3x3 on 128**3 uint8: 12 against 900 ms). Taken for a 2-D or 3-D
    integer block, a full window of 3 on every axis (``size=3`` or an all-True
    footprint), origin 0, every axis, and for the constant modes an integer ``cval``
    the dtype holds; anything else is scipy's.
    """
    ndim = block.ndim
    if func is not ndi.median_filter or ndim not in (2, 3) or block.dtype.kind not in "iu":
        return None
    kw = kwargs
    footprint, size = kw.get("footprint"), kw.get("size")
    if footprint is not None:
        if np.shape(footprint) != (3,) * ndim or not np.all(footprint):
            return None
    elif size is None or tuple(np.atleast_1d(size)) not in ((3,), (3,) * ndim):
        return None
    if kw.get("axes") is not None or np.any(np.atleast_1d(kw.get("origin", 0))):
        return None
    out_dtype = kw.get("output")
    if out_dtype is not None and np.dtype(out_dtype) != block.dtype:
        return None
    mode = kw.get("mode", "reflect")
    if mode not in _NP_PAD or min(block.shape) < 2:
        return None
    pad: dict = {"mode": _NP_PAD[mode]}
    if pad["mode"] == "constant":
        cval = kw.get("cval", 0.0)
        info = np.iinfo(block.dtype)
        if cval != int(cval) or not info.min <= int(cval) <= info.max:
            return None
        pad["constant_values"] = int(cval)
    p = np.pad(block, 1, **pad)
    return (networks.median9 if ndim == 2 else networks.median27)(p, block.shape)


def _rank_kernel(block, *, func, kwargs, window, line):
    """Run scipy's rank filter on a block; a short 1-D block takes scipy's N-D path.

    A 3x3 or 3x3x3 median of an integer image is computed by a network of minima and
    maxima (:func:`_median_network`), with scipy's values.

    scipy's 1-D path extends a line shorter than the window wrongly (and returns
    uninitialised memory for a line of one pixel). A block shorter than the window
    that is part of a longer line would meet that, where scipy on the whole line does
    not, so it runs as one row through the N-D path, which extends it as scipy
    extends the long line. A whole line that short keeps scipy's own answer, except a
    one-pixel line, whose answer is undefined in scipy: it gets the N-D path's.
    """
    fast = _median_network(np.asarray(block), func, kwargs)
    if fast is not None:
        return fast
    n = block.shape[0] if block.ndim == 1 else None
    if n is None or n >= window or (n == line and n > 1):
        return run_scipy(block, func=func, kwargs=kwargs)
    kw = dict(kwargs)
    axes = kw.pop("axes", None)
    if axes is not None and not np.atleast_1d(axes).size:
        return run_scipy(block, func=func, kwargs=kwargs)
    if kw.get("footprint") is not None:
        kw["footprint"] = np.asarray(kw["footprint"], bool).reshape(1, -1)
    else:
        kw["size"] = (1, *np.atleast_1d(kw["size"]).tolist())
    kw["origin"] = (0, *np.atleast_1d(kw.get("origin", 0)).tolist())
    return run_scipy(block[None], func=func, kwargs=kw)[0]


def _rank_step(name, operation, spec, value, size, footprint, output, mode, cval, origin, axes):
    refuse_complex(spec.dtype, name)
    func = getattr(ndi, name)
    footprint = None if footprint is None else as_footprint(footprint)
    kw = dict(size=size, footprint=footprint, output=output, mode=mode, cval=cval, origin=origin)
    kw["axes"] = axes
    if operation == "rank":
        kw = dict(rank=value, **kw)
    elif operation == "percentile":
        kw = dict(percentile=value, **kw)

    def plan():
        return rank_plan(spec, operation, value, size, footprint, mode, cval, origin, axes)

    dtype = checked_dtype(name, func, spec, (), kw, explain=plan)
    if footprint is not None:
        kw["size"] = None  # scipy ignores it (and warned once, above)
    window, line = 1, None
    if spec.ndim == 1:
        try:
            window = int(_expanded_footprint(spec, size, footprint, axes)[1].shape[0])
        except (BatchimgError, TypeError, ValueError, IndexError):
            window = WHOLE  # forms this does not analyse: short blocks take the row path
        line = None if spec.shape is None else int(spec.shape[0])
    kernel = functools.partial(
        _rank_kernel, func=func, kwargs=kernel_kwargs(kw, dtype), window=window, line=line
    )
    count = np.prod(footprint.shape) if footprint is not None else 9
    return scipy_step(
        name, func, spec, kw, plan_or_whole(plan, spec.ndim), dtype, cost=count / 3, kernel=kernel
    )


def _reduced_passes(name, operation, step, spec, value, size, footprint, mode, cval, origin,
                    axes):  # fmt: skip
    """The 1-D passes of a rank filter that scipy runs as a box minimum or maximum."""
    try:
        reduced = _as_minmax(spec, operation, value, size, footprint, mode, origin, axes)
    except (BatchimgError, TypeError, ValueError):
        return None
    if reduced is None:
        return None
    minimum, full, origins, expanded = reduced
    return minmax_passes(name, minimum, spec, step.dtype, None, full, expanded, cval, origins, None)


def _rank_passes(step, spec, rank, size=None, footprint=None, output=None, mode="reflect",
                 cval=0.0, origin=0, *, axes=None):  # fmt: skip
    return _reduced_passes("rank_filter", "rank", step, spec, rank, size, footprint, mode, cval,
                           origin, axes)  # fmt: skip


def _median_passes(step, spec, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                   origin=0, *, axes=None):  # fmt: skip
    return _reduced_passes("median_filter", "median", step, spec, None, size, footprint, mode,
                           cval, origin, axes)  # fmt: skip


def _percentile_passes(step, spec, percentile, size=None, footprint=None, output=None,
                       mode="reflect", cval=0.0, origin=0, *, axes=None):  # fmt: skip
    return _reduced_passes("percentile_filter", "percentile", step, spec, percentile, size,
                           footprint, mode, cval, origin, axes)  # fmt: skip


_RANK_DOC = """{title}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Bit for bit and with scipy's dtype: {what} over the window (a box of ``size``,
    or the ``footprint``) around each pixel. Each block carries the window's halo,
    except where scipy runs a minimum or maximum (the first or last rank) with a box
    on a float image, or its running 1-D path on a 1-D float image: NaN travels
    along those lines (see :mod:`batchimg.filters`), so the lines are kept whole.

    Parameters
    ----------
    %(input)s{first}
    %(size_footprint)s
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
    InputTypeError
        For complex input.
    ParameterRuntimeError
        With neither ``size`` nor ``footprint``, {rank_error}a footprint of the wrong
        rank, sequences of the wrong length, or a sequence of modes.
    InvalidParameterError
        For an origin outside the window, or axes out of range or repeated.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import {name}
    >>> image = np.arange(36).reshape(6, 6) %% 7
    >>> out = {name}(image, {args}).compute()
    >>> bool((out == ndi.{name}(image, {args})).all())
    True
    """


@scipy_operation(passes=_rank_passes)
def rank_filter(
    spec: Spec,
    rank: int,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _RANK_DOC)
    try:
        rank = operator.index(rank)
    except TypeError:
        raise ParameterTypeError(f"rank must be an integer; got {rank!r}.") from None
    return _rank_step(
        "rank_filter", "rank", spec, rank, size, footprint, output, mode, cval, origin, axes
    )


@scipy_operation(passes=_median_passes)
def median_filter(
    spec: Spec,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _RANK_DOC)
    return _rank_step(
        "median_filter", "median", spec, None, size, footprint, output, mode, cval, origin, axes
    )


@scipy_operation(passes=_percentile_passes)
def percentile_filter(
    spec: Spec,
    percentile: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Step:  # noqa: D103 (docstring: _RANK_DOC)
    return _rank_step(
        "percentile_filter", "percentile", spec, percentile, size, footprint, output, mode,
        cval, origin, axes,
    )  # fmt: skip


rank_filter.__doc__ = _RANK_DOC.format(
    title="Rank filter",
    name="rank_filter",
    what="the element of rank ``rank`` (0 the minimum, -1 the maximum)",
    first="\n    rank : int\n        Rank of the output in the sorted window, in "
    "``[-count, count)``.",
    rank_error="a rank outside the window, ",
    args="2, size=3",
)
median_filter.__doc__ = _RANK_DOC.format(
    title="Median filter",
    name="median_filter",
    what="the median (the element of rank ``count // 2``)",
    first="",
    rank_error="",
    args="size=3",
)
percentile_filter.__doc__ = _RANK_DOC.format(
    title="Percentile filter",
    name="percentile_filter",
    what="the element at ``percentile`` (scipy's rank rule: ``int(count * percentile / "
    "100)``; negative values count from 100)",
    first="\n    percentile : float\n        Percentile in ``[-100, 100]``.",
    rank_error="a percentile outside [-100, 100], ",
    args="25, size=3",
)
fill_doc(rank_filter)
fill_doc(median_filter)
fill_doc(percentile_filter)
