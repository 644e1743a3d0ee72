"""The machinery every filter shares: scipy's calling convention, its checks, the reach.

Each public filter is a *step builder* ``builder(spec, <scipy's parameters after
input>) -> Step`` turned into scipy's function by :func:`scipy_operation`. A builder

1. checks the arguments by running the scipy function itself on a tiny array of the
   input's dtype and dimensionality (:func:`checked_dtype`): batchimg accepts exactly
   what scipy accepts, refuses what it refuses with an error that is also scipy's
   builtin class (``RuntimeError``, ``TypeError``, ``IndexError``, ``ValueError``),
   and takes the output dtype from that call, so it follows scipy's rules (``output=``,
   complex promotion) by construction;
2. works out, from the normalised parameters, how far one output pixel reaches into
   the input along each axis (a :class:`Plan`), or that it depends on whole lines
   (:data:`WHOLE`);
3. returns a :class:`~batchimg._overlap.Step` whose kernel is the scipy function with
   the caller's arguments, run on overlapped blocks.

A step whose reach is right gives, on each block's core, the bits scipy gives on the
whole array; a reach that is too large only costs time, so wherever the reach is not
known (a parameter form this module does not analyse) the step falls back to whole
axes, which is scipy run on the whole array.
"""

from __future__ import annotations

import functools
import inspect
import operator
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
import scipy.ndimage as ndi

from .. import _params as P
from .._lazy import da
from .._overlap import Spec, Step, apply, make_step
from ..errors import (
    BatchimgError,
    InputRuntimeError,
    InputTypeError,
    InvalidParameterError,
    ParameterIndexError,
    ParameterRuntimeError,
    ParameterTypeError,
)

#: A reach that stands for "the whole axis": the planner keeps that axis in one chunk
#: (``_overlap._axis_plan`` makes an axis shorter than the depth a single chunk). Used
#: where scipy's answer at a pixel depends on the whole line: running sums on floats,
#: the running minimum/maximum where NaN may occur, user functions of whole lines.
WHOLE = 2**40

#: Dtypes whose line sums scipy's running sum (in float64) computes exactly.
EXACT_SUM = frozenset(
    np.dtype(t) for t in ("bool", "int8", "int16", "int32", "uint8", "uint16", "uint32")
)


# ---------------------------------------------------------------------------
# errors


def _builtin_bases(exc: BaseException) -> tuple[type, ...]:
    return tuple(t for t in (RuntimeError, TypeError, IndexError, ValueError) if isinstance(exc, t))


