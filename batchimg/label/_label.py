"""``label``: connected components numbered exactly as scipy.ndimage.label."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .. import _params as P
from .._overlap import as_dask
from ..errors import InvalidParameterError
from ._merge import connected, label_dtype, normalize_structure, resolve_numbers

# --------------------------------------------------------------------------- public


def _embed(structure: np.ndarray, ndim: int, axes: tuple[int, ...]) -> np.ndarray:
    """A structure over ``axes`` as an ``ndim`` structure with no connectivity elsewhere."""
    full = np.zeros((3,) * ndim, bool)
    index = [1] * ndim
    for a in axes:
        index[a] = slice(None)
    full[tuple(index)] = np.transpose(structure, np.argsort(np.argsort(axes)))
    return full


def label(image: Any, structure: Any = None, *, axes: Any = None) -> tuple[da.Array, da.Array]:
    """Label connected components, identical to ``scipy.ndimage.label`` on the whole array.

    The labels have scipy's numbers (components numbered by the raster order of
    their first pixel) and scipy's dtype (:func:`label_dtype`), for any chunking.
    An image stack is labelled image by image with a structure that has no
    connectivity along the image axis (``np.stack([zeros, s2d, zeros])``); its
    labels then run on from one image to the next, exactly as scipy numbers them.

    Parameters
    ----------
    image : array_like
        Input; every nonzero pixel is foreground.
    structure : array_like, optional
        Symmetric 3x...x3 connectivity; default connectivity 1
        (``scipy.ndimage.generate_binary_structure(ndim, 1)``).
    axes : int or sequence of int, optional
        Label over these axes only; the other axes index independent images (a
        stack). ``structure`` then has ``len(axes)`` dimensions and is embedded
        with no connectivity along the other axes, so the labels equal
        ``scipy.ndimage.label`` of the stack with that embedded structure: each
        image's components, numbered on from the previous image's.

    Returns
    -------
    labels : dask.array.Array
        The label image, lazy.
    n : dask.array.Array
        The number of labels, a lazy 0-d integer array.

    Raises
    ------
    InvalidParameterError
        When the structure has the wrong shape or is not symmetric.

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
    x = as_dask(image)
    if x.ndim == 0:
        raise InvalidParameterError("image must have at least one dimension; got a 0-d array.")
    axes = P.normalize_axes(axes, x.ndim)
    s = normalize_structure(structure, len(axes))
    if len(axes) < x.ndim:
        s = _embed(s, x.ndim, axes)
    return connected(x, s, resolver=resolve_numbers, dtype=label_dtype(x.shape), kind="label")
