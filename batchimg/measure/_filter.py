"""Region filters and relabelling: keep regions by their measurements, renumbered."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np

from .. import _regions as R
from .._params import normalize_int
from ._inputs import as_intensity, as_labels

# ---------------------------------------------------------------------------
# relabelling and region filtering
# ---------------------------------------------------------------------------


def relabel(label_image: Any, mapping: Any, *, dtype: Any = None) -> da.Array:
    """Map every label through a (possibly lazy) lookup, block by block.

    Equals ``mapping[label_image]`` on the whole array for a lookup array, or, for a
    pair ``(keys, values)`` of sorted keys, ``values`` at each pixel's key (0 for a
    pixel whose label is not a key). The mapping may be a ``dask.delayed`` object
    computing to either form: it is computed once and shared by all blocks, so the
    relabelling needs the statistics pass that builds the mapping, then one pass.

    Parameters
    ----------
    label_image : array_like or dask.array.Array of int
        The labels.
    mapping : numpy.ndarray, tuple of two arrays, or dask.delayed.Delayed
        A lookup array indexed by label, or sorted ``keys`` and their ``values``.
    dtype : dtype, optional
        The output dtype; the label image's by default.

    Returns
    -------
    dask.array.Array
        The relabelled image, chunked as ``label_image``.

    Raises
    ------
    InputError
        If ``label_image`` is not an integer array.

    See Also
    --------
    numpy.take : ``mapping[label_image]`` on the whole array is the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> relabel(np.array([0, 7, 3]), (np.array([3, 7]), np.array([2, 1]))).compute()
    array([0, 1, 2])
    """
    lab = as_labels(label_image)
    dtype = lab.dtype if dtype is None else np.dtype(dtype)
    return da.map_blocks(
        R.apply_mapping,
        lab,
        mapping,
        dtype,
        dtype=dtype,
        meta=np.empty((0,) * lab.ndim, dtype),
    )


def filter_regions_image(
    label_image: np.ndarray,
    where: str = "area > 10",
    intensity_image: np.ndarray | None = None,
    *,
    spacing: Any = None,
) -> np.ndarray:
    """:func:`filter_regions` of one in-memory image, computed at once (numpy in and out).

    The same engine without a dask graph: for the many small images of a collection,
    where building and running a graph per image would cost more than the work.
    """
    lab = np.asarray(label_image)
    node = R.parse_where(where)
    props = R.filter_properties(lab.ndim, intensity_image is not None, node)
    sp = R.normalize_spacing(spacing, lab.ndim)
    t = R.block_stats(
        lab, intensity_image, (0,) * lab.ndim, lab.shape, R.needs_of(props) | {"first"}, False
    )
    mapping = R.filter_mapping(t, node, props, lab.ndim, sp, lab.dtype)
    return R.apply_mapping(lab, mapping, lab.dtype)


def _filter(lab: da.Array, img: da.Array | None, node: tuple, spacing: Any) -> da.Array:
    ndim = lab.ndim
    props = R.filter_properties(ndim, img is not None, node)
    sp = R.normalize_spacing(spacing, ndim)
    table = R.stats_delayed(lab, img, R.needs_of(props) | {"first"})
    mapping = dask.delayed(R.filter_mapping, pure=True)(table, node, props, ndim, sp, lab.dtype)
    return relabel(lab, mapping)


def filter_regions(
    label_image: Any,
    where: str = "area > 10",
    intensity_image: Any = None,
    *,
    spacing: Any = None,
) -> da.Array:
    """Keep the regions whose measurements satisfy ``where``, renumbered in raster order.

    Equals, on the whole array, keeping the labels whose
    :func:`regionprops_table` row satisfies ``where`` (every other pixel becomes 0)
    and numbering the kept regions 1, 2, ... in raster (C) order of their first
    pixel. For a label image from ``scipy.ndimage.label`` (any structure) this is
    exactly ``scipy.ndimage.label(kept_mask, structure)[0]``. The output keeps the
    label image's dtype. Measurements take one pass over the data and relabelling a
    second one.

    ``where`` is a small expression language, parsed without ``eval``: comparisons
    (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``) between a column of
    :func:`regionprops_table` (``area``, ``extent``, ``intensity_mean``,
    ``bbox-0``, ``centroid-1``, ``equivalent_diameter_area``, ...) and a number,
    joined by ``and``, ``or``, ``not`` and parentheses.

    Parameters
    ----------
    label_image : array_like or dask.array.Array of int
        The regions; 0 is background.
    where : str
        The condition a region must satisfy to be kept.
    intensity_image : array_like or dask.array.Array, optional
        Needed when ``where`` names an intensity column.
    spacing : float or sequence of float, optional
        Pixel size per axis, scaling the measurements as in :func:`regionprops_table`.

    Returns
    -------
    dask.array.Array
        The filtered, renumbered label image.

    Raises
    ------
    InvalidParameterError
        If ``where`` does not parse, names an unknown column (with a hint), or an
        intensity column without an intensity image.
    InputError
        If ``label_image`` is not an integer array, or the images' shapes differ.

    See Also
    --------
    skimage.measure.regionprops_table : The measurements.
    scipy.ndimage.label : The numbering.

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.array([[3, 3, 0, 1], [0, 0, 0, 1], [2, 2, 2, 0]])
    >>> filter_regions(lab, "area >= 2 and not bbox-0 == 0").compute()
    array([[0, 0, 0, 0],
           [0, 0, 0, 0],
           [1, 1, 1, 0]])
    """
    lab = as_labels(label_image, like=intensity_image)
    img = None if intensity_image is None else as_intensity(intensity_image, lab)
    return _filter(lab, img, R.parse_where(where), spacing)


def remove_small_objects(label_image: Any, min_size: int = 64) -> da.Array:
    """Remove regions of fewer than ``min_size`` pixels, renumbering the rest.

    Equals :func:`filter_regions` with ``where="area >= min_size"``: a region of
    exactly ``min_size`` pixels is kept. On a label image the kept pixels are those
    of ``skimage.morphology.remove_small_objects(label_image, max_size=min_size - 1)``
    (scikit-image 0.26's spelling; its deprecated ``min_size`` meant the same), but
    scikit-image keeps the old label values while this function renumbers the kept
    regions 1, 2, ... in raster order of their first pixel, which is
    ``scipy.ndimage.label`` of the kept mask for a label image that came from it.

    Parameters
    ----------
    label_image : array_like or dask.array.Array of int
        The regions; 0 is background.
    min_size : int
        The smallest region (in pixels) that is kept.

    Returns
    -------
    dask.array.Array
        The filtered, renumbered label image (same dtype).

    Raises
    ------
    InvalidParameterError
        If ``min_size`` is not a non-negative integer.
    InputError
        If ``label_image`` is not an integer array.

    See Also
    --------
    skimage.morphology.remove_small_objects : The oracle for the kept pixels.

    Examples
    --------
    >>> import numpy as np
    >>> remove_small_objects(np.array([[5, 5, 0, 9]]), min_size=2).compute()
    array([[1, 1, 0, 0]])
    """
    lab = as_labels(label_image)
    min_size = normalize_int(min_size, "min_size", minimum=0)
    return _filter(lab, None, ("cmp", "area", ">=", float(min_size)), None)
