"""``regionprops_table``: every region measured in one pass of per-block partial sums."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask
import numpy as np

from .. import _regions as R
from .._regions import DEFAULT_PROPERTIES
from ..errors import InvalidParameterError
from ._inputs import as_intensity, as_labels

# ---------------------------------------------------------------------------
# regionprops
# ---------------------------------------------------------------------------


def regionprops_delayed(
    label_image: Any,
    intensity_image: Any = None,
    *,
    properties: Sequence[str] = DEFAULT_PROPERTIES,
    spacing: Any = None,
    stack: bool = False,
) -> Any:
    """Build the lazy core of :func:`regionprops_table`: a delayed DataFrame.

    Computing the result equals ``pandas.DataFrame(skimage.measure.regionprops_table(
    label_image, intensity_image, properties=properties, spacing=spacing))`` on the
    whole arrays (see :func:`regionprops_table` for the columns and the exactness).
    Nothing is computed here: the graph holds one statistics task per block (for all
    properties at once) and a tree of merges, so a workflow runner can compute it
    together with other outputs in one pass over the data.

    Parameters
    ----------
    label_image, intensity_image, properties, spacing, stack
        As in :func:`regionprops_table`.

    Returns
    -------
    dask.delayed.Delayed
        Computes to the :class:`pandas.DataFrame` of :func:`regionprops_table`.

    Raises
    ------
    InputError
        If ``label_image`` is not an integer array, or the images' shapes differ.
    InvalidParameterError
        For an unknown property, an intensity property without an intensity image,
        or a bad ``spacing``.

    See Also
    --------
    skimage.measure.regionprops_table : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> d = regionprops_delayed(np.array([[1, 1, 0], [0, 0, 2]]), properties=["area"])
    >>> d.compute()["area"].tolist()
    [2.0, 1.0]
    """
    lab = as_labels(label_image, like=intensity_image)
    img = None if intensity_image is None else as_intensity(intensity_image, lab)
    props = R.normalize_properties(properties, img is not None)
    if not isinstance(stack, bool):
        raise InvalidParameterError(f"stack must be True or False; got {stack!r}.")
    if stack and lab.ndim < 2:
        raise InvalidParameterError(
            f"stack=True needs a label image of at least 2 dimensions; got shape {lab.shape}."
        )
    ndim = lab.ndim - 1 if stack else lab.ndim
    sp = R.normalize_spacing(spacing, ndim)
    table = R.stats_delayed(lab, img, R.needs_of(props), stack=stack)
    return dask.delayed(R.frame, pure=True)(table, props, ndim, sp, stack)


def regionprops_table(
    label_image: Any,
    intensity_image: Any = None,
    *,
    properties: Sequence[str] = DEFAULT_PROPERTIES,
    spacing: Any = None,
    stack: bool = False,
):
    """Measure every labelled region in one pass; a sink that computes.

    Equals ``pandas.DataFrame(skimage.measure.regionprops_table(label_image,
    intensity_image, properties=properties, spacing=spacing))`` on the whole arrays:
    same columns, column order and dtypes, rows sorted by label; integer columns
    (``label``, ``bbox-*``) exactly, float columns up to the rounding of a different
    summation order (rtol 1e-10). Intensities are accumulated in float64, as
    scipy.ndimage does (scikit-image accumulates a float32 image in float32).
    Unlike scikit-image, every nonzero label is a region (negative ones too), and
    ``intensity_sum`` is available (the per-region ``scipy.ndimage.sum_labels``).
    This function computes the graph of :func:`regionprops_delayed` (it is a
    sink); use that function to compute the table together with other outputs.

    Parameters
    ----------
    label_image : array_like or dask.array.Array of int
        Regions; 0 is background. Labels need not be sequential.
    intensity_image : array_like or dask.array.Array, optional
        Same shape as ``label_image``; needed by ``centroid_weighted`` and the
        ``intensity_*`` properties. It is rechunked to the label image's chunks.
    properties : sequence of str
        Among ``label``, ``area``, ``bbox``, ``centroid``, ``centroid_weighted``,
        ``intensity_sum``, ``intensity_mean``, ``intensity_min``, ``intensity_max``,
        ``intensity_std``, ``equivalent_diameter_area``, ``extent``.
    spacing : float or sequence of float, optional
        Pixel size per (measured) axis, as in scikit-image: it scales ``area``,
        ``centroid``, ``centroid_weighted`` and ``equivalent_diameter_area``;
        ``bbox`` stays in pixels and ``extent`` is a ratio.
    stack : bool
        If True, axis 0 indexes images: labels are per image, each image is
        measured on its own (as scikit-image on ``label_image[i]``), and the table
        starts with an ``image`` column (the index along axis 0); rows are sorted by
        image, then label. With ``label`` requested, an ``image_label`` column
        follows it: the region's number within its image (1, 2, ... in label
        order), which for a stack labelled by ``label(stack, axes=(1, 2))`` is
        exactly ``scipy.ndimage.label`` of that image alone.

    Returns
    -------
    pandas.DataFrame
        One row per region; zero rows (with the same columns and dtypes) when
        there are no regions.

    Raises
    ------
    InputError
        If ``label_image`` is not an integer array, or the images' shapes differ.
    InvalidParameterError
        For an unknown property, an intensity property without an intensity image,
        or a bad ``spacing``.

    See Also
    --------
    skimage.measure.regionprops_table : The oracle.
    regionprops_delayed : The lazy version.

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.array([[0, 5, 5], [0, 0, 9]])
    >>> regionprops_table(lab, properties=["label", "area", "bbox"])
       label  area  bbox-0  bbox-1  bbox-2  bbox-3
    0      5   2.0       0       1       1       3
    1      9   1.0       1       2       2       3
    """
    return regionprops_delayed(
        label_image, intensity_image, properties=properties, spacing=spacing, stack=stack
    ).compute()


def regionprops_image(
    label_image: np.ndarray,
    intensity_image: np.ndarray | None = None,
    *,
    properties: Sequence[str] = DEFAULT_PROPERTIES,
    spacing: Any = None,
):
    """:func:`regionprops_table` of one in-memory image, computed at once (no dask graph)."""
    import pandas as pd

    return pd.DataFrame(
        regionprops_columns(label_image, intensity_image, properties=properties, spacing=spacing)
    )


def regionprops_columns(
    label_image: np.ndarray,
    intensity_image: np.ndarray | None = None,
    *,
    properties: Sequence[str] = DEFAULT_PROPERTIES,
    spacing: Any = None,
) -> dict[str, np.ndarray]:
    """:func:`regionprops_image` as a dict of numpy columns (no pandas; for many images)."""
    lab = np.asarray(label_image)
    props = R.normalize_properties(properties, intensity_image is not None)
    sp = R.normalize_spacing(spacing, lab.ndim)
    t = R.block_stats(lab, intensity_image, (0,) * lab.ndim, lab.shape, R.needs_of(props), False)
    return R.table_columns(t, props, lab.ndim, sp, False)
