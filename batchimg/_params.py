"""Typed normalisers for the parameters every operation shares.

Each function takes what a user may pass (a scalar, a sequence, ``None``) and
returns one canonical, hashable value, or raises
:class:`~batchimg.errors.InvalidParameterError` with a message in the house shape.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import InvalidParameterError

#: Filter boundary modes and the canonical scipy.ndimage name of each alias.
MODES = {
    "reflect": "reflect",
    "grid-mirror": "reflect",
    "mirror": "mirror",
    "nearest": "nearest",
    "constant": "constant",
    "grid-constant": "constant",
    "wrap": "wrap",
    "grid-wrap": "wrap",
}


def did_you_mean(value: Any, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def normalize_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise with a hint."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InvalidParameterError(
            f"{name} must be one of {listed}; got {value!r}.{did_you_mean(value, choices)}"
        )
    return value


def normalize_mode(mode: Any, n: int, name: str = "mode") -> tuple[str, ...]:
    """One canonical scipy mode per axis: a string applies to all ``n`` axes."""
    if isinstance(mode, str):
        modes = (mode,) * n
    elif isinstance(mode, Sequence) and len(mode) == n:
        modes = tuple(mode)
    else:
        raise InvalidParameterError(
            f"{name} must be a mode name or one name per axis ({n}); got {mode!r}."
        )
    out = []
    for m in modes:
        if not isinstance(m, str) or m not in MODES:
            listed = ", ".join(repr(k) for k in MODES if MODES[k] == k)
            raise InvalidParameterError(
                f"{name} must be one of {listed}; got {m!r}.{did_you_mean(m, list(MODES))}"
            )
        out.append(MODES[m])
    return tuple(out)


def normalize_axes(axes: Any, ndim: int) -> tuple[int, ...]:
    """Axes as a tuple of distinct non-negative ints; ``None`` means every axis."""
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, numbers.Integral):
        axes = (axes,)
    try:
        out = tuple(int(a) for a in axes)
    except TypeError:
        raise InvalidParameterError(
            f"axes must be None, an int or a sequence of ints; got {axes!r}."
        ) from None
    for a in out:
        if not -ndim <= a < ndim:
            raise InvalidParameterError(
                f"axes must be in range for an array of {ndim} dimensions; got {axes!r}."
            )
    out = tuple(a % ndim for a in out)
    if len(set(out)) != len(out):
        raise InvalidParameterError(f"axes must not repeat an axis; got {axes!r}.")
    if not out:
        raise InvalidParameterError(f"axes must name at least one axis; got {axes!r}.")
    return out


def normalize_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """One axis as a non-negative int."""
    if not isinstance(axis, numbers.Integral) or not -ndim <= int(axis) < ndim:
        raise InvalidParameterError(f"{name} must be an int in [{-ndim}, {ndim}); got {axis!r}.")
    return int(axis) % ndim


def normalize_sequence(
    value: Any, n: int, name: str, *, kind: type = float, minimum: float | None = None
) -> tuple:
    """A scalar broadcast to ``n`` values, or a sequence of exactly ``n`` values."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        values = (value,) * n
    elif isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        values = tuple(np.asarray(value).ravel().tolist())
        if len(values) != n:
            raise InvalidParameterError(
                f"{name} must be a number or have one value per axis ({n}); got {value!r}."
            )
    else:
        raise InvalidParameterError(
            f"{name} must be a number or a sequence of {n} numbers; got {value!r}."
        )
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise InvalidParameterError(f"{name} must be numeric; got {value!r}.")
        if kind is int:
            if float(v) != int(v):
                raise InvalidParameterError(f"{name} must be whole numbers; got {value!r}.")
            v = int(v)
        else:
            v = float(v)
        out.append(v)
    if minimum is not None and any(v < minimum for v in out):
        where = "on every axis" if n > 1 else ""
        raise InvalidParameterError(
            f"{name} must be >= {minimum:g}{' ' + where if where else ''}; got {value!r}."
        )
    return tuple(out)


def normalize_number(value: Any, name: str, *, minimum: float | None = None) -> float:
    """A real number, optionally bounded below."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a number; got {value!r}.")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name} must be >= {minimum:g}; got {value!r}.")
    return float(value)


def normalize_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """A whole number, optionally bounded below."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be an integer; got {value!r}.")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name} must be >= {minimum}; got {value!r}.")
    return int(value)


def normalize_kernel(value: Any, n: int, name: str, *, binary: bool = False) -> np.ndarray:
    """An ``n``-dimensional kernel array (weights, footprint or structure).

    ``binary=True`` returns a bool array. Every axis must have at least one element.
    A kernel with fewer dimensions than ``n`` is refused, as scipy refuses it.
    """
    if value is None:
        raise InvalidParameterError(f"{name} must be an array; got None.")
    arr = np.asarray(value)
    if arr.ndim != n:
        raise InvalidParameterError(
            f"{name} must have {n} dimensions (one per filtered axis); "
            f"got an array of shape {arr.shape}."
        )
    if 0 in arr.shape:
        raise InvalidParameterError(f"{name} must not be empty; got shape {arr.shape}.")
    if binary:
        if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
            raise InvalidParameterError(
                f"{name} must contain only 0 and 1 (or True and False); got values "
                f"{np.unique(arr)[:5].tolist()}."
            )
        arr = arr.astype(bool)
    elif not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise InvalidParameterError(f"{name} must be numeric; got dtype {arr.dtype}.")
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


def normalize_origin(origin: Any, n: int) -> tuple[int, ...]:
    """Normalise scipy's ``origin``: an int or one int per filtered axis."""
    return normalize_sequence(origin, n, "origin", kind=int)


def footprint_shape(size: Any, footprint: Any, n: int, name: str = "size") -> tuple:
    """Resolve scipy's ``size``/``footprint`` pair into ``(shape, footprint_or_None)``."""
    if footprint is not None:
        fp = normalize_kernel(footprint, n, "footprint", binary=True)
        return fp.shape, fp
    if size is None:
        raise InvalidParameterError(
            "size or footprint must be given; got neither. Hint: size=3 uses a 3-pixel "
            "window on every axis."
        )
    shape = normalize_sequence(size, n, name, kind=int, minimum=1)
    return shape, None
