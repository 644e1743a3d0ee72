"""``regionprops_table``: every scikit-image region property, on chunks.

Two roads (see :data:`batchimg._regions.SPECS` for each property's):

- **one pass of partial sums** (``"sums"``): every block task sums, per label, what
  the properties need (counts, bounding boxes, coordinate sums, raw moments up to
  order 3 per axis, weighted moments, exact intensity sums and sums of squares,
  minima and maxima, local configuration counts for the perimeters and the Euler
  number); the small per-block tables merge exactly, and the properties are
  computed from the merged sums with scikit-image's formulas. Properties: label,
  area, num_pixels, area_bbox, bbox, extent, centroid, centroid_local,
  equivalent_diameter_area, moments, moments_central, moments_normalized,
  moments_hu, inertia_tensor, inertia_tensor_eigvals, eccentricity, orientation,
  axis_major_length, axis_minor_length, euler_number, perimeter,
  perimeter_crofton, centroid_weighted, centroid_weighted_local,
  moments_weighted, moments_weighted_central, moments_weighted_normalized,
  moments_weighted_hu, intensity_mean, intensity_min, intensity_max,
  intensity_std (and intensity_sum).
- **per object** (``"object"``): each region's bounding-box crop is gathered from
  the blocks it touches and measured by scikit-image (:mod:`._objects`):
  area_convex, image_convex, solidity, area_filled, image_filled,
  feret_diameter_max, intensity_median, image, image_intensity, coords,
  coords_scaled, slice, and ``extra_properties``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask
import numpy as np

from .. import _regions as R
from ..errors import InvalidParameterError
from ._inputs import as_intensity, as_labels
from ._objects import objects_delayed

SKIMAGE_DEFAULT = R.SKIMAGE_DEFAULT


def _sums_part(t, props, ndim, spacing, channels, separator, drop=frozenset()):
    """The columns of the sums-road properties ``props``.

    ``t`` is the merged table, or the list of tables to merge first (without the
    fields in ``drop``, which ``props`` do not read).
    """
    if isinstance(t, list):
        t = R.merge(*t, drop=drop)
    return R.table_columns(t, props, ndim, spacing, False, channels=channels, separator=separator)


def _keys(tables: list) -> dict:
    """The ``image`` and ``label`` columns of the merge of ``tables``."""
    return R.merge(*({"image": t["image"], "label": t["label"]} for t in tables))


def _sums_groups(props: Sequence[str]) -> list[tuple[tuple[str, ...], frozenset]]:
    """The sums-road properties in groups that share their costly intermediates.

    What derives from the weighted moments, what derives from the moments, and the
    rest: each group is one task, so the groups' columns are computed side by side
    and each written once, in its final place (a split by rows would need one more
    copy of every column to join the parts). With each group, the table fields it
    does not read (each group merges the per-block tables itself, of its own fields).
    """
    groups: dict[str, list[str]] = {"weighted": [], "moments": [], "rest": []}
    for p in props:
        c = R.canonical(p)
        if c.startswith(("moments_weighted", "centroid_weighted")):
            groups["weighted"].append(p)
        elif c.startswith(("moments", "inertia", "axis_", "centroid_local")) or c in (
            "eccentricity",
            "orientation",
        ):
            groups["moments"].append(p)
        else:
            groups["rest"].append(p)
    drop = {
        "weighted": frozenset({"mom"}),
        "moments": frozenset({"wmom"}),
        "rest": frozenset({"mom", "wmom"}),
    }
    return [(tuple(g), drop[k]) for k, g in groups.items() if g]


def _columns(
    t: dict,
    objects: dict | None,
    props: tuple,
    extra: tuple,
    ndim: int,
    spacing: tuple,
    stack: bool,
    channels: int | None,
    separator: str,
    has_intensity: bool,
    parts: list | None = None,
) -> dict[str, np.ndarray]:
    """All columns of the table, in order.

    The sums-road ones come from ``t`` (or from the ``parts`` of :func:`_sums_part`
    already computed), the rest from ``objects``.
    """
    rows = len(t["label"])
    sums = tuple(p for p in props if R.road_of(p) == "sums")
    if parts is None:
        parts = [_sums_part(t, sums, ndim, spacing, channels, separator)]
    summed = {k: v for part in parts for k, v in part.items()}
    data: dict[str, np.ndarray] = {}
    if stack:
        data["image"] = t["image"].astype(np.int64)
    objects = objects or {}
    for prop in props:
        if R.road_of(prop) == "sums":
            for out in R.columns_of(prop, ndim, channels, separator):
                data[out] = summed[out]
            if stack and R.canonical(prop) == "label":
                data["image_label"] = R.rank_within(t["image"])
        else:
            col = R.object_column(prop, [objects[i][prop] for i in range(rows)])
            if R.SPECS[R.canonical(prop)].kind == "object":
                data[prop] = col
                continue
            names = R.columns_of(prop, ndim, channels, separator)
            col = col.reshape((rows, len(names)))
            for j, out in enumerate(names):
                data[out] = col[:, j].astype(R.column_dtype(prop))
    for f in extra:
        name = f.__name__
        dtype = R.infer_dtype(f, has_intensity, ndim)
        if rows:
            values = [objects[i][name] for i in range(rows)]
        else:
            values = [_dummy_value(f, ndim, has_intensity, channels, spacing)]
        cols = R.extra_columns(name, values, dtype, separator)
        data.update({k: v[:rows] for k, v in cols.items()})
    return data


def _lazy_columns(table, objects, props, extra, ndim, sp, stack, channels, separator, intensity):
    """A delayed dict of columns; the sums-road columns in parallel groups of properties.

    ``table`` is the merged table, or (no per-object property) the delayed list of
    tables that each group merges itself.
    """
    sums = tuple(p for p in props if R.road_of(p) == "sums")
    parts = [
        dask.delayed(_sums_part, pure=True)(table, group, ndim, sp, channels, separator, drop)
        for group, drop in _sums_groups(sums)
    ]
    if objects is None:
        table = dask.delayed(_keys, pure=True)(table)
    return dask.delayed(_columns_of_parts, pure=True)(
        table, objects, props, extra, ndim, sp, stack, channels, separator, intensity, parts
    )


def _columns_of_parts(*args):
    return _columns(*args)


def _dummy_value(f, ndim, has_intensity, channels, spacing):
    """An extra property's value on scikit-image's one-pixel stand-in region (no regions)."""
    mask = np.zeros((3,) * ndim, bool)
    mask[(1,) * ndim] = True
    img = None
    if has_intensity:
        img = np.zeros((3,) * ndim + (() if channels is None else (channels,)))
    return R.crop_values(mask, img, (0,) * ndim, (), spacing, (f,))[f.__name__]


def _prepare(
    label_image,
    intensity_image,
    properties,
    separator,
    extra_properties,
    spacing,
    stack,
    crop_limit,
):
    lab = as_labels(label_image, like=intensity_image)
    img = None if intensity_image is None else as_intensity(intensity_image, lab)
    if not isinstance(stack, bool):
        raise InvalidParameterError(f"stack must be True or False; got {stack!r}.")
    if stack and lab.ndim < 2:
        raise InvalidParameterError(
            f"stack=True needs a label image of at least 2 dimensions; got shape {lab.shape}."
        )
    if not isinstance(separator, str):
        raise InvalidParameterError(f"separator must be a string; got {separator!r}.")
    ndim = lab.ndim - 1 if stack else lab.ndim
    props = R.normalize_properties(properties, img is not None, ndim)
    extra = R.check_extra(extra_properties, img is not None)
    sp = R.normalize_spacing(spacing, ndim)
    if not isinstance(crop_limit, int | np.integer) or crop_limit < 1:
        raise InvalidParameterError(f"crop_limit must be a positive integer; got {crop_limit!r}.")
    channels = None if img is None or img.ndim == lab.ndim else img.shape[-1]
    return lab, img, props, extra, sp, ndim, channels


def regionprops_delayed(
    label_image: Any,
    intensity_image: Any = None,
    properties: Sequence[str] = SKIMAGE_DEFAULT,
    *,
    separator: str = "-",
    extra_properties: Any = None,
    spacing: Any = None,
    stack: bool = False,
    crop_limit: int = R.CROP_LIMIT,
) -> Any:
    """Build the lazy core of :func:`regionprops_table`: a delayed DataFrame.

    Computing the result equals ``pandas.DataFrame(skimage.measure.regionprops_table(
    label_image, intensity_image, properties, separator=separator,
    extra_properties=extra_properties, spacing=spacing))`` on the whole arrays (see
    :func:`regionprops_table` for the columns and the exactness). Nothing is computed
    here: the graph holds one statistics task per block (for all one-pass properties
    at once, holding one block's partial sums) and a tree of merges; when a
    per-object property is asked for, one more task per block cuts the regions'
    pieces and a tree joins them (:mod:`batchimg.measure._objects`). A workflow runner
    can compute it together with other outputs.

    Parameters
    ----------
    label_image, intensity_image, properties, separator, extra_properties, spacing, stack, \
crop_limit
        As in :func:`regionprops_table`.

    Returns
    -------
    dask.delayed.Delayed
        Computes to a :class:`pandas.DataFrame` of the table.

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
    lab, img, props, extra, sp, ndim, channels = _prepare(
        label_image,
        intensity_image,
        properties,
        separator,
        extra_properties,
        spacing,
        stack,
        crop_limit,
    )
    obj_props = R.object_properties(props)
    needs = R.needs_of(props) | (frozenset({"bbox"}) if (obj_props or extra) else frozenset())
    table = R.stats_delayed(lab, img, needs, stack=stack, partials=not (obj_props or extra))
    objects = None
    if obj_props or extra:
        objects = objects_delayed(
            lab, img, table, obj_props, sp, extra, stack=stack, limit=int(crop_limit)
        )
    columns = _lazy_columns(
        table, objects, props, extra, ndim, sp, stack, channels, separator, img is not None
    )
    return dask.delayed(_frame, pure=True)(columns)


def _frame(columns):
    import pandas as pd

    return pd.DataFrame(columns)


def regionprops_table(
    label_image: Any,
    intensity_image: Any = None,
    properties: Sequence[str] = SKIMAGE_DEFAULT,
    *,
    cache: bool = True,
    separator: str = "-",
    extra_properties: Any = None,
    spacing: Any = None,
    stack: bool = False,
    crop_limit: int = R.CROP_LIMIT,
) -> dict[str, np.ndarray]:
    """Measure every labelled region; a sink that computes.

    Equals ``skimage.measure.regionprops_table(label_image, intensity_image,
    properties, separator=separator, extra_properties=extra_properties,
    spacing=spacing)`` on the whole arrays: a dict of numpy columns with the same
    names (``bbox-0``, ``moments_central-1-2``, ``intensity_mean-0`` for channel 0 of
    a multichannel image ...), order and dtypes, rows sorted by label.

    Exactness, tested against scikit-image across chunkings: integer columns are
    equal; so are, bit for bit and whatever the chunking, ``area``, ``area_bbox``,
    ``extent``, ``equivalent_diameter_area``, ``centroid`` and ``centroid_local``
    (without spacing), ``moments`` (raw moments of the region mask below ``2**53``),
    ``perimeter``, ``perimeter_crofton``, ``euler_number`` and every per-object
    property; ``intensity_mean``/``intensity_min``/``intensity_max`` and the weighted
    centroids and raw weighted moments of integer intensity images. The other float
    columns are roundings of the same exact quantities by another order of
    operations: central, normalized and Hu moments, the inertia tensor and its
    eigenvalues, eccentricity, orientation and the weighted moments agree within
    ``1e-9`` relative to the raw moment of the same order about the bounding-box
    corner (the scale of their terms); ``intensity_std`` and float-image means within
    ``(n + 8) * 2**-53`` relative; axis lengths within ``1e-6`` (a square root of a
    difference of eigenvalues). Unlike scikit-image, every nonzero label is a region
    (negative ones too) and bool label images are accepted.

    The module docstring lists which properties come from the one pass of
    per-block partial sums and which are measured per object from its
    bounding-box crop (their cost is set by the region; a region whose box holds
    more than ``crop_limit`` pixels is refused with its label named).

    Parameters
    ----------
    label_image : array_like or dask.array.Array of int
        Regions; 0 is background. Labels need not be sequential.
    intensity_image : array_like or dask.array.Array, optional
        Same shape as ``label_image``, or one more (last) axis of channels; needed by
        the ``intensity_*`` and weighted properties. Rechunked to the label image's
        chunks.
    properties : sequence of str
        scikit-image's property names (:data:`batchimg.measure.PROPERTIES`; its
        deprecated spellings are accepted and name their columns), plus
        ``intensity_sum``.
    cache : bool
        Accepted for scikit-image's signature (values are always computed once).
    separator : str
        Joins a property's name and the indices of its elements in column names.
    extra_properties : sequence of callable, optional
        Functions of ``(region_mask)`` or ``(region_mask, intensity)``, measured per
        object; the column takes the function's name.
    spacing : float or sequence of float, optional
        Pixel size per (measured) axis, as in scikit-image.
    stack : bool
        If True, axis 0 indexes images: labels are per image, each image is
        measured on its own (as scikit-image on ``label_image[i]``), and the table
        starts with an ``image`` column; with ``label`` requested an ``image_label``
        column follows it (the region's number within its image, 1, 2, ...).
    crop_limit : int
        The largest bounding box (pixels) a region may have when a per-object
        property is asked for.

    Returns
    -------
    dict of str to numpy.ndarray
        One array per column, one element per region.

    Raises
    ------
    InputError
        If ``label_image`` is not an integer array, the images' shapes differ, or a
        region's crop is larger than ``crop_limit``.
    InvalidParameterError
        For an unknown property, an intensity property without an intensity image,
        a 2-D-only property of a 3-D image, or a bad ``spacing``.

    See Also
    --------
    skimage.measure.regionprops_table : The oracle.
    regionprops_delayed : The lazy version (a DataFrame).

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.array([[0, 5, 5], [0, 0, 9]])
    >>> t = regionprops_table(lab, properties=["label", "area", "bbox"])
    >>> t["label"], t["area"], t["bbox-3"]
    (array([5, 9]), array([2., 1.]), array([3, 3]))
    """
    del cache
    lab, img, props, extra, sp, ndim, channels = _prepare(
        label_image,
        intensity_image,
        properties,
        separator,
        extra_properties,
        spacing,
        stack,
        crop_limit,
    )
    obj_props = R.object_properties(props)
    needs = R.needs_of(props) | (frozenset({"bbox"}) if (obj_props or extra) else frozenset())
    table = R.stats_delayed(lab, img, needs, stack=stack, partials=not (obj_props or extra))
    objects = None
    if obj_props or extra:
        objects = objects_delayed(
            lab, img, table, obj_props, sp, extra, stack=stack, limit=int(crop_limit)
        )
    columns = _lazy_columns(
        table, objects, props, extra, ndim, sp, stack, channels, separator, img is not None
    )
    (out,) = dask.compute(columns)
    return out


def regionprops_image(
    label_image: np.ndarray,
    intensity_image: np.ndarray | None = None,
    properties: Sequence[str] = SKIMAGE_DEFAULT,
    *,
    separator: str = "-",
    extra_properties: Any = None,
    spacing: Any = None,
):
    """:func:`regionprops_table` of one in-memory image as a DataFrame (no dask graph)."""
    import pandas as pd

    return pd.DataFrame(
        regionprops_columns(
            label_image,
            intensity_image,
            properties,
            separator=separator,
            extra_properties=extra_properties,
            spacing=spacing,
        )
    )


def regionprops_columns(
    label_image: np.ndarray,
    intensity_image: np.ndarray | None = None,
    properties: Sequence[str] = SKIMAGE_DEFAULT,
    *,
    separator: str = "-",
    extra_properties: Any = None,
    spacing: Any = None,
    crop_limit: int = R.CROP_LIMIT,
) -> dict[str, np.ndarray]:
    """:func:`regionprops_table` of one in-memory image, computed at once (no dask graph).

    The same values as :func:`regionprops_table`; for the many small images of a
    collection, where a graph per image would cost more than the work.
    """
    lab = np.asarray(label_image)
    img = None if intensity_image is None else np.asarray(intensity_image)
    ndim = lab.ndim
    props = R.normalize_properties(properties, img is not None, ndim)
    extra = R.check_extra(extra_properties, img is not None)
    sp = R.normalize_spacing(spacing, ndim)
    channels = None if img is None or img.ndim == lab.ndim else img.shape[-1]
    obj_props = R.object_properties(props)
    needs = R.needs_of(props) | (frozenset({"bbox"}) if (obj_props or extra) else frozenset())
    halo = R.halo_of(needs)
    source = np.pad(lab, halo) if halo else lab
    t = R.block_stats(source, img, (0,) * ndim, lab.shape, needs, False, halo)
    objects = None
    if obj_props or extra:
        objects = {}
        for i in range(len(t["label"])):
            lo, hi = t["bmin"][i], t["bmax"][i]
            R.check_crop(t["label"][i], lo, hi, crop_limit)
            sl = tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True))
            mask = lab[sl] == t["label"][i]
            objects[i] = R.crop_values(
                mask, None if img is None else img[sl], lo, obj_props, sp, extra
            )
    return _columns(t, objects, props, extra, ndim, sp, False, channels, separator, img is not None)