def translate(exc: Exception, name: str) -> BatchimgError:
    """The batchimg error for what scipy raised on the same call (same builtin class)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    bases = _builtin_bases(exc)
    if "array type" in text or "Unsupported array type" in text:
        return InputRuntimeError(
            f"image dtype must be one scipy.ndimage.{name} supports; scipy says: {text}."
        )
    message = f"the arguments must be valid for scipy.ndimage.{name}; scipy says: {text}."
    if IndexError in bases:
        return ParameterIndexError(message)
    if RuntimeError in bases:
        return ParameterRuntimeError(message)
    if TypeError in bases:
        return ParameterTypeError(message)
    return InvalidParameterError(message)


#: scipy's functions as imported: the checks call these, so a checking call is never
#: mistaken for one of the caller's (code that wraps or counts ``scipy.ndimage.X``).
_CHECKERS = {name: getattr(ndi, name) for name in dir(ndi) if not name.startswith("_")}


def _dummy_shape(spec: Spec) -> tuple[int, ...]:
    if spec.shape is None:
        return (1,) * spec.ndim
    if 0 in spec.shape or spec.ndim == 1:
        return tuple(min(int(s), 64) for s in spec.shape)
    return (1,) * spec.ndim


def checked_dtype(
    name: str,
    func: Callable[..., Any],
    spec: Spec,
    args: tuple,
    kwargs: dict,
    explain: Callable[[], Any] | None = None,
    shape: Any = None,
) -> np.dtype:
    """Run scipy's ``func`` on a tiny array like the input; return its output dtype.

    When scipy refuses the arguments, ``explain()`` (the builder's own normaliser) is
    given the chance to raise batchimg's message for it, which it does when its error
    is of every builtin class scipy's error is; otherwise scipy's message is wrapped
    in the error class of the same builtin (:func:`translate`).
    """
    dummy = np.zeros(_dummy_shape(spec) if shape is None else tuple(shape), spec.dtype)
    kwargs = dict(kwargs)
    out = kwargs.get("output")
    if out is not None and not is_dtype_like(out):
        kwargs["output"] = np.zeros(dummy.shape, np.dtype(out.dtype))
    try:
        result = _CHECKERS.get(name, func)(dummy, *args, **kwargs)
    except (RuntimeError, TypeError, ValueError, IndexError) as exc:
        if explain is not None:
            try:
                explain()
            except BatchimgError as ours:
                if all(isinstance(ours, t) for t in _builtin_bases(exc)):
                    raise ours from None
            except Exception:  # noqa: BLE001, S110 - scipy's own words then
                pass
        raise translate(exc, name) from None
    return np.dtype(result.dtype)


def resolve_output(output: Any, dtype: Any) -> np.dtype:
    """The result dtype by scipy's ``_get_output`` rule, for a real result."""
    if output is None:
        return np.dtype(np.dtype(dtype).name)
    if isinstance(output, type | np.dtype):
        return np.dtype(output)
    if isinstance(output, str):
        try:
            out = np.dtype(output)
        except TypeError:
            raise ParameterTypeError(
                f"output must be a dtype or an array; got {output!r}, which names no dtype."
            ) from None
        if not issubclass(out.type, np.number):
            raise ParameterRuntimeError(f"output must have numeric dtype; got {output!r}.")
        return out
    return np.dtype(output.dtype)


def refuse_complex(dtype: np.dtype, name: str) -> None:
    """Refuse complex input as scipy's rank-type filters do (a ``TypeError``)."""
    if np.dtype(dtype).kind == "c":
        raise InputTypeError(
            f"image must be real-valued for {name} (Complex type not supported); "
            f"got dtype {np.dtype(dtype)}."
        )


# ---------------------------------------------------------------------------
# scipy's normalisers, with batchimg's messages


def is_dtype_like(output: Any) -> bool:
    """Whether ``output`` names a dtype (scipy's ``_get_output`` rule) rather than an array."""
    return output is None or isinstance(output, type | np.dtype | str)


def sequence(value: Any, n: int, name: str) -> list:
    """A scalar repeated ``n`` times, or ``n`` values (scipy's ``_normalize_sequence``)."""
    if not isinstance(value, str) and np.iterable(value):
        out = list(value)
        if len(out) != n:
            raise ParameterRuntimeError(
                f"{name} must be a number or have one value per axis ({n}) (sequence argument "
                f"must have length equal to input rank); got {value!r}."
            )
        return out
    return [value] * n


def check_axes(axes: Any, ndim: int) -> tuple[int, ...]:
    """Axes by scipy's ``_check_axes``: None is every axis; negative ones count from the end."""
    if axes is None:
        return tuple(range(ndim))
    try:
        if np.isscalar(axes):
            values = (operator.index(axes),)
        elif isinstance(axes, Iterable):
            values = tuple(operator.index(a) for a in axes)
        else:
            raise InvalidParameterError(
                f"axes must be an integer, iterable of integers, or None; got {axes!r}."
            )
    except TypeError as exc:
        raise ParameterTypeError(f"axes must hold integers ({exc}); got {axes!r}.") from None
    for a in values:
        if not -ndim <= a < ndim:
            raise InvalidParameterError(
                f"axes must be in range for an array of {ndim} dimensions (specified axis "
                f"{a} is out of range); got {axes!r}."
            )
    out = tuple(a % ndim for a in values)
    if len(set(out)) != len(out):
        raise InvalidParameterError(f"axes must be unique; got {axes!r}.")
    return out


def check_axis(axis: Any, ndim: int) -> int:
    """One axis by scipy's ``normalize_axis_index`` (its error: a ValueError and IndexError)."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise ParameterTypeError(f"axis must be an integer; got {axis!r}.") from None
    if not -ndim <= a < ndim:
        raise ParameterIndexError(
            f"axis must be in [{-ndim}, {ndim}) for an array of {ndim} dimensions; got {axis!r}."
        )
    return a % ndim


def canonical_mode(mode: Any) -> str:
    """One mode name in scipy's canonical form (``RuntimeError`` as scipy for others)."""
    if isinstance(mode, str) and mode in P.MODES:
        return P.MODES[mode]
    names = ", ".join(repr(k) for k in P.MODES)
    hint = P.did_you_mean(mode, list(P.MODES)) if isinstance(mode, str) else ""
    raise ParameterRuntimeError(
        f"mode must be one of {names} (boundary mode not supported); got {mode!r}.{hint}"
    )


def modes(mode: Any, n: int) -> list[str]:
    """One canonical mode per filtered axis, from a name or a sequence of names."""
    return [canonical_mode(m) for m in sequence(mode, n, "mode")]


def single_mode(mode: Any, what: str) -> str:
    """The one mode of a non-separable filter (scipy refuses a sequence there)."""
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        raise ParameterRuntimeError(
            f"mode must be one name for {what} (A sequence of modes is not supported); "
            f"got {mode!r}."
        )
    return canonical_mode(mode)


def check_origin(origin: Any, size: int) -> int:
    """An origin in scipy's range ``[-(size // 2), (size - 1) // 2]`` (``ValueError``)."""
    o = int(origin)
    if size // 2 + o < 0 or size // 2 + o >= size:
        raise InvalidParameterError(
            f"origin must lie in [-(size // 2), (size - 1) // 2] = [{-(size // 2)}, "
            f"{(size - 1) // 2}] for a window of {size} (invalid origin); got {origin!r}."
        )
    return o


def window_reach(size: int, origin: int) -> int:
    """How far a window of ``size`` shifted by ``origin`` reaches on either side."""
    left = size // 2 + origin
    right = size - 1 - size // 2 - origin
    return max(abs(left), abs(right), 0)


def expand_window(
    ndim: int, axes: tuple[int, ...], shape: tuple[int, ...], origin: Any, name: str = "footprint"
):
    """Expand a window as scipy does: per image axis, (window length, origin).

    A footprint's dimensions follow the *sorted* axes (``np.expand_dims``); origins
    follow ``axes`` in the given order when ``axes`` names fewer than all dimensions,
    and the image axes themselves otherwise (scipy's ``_expand_origin``).
    """
    n = len(axes)
    if len(shape) != n:
        raise ParameterRuntimeError(
            f"{name} must have one dimension per filtered axis: {name}.ndim "
            f"({len(shape)}) must match len(axes) ({n}); got shape {tuple(shape)}."
        )
    if 0 in shape:
        raise ParameterRuntimeError(
            f"{name} must have no empty dimension: {name}.ndim ({len(shape)}) must match "
            f"len(axes) ({n}) once empty dimensions are dropped; got shape {tuple(shape)}."
        )
    origins = sequence(origin, n, "origin")
    length = dict(zip(sorted(axes), shape, strict=True))
    if n < ndim:
        shift = dict(zip(axes, origins, strict=True))
    else:
        shift = dict(enumerate(origins))
    out = {}
    for a in axes:
        out[a] = (int(length[a]), int(shift.get(a, 0)))
    return out


def as_footprint(footprint: Any, name: str = "footprint") -> np.ndarray:
    """A read-only bool array (scipy's ``np.asarray(footprint, dtype=bool)``)."""
    fp = np.array(footprint, dtype=bool)
    fp.setflags(write=False)
    return fp


def as_weights(weights: Any) -> np.ndarray:
    w = np.array(weights)
    w.setflags(write=False)
    return w


def is_nan(value: Any) -> bool:
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


# ---------------------------------------------------------------------------
# plans and steps


@dataclass
class Plan:
    """Per image axis: the reach of one output pixel and the mode at that axis's edges."""

    reach: dict[int, int] = field(default_factory=dict)
    mode: dict[int, str] = field(default_factory=dict)

    def add(self, axis: int, reach: int, mode: str) -> None:
        """Record ``reach`` along ``axis`` (the largest wins) with its boundary ``mode``."""
        if reach <= 0:
            return
        mode = P.MODES[mode]
        self.reach[axis] = max(self.reach.get(axis, 0), int(reach))
        old = self.mode.setdefault(axis, mode)
        if (old == "wrap") != (mode == "wrap"):
            # periodic and non-periodic halos cannot be exchanged at once
            self.reach[axis] = WHOLE

    def whole(self, axes: Iterable[int]) -> Plan:
        """Every axis of ``axes`` kept whole."""
        for a in axes:
            self.reach[a] = WHOLE
            self.mode.setdefault(a, "reflect")
        return self


def whole_plan(ndim: int) -> Plan:
    """The plan that is always exact: every axis whole (scipy on the whole array)."""
    return Plan().whole(range(ndim))


def plan_or_whole(planner: Callable[[], Plan], ndim: int) -> Plan:
    """``planner()``, or whole axes when it cannot analyse arguments scipy accepted."""
    try:
        return planner()
    except (BatchimgError, TypeError, ValueError, OverflowError):
        return whole_plan(ndim)


def full_step(
    name: str,
    kernel: Callable[..., np.ndarray],
    spec: Spec,
    plan: Plan,
    *,
    dtype: Any,
    params: Any,
    cost: float = 1.0,
    trims: bool = False,
) -> Step:
    """A step whose kernel sees whole blocks of every axis (scipy handles ``axes=``)."""
    ndim = spec.ndim
    reach = []
    for a in range(ndim):
        r = plan.reach.get(a, 0)
        if r >= WHOLE or (spec.shape is not None and r >= spec.shape[a]):
            r = WHOLE
        reach.append(r)
    return make_step(
        name,
        kernel,
        ndim=ndim,
        axes=tuple(range(ndim)),
        reach=reach,
        modes=[plan.mode.get(a, "reflect") for a in range(ndim)],
        dtype=dtype,
        params=params,
        cost=cost,
        trims=trims,
    )


def cost_of(plan: Plan) -> float:
    """Work per voxel in 3-tap passes (the planner's unit), capped for whole axes."""
    return sum(2 * min(r, 64) + 1 for r in plan.reach.values()) / 3 or 1.0


# ---------------------------------------------------------------------------
# the public function


def as_input(value: Any, name: str = "input") -> da.Array:
    """The image as a dask array (numpy arrays and nested lists become one chunk)."""
    if isinstance(value, da.Array):
        return value
    arr = np.asarray(value)
    return da.from_array(arr, chunks=arr.shape or ())


def fill(target: Any, result: da.Array) -> Any:
    """Write ``result`` into the caller's ``output`` array, as scipy does; return it.

    A numpy array is filled from the computed result (so the input may be the
    output itself, as scipy allows); another writable array (Zarr, HDF5) is written
    block by block with ``dask.array.store``. Either way this computes, with dask's
    current scheduler: ``output=`` makes the call a sink.
    """
    if isinstance(target, np.ndarray):
        (values,) = dask.compute(result)
        np.copyto(target, values, casting="unsafe")
    else:
        da.store(result, target, lock=True)
    return target


def check_output_shape(output: Any, shape: tuple[int, ...]) -> None:
    if tuple(np.shape(output)) != tuple(shape):
        raise ParameterRuntimeError(
            f"output must have the input's shape {tuple(shape)} (output shape not correct); "
            f"got an array of shape {tuple(np.shape(output))}."
        )


def apply_passes(x: da.Array, steps: list[Step]) -> da.Array:
    """Run 1-D passes one after the other, each with its own axis whole where it needs it.

    Before each pass the array takes back its own chunks on the other axes, so a task
    holds one line of blocks, never the whole array (merging axis after axis would).
    """
    base = x.chunks
    for step in steps:
        target = tuple(
            (n,) if d >= WHOLE or (d and d >= n) else c
            for n, c, d in zip(x.shape, base, step.depth, strict=True)
        )
        if target != x.chunks:
            x = x.rechunk(target)
        x = apply(x, step)
    return x


def scipy_operation(
    builder: Callable[..., Step] | None = None,
    *,
    first: str = "input",
    passes: Callable[..., list[Step] | None] | None = None,
):
    """Turn a step builder ``builder(spec, ...) -> Step`` into scipy's public function.

    The public function has the builder's parameters with the image (named ``first``)
    in place of ``spec``, positional or keyword as scipy's; it returns the lazy dask
    array of the step, or, when ``output`` is an array, fills it and returns it (see
    :func:`fill`). The builder stays reachable as ``operation.step``, with the
    ``Spec`` first, so the workflow runner can plan chains of steps. ``passes(step,
    spec, ...)``, when given, may return the same filter as a list of 1-D steps (run
    with :func:`apply_passes`), for filters whose one step would hold several axes
    whole at once.
    """

    def decorate(builder):
        sig = inspect.signature(builder)
        params = list(sig.parameters.values())
        params[0] = params[0].replace(name=first, annotation="ArrayLike")
        public = sig.replace(parameters=params, return_annotation="dask.array.Array")
        takes_output = "output" in sig.parameters

        @functools.wraps(builder)
        def operation(*args, **kwargs):
            bound = public.bind(*args, **kwargs)
            x = as_input(bound.arguments[first], first)
            target = None
            if takes_output:
                out = bound.arguments.get("output")
                if not is_dtype_like(out):
                    check_output_shape(out, x.shape)
                    target = out
            spec = Spec(x.ndim, x.dtype, tuple(x.shape))
            step = builder(spec, *bound.args[1:], **bound.kwargs)
            chain = None if passes is None else passes(step, spec, *bound.args[1:], **bound.kwargs)
            result = apply(x, step) if not chain else apply_passes(x, chain)
            return result if target is None else fill(target, result)

        operation.__signature__ = public
        operation.step = builder
        return operation

    return decorate if builder is None else decorate(builder)


def run_scipy(block: np.ndarray, *, func: Callable[..., Any], kwargs: dict) -> np.ndarray:
    """The block kernel of most filters: scipy's function on the block."""
    return quiet(func, block, **kwargs)


def scipy_step(
    name: str,
    func: Callable[..., Any],
    spec: Spec,
    kwargs: dict,
    plan: Plan,
    dtype: np.dtype,
    *,
    cost: float | None = None,
    kernel: Callable[..., Any] | None = None,
    trims: bool = False,
) -> Step:
    """The step that runs scipy's ``func(block, **kwargs)`` (``output`` as ``dtype``).

    ``kernel`` replaces scipy's call (with the same ``kwargs``); ``trims``: it takes
    ``cut=`` (see :class:`batchimg._overlap.Step`).
    """
    kw = kernel_kwargs(kwargs, dtype)
    if kernel is None:
        kernel = functools.partial(run_scipy, func=func, kwargs=kw)
    return full_step(
        name,
        kernel,
        spec,
        plan,
        dtype=dtype,
        params=(func.__name__, sorted(kw.items(), key=lambda kv: kv[0])),
        cost=cost_of(plan) if cost is None else cost,
        trims=trims,
    )


def kernel_kwargs(kwargs: dict, dtype: np.dtype) -> dict:
    """The arguments a block kernel passes to scipy: ``output`` becomes the resolved dtype."""
    out = dict(kwargs)
    if "output" in out:
        out["output"] = dtype
    return out


def quiet(func: Callable[..., Any], *args, **kwargs):
    """Call ``func`` with scipy's argument warnings silenced (they were given once already)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ignoring size because footprint is set")
        warnings.filterwarnings("ignore", "promoting specified output dtype to complex")
        return func(*args, **kwargs)


__all__ = [
    "EXACT_SUM",
    "PARAMS",
    "RETURNS",
    "WHOLE",
    "Plan",
    "as_footprint",
    "as_input",
    "apply_passes",
    "as_weights",
    "canonical_mode",
    "check_axes",
    "check_axis",
    "check_origin",
    "check_output_shape",
    "checked_dtype",
    "cost_of",
    "expand_window",
    "fill",
    "fill_doc",
    "full_step",
    "is_dtype_like",
    "is_nan",
    "kernel_kwargs",
    "modes",
    "plan_or_whole",
    "quiet",
    "refuse_complex",
    "resolve_output",
    "run_scipy",
    "scipy_operation",
    "scipy_step",
    "sequence",
    "single_mode",
    "translate",
    "whole_plan",
    "window_reach",
]


#: Parameter descriptions shared by the docstrings (``%(name)s`` in a docstring).
PARAMS = {
    "input": """input : array_like
        The image: a numpy or dask array of any chunking (or anything
        ``numpy.asarray`` accepts).""",
    "output": """output : array or dtype, optional
        The dtype of the result (intermediate passes are stored in it, as in scipy),
        or an array of the input's shape to write the result into: the call then
        computes it with dask's current scheduler and returns that array.""",
    "mode_multiple": """mode : str or sequence of str, optional
        How the image extends beyond its edges: ``'reflect'`` (default),
        ``'constant'``, ``'nearest'``, ``'mirror'`` or ``'wrap'`` (or scipy's
        ``'grid-'`` spellings), one for every axis or one per filtered axis.""",
    "mode": """mode : str, optional
        How the image extends beyond its edges: ``'reflect'`` (default),
        ``'constant'``, ``'nearest'``, ``'mirror'`` or ``'wrap'`` (or scipy's
        ``'grid-'`` spellings).""",
    "cval": """cval : scalar, optional
        The value beyond the edges for ``mode='constant'``.""",
    "origin": """origin : int, optional
        Shift of the window, in ``[-(size // 2), (size - 1) // 2]``.""",
    "origin_multiple": """origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis, each in
        ``[-(size // 2), (size - 1) // 2]``.""",
    "axis": """axis : int, optional
        The axis to filter along.""",
    "axes": """axes : int or sequence of int, optional
        The axes to filter (scipy's meaning: sequences given for other parameters
        have one entry per axis named here); None filters every axis.""",
    "size_footprint": """size : int or sequence of int, optional
        Length of a box window, one or one per filtered axis.
    footprint : array_like of bool, optional
        The window's shape, one dimension per filtered axis; given with ``size``,
        ``size`` is ignored (with scipy's warning).""",
    "extra": """extra_arguments : sequence, optional
        Further positional arguments of the user function.
    extra_keywords : dict, optional
        Further keyword arguments of the user function.""",
}

RETURNS = """dask.array.Array or array
        The result (lazy), of scipy's dtype; the ``output`` array itself when one
        is given."""


def fill_doc(operation):
    """Expand ``%(name)s`` in ``operation.__doc__`` from :data:`PARAMS` (and ``returns``)."""
    operation.__doc__ = operation.__doc__ % dict(PARAMS, returns=RETURNS)
    return operation
