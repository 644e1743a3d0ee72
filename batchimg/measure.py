"""One-pass per-region measurements over chunked label images.

Every measurement here is computed from per-block partial statistics (one task per
block for all requested properties, see :mod:`batchimg._reduce`) merged across
blocks by label, and equals scikit-image's ``regionprops_table`` or the
scipy.ndimage function of the same name on the whole in-memory array: integer
results exactly, float results up to the rounding of a different summation order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np

from . import _reduce
from ._overlap import as_dask
from ._params import _did_you_mean, normalize_int
from .errors import InputError, InvalidParameterError
from .label import label  # re-exported: batchimg.measure.label is scipy's place for it

#: property -> (statistic groups it needs, whether it needs an intensity image)
PROPERTIES: dict[str, tuple[frozenset, bool]] = {
    "label": (frozenset(), False),
    "area": (frozenset(), False),
    "bbox": (frozenset({"bbox"}), False),
    "centroid": (frozenset({"coords"}), False),
    "centroid_weighted": (frozenset({"wcoords", "isum"}), True),
    "intensity_sum": (frozenset({"isum"}), True),
    "intensity_mean": (frozenset({"isum"}), True),
    "intensity_min": (frozenset({"minmax"}), True),
    "intensity_max": (frozenset({"minmax"}), True),
    "intensity_std": (frozenset({"m2"}), True),
    "equivalent_diameter_area": (frozenset(), False),
    "extent": (frozenset({"bbox"}), False),
}

DEFAULT_PROPERTIES = ("label", "area", "centroid")


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------


def _as_labels(label_image: Any, name: str = "label_image", like: Any = None) -> da.Array:
    if (
        not isinstance(label_image, da.Array)
        and isinstance(like, da.Array)
        and np.shape(label_image) == like.shape
    ):
        label_image = da.from_array(np.asarray(label_image), chunks=like.chunks)
    lab = as_dask(label_image, name)
    if lab.dtype != bool and lab.dtype.kind not in "iu":
        raise InputError(
            f"{name} must be an integer (or bool) array; got dtype {lab.dtype}. "
            "Hint: convert a mask with scipy.ndimage.label or batchimg.measure.label."
        )
    return lab


def _as_intensity(intensity_image: Any, lab: da.Array, name: str = "intensity_image") -> da.Array:
    img = as_dask(intensity_image, name)
    if img.dtype != bool and img.dtype.kind not in "iuf":
        raise InputError(f"{name} must be a real numeric array; got dtype {img.dtype}.")
    if img.shape != lab.shape:
        raise InputError(
            f"{name} must have the label image's shape {lab.shape}; got shape {img.shape}."
        )
    if img.chunks != lab.chunks:
        img = img.rechunk(lab.chunks)
    return img


def _normalize_properties(properties: Any, has_intensity: bool) -> tuple[str, ...]:
    if isinstance(properties, str):
        properties = (properties,)
    if not isinstance(properties, Sequence) or not properties:
        raise InvalidParameterError(
            f"properties must be a non-empty sequence of property names; got {properties!r}."
        )
    out = []
    for p in properties:
        if p not in PROPERTIES:
            raise InvalidParameterError(
                f"properties must be among {', '.join(PROPERTIES)}; got {p!r}."
                f"{_did_you_mean(p, list(PROPERTIES))}"
            )
        if PROPERTIES[p][1] and not has_intensity:
            raise InvalidParameterError(
                f"property {p!r} needs an intensity image; got intensity_image=None."
            )
        if p not in out:
            out.append(p)
    return tuple(out)


def _normalize_spacing(spacing: Any, n: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * n
    from ._params import normalize_sequence

    out = normalize_sequence(spacing, n, "spacing")
    if any(not (s > 0 and math.isfinite(s)) for s in out):
        raise InvalidParameterError(
            f"spacing must be positive and finite on every axis; got {spacing!r}."
        )
    return out


def _needs(properties: Sequence[str]) -> frozenset:
    needs = frozenset()
    for p in properties:
        needs |= PROPERTIES[p][0]
    return needs


# ---------------------------------------------------------------------------
# tables -> columns
# ---------------------------------------------------------------------------


def _columns(prop: str, ndim: int) -> list[str]:
    if prop == "bbox":
        return [f"bbox-{i}" for i in range(2 * ndim)]
    if prop in ("centroid", "centroid_weighted"):
        return [f"{prop}-{i}" for i in range(ndim)]
    return [prop]


def _column_dtype(prop: str) -> Any:
    return np.int64 if prop in ("label", "bbox") else np.float64


def _prop_values(t: dict, prop: str, ndim: int, spacing: tuple[float, ...]) -> np.ndarray:
    """Return the values of ``prop`` for every row of a merged table, shape (rows, columns)."""
    count = t["count"].astype(np.float64)
    sp = np.asarray(spacing, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if prop == "label":
            return t["label"][:, None]
        if prop == "area":
            return (count * np.prod(sp))[:, None]
        if prop == "bbox":
            return np.concatenate([t["bmin"], t["bmax"] + 1], axis=1)
        if prop == "centroid":
            return t["csum"] / count[:, None] * sp
        if prop == "centroid_weighted":
            return t["wcsum"] / t["isum"][:, None] * sp
        if prop == "intensity_sum":
            return t["isum"][:, None]
        if prop == "intensity_mean":
            return (t["isum"] / count)[:, None]
        if prop == "intensity_min":
            return t["imin"].astype(np.float64)[:, None]
        if prop == "intensity_max":
            return t["imax"].astype(np.float64)[:, None]
        if prop == "intensity_std":
            return np.sqrt(t["m2"] / count)[:, None]
        if prop == "equivalent_diameter_area":
            area = count * np.prod(sp)
            return ((2 * ndim * area / np.pi) ** (1.0 / ndim))[:, None]
        if prop == "extent":
            box = np.prod((t["bmax"] + 1 - t["bmin"]).astype(np.float64), axis=1)
            return (count / box)[:, None]
    raise AssertionError(prop)  # pragma: no cover - properties are validated up front


def _frame(t: dict, properties: Sequence[str], ndim: int, spacing: tuple, stack: bool):
    import pandas as pd

    return pd.DataFrame(_table_columns(t, properties, ndim, spacing, stack))


def _table_columns(
    t: dict, properties: Sequence[str], ndim: int, spacing: tuple, stack: bool
) -> dict[str, np.ndarray]:
    """The table's columns, in order (what :func:`_frame` wraps in a DataFrame)."""
    data: dict[str, np.ndarray] = {}
    if stack:
        data["image"] = t["image"].astype(np.int64)
    for prop in properties:
        values = _prop_values(t, prop, ndim, spacing)
        for j, col in enumerate(_columns(prop, ndim)):
            data[col] = np.ascontiguousarray(values[:, j]).astype(_column_dtype(prop))
        if stack and prop == "label":
            data["image_label"] = _rank_within(t["image"])
    return data


