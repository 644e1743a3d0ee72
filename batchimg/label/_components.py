"""Objects touching the border, on the component machinery (:func:`clear_border`).

A *flag* question answered per component: which objects touch the border.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _params as P
from .._lazy import da
from .._overlap import as_dask
from ..errors import InputError, InputTypeError, InvalidParameterError
from ._merge import connected, resolve_flags


def _buffer_seed(block, *, buffer_size, shape, block_info=None):
    """The border band: pixels within ``buffer_size`` of the array's edge."""
    loc = block_info[0]["array-location"]
    seed = np.zeros(block.shape, bool)
    for a, (lo, hi) in enumerate(loc):
        coord = np.arange(lo, hi)
        near = (coord <= buffer_size) | (coord >= shape[a] - 1 - buffer_size)
        index = [None] * block.ndim
        index[a] = slice(None)
        seed |= near[tuple(index)]
    return seed


def clear_border(
    labels: Any,
    buffer_size: int = 0,
    bgval: Any = 0,
    mask: Any = None,
    *,
    out: np.ndarray | None = None,
) -> da.Array:
    """Clear objects touching the border, identical to ``skimage.segmentation.clear_border``.

    Equals scikit-image 0.26's function on the whole array, exactly: an object is a
    connected region (full connectivity) of one nonzero value; it is cleared (set
    to ``bgval``) when any of its pixels lies in the border band -- within
    ``buffer_size`` pixels of the array's edge, or, with ``mask``, outside ``mask``.
    As in scikit-image, the background (every 0 pixel) also becomes ``bgval`` when
    the band holds a 0 pixel. Objects are joined across chunks by the component
    machinery of :mod:`batchimg.label`; the result is lazy.

    Parameters
    ----------
    labels : array_like
        Label image or binary image.
    buffer_size : int, optional
        Width of the border band beyond the edge row; must be smaller than every
        axis when there is no ``mask``.
    bgval : int, optional
        Value given to cleared pixels.
    mask : array_like of bool, optional
        Pixels outside it form the border band (``buffer_size`` is then ignored).
    out : numpy.ndarray, optional
        Filled with the result (computed), and returned.

    Returns
    -------
    dask.array.Array or numpy.ndarray
        Same dtype as ``labels``, lazy; ``out`` when given.

    Raises
    ------
    InvalidParameterError
        If ``buffer_size`` is negative or not smaller than every axis.
    InputError
        If ``mask`` does not have the labels' shape.
    InputTypeError
        If ``mask`` is not a bool array.

    See Also
    --------
    skimage.segmentation.clear_border : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.segmentation import clear_border as sk_clear_border
    >>> img = np.zeros((6, 6), int); img[0:2, 0:2] = 1; img[3:5, 3:5] = 2
    >>> bool((clear_border(img, bgval=7).compute() == sk_clear_border(img, bgval=7)).all())
    True
    """
    x = as_dask(labels, "labels")
    buffer_size = P.normalize_int(buffer_size, "buffer_size", minimum=0)
    if mask is None:
        if any(buffer_size >= n for n in x.shape):
            raise InvalidParameterError(
                f"buffer_size must be smaller than every axis of labels {x.shape}; "
                f"got {buffer_size}."
            )
        band = x.map_blocks(
            _buffer_seed,
            buffer_size=buffer_size,
            shape=x.shape,
            dtype=bool,
            meta=np.empty((0,) * x.ndim, bool),
        )
    else:
        m = as_dask(mask, "mask")
        if m.shape != x.shape:
            raise InputError(f"mask must have the labels' shape {x.shape}; got shape {m.shape}.")
        if m.dtype != bool:
            raise InputTypeError(f"mask must be a bool array; got dtype {m.dtype}.")
        band = ~m.rechunk(x.chunks)
    s = np.ones((3,) * x.ndim, bool)
    seed = band & (x != 0)
    touching, _ = connected(
        x, s, resolver=resolve_flags, dtype=bool, seed=seed, by_value=True, kind="clear_border"
    )
    value = np.asarray(bgval).astype(x.dtype)
    result = da.where(touching & (x != 0), value, x)
    if value != 0:
        background_hit = da.any(band & (x == 0))
        result = da.where((x == 0) & background_hit, value, result)
    if out is not None:
        da.store(result, out, lock=False)
        return out
    return result
