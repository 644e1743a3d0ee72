"""scipy.ndimage's measurement functions over chunked label images."""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np

from .. import _regions as R
from .._overlap import as_dask
from .._params import normalize_int
from ..errors import InputError, InvalidParameterError
from ._inputs import as_labels

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
        merged = R.group(rows)
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
        lab = as_labels(labels, "labels", like=img)
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
    table = R.stats_delayed(lab, img, frozenset(needs))
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
    lab = as_labels(label_image)
    max_label = normalize_int(max_label, "max_label", minimum=0)
    t = R.stats_delayed(lab, None, frozenset({"bbox"})).compute()
    keep = t["label"] > 0
    labels, bmin, bmax = t["label"][keep], t["bmin"][keep], t["bmax"][keep]
    n = max_label if max_label > 0 else (int(labels.max()) if len(labels) else 0)
    out: list = [None] * n
    for lab_value, lo, hi in zip(labels.tolist(), bmin.tolist(), bmax.tolist(), strict=True):
        if lab_value <= n:
            out[lab_value - 1] = tuple(slice(a, b + 1) for a, b in zip(lo, hi, strict=True))
    return out