def _rank_within(image: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal ``image`` values (rows sorted by image, label)."""
    if len(image) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, image[1:] != image[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, len(image)]))
    return (np.arange(len(image)) - run + 1).astype(np.int64)


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
    lab = _as_labels(label_image, like=intensity_image)
    img = None if intensity_image is None else _as_intensity(intensity_image, lab)
    props = _normalize_properties(properties, img is not None)
    if not isinstance(stack, bool):
        raise InvalidParameterError(f"stack must be True or False; got {stack!r}.")
    if stack and lab.ndim < 2:
        raise InvalidParameterError(
            f"stack=True needs a label image of at least 2 dimensions; got shape {lab.shape}."
        )
    ndim = lab.ndim - 1 if stack else lab.ndim
    sp = _normalize_spacing(spacing, ndim)
    table = _reduce.stats_delayed(lab, img, _needs(props), stack=stack)
    return dask.delayed(_frame, pure=True)(table, props, ndim, sp, stack)


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


# ---------------------------------------------------------------------------
# scipy.ndimage-compatible statistics
# ---------------------------------------------------------------------------


def _normalize_index(index: Any) -> tuple[str, np.ndarray | None]:
    if index is None:
        return "positive", None
    arr = np.asarray(index)
    if arr.dtype == object or (arr.dtype != bool and arr.dtype.kind not in "iuf"):
        raise InvalidParameterError(f"index must be None, a label or labels; got {index!r}.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InvalidParameterError(f"index must hold whole numbers; got {index!r}.")
    arr = arr.astype(np.int64)
    return ("one" if arr.ndim == 0 else "many"), arr


def _select(t: dict, mode: str, index: np.ndarray | None) -> tuple[dict, np.ndarray]:
    """Rows of ``t`` for the requested regions and whether each one exists."""
    if mode in ("all", "positive", "one"):
        if mode == "positive":
            keep = t["label"] > 0
        elif mode == "one":
            keep = t["label"] == int(index)
        else:
            keep = np.ones(len(t["label"]), bool)
        rows = {k: v[keep] for k, v in t.items()}
        rows["label"] = np.ones(len(rows["label"]), np.int64)
        rows["image"] = np.zeros(len(rows["label"]), np.int64)
        merged = _reduce.group(rows)
        found = np.array([len(merged["label"]) == 1])
        if not found[0]:
            merged = {k: np.zeros((1,) + v.shape[1:], v.dtype) for k, v in merged.items()}
        return merged, found
    flat = index.ravel()
    labels = t["label"]
    pos = np.clip(np.searchsorted(labels, flat), 0, max(len(labels) - 1, 0))
    found = (labels[pos] == flat) if len(labels) else np.zeros(len(flat), bool)
    rows = {}
    for k, v in t.items():
        taken = v[pos] if len(v) else np.zeros((len(flat),) + v.shape[1:], v.dtype)
        mask = found.reshape((-1,) + (1,) * (taken.ndim - 1))
        rows[k] = np.where(mask, taken, np.zeros((), v.dtype))
    return rows, found


def _finish(t: dict, mode: str, index: Any, stat: str, dtype: Any, shape: tuple) -> np.ndarray:
    rows, found = _select(t, mode, index)
    count = rows["count"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if stat == "sum_labels":
            out = rows["isum"]
        elif stat == "mean":
            out = rows["isum"] / count
        elif stat in ("variance", "standard_deviation"):
            out = rows["m2"] / count
            if stat == "standard_deviation":
                out = np.sqrt(out)
        elif stat == "minimum":
            out = rows["imin"]
        elif stat == "maximum":
            out = rows["imax"]
        else:  # center_of_mass
            out = rows["wcsum"] / rows["isum"][:, None]
    if stat in ("mean", "variance", "standard_deviation", "center_of_mass"):
        out = np.where(found.reshape((-1,) + (1,) * (out.ndim - 1)), out, np.nan)
    return np.asarray(out).astype(dtype).reshape(shape)


def _scipy_stat(stat: str, image: Any, labels: Any, index: Any) -> da.Array:
    img = as_dask(image, "image")
    if img.dtype != bool and img.dtype.kind not in "iuf":
        raise InputError(f"image must be a real numeric array; got dtype {img.dtype}.")
    if labels is None:
        lab = da.ones(img.shape, chunks=img.chunks, dtype=np.uint8)
        mode, idx = "all", None
    else:
        lab = _as_labels(labels, "labels", like=img)
        if lab.shape != img.shape:
            try:
                shape = np.broadcast_shapes(lab.shape, img.shape)
            except ValueError:
                raise InputError(
                    f"labels must have the image's shape {img.shape} (or broadcast to it); "
                    f"got shape {lab.shape}."
                ) from None
            lab = da.broadcast_to(lab, shape)
            img = da.broadcast_to(img, shape)
        img = img.rechunk(lab.chunks)
        mode, idx = _normalize_index(index)
    needs = {
        "sum_labels": {"isum"},
        "mean": {"isum"},
        "variance": {"m2"},
        "standard_deviation": {"m2"},
        "minimum": {"minmax"},
        "maximum": {"minmax"},
        "center_of_mass": {"wcoords", "isum"},
    }[stat]
    shape: tuple = () if mode != "many" else idx.shape
    if stat == "center_of_mass":
        shape = shape + (img.ndim,)
    if stat in ("minimum", "maximum"):
        dtype = img.dtype
    elif stat == "sum_labels" and mode != "many":
        dtype = np.zeros(1, img.dtype).sum().dtype
    else:
        dtype = np.dtype(np.float64)
    table = _reduce.stats_delayed(lab, img, frozenset(needs))
    result = dask.delayed(_finish, pure=True)(table, mode, idx, stat, dtype, shape)
    return da.from_delayed(
        result, shape=shape, dtype=dtype, meta=np.empty((0,) * len(shape), dtype)
    )


_SCIPY_DOC = """Equals ``scipy.ndimage.{name}(image, labels, index)`` on the whole arrays.

    {what} Same ``index`` semantics as scipy: ``labels=None`` measures the whole
    image; ``index=None`` measures all pixels with a label > 0 as one region; a
    scalar measures that label; a sequence (or array) measures each label, the
    result taking the index's shape{trail}. {exact} The result is a lazy dask array
    (of shape known from ``index``) rather than a numpy scalar{tuple}; a label
    absent from the image gives {absent}.

    Parameters
    ----------
    image : array_like or dask.array.Array
        The values to measure.
    labels : array_like or dask.array.Array of int, optional
        The regions; broadcast against ``image`` as in scipy.
    index : int or sequence of int, optional
        The labels to measure.

    Returns
    -------
    dask.array.Array
        {returns}

    Raises
    ------
    InputError
        If ``labels`` is not an integer array or does not broadcast to the image.
    InvalidParameterError
        If ``index`` is not integral.

    See Also
    --------
    scipy.ndimage.{name} : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> lab = np.array([[1, 1, 0], [2, 2, 2]])
    >>> {name}(img, lab, [1, 2]).compute()
    {example}
"""

_FLOAT_EXACT = "Results agree with scipy to rtol 1e-10 (a different summation order)."


def _scipy_doc(name: str, what: str, returns: str, example: str, **kw: str) -> str:
    return _SCIPY_DOC.format(
        name=name,
        what=what,
        returns=returns,
        example=example,
        trail=kw.get("trail", ""),
        exact=kw.get("exact", _FLOAT_EXACT),
        tuple=kw.get("tuple", ""),
        absent=kw.get("absent", "NaN, as in scipy"),
    )


def sum_labels(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("sum_labels", image, labels, index)


def mean(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("mean", image, labels, index)


def variance(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("variance", image, labels, index)


def standard_deviation(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("standard_deviation", image, labels, index)


def minimum(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("minimum", image, labels, index)


def maximum(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("maximum", image, labels, index)


def center_of_mass(image: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return _scipy_stat("center_of_mass", image, labels, index)


_INT_EXACT = (
    "Sums are accumulated in float64 (exact for integer images while a sum stays "
    "below 2**53); scipy's dtype is kept: float64 for a sequence index, numpy's sum "
    "dtype otherwise. Results agree with scipy to rtol 1e-10."
)
sum_labels.__doc__ = _scipy_doc(
    "sum_labels",
    "The sum of the image over each region.",
    "float64 of the index's shape for a sequence index; else a 0-d array.",
    "array([ 3., 15.])",
    exact=_INT_EXACT,
    absent="0, as in scipy",
)
mean.__doc__ = _scipy_doc(
    "mean",
    "The mean of the image over each region.",
    "float64, of the index's shape (0-d for a scalar or None).",
    "array([1.5, 5. ])",
)
variance.__doc__ = _scipy_doc(
    "variance",
    "The population variance of the image over each region, from per-block "
    "(count, mean, M2) merged with Chan's parallel formula.",
    "float64, of the index's shape (0-d for a scalar or None).",
    "array([0.25      , 0.66666667])",
)
standard_deviation.__doc__ = _scipy_doc(
    "standard_deviation",
    "The population standard deviation of the image over each region.",
    "float64, of the index's shape (0-d for a scalar or None).",
    "array([0.5       , 0.81649658])",
)
minimum.__doc__ = _scipy_doc(
    "minimum",
    "The smallest image value over each region.",
    "The image's dtype, of the index's shape (0-d for a scalar or None).",
    "array([1., 4.])",
    exact="Results are exact.",
    absent="0 (as scipy for a sequence index; scipy raises for a scalar one)",
)
maximum.__doc__ = _scipy_doc(
    "maximum",
    "The largest image value over each region.",
    "The image's dtype, of the index's shape (0-d for a scalar or None).",
    "array([2., 6.])",
    exact="Results are exact.",
    absent="0 (as scipy for a sequence index; scipy raises for a scalar one)",
)
center_of_mass.__doc__ = _scipy_doc(
    "center_of_mass",
    "The intensity-weighted centroid of each region.",
    "float64 of shape ``index.shape + (image.ndim,)`` (``(image.ndim,)`` for a scalar or None).",
    "array([[0.        , 0.66666667],\n           [1.        , 1.13333333]])",
    trail=" plus one trailing axis of coordinates",
    tuple=" (scipy's tuple, or list of tuples, becomes a trailing axis)",
)


def find_objects(label_image: Any, max_label: int = 0) -> list:
    """Find the bounding slices of every label; a sink that computes.

    Equals ``scipy.ndimage.find_objects(label_image, max_label)`` on the whole
    array exactly: a list whose item ``i`` is the tuple of slices bounding label
    ``i + 1``, or None where that label is absent; its length is the largest label
    (or ``max_label`` when it is > 0). Labels <= 0 are ignored. The bounding boxes
    come from the same per-block statistics as :func:`regionprops_table`.

    Parameters
    ----------
    label_image : array_like or dask.array.Array of int
        The regions.
    max_label : int
        Only labels ``1..max_label`` are reported (0 means all).

    Returns
    -------
    list of tuple of slice or None

    Raises
    ------
    InputError
        If ``label_image`` is not an integer array.
    InvalidParameterError
        If ``max_label`` is not a non-negative integer.

    See Also
    --------
    scipy.ndimage.find_objects : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> find_objects(np.array([[0, 2, 2], [0, 0, 0]]))
    [None, (slice(0, 1, None), slice(1, 3, None))]
    """
    lab = _as_labels(label_image)
    max_label = normalize_int(max_label, "max_label", minimum=0)
    t = _reduce.stats_delayed(lab, None, frozenset({"bbox"})).compute()
    keep = t["label"] > 0
    labels, bmin, bmax = t["label"][keep], t["bmin"][keep], t["bmax"][keep]
    n = max_label if max_label > 0 else (int(labels.max()) if len(labels) else 0)
    out: list = [None] * n
    for lab_value, lo, hi in zip(labels.tolist(), bmin.tolist(), bmax.tolist(), strict=True):
        if lab_value <= n:
            out[lab_value - 1] = tuple(slice(a, b + 1) for a, b in zip(lo, hi, strict=True))
    return out


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
    lab = _as_labels(label_image)
    dtype = lab.dtype if dtype is None else np.dtype(dtype)
    return da.map_blocks(
        _reduce.apply_mapping,
        lab,
        mapping,
        dtype,
        dtype=dtype,
        meta=np.empty((0,) * lab.ndim, dtype),
    )


def _filter_mapping(t: dict, node: tuple, props: tuple, ndim: int, spacing: tuple, dtype):
    """(keys, values): kept labels renumbered 1..K in raster order of their first pixel."""
    columns = _table_columns(t, props, ndim, spacing, False)
    keep = np.asarray(_reduce.evaluate(node, columns), bool)
    keys = t["label"]
    values = np.zeros(len(keys), dtype)
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(t["first"][kept], kind="stable")]
    values[order] = np.arange(1, len(order) + 1)
    if len(keys) and keys[0] >= 0 and keys[-1] < max(4 * len(keys), 1 << 20):
        lut = np.zeros(int(keys[-1]) + 1, dtype)
        lut[keys] = values
        return lut
    return keys, values


def _filter_props(ndim: int, has_image: bool, node: tuple) -> tuple[str, ...]:
    """Check the columns a filter names; return the properties it needs measured."""
    columns = {c: p for p in PROPERTIES for c in _columns(p, ndim)}
    for col in sorted(_reduce.where_columns(node)):
        if col not in columns:
            raise InvalidParameterError(
                f"where must name measurement columns; got unknown column {col!r}."
                f"{_did_you_mean(col, list(columns))}"
            )
        if PROPERTIES[columns[col]][1] and not has_image:
            raise InvalidParameterError(
                f"column {col!r} in where needs an intensity image; got intensity_image=None."
            )
    return tuple(sorted({columns[c] for c in _reduce.where_columns(node)}))


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
    node = _reduce.parse_where(where)
    props = _filter_props(lab.ndim, intensity_image is not None, node)
    sp = _normalize_spacing(spacing, lab.ndim)
    t = _reduce.block_stats(
        lab, intensity_image, (0,) * lab.ndim, lab.shape, _needs(props) | {"first"}, False
    )
    mapping = _filter_mapping(t, node, props, lab.ndim, sp, lab.dtype)
    return _reduce.apply_mapping(lab, mapping, lab.dtype)


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
    props = _normalize_properties(properties, intensity_image is not None)
    sp = _normalize_spacing(spacing, lab.ndim)
    t = _reduce.block_stats(lab, intensity_image, (0,) * lab.ndim, lab.shape, _needs(props), False)
    return _table_columns(t, props, lab.ndim, sp, False)


def _filter(lab: da.Array, img: da.Array | None, node: tuple, spacing: Any) -> da.Array:
    ndim = lab.ndim
    props = _filter_props(ndim, img is not None, node)
    sp = _normalize_spacing(spacing, ndim)
    table = _reduce.stats_delayed(lab, img, _needs(props) | {"first"})
    mapping = dask.delayed(_filter_mapping, pure=True)(table, node, props, ndim, sp, lab.dtype)
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
    lab = _as_labels(label_image, like=intensity_image)
    img = None if intensity_image is None else _as_intensity(intensity_image, lab)
    return _filter(lab, img, _reduce.parse_where(where), spacing)


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
    lab = _as_labels(label_image)
    min_size = normalize_int(min_size, "min_size", minimum=0)
    return _filter(lab, None, ("cmp", "area", ">=", float(min_size)), None)


__all__ = [
    "center_of_mass",
    "filter_regions",
    "find_objects",
    "label",
    "maximum",
    "mean",
    "minimum",
    "regionprops_delayed",
    "regionprops_table",
    "relabel",
    "remove_small_objects",
    "standard_deviation",
    "sum_labels",
    "variance",
]
