"""Grey morphology: erosion, dilation, opening, closing, tophats, gradient, Laplace."""

from __future__ import annotations

import functools
import numbers
import warnings
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .. import _conventions as A
from .. import _params as P
from .._overlap import Spec, Step, make_step
from ..errors import InvalidParameterError, ParameterRuntimeError, ParameterTypeError

#: name -> (number of passes, whether scipy warns when size and footprint are both given)
GREY = {
    "grey_erosion": (1, False),
    "grey_dilation": (1, False),
    "grey_opening": (2, True),
    "grey_closing": (2, True),
    "white_tophat": (2, True),
    "black_tophat": (2, True),
    "morphological_gradient": (1, False),
    "morphological_laplace": (1, False),
}


#: a reach that keeps an axis whole (the overlap planner gives the axis one chunk)
_WHOLE = 2**40


def _nan_possible(dtype, cval, modes) -> bool:
    """Whether a line scipy's box minimum/maximum runs over may hold NaN."""
    if np.dtype(dtype).kind in "fc":
        return True
    ms = [modes] if isinstance(modes, str) else list(modes)
    return bool(np.isnan(cval)) and any(P.MODES.get(m, m) == "constant" for m in ms)


def _grey_kernel(block, *, func, out_kind, out_dtype, **kw):
    """Run the scipy function on one block, writing where scipy writes for this ``output``."""
    if out_kind == "array":
        out = np.empty(block.shape, out_dtype)
        res = func(block, output=out, **kw)
        return out if res is None else np.asarray(res, dtype=out_dtype)
    return func(block, output=out_dtype if out_kind == "dtype" else None, **kw)


def _kernel_arrays(footprint, structure, n):
    if footprint is not None:
        fp = np.asarray(footprint)
        if fp.dtype.kind == "c" or fp.dtype == object:
            raise ParameterTypeError(f"footprint must be a real array; got dtype {fp.dtype}.")
        fp = np.array(fp, dtype=bool, order="C")
        if fp.ndim != n:
            raise ParameterRuntimeError(
                f"footprint must have {n} dimensions (one per operated axis); got an array "
                f"of shape {fp.shape}."
            )
        if not fp.any():
            raise InvalidParameterError(
                "footprint must hold at least one True; got an all-False footprint of shape "
                f"{fp.shape}."
            )
        fp.setflags(write=False)
        footprint = fp
    if structure is not None:
        st = np.asarray(structure)
        if st.dtype.kind == "c" or st.dtype == object:
            raise ParameterTypeError(f"structure must be a real array; got dtype {st.dtype}.")
        if st.ndim != n:
            raise ParameterRuntimeError(
                f"structure must have {n} dimensions (one per operated axis); got an array "
                f"of shape {st.shape}."
            )
        st = np.array(st, order="C")
        st.setflags(write=False)
        structure = st
    return footprint, structure


def _grey_step(name, spec, size, footprint, structure, output, mode, cval, origin, axes):
    passes, warns = GREY[name]
    A.check_dtype(spec.dtype)
    axes = A.normalize_axes(axes, spec.ndim)
    n = len(axes)
    if size is None and footprint is None and structure is None:
        raise InvalidParameterError(
            "size, footprint or structure must be given; got none of them. Hint: size=3 "
            "uses a flat 3-pixel window on every axis."
        )
    if warns and size is not None and footprint is not None:
        warnings.warn("ignoring size because footprint is set", UserWarning, stacklevel=4)
    footprint, structure = _kernel_arrays(footprint, structure, n)
    if footprint is not None and structure is not None and footprint.shape != structure.shape:
        raise InvalidParameterError(
            f"footprint and structure must have the same shape; got {footprint.shape} and "
            f"{structure.shape}."
        )
    if footprint is not None or structure is not None:
        size = None
        shape = (footprint if footprint is not None else structure).shape
    else:
        raw = A.sequence(size, n, "size")
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in raw):
            raise InvalidParameterError(f"size must be whole numbers >= 0; got {size!r}.")
        size = shape = tuple(int(s) for s in raw)
    separable = structure is None and (footprint is None or bool(footprint.all()))
    # scipy runs an all-True footprint as sizes (paired with ``axes`` in order)
    origin = A.normalize_origin(
        origin,
        tuple(max(s, 1) for s in shape),
        index_error=False,
        axes=None if separable else axes,
        ndim=spec.ndim,
    )
    try:
        modes = P.normalize_mode(mode, n)
    except InvalidParameterError as exc:
        raise ParameterRuntimeError(str(exc)) from None
    if len(set(modes)) == 1:
        modes = modes[0]
    elif not separable:
        raise ParameterRuntimeError(
            f"mode must be one name for a non-flat or non-rectangular footprint; got {mode!r}. "
            "Hint: per-axis modes work with size= or an all-True footprint."
        )
    if isinstance(cval, bool) or not isinstance(cval, numbers.Real):
        raise ParameterTypeError(f"cval must be a real number; got {cval!r}.")
    out = A.Output(output)
    if out.kind is not None and out.dtype.kind == "c":
        raise ParameterRuntimeError(f"output must have a real dtype; got dtype {out.dtype}.")
    kernel = functools.partial(
        _grey_kernel,
        func=getattr(ndi, name),
        out_kind=out.kind,
        out_dtype=out.dtype,
        size=size,
        footprint=footprint,
        structure=structure,
        mode=modes,
        cval=float(cval),
        origin=origin,
        axes=A.scipy_axes(axes, spec.ndim),
    )
    # scipy's own dtype rule for this output (morphological_gradient and _laplace ignore
    # an output dtype that is not an array), read off a one-pixel run
    dtype = kernel(np.zeros((1,) * spec.ndim, spec.dtype)).dtype
    work = (
        sum(shape) if separable else (footprint.sum() if footprint is not None else structure.size)
    )
    # boundary per array axis: mode i belongs to axes[i] (scipy's separable reading)
    per_axis = ["constant"] * spec.ndim
    for i, a in enumerate(axes):
        per_axis[a] = modes if isinstance(modes, str) else modes[i]
    reach = A.reach_per_axis(spec.ndim, axes, tuple(max(s, 1) for s in shape), origin, passes)
    if separable and _nan_possible(spec.dtype, cval, modes):
        # scipy's box minimum/maximum is a running 1-D pass per axis whose answer, with NaN
        # in a line, depends on the whole line (as batchimg.filters explains): those axes
        # are kept whole
        reach = tuple(
            _WHOLE if a in axes and shape[axes.index(a)] > 1 else r for a, r in enumerate(reach)
        )
    return make_step(
        name,
        kernel,
        ndim=spec.ndim,
        axes=tuple(range(spec.ndim)),
        reach=reach,
        modes=per_axis,
        dtype=dtype,
        params=(size, footprint, structure, modes, float(cval), origin, axes, out.key()),
        cost=passes * max(int(work), 1) / 3,
    )


