"""Region filters and relabelling: keep regions by their measurements, renumbered."""

from __future__ import annotations

import warnings
from typing import Any

import dask
import numpy as np
import scipy.ndimage as ndi

from .. import _regions as R
from .._lazy import da
from .._overlap import as_dask
from .._params import normalize_int
from ..errors import InputError, InputTypeError, InvalidParameterError
from ..label import label as _label
from ._inputs import as_intensity, as_labels
from ._objects import objects_delayed

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


def _mapping(t, objects, node, props, ndim, spacing, dtype, renumber=True, channels=None):
    """The label mapping of a filter from a merged table (and per-object values)."""
    obj = R.object_properties(props)
    per_prop = {p: R.object_column(p, [objects[i][p] for i in range(len(t["label"]))]) for p in obj}
    make = R.filter_mapping if renumber else R.keep_mapping
    return make(t, node, props, ndim, spacing, dtype, objects=per_prop, channels=channels)


def _counts_only(lab: np.ndarray) -> dict | None:
    """The table of pixel counts by one ``bincount``, for labels no larger than the image.

    The same ``label``/``count`` fields as the statistics engine gives (labels in
    increasing order), at a fraction of its cost on the small, densely numbered
    label images of a collection; None where it does not apply.
    """
    if lab.dtype.kind not in "iu" or lab.size == 0 or int(lab.max()) > lab.size:
        return None
    flat = lab.ravel()
    if flat.dtype == np.uint64:  # bincount takes what casts safely to intp
        flat = flat.astype(np.intp)
    try:
        counts = np.bincount(flat, minlength=1)
    except ValueError:  # a negative label
        return None
    labels = np.flatnonzero(counts[1:]) + 1
    return {"label": labels.astype(np.int64), "count": counts[labels].astype(np.int64)}


def filter_regions_image(
    label_image: np.ndarray,
    where: str = "area > 10",
    intensity_image: np.ndarray | None = None,
    *,
    spacing: Any = None,
    renumber: bool = True,
) -> np.ndarray:
    """:func:`filter_regions` of one in-memory image, computed at once (numpy in and out).

    The same engine without a dask graph: for the many small images of a collection,
    where building and running a graph per image would cost more than the work. With
    ``renumber=False`` the kept labels keep their values (``remove_small_objects``).
    """
    lab = np.asarray(label_image)
    node = R.parse_where(where)
    props = R.filter_properties(lab.ndim, intensity_image is not None, node)
    sp = R.normalize_spacing(spacing, lab.ndim)
    needs = R.needs_of(props) | ({"first"} if renumber else set())
    obj = R.object_properties(props)
    halo = R.halo_of(needs)
    t = _counts_only(lab) if needs <= {"count"} else None
    if t is None:
        source = np.pad(lab, halo) if halo else lab
        t = R.block_stats(source, intensity_image, (0,) * lab.ndim, lab.shape, needs, False, halo)
    objects = {}
    for i in range(len(t["label"])) if obj else ():
        lo, hi = t["bmin"][i], t["bmax"][i]
        R.check_crop(t["label"][i], lo, hi, R.CROP_LIMIT)
        sl = tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True))
        img = None if intensity_image is None else np.asarray(intensity_image)[sl]
        objects[i] = R.crop_values(lab[sl] == t["label"][i], img, lo, obj, sp)
    mapping = _mapping(t, objects, node, props, lab.ndim, sp, lab.dtype, renumber)
    return R.apply_mapping(lab, mapping, lab.dtype)


def _filter(lab: da.Array, img: da.Array | None, node: tuple, spacing: Any) -> da.Array:
    ndim = lab.ndim
    props = R.filter_properties(ndim, img is not None, node)
    sp = R.normalize_spacing(spacing, ndim)
    table = R.stats_delayed(lab, img, R.needs_of(props) | {"first"})
    obj = R.object_properties(props)
    objects = None
    if obj:
        objects = objects_delayed(lab, img, table, obj, sp, (), stack=False, limit=R.CROP_LIMIT)
    mapping = dask.delayed(_mapping, pure=True)(table, objects, node, props, ndim, sp, lab.dtype)
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


