"""Objects touching the border, on the component machinery (:func:`clear_border`).

A *flag* question answered per component: which objects touch the border.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .. import _params as P
from .._overlap import as_dask
from ._merge import connected, resolve_flags


def _buffer_seed(block, *, buffer_size, shape, block_info=None):
    loc = block_info[0]["array-location"]
    seed = np.zeros(block.shape, bool)
    for a, (lo, hi) in enumerate(loc):
        coord = np.arange(lo, hi)
        near = (coord <= buffer_size) | (coord >= shape[a] - 1 - buffer_size)
        index = [None] * block.ndim
        index[a] = slice(None)
        seed |= near[tuple(index)]
    return seed & (block != 0)


def clear_border(image: Any, *, buffer_size: int = 0, bgval: int = 0) -> da.Array:
    """Clear objects touching the border, identical to ``skimage.segmentation.clear_border``.

    An object is a connected region (full connectivity) of one nonzero value; it
    is cleared (set to ``bgval``) when any of its pixels lies within
    ``buffer_size`` pixels of the array's edge. Other pixels keep their values.

    Parameters
    ----------
    image : array_like
        Label image or binary image.
    buffer_size : int, optional
        Width of the border band, in pixels beyond the edge row.
    bgval : int, optional
        Value given to cleared pixels.

    Returns
    -------
    dask.array.Array
        Same dtype as ``image``, lazy.

    See Also
    --------
    skimage.segmentation.clear_border : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.segmentation import clear_border as sk_clear_border
    >>> img = np.zeros((6, 6), int); img[0:2, 0:2] = 1; img[3:5, 3:5] = 2
    >>> bool((clear_border(img).compute() == sk_clear_border(img)).all())
    True
    """
    x = as_dask(image)
    buffer_size = P.normalize_int(buffer_size, "buffer_size", minimum=0)
    s = np.ones((3,) * x.ndim, bool)
    seed = x.map_blocks(
        _buffer_seed,
        buffer_size=buffer_size,
        shape=x.shape,
        dtype=bool,
        meta=np.empty((0,) * x.ndim, bool),
    )
    touching, _ = connected(
        x, s, resolver=resolve_flags, dtype=bool, seed=seed, by_value=True, kind="clear_border"
    )
    return da.where(touching, np.asarray(bgval, dtype=x.dtype), x)