_GREY_DOC = """{summary}, equal to ``scipy.ndimage.{name}`` on the whole array.

    Local: each block exchanges a halo of {reach}the window's reach
    (``shape // 2 + |origin|`` per axis), so scipy sees the true array edge and
    applies ``mode`` there itself. The result has scipy's dtype for this call.

    Parameters
    ----------
    input : array_like
        Input image (numpy or dask).
    size : int or sequence of int, optional
        Shape of a flat rectangular window (ignored if ``footprint`` or ``structure``
        is given).
    footprint : array_like, optional
        Window as a bool array, one axis per operated axis.
    structure : array_like, optional
        Non-flat structuring element added to (dilation) or subtracted from (erosion)
        the window's values.
    output : dtype or numpy.ndarray, optional
        The output dtype, or an array of the input's shape to fill (scipy's rules).
    mode : str or sequence of str, optional
        Boundary mode: ``reflect``, ``constant``, ``nearest``, ``mirror`` or ``wrap``.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    origin : int or sequence of int, optional
        Shift of the window.
    axes : int or sequence of int, optional
        Axes to operate on; the others are independent images.

    Returns
    -------
    dask.array.Array or numpy.ndarray
        The lazy result, or ``output`` filled when it is an array.

    Raises
    ------
    InvalidParameterError
        When size, footprint and structure are all missing, for an all-False footprint
        or an origin outside the window.
    ParameterRuntimeError
        For a footprint, structure, size or origin of the wrong length, an unknown mode,
        or an ``output`` array of another shape.
    ParameterTypeError
        For a ``cval`` that is not a number.
    InputTypeError, InputRuntimeError
        For a complex or float16 input.

    See Also
    --------
    scipy.ndimage.{name} : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.morphology import {name}
    >>> image = (np.arange(64).reshape(8, 8) * 37 % 11).astype(np.uint8)
    >>> out = {name}(image, {example})
    >>> bool((out.compute() == ndi.{name}(image, {example})).all())
    True
    """


def _grey(name, summary, example):
    """Define the public grey operation ``name``."""

    def builder(
        spec: Spec,
        size: Any = None,
        footprint: Any = None,
        structure: Any = None,
        output: Any = None,
        mode: Any = "reflect",
        cval: float = 0.0,
        origin: Any = 0,
        *,
        axes: Any = None,
    ) -> Step:
        return _grey_step(name, spec, size, footprint, structure, output, mode, cval, origin, axes)

    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = "batchimg.morphology"
    reach = "" if GREY[name][0] == 1 else "twice "
    builder.__doc__ = _GREY_DOC.format(name=name, summary=summary, reach=reach, example=example)
    return A.scipy_operation(builder)


grey_erosion = _grey("grey_erosion", "Grey erosion (minimum over the window)", "size=3")
grey_dilation = _grey("grey_dilation", "Grey dilation (maximum over the window)", "size=3")
grey_opening = _grey("grey_opening", "Grey opening (erosion, then dilation)", "(3, 2)")
grey_closing = _grey("grey_closing", "Grey closing (dilation, then erosion)", "(2, 3)")
white_tophat = _grey("white_tophat", "White tophat (input minus its opening)", "size=3")
black_tophat = _grey("black_tophat", "Black tophat (closing minus the input)", "size=3")
morphological_gradient = _grey(
    "morphological_gradient", "Morphological gradient (dilation minus erosion)", "size=3"
)
morphological_laplace = _grey(
    "morphological_laplace",
    "Morphological Laplace (dilation plus erosion minus twice the input)",
    "size=3",
)

__all__ = list(GREY)