def filter_mapping_delayed(
    labels: da.Array,
    where: str,
    intensity: da.Array | None = None,
    *,
    spacing: Any = None,
    stack: bool = False,
    renumber: bool = True,
) -> Any:
    """The label mapping of a region filter on a whole lazy label image, as a delayed.

    The mapping :func:`filter_regions` (``renumber``) or ``remove_small_objects`` of a
    label image (kept labels keep their values) applies: a lookup array or sorted
    ``(keys, values)`` for :func:`relabel`. Every property a filter may name is
    measured as :func:`regionprops_table` measures it (halos for perimeters and
    Euler numbers, crops for per-object properties). With ``stack``, axis 0 indexes
    images filtered on their own, and the result is ``{image: mapping}`` (images
    without regions absent).
    """
    ndim = labels.ndim - 1 if stack else labels.ndim
    node = R.parse_where(where)
    channels = None if intensity is None or intensity.ndim == labels.ndim else intensity.shape[-1]
    props = R.filter_properties(ndim, intensity is not None, node, channels)
    sp = R.normalize_spacing(spacing, ndim)
    table = R.stats_delayed(labels, intensity, R.needs_of(props) | {"first"}, stack=stack)
    obj = R.object_properties(props)
    objects = None
    if obj:
        objects = objects_delayed(
            labels, intensity, table, obj, sp, (), stack=stack, limit=R.CROP_LIMIT
        )
    return dask.delayed(_mappings, pure=True)(
        table, objects, node, props, ndim, sp, labels.dtype, renumber, stack, channels
    )


def _mappings(t, objects, node, props, ndim, spacing, dtype, renumber, stack, channels):
    if not stack:
        return _mapping(t, objects, node, props, ndim, spacing, dtype, renumber, channels)
    out = {}
    for image in np.unique(t["image"]):
        rows = np.flatnonzero(t["image"] == image)
        sub = {k: v[rows] for k, v in t.items()}
        objs = None if objects is None else {j: objects[i] for j, i in enumerate(rows)}
        out[int(image)] = _mapping(sub, objs, node, props, ndim, spacing, dtype, renumber, channels)
    return out


class _Deprecated:
    """The default of a deprecated parameter (shown as scikit-image shows it)."""

    def __repr__(self) -> str:
        return "<DEPRECATED>"


DEPRECATED = _Deprecated()


class _DefaultSize(int):
    """scikit-image's default ``max_size`` (64), told apart from an explicit 64."""

    def __repr__(self) -> str:
        return "64"


_MAX_SIZE = _DefaultSize(64)

_MIN_SIZE_WARNING = (
    "Parameter `min_size` is deprecated since version 0.26.0 and will be removed in 2.0.0 "
    "(or later). To avoid this warning, please use the parameter `max_size` instead. "
    "For more details, see the documentation of `remove_small_objects`. Note that the new "
    "threshold removes objects smaller than **or equal to** its value, while the previous "
    "parameter only removed smaller ones."
)


def _small_mapping(t: dict, threshold: int, inclusive: bool, warn_single: bool):
    """(keys, keep) of the labels to keep; checks the labels as scikit-image does."""
    labels, count = t["label"], t["count"]
    if len(labels) and labels[0] < 0:
        raise InputError(
            f"ar must hold non-negative labels; got label {int(labels[0])}. Hint: relabel "
            "with scipy.ndimage.label or batchimg.measure.label."
        )
    if warn_single and len(labels) and labels[-1] == 1:
        warnings.warn(
            "Only one label was provided to `remove_small_objects`. "
            "Did you mean to use a boolean array?",
            UserWarning,
            stacklevel=2,
        )
    small = count <= threshold if inclusive else count < threshold
    return labels, ~small


