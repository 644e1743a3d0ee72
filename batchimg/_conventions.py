"""scipy.ndimage's calling conventions, shared by morphology, labels and distance transforms.

The public functions take scipy's parameters in scipy's order (``input`` first,
positional or by keyword), accept ``output=`` as a dtype or as an array to fill,
and raise errors that ``except RuntimeError`` / ``TypeError`` / ``IndexError``
code written against scipy catches. The local ones keep a ``.step(spec, *args,
**kwargs)`` builder for the workflow planner (see :func:`scipy_operation`).
"""

from __future__ import annotations

import functools
import inspect
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import dask
import numpy as np

from . import _params as P
from ._lazy import da
from ._overlap import Spec, apply, as_dask
from .errors import (
    InputRuntimeError,
    InputTypeError,
    InvalidParameterError,
    ParameterIndexError,
    ParameterRuntimeError,
    ParameterTypeError,
)

#: The real dtypes scipy.ndimage's morphology kernels accept.
SUPPORTED = frozenset(
    np.dtype(t)
    for t in (
        "bool", "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64", "float32", "float64",
    )
)  # fmt: skip


def check_dtype(dtype: Any, name: str = "input") -> np.dtype:
    """Refuse the dtypes scipy's morphology refuses, with scipy's exception types."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise InputTypeError(
            f"{name} must be real; got dtype {dtype}. scipy.ndimage's morphology does not "
            "support complex values. Hint: use the real part or the magnitude."
        )
    if dtype not in SUPPORTED:
        raise InputRuntimeError(
            f"{name} must have a bool, integer, float32 or float64 dtype; got dtype {dtype}. "
            "Hint: convert it first, e.g. image.astype('float32')."
        )
    return dtype


def as_input(value: Any, name: str = "input") -> da.Array:
    """``value`` as a dask array; object arrays are refused as scipy refuses them."""
    if not isinstance(value, da.Array):
        arr = np.asarray(value)
        if arr.dtype == object:
            raise InputRuntimeError(f"{name} must be a numeric array; got dtype object.")
        return as_dask(arr, name)
    return value


def normalize_iterations(value: Any) -> int:
    """Iterations as scipy reads them (``operator.index``): bools too; a float is a TypeError."""
    if not isinstance(value, numbers.Integral):
        raise ParameterTypeError(f"iterations must be an integer; got {value!r}.")
    return int(value)


def sequence(value: Any, n: int, name: str) -> list:
    """A scalar repeated ``n`` times, or exactly ``n`` values (scipy's ``_normalize_sequence``)."""
    if not isinstance(value, str) and np.iterable(value):
        out = list(value)
        if len(out) != n:
            raise ParameterRuntimeError(
                f"{name} must be one value or one per axis ({n}); got {value!r}."
            )
        return out
    return [value] * n


def normalize_origin(
    value: Any,
    shape: tuple[int, ...],
    *,
    index_error: bool,
    axes: tuple[int, ...] | None = None,
    ndim: int | None = None,
) -> tuple[int, ...]:
    """Origins as ints inside the structuring element, as scipy pairs them with its axes.

    With ``axes`` that leave some axis of an ``ndim`` array out, scipy gives
    origin ``i`` to ``axes[i]`` but the structure's axes to the operated axes in
    increasing order; the check pairs them the same way. scipy raises IndexError
    for an origin outside a binary structure and ValueError for one outside a grey
    footprint; ``index_error`` picks which.
    """
    raw = sequence(value, len(shape), "origin")
    try:
        origin = tuple(int(o) for o in raw)
    except (TypeError, ValueError):
        raise ParameterTypeError(f"origin must hold integers; got {value!r}.") from None
    sizes = shape
    if axes is not None and ndim is not None and len(axes) < ndim:
        order = sorted(axes)
        sizes = tuple(shape[order.index(a)] for a in axes)
    for o, s in zip(origin, sizes, strict=True):
        if not -(s // 2) <= o <= (s - 1) // 2:
            cls = ParameterIndexError if index_error else InvalidParameterError
            raise cls(
                f"origin must satisfy -(shape // 2) <= origin <= (shape - 1) // 2 on every "
                f"axis of the structuring element {shape} (for axes {axes}); got {value!r}."
            )
    return origin


def normalize_axes(axes: Any, ndim: int) -> tuple[int, ...]:
    """Axes as scipy takes them: None (every axis), an int or a sequence of distinct ints."""
    return P.normalize_axes(axes, ndim)


def scipy_axes(axes: tuple[int, ...], ndim: int) -> tuple[int, ...] | None:
    """What to pass scipy as ``axes``: None for every axis in order, else ``axes`` as given.

    scipy pairs sizes, modes and origins with ``axes`` in the order given, even
    when they name every axis, so only ``(0, 1, ..., ndim - 1)`` is the same call as None.
    """
    return None if tuple(axes) == tuple(range(ndim)) else tuple(axes)


def reach_per_axis(
    ndim: int, axes: tuple[int, ...], shape: tuple[int, ...], origin: tuple[int, ...], times: int
) -> tuple[int, ...]:
    """The halo scipy's kernel needs on every array axis, for ``axes`` as scipy reads them.

    scipy maps a structure's axes to the operated axes in increasing order, but
    sizes and origins to ``axes`` in the order given (for ``axes`` that leave some
    axis out); the reach takes the larger of both readings, per axis, so it always
    covers what scipy reads. Axes not operated on need none.
    """
    out = [0] * ndim
    full = len(axes) == ndim
    maps = [list(axes), sorted(axes)]
    # scipy's dilations move the origin by one on even axes, which it picks by the
    # structure's axis index even where it pairs origins with ``axes``: one more
    slack = 1 if not full and any(n % 2 == 0 for n in shape) else 0
    half = [0] * ndim
    shift = [0] * ndim
    for m in maps:
        for j, a in enumerate(m):
            half[a] = max(half[a], shape[j] // 2)
            shift[a] = max(shift[a], abs(origin[j]))
    for a in range(ndim) if full else axes:
        out[a] = times * (half[a] + shift[a] + slack)
    return tuple(out)


def binary_structure(
    structure: Any, n: int, name: str = "structure", *, reflected: bool = False
) -> np.ndarray:
    """A structuring element read as scipy reads it: ``structure != 0``, ``n`` dimensions.

    ``reflected``: the operation is a dilation, for which scipy indexes the
    structure's shape by origin before it checks the rank, so a structure of fewer
    dimensions is an IndexError there (a RuntimeError elsewhere).
    """
    import scipy.ndimage as ndi

    if structure is None:
        s = ndi.generate_binary_structure(n, 1)
    else:
        s = np.asarray(structure)
        if s.dtype.kind == "c" or s.dtype == object:
            raise ParameterTypeError(f"{name} must be a real array; got dtype {s.dtype}.")
        s = s.astype(bool)
        if s.ndim != n:
            cls = ParameterIndexError if reflected and s.ndim < n else ParameterRuntimeError
            raise cls(
                f"{name} must have {n} dimensions (one per operated axis); got an array of "
                f"shape {s.shape}."
            )
        if s.size < 1:
            raise ParameterRuntimeError(f"{name} must not be empty; got shape {s.shape}.")
    s = np.array(s, order="C")
    s.setflags(write=False)
    return s


# --------------------------------------------------------------------------------------
# output=


class Output:
    """What the caller passed as ``output``: nothing, a dtype, or an array to fill.

    ``kind`` is ``None``, ``"dtype"`` or ``"array"``; ``dtype`` is the requested dtype
    (None when nothing was asked for).
    """

    __slots__ = ("kind", "dtype")

    def __init__(self, value: Any):
        if value is None:
            self.kind, self.dtype = None, None
        elif isinstance(value, np.ndarray):
            self.kind, self.dtype = "array", value.dtype
        elif isinstance(value, type | np.dtype | str):
            try:
                self.kind, self.dtype = "dtype", np.dtype(value)
            except TypeError:
                raise ParameterTypeError(
                    f"output must be None, a dtype or a numpy array; got {value!r}."
                ) from None
        else:
            raise ParameterTypeError(
                f"output must be None, a dtype or a numpy array; got {type(value).__name__}."
            )

    def key(self) -> tuple:
        return (self.kind, None if self.dtype is None else self.dtype.str)


def check_output_array(output: Any, shape: tuple[int, ...], name: str = "output") -> None:
    """An output array must have the input's shape (scipy: RuntimeError)."""
    if isinstance(output, np.ndarray) and output.shape != tuple(shape):
        raise ParameterRuntimeError(
            f"{name} must have the input's shape {tuple(shape)}; got shape {output.shape}."
        )


def fill(arrays: dict[str, tuple[Any, np.ndarray]]) -> None:
    """Compute the dask results and copy each into the array the caller gave for it.

    The results are computed in full before anything is written, so an output array
    that is also the input (``output=input``, as scipy allows) is read unchanged.
    This is the one place an operation computes: the caller asked for the answer in
    an existing in-memory array. dask's scheduler choice (config, client) is honoured.
    """
    names = list(arrays)
    values = dask.compute(*[arrays[n][0] for n in names])
    for n, v in zip(names, values, strict=True):
        np.copyto(arrays[n][1], v, casting="unsafe")


def deliver(result: da.Array, output: Any, *, filled: str = "output") -> Any:
    """Return as scipy returns for ``output``: fill an array the caller gave.

    ``filled`` says what scipy returns when it fills the caller's array: the
    array itself (``"output"``) or ``None`` (``"none"``).
    """
    if not isinstance(output, np.ndarray):
        return result
    fill({"output": (result, output)})
    return output if filled == "output" else None


def warn_size_ignored(size: Any, footprint: Any) -> None:
    if size is not None and footprint is not None:
        warnings.warn("ignoring size because footprint is set", UserWarning, stacklevel=4)


# --------------------------------------------------------------------------------------
# public operations over step builders


def scipy_operation(
    builder: Callable[..., Any] | None = None,
    *,
    non_local: Callable[..., da.Array | None] | None = None,
    filled: str = "output",
    scipy_name: str | None = None,
) -> Callable[..., Any]:
    """Turn a step builder with scipy's signature into the public scipy-shaped operation.

    ``builder(spec, <scipy's parameters after input>) -> Step``. The public
    function has the same parameters with ``input`` first (positional or by
    keyword, as in scipy), binds the call exactly as Python binds scipy's (a wrong
    call is a ``TypeError``), runs the step over the dask array, and fills and
    returns ``output`` when it is an array. ``non_local(x, **arguments)`` may take
    over a call whose parameters make the operation non-local (it returns the lazy
    result, or None to let the step run). 0-d inputs run scipy's own function on
    the one element. The builder stays reachable as ``operation.step``.
    """
    if builder is None:
        return functools.partial(
            scipy_operation, non_local=non_local, filled=filled, scipy_name=scipy_name
        )
    import scipy.ndimage as ndi

    sig = inspect.signature(builder)
    params = list(sig.parameters.values())
    params[0] = params[0].replace(name="input", annotation="ArrayLike")
    public_sig = sig.replace(parameters=params, return_annotation="dask.array.Array")
    oracle = getattr(ndi, scipy_name or builder.__name__)

    @functools.wraps(builder)
    def operation(*args, **kwargs):
        bound = public_sig.bind(*args, **kwargs)
        arguments = dict(bound.arguments)
        x = as_input(arguments.pop("input"))
        output = arguments.get("output")
        check_output_array(output, x.shape)
        if x.ndim == 0:
            result = _zero_d(oracle, x, arguments)
        else:
            result = non_local(x, **arguments) if non_local is not None else None
            if result is None:
                result = apply(x, builder(Spec(x.ndim, x.dtype, x.shape), **arguments))
        return deliver(result, output, filled=filled)

    operation.__signature__ = public_sig
    operation.step = builder
    return operation


def _zero_d(oracle, x: da.Array, arguments: dict) -> da.Array:
    """The answer of scipy's own function on a 0-d array (one element: nothing to chunk)."""
    kw = dict(arguments)
    out = Output(kw.pop("output", None))
    arrays = {k: as_input(v, k) for k, v in kw.items() if k == "mask" and v is not None}
    for k in arrays:
        kw.pop(k)
    if out.kind == "array":
        kw["output"] = np.empty((), out.dtype)
    elif out.kind == "dtype":
        kw["output"] = out.dtype
    names = list(arrays)

    def run(block, *extra):
        res = oracle(block, **dict(kw, **dict(zip(names, extra, strict=True))))
        return np.asarray(kw["output"] if out.kind == "array" and res is None else res)

    sample = oracle(np.zeros((), x.dtype), **dict(kw, **{n: np.ones((), bool) for n in names}))
    dtype = np.asarray(kw["output"] if sample is None else sample).dtype
    return da.map_blocks(run, x, *arrays.values(), dtype=dtype, meta=np.empty((), dtype))


# --------------------------------------------------------------------------------------
# binary operations' shared parameters


def check_mask(mask: Any, ndim: int, shape: tuple[int, ...] | None) -> da.Array:
    """A mask of the input's shape, in any dtype scipy reads (nonzero is True)."""
    m = as_input(mask, "mask")
    if m.dtype.kind == "c" or m.dtype not in SUPPORTED:
        raise InputRuntimeError(
            f"mask must have a bool, integer, float32 or float64 dtype; got dtype {m.dtype}."
        )
    if m.ndim != ndim or (shape is not None and m.shape != tuple(shape)):
        where = f"{tuple(shape)}" if shape is not None else f"of {ndim} dimensions"
        raise InputRuntimeError(f"mask must have the input's shape {where}; got shape {m.shape}.")
    return m


def binary_output_dtype(output: Any) -> np.dtype:
    """The output dtype of a binary operation: bool, or the dtype of the caller's array."""
    out = Output(output)
    if out.kind != "array":
        return np.dtype(bool)
    if out.dtype.kind == "c":
        raise ParameterTypeError(
            f"output must have a real dtype; got dtype {out.dtype}. scipy.ndimage's binary "
            "morphology does not write complex output."
        )
    if out.dtype not in SUPPORTED:
        raise ParameterRuntimeError(
            f"output must have a bool, integer, float32 or float64 dtype; got {out.dtype}."
        )
    return out.dtype


def normalize_border_value(value: Any) -> int:
    """Border value as scipy's C code reads it: an integer (a float is a TypeError), for truth."""
    if not isinstance(value, numbers.Integral):
        raise ParameterTypeError(f"border_value must be an integer (0 or 1); got {value!r}.")
    return int(bool(value))
