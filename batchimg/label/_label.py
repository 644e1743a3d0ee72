"""``label``: connected components numbered exactly as scipy.ndimage.label."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _conventions as C
from .. import _params as P
from .._lazy import da
from ..errors import InputRuntimeError, InvalidParameterError, ParameterRuntimeError
from ._merge import connected, embed, label_dtype, resolve_numbers

# --------------------------------------------------------------------------- public


def _structure(structure: Any, ndim: int) -> np.ndarray:
    """Check the structure as scipy does: rank (RuntimeError), 3 wide, symmetric (ValueError)."""
    import scipy.ndimage as ndi

    if structure is None:
        s = ndi.generate_binary_structure(ndim, 1)
    else:
        s = np.asarray(structure)
        if s.dtype.kind == "c" or s.dtype == object:
            raise InvalidParameterError(f"structure must be a real array; got dtype {s.dtype}.")
        s = s.astype(bool)
        if s.ndim != ndim:
            raise ParameterRuntimeError(
                f"structure must have {ndim} dimensions, as many as the input; got an array "
                f"of shape {s.shape}."
            )
        if s.shape != (3,) * ndim:
            raise InvalidParameterError(
                f"structure must have shape {(3,) * ndim} (3 on every axis); got {s.shape}."
            )
        if not np.array_equal(s, s[(slice(None, None, -1),) * ndim]):
            raise InvalidParameterError(
                "structure must be symmetric about its centre (connectivity is mutual); got "
                f"{s.astype(int).tolist()}."
            )
    s = np.array(s, order="C")
    s.setflags(write=False)
    return s


def _fits(mapping: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Labels cast to ``dtype``, refused (as scipy refuses them) when they do not fit."""
    out = mapping.astype(dtype)
    if not np.array_equal(out, mapping):
        raise InputRuntimeError(
            f"output dtype {dtype} must hold every label; got labels up to "
            f"{int(mapping.max())}. Hint: pass output=np.int32 (or leave output unset)."
        )
    return out


def _cast(labels: np.ndarray, dtype) -> np.ndarray:
    return _fits(labels, np.dtype(dtype))


def label(
    input: Any, structure: Any = None, output: Any = None, *, axes: Any = None
) -> tuple[da.Array, da.Array] | da.Array:
    """Label connected components, equal to ``scipy.ndimage.label`` on the whole array.

    The labels have scipy's numbers (components numbered by the raster order of
    their first pixel) and scipy's dtype (int32, or the platform integer beyond
    ``2**31 - 2`` pixels; or the dtype given as ``output``), for any chunking.
    Algorithm (:mod:`batchimg.label`): per-block labels, pairs of touching labels
    across block faces, one union of the equivalences, renumbering by first pixel.

    Parameters
    ----------
    input : array_like
        Input; every nonzero pixel is foreground.
    structure : array_like, optional
        Symmetric 3x...x3 connectivity; default connectivity 1
        (``generate_binary_structure(input.ndim, 1)``).
    output : dtype or numpy.ndarray, optional
        The labels' dtype, or an array of the input's shape to fill; then only the
        number of labels is returned, as in scipy. Labels that do not fit the dtype
        raise when computed.
    axes : int or sequence of int, optional
        batchimg's addition: label over these axes only; the others index
        independent images (a stack). ``structure`` then has ``len(axes)``
        dimensions (in increasing axis order) and no connectivity along the other
        axes, so the labels equal ``scipy.ndimage.label`` of the stack with that
        embedded structure: each image's components, numbered on from the previous
        image's.

    Returns
    -------
    labels : dask.array.Array
        The label image, lazy (not returned when ``output`` is an array).
    n : dask.array.Array or int
        The number of labels: a lazy 0-d integer array, or an int when ``output``
        was filled.

    Raises
    ------
    InputTypeError
        For complex input.
    ParameterRuntimeError
        For a structure of another rank than the input.
    InvalidParameterError
        For a structure that is not 3 wide on every axis or not symmetric, or an
        ``output`` array of another shape.
    InputRuntimeError
        When computed, if the labels do not fit the ``output`` dtype.

    See Also
    --------
    scipy.ndimage.label : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi, dask.array as da
    >>> image = np.eye(6, dtype=bool) | np.eye(6, dtype=bool)[::-1]
    >>> labels, n = label(da.from_array(image, chunks=2))
    >>> expected, m = ndi.label(image)
    >>> bool((labels.compute() == expected).all()), int(n.compute()) == m
    (True, True)
    """
    x = C.as_input(input)
    if x.dtype.kind == "c":
        C.check_dtype(x.dtype)
    if isinstance(output, np.ndarray) and output.shape != x.shape:
        raise InvalidParameterError(
            f"output must have the input's shape {x.shape}; got shape {output.shape}."
        )
    out = C.Output(output)
    default = label_dtype(x.shape)
    dtype = default if out.dtype is None else out.dtype
    if x.ndim == 0 or x.size == 0:
        labels, n = _trivial(x, dtype)
    else:
        axes = P.normalize_axes(axes, x.ndim)
        s = _structure(structure, len(axes))
        if len(axes) < x.ndim:
            s = embed(s, x.ndim, axes)
        labels, n = connected(x, s, resolver=resolve_numbers, dtype=default, kind="label")
        if dtype != default:
            meta = np.empty((0,) * x.ndim, dtype)
            labels = labels.map_blocks(_cast, dtype, dtype=dtype, meta=meta)
    if out.kind == "array":
        import dask

        values, count = dask.compute(labels, n)
        np.copyto(output, values, casting="unsafe")
        return int(count)
    return labels, n


def _trivial(x: da.Array, dtype) -> tuple[da.Array, da.Array]:
    """Label a 0-d input (1 if nonzero) or an empty one (no labels), as scipy does."""
    if x.size == 0:
        return da.zeros(x.shape, dtype=dtype, chunks=x.chunks), da.from_array(np.intp(0))
    labels = (x != 0).astype(dtype)
    return labels, labels.astype(np.intp)