def remove_small_objects(
    ar: Any,
    min_size: Any = DEPRECATED,
    connectivity: int = 1,
    *,
    max_size: int = _MAX_SIZE,
    out: np.ndarray | None = None,
) -> Any:
    """Remove small objects, identical to ``skimage.morphology.remove_small_objects``.

    Equals scikit-image 0.26's function on the whole array: for a bool array the
    objects are its connected components (``connectivity`` as in
    ``scipy.ndimage.generate_binary_structure``, labelled across chunks by
    :func:`batchimg.label.label`); for an integer array each label is an object (its
    pixels need not be connected) and the kept labels keep their values. An object
    of ``max_size`` pixels or fewer is removed (set to 0 / False); the deprecated
    ``min_size`` removes objects of fewer than ``min_size`` pixels, with scikit-image's
    ``FutureWarning``. Sizes come from the one pass of per-block counts; removal is a
    second pass. Exact (integers).

    Parameters
    ----------
    ar : array_like or dask.array.Array of int or bool
        The objects; integer labels must be non-negative.
    min_size : int, optional
        Deprecated: remove objects smaller than this.
    connectivity : int
        Neighbourhood of a bool array's components (1 .. ``ar.ndim``).
    max_size : int
        Remove objects of this many pixels or fewer.
    out : numpy.ndarray, optional
        Filled with the result (computed), and returned.

    Returns
    -------
    dask.array.Array or numpy.ndarray
        ``ar`` with the small objects removed (same dtype), lazy; ``out`` when given.

    Raises
    ------
    InputTypeError
        If ``ar`` is not a bool or integer array.
    InputError
        If an integer ``ar`` holds a negative label (raised when computed).
    InvalidParameterError
        If both ``min_size`` and ``max_size`` are given, or a size is not an integer.

    See Also
    --------
    skimage.morphology.remove_small_objects : The oracle.
    filter_regions : Keep regions by any measurement, renumbered.

    Examples
    --------
    >>> import numpy as np
    >>> remove_small_objects(np.array([[5, 5, 0, 9]]), max_size=1).compute()
    array([[5, 5, 0, 0]])
    """
    x = as_dask(ar, "ar")
    if x.dtype != bool and x.dtype.kind not in "iu":
        raise InputTypeError(
            f"ar must be a bool or integer array; got dtype {x.dtype}. "
            "Hint: threshold or label the image first."
        )
    if out is not None and np.dtype(out.dtype) != x.dtype:
        x = x.astype(out.dtype)  # scikit-image works on ``out`` (ar copied into it)
    inclusive = True
    threshold = max_size
    if min_size is not DEPRECATED:
        warnings.warn(_MIN_SIZE_WARNING, FutureWarning, stacklevel=2)
        if max_size is not _MAX_SIZE:
            raise InvalidParameterError(
                "Both deprecated parameter `min_size` and new parameter `max_size` are used. "
                "Use only the latter to avoid conflicting values."
            )
        threshold, inclusive = min_size, False
    threshold = normalize_int(threshold, "min_size" if not inclusive else "max_size")
    if inclusive and threshold == 0:
        result = x.copy()
    elif x.dtype == bool:
        structure = ndi.generate_binary_structure(x.ndim, connectivity)
        lab, _ = _label(x, structure)
        table = R.stats_delayed(lab, None, frozenset())
        mapping = dask.delayed(_small_mapping, pure=True)(table, threshold, inclusive, False)
        result = x & relabel(lab, mapping, dtype=bool)
    else:
        table = R.stats_delayed(x, None, frozenset())
        mapping = dask.delayed(_small_mapping, pure=True)(table, threshold, inclusive, True)
        keep = relabel(x, mapping, dtype=bool)
        result = da.where(keep, x, np.zeros((), x.dtype))
    if out is not None:
        da.store(result, out, lock=False)
        return out
    return result
