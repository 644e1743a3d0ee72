"""scipy.ndimage's measurement functions over chunked label images, from partial sums.

Every function here takes scipy 1.17's parameters (``input, labels=None,
index=None``) with scipy's meaning: ``labels=None`` measures the whole array;
``index=None`` measures all pixels with a label > 0 as one region; a scalar
measures that label (0, the background, too); a sequence or array measures each
label, the result taking the index's shape. One task per block computes what the
function needs for every label at once (:mod:`batchimg._regions.stats`), a tree of
merges combines the blocks, and one small task finishes; the result is lazy.

Exactness: integer results, minima, maxima and positions are exact. Sums are the
exact sum rounded once (float64 limbs, :mod:`batchimg._regions.exact`), so they do
not depend on the chunking and equal scipy's whenever scipy's own float64
accumulation is exact (integer and bool images below ``2**53``); otherwise they
differ from scipy's by at most scipy's rounding error, ``(n - 1) * 2**-53 * sum(|x|)``
for ``n`` pixels. Means divide that sum by the count, as scipy does; variances come
from the exact sum and exact sum of squares in double-double arithmetic (within
1 ulp of the exact population variance unless the standard deviation is below
``1e-7`` of the mean).
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np

from .. import _regions as R
from .._overlap import as_dask
from .._params import normalize_int
from ..errors import InputError, InputTypeError, InvalidParameterError
from ._inputs import as_labels
from ._structured import structured


def _as_input(input: Any) -> da.Array:
    img = as_dask(input, "input")
    if img.dtype.kind == "c":
        raise InputTypeError(
            f"input must be real; got dtype {img.dtype}. Hint: measure the real and "
            "imaginary parts separately."
        )
    if img.dtype != bool and img.dtype.kind not in "iuf":
        raise InputTypeError(f"input must be a real numeric array; got dtype {img.dtype}.")
    return img


def normalize_index(index: Any) -> tuple[str, Any]:
    """``("positive", None)``, ``("one", value)`` or ``("many", int64 array)`` from ``index``."""
    if index is None:
        return "positive", None
    if np.isscalar(index):
        if isinstance(index, str | bytes):
            raise InvalidParameterError(f"index must be None, a label or labels; got {index!r}.")
        return "one", index
    arr = np.asarray(index)
    if arr.dtype == object or (arr.dtype != bool and arr.dtype.kind not in "iuf"):
        raise InvalidParameterError(f"index must be None, a label or labels; got {index!r}.")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"index must hold finite labels; got {index!r}.")
    return "many", arr.astype(np.int64)  # scipy casts a sequence to int (truncating)


def _one_label(value: Any) -> int | None:
    """The label a scalar index matches (None when no integer label can equal it)."""
    v = float(value) if not isinstance(value, int | np.integer) else int(value)
    if isinstance(v, float) and (not np.isfinite(v) or v != int(v)):
        return None
    return int(v)


def setup(input: Any, labels: Any, index: Any) -> tuple:
    """``(image, labels, mode, index, background)`` for a scipy-style measurement."""
    img = _as_input(input)
    if labels is None:
        lab = da.ones(img.shape, chunks=img.chunks, dtype=np.uint8)
        return img, lab, "all", None, False
    lab = as_labels(labels, "labels", like=img)
    if lab.shape != img.shape:
        try:
            shape = np.broadcast_shapes(lab.shape, img.shape)
        except ValueError:
            raise InputError(
                f"labels must have the input's shape {img.shape} (or broadcast to it); "
                f"got shape {lab.shape}."
            ) from None
        lab = da.broadcast_to(lab, shape)
        img = da.broadcast_to(img, shape)
    img = img.rechunk(lab.chunks)
    mode, idx = normalize_index(index)
    if mode == "one":
        one = _one_label(idx)
        background = one == 0
        idx = one
    else:
        background = mode == "many" and bool(np.any(idx == 0))
    return img, lab, mode, idx, background


def select(t: dict, mode: str, index: Any) -> tuple[dict, np.ndarray]:
    """Rows of ``t`` for the requested regions (one merged row for a single group)."""
    if mode in ("all", "positive", "one"):
        if mode == "positive":
            keep = t["label"] > 0
        elif mode == "one":
            keep = t["label"] == index if index is not None else np.zeros(len(t["label"]), bool)
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


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    return np.zeros(1, dtype).sum().dtype


def isum(rows: dict) -> np.ndarray:
    """Exact intensity sums per row: int64 for integer images, else correctly rounded float64."""
    if "isum" in rows:
        return rows["isum"][:, 0]
    return R.round_limbs(rows["isum_x"][:, 0])


class _Empty:
    """Raises scipy's error for a reduction over no pixels, when computed."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self) -> None:
        raise InputError(
            f"{self.name} of no pixels: the region is empty (scipy raises too: zero-size "
            "array to reduction operation with no identity)."
        )


