"""Helpers shared by the chunked filters (parameter checks, steps, docstrings)."""

from __future__ import annotations

from typing import Any

from . import _params as P
from ._overlap import Spec, make_step
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