def finish(t: dict, mode: str, index: Any, stat: str, idtype: np.dtype, ndim: int):
    """The finished statistic ``stat`` (see :func:`measure`) as a numpy array."""
    rows, found = select(t, mode, index)
    single = mode != "many"
    count = rows["count"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if stat == "sum_labels":
            s = isum(rows)
            out = s.astype(_sum_dtype(idtype)) if single else s.astype(np.float64)
        elif stat == "mean":
            out = isum(rows).astype(np.float64) / count
        elif stat in ("variance", "standard_deviation"):
            out = R.variance_from(rows, rows["count"], 1)[:, 0]
            out = np.where(found, out, np.nan)
            if stat == "standard_deviation":
                out = np.sqrt(out)
        elif stat in ("minimum", "maximum"):
            if single and not found[0]:
                _Empty(stat)()
            key = "imin" if stat == "minimum" else "imax"
            out = rows[key][:, 0].copy()
            if idtype.kind == "f":
                nan = rows["nnan"][:, 0] > 0
                if stat == "maximum" or single:
                    out[nan] = np.nan
            out[~found] = 0
        elif stat in ("minimum_position", "maximum_position"):
            if single and not found[0]:
                _Empty(stat)()
            key = "pmin_i" if stat == "minimum_position" else ("pmax_i" if single else "pmaxl_i")
            out = np.where(found, rows[key], 0)
        else:  # center_of_mass
            s = isum(rows)
            if single and idtype.kind == "f":
                s = s.astype(_sum_dtype(idtype))
            num = np.stack([R.round_limbs(rows["wcs_x"][:, k]) for k in range(ndim)], axis=-1)
            out = num / s.astype(np.float64)[:, None] if ndim else num
    return out


_NEEDS = {
    "sum_labels": {"isum"},
    "mean": {"isum"},
    "variance": {"isum", "isq"},
    "standard_deviation": {"isum", "isq"},
    "minimum": {"minmax"},
    "maximum": {"minmax"},
    "minimum_position": {"positions"},
    "maximum_position": {"positions"},
    "center_of_mass": {"isum", "wcoords"},
}


def _result_dtype(stat: str, idtype: np.dtype, single: bool) -> np.dtype:
    if stat == "sum_labels":
        return _sum_dtype(idtype) if single else np.dtype(np.float64)
    if stat in ("minimum", "maximum"):
        return idtype
    if stat in ("minimum_position", "maximum_position"):
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def table(img, lab, stat_set, background):
    return R.stats_delayed(lab, img, frozenset(stat_set), background=background)


def measure(stat: str, input: Any, labels: Any, index: Any) -> da.Array:
    """A scipy-style statistic as a lazy array (see the module docstring)."""
    img, lab, mode, idx, background = setup(input, labels, index)
    t = table(img, lab, _NEEDS[stat], background)
    return lazy(t, stat, mode, idx, img.dtype, img.shape)


def lazy(t: Any, stat: str, mode: str, idx: Any, idtype: np.dtype, shape: tuple) -> da.Array:
    """The finished statistic as a lazy array with scipy's shape and structure."""
    ndim = len(shape)
    single = mode != "many"
    dtype = _result_dtype(stat, idtype, single)
    n = 1 if single else idx.size
    if stat in ("minimum_position", "maximum_position"):
        flat = dask.delayed(finish, pure=True)(t, mode, idx, stat, idtype, ndim)
        pos = da.from_delayed(flat, shape=(n,), dtype=np.int64, meta=np.empty(0, np.int64))
        return positions(pos, shape, single)
    out_shape = (n, ndim) if stat == "center_of_mass" else (n,)
    value = dask.delayed(finish, pure=True)(t, mode, idx, stat, idtype, ndim)
    x = da.from_delayed(
        value, shape=out_shape, dtype=dtype, meta=np.empty((0,) * len(out_shape), dtype)
    )
    if stat == "center_of_mass":
        if single:
            return structured(x[0], "tuple")
        x = x.reshape(idx.shape + (ndim,))
        # scipy returns [tuple(v) for v in np.array(per_axis).T]: that layout
        order = tuple(range(idx.ndim - 1, -1, -1)) + (idx.ndim,)
        return structured(x.transpose(order), "tuples")
    if single:
        return structured(x[0], "scalar")
    return x.reshape(idx.shape)


def positions(flat: da.Array, shape: tuple, single: bool) -> da.Array:
    """Raster indices as scipy's position tuples (one, or a list)."""
    ndim = len(shape)
    dims = np.array(shape, np.int64)
    prod = np.cumprod([1] + list(dims[:0:-1]))[::-1].astype(np.int64)
    coords = (flat[:, None] // prod) % dims if ndim else flat[:, None][:, :0]
    if single:
        return structured(coords[0], "tuple")
    return structured(coords, "tuples")


def sum_labels(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("sum_labels", input, labels, index)


def sum(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: A001, D103
    return measure("sum_labels", input, labels, index)


def mean(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("mean", input, labels, index)


def variance(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("variance", input, labels, index)


def standard_deviation(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("standard_deviation", input, labels, index)


def minimum(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("minimum", input, labels, index)


def maximum(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("maximum", input, labels, index)


def minimum_position(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("minimum_position", input, labels, index)


def maximum_position(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("maximum_position", input, labels, index)


def center_of_mass(input: Any, labels: Any = None, index: Any = None) -> da.Array:  # noqa: D103
    return measure("center_of_mass", input, labels, index)


def extrema(input: Any, labels: Any = None, index: Any = None) -> tuple:  # noqa: D103
    img, lab, mode, idx, background = setup(input, labels, index)
    t = table(img, lab, {"minmax", "positions"}, background)
    lo = lazy(t, "minimum", mode, idx, img.dtype, img.shape)
    hi = lazy(t, "maximum", mode, idx, img.dtype, img.shape)
    lo_pos = lazy(t, "minimum_position", mode, idx, img.dtype, img.shape)
    hi_pos = lazy(t, "maximum_position", mode, idx, img.dtype, img.shape)
    return lo, hi, lo_pos, hi_pos


def find_objects(input: Any, max_label: int = 0) -> list:
    """Find the bounding slices of every label; a sink that computes.

    Equals ``scipy.ndimage.find_objects(input, max_label)`` on the whole array
    exactly: a list whose item ``i`` is the tuple of slices bounding label ``i + 1``,
    or None where that label is absent; its length is the largest label (or
    ``max_label`` when it is > 0). Labels <= 0 are ignored. The bounding boxes come
    from the one pass of per-block partial statistics (exact for any chunking).

    Parameters
    ----------
    input : array_like or dask.array.Array of int
        The regions.
    max_label : int
        Only labels ``1..max_label`` are reported (0 means all).

    Returns
    -------
    list of tuple of slice or None

    Raises
    ------
    InputTypeError
        If ``input`` is not an integer array (scipy raises ``TypeError``).
    InvalidParameterError
        If ``max_label`` is not an integer.

    See Also
    --------
    scipy.ndimage.find_objects : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> find_objects(np.array([[0, 2, 2], [0, 0, 0]]))
    [None, (slice(0, 1, None), slice(1, 3, None))]
    """
    lab = as_dask(input, "input")
    if lab.dtype.kind not in "iu":
        raise InputTypeError(f"input must be an integer array; got dtype {lab.dtype}.")
    max_label = normalize_int(max_label, "max_label")
    t = R.stats_delayed(lab, None, frozenset({"bbox"})).compute()
    keep = t["label"] > 0
    labels, bmin, bmax = t["label"][keep], t["bmin"][keep], t["bmax"][keep]
    n = max_label if max_label > 0 else (int(labels.max()) if len(labels) else 0)
    out: list = [None] * n
    for value, lo, hi in zip(labels.tolist(), bmin.tolist(), bmax.tolist(), strict=True):
        if value <= n:
            out[value - 1] = tuple(slice(a, b + 1) for a, b in zip(lo, hi, strict=True))
    return out
