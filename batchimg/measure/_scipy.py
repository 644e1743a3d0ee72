"""scipy.ndimage's measurement functions over chunked label images, from partial sums.

Every function here takes scipy 1.17's parameters (``input, labels=None,
index=None``) with scipy's meaning: ``labels=None`` measures the whole array;
``index=None`` measures all pixels with a label > 0 as one region; a scalar
measures that label (0, the background, too); a sequence or array measures each
label, the result taking the index's shape. One task per block computes what the
function needs for every label at once (:mod:`batchimg._regions.stats`), a tree of
merges combines the blocks, and one small task finishes; the result is lazy.

Exactness: integer results, minima, maxima, positions, and every statistic of an
integer or bool image (summed in int64) are exact and equal scipy's. Sums of float
images are float64 sums per block, merged: another summation order than scipy's
sequential ``np.bincount``, so the last bits may differ; both are within
``(n - 1) * 2**-53 * sum(|x|)`` of the exact sum for ``n`` pixels, hence within twice
that of each other (tested). Variances of 8- and 16-bit images come from exact sums
in double-double arithmetic (within 1 ulp); other images use sums of ``x - c`` and
``(x - c)**2`` about per-block centres ``c`` near the mean, re-centred when merged
(relative error below ``(n + 8) * 2**-53`` whatever the mean, tested).
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np

from .. import _regions as R
from .._lazy import da
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


def _float_index(index: Any, dtype: np.dtype) -> Any:
    """An index into float labels, as the labels' integer bit patterns."""
    if np.isscalar(index):
        if isinstance(index, str | bytes):
            return index
        return int(order_bits(np.asarray(index, dtype))[()])
    arr = np.asarray(index)
    if arr.dtype.kind not in "biuf":
        return index
    return order_bits(arr.astype(dtype))


def _one_label(value: Any) -> int | None:
    """The label a scalar index matches (None when no integer label can equal it)."""
    v = float(value) if not isinstance(value, int | np.integer) else int(value)
    if isinstance(v, float) and (not np.isfinite(v) or v != int(v)):
        return None
    return int(v)


def order_bits(values: np.ndarray) -> np.ndarray:
    """Float labels as int64 with the same order and equalities (0.0 and -0.0 -> 0).

    scipy compares float labels as floats; their IEEE bit patterns, negated for
    negative values, order the same way, so a float label image is measured as the
    integer image of its bit patterns.
    """
    values = np.asarray(values)
    bits = {2: np.int16, 4: np.int32, 8: np.int64}[values.dtype.itemsize]
    b = values.view(bits).astype(np.int64)
    magnitude = b & np.int64(np.iinfo(bits).max)
    return np.where(b < 0, -magnitude, magnitude)


def setup(input: Any, labels: Any, index: Any) -> tuple:
    """``(image, labels, mode, index, background)`` for a scipy-style measurement."""
    img = _as_input(input)
    if labels is None:
        lab = da.ones(img.shape, chunks=img.chunks, dtype=np.uint8)
        return img, lab, "all", None, False
    floats = None
    if (
        np.asarray(labels).dtype.kind == "f"
        if not isinstance(labels, da.Array)
        else (labels.dtype.kind == "f")
    ):
        raw = as_dask(labels, "labels")
        floats = raw.dtype
        labels = raw.map_blocks(order_bits, dtype=np.int64)
        if index is not None:
            index = _float_index(index, floats)
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
    return rows["isum_f"][:, 0]


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
            out = out.astype(idtype)
        elif stat in ("minimum_position", "maximum_position"):
            if single and not found[0]:
                _Empty(stat)()
            key = "pmin_i" if stat == "minimum_position" else ("pmax_i" if single else "pmaxl_i")
            out = np.where(found, rows[key], 0)
        else:  # center_of_mass
            s = isum(rows)
            if single and idtype.kind == "f":
                s = s.astype(_sum_dtype(idtype))
            num = rows["wcs"]
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


DOC = """Equals ``scipy.ndimage.{name}({args})`` on the whole arrays.

    {what} scipy's ``labels``/``index`` rules: ``labels=None`` measures the whole
    array; ``index=None`` measures every pixel with a label > 0 as one region; a
    scalar measures that label (0 is the background, measured too); a sequence or
    array measures each label and the result takes the index's shape. Labels may be
    floats, as in scipy. {exact}

    The result is lazy: a dask array of the shape ``numpy.array(scipy_result)`` has,
    whose computed value is scipy's own structure ({structure}).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The values (real; complex input is refused).
    labels : array_like or dask.array.Array, optional
        The regions, broadcast against ``input`` as in scipy.
    index : label or sequence of labels, optional
        The labels to measure.{params}

    Returns
    -------
    dask.array.Array
        {returns}

    Raises
    ------
    InputTypeError
        If ``input`` is complex or not numeric (a ``TypeError``, as scipy's).
    InputError
        If ``labels`` does not broadcast to ``input`` (a ``ValueError``, as scipy's),
        or{empty}.
    InvalidParameterError
        If ``index`` is not a label or labels.

    See Also
    --------
    scipy.ndimage.{name} : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> lab = np.array([[1, 1, 0], [2, 2, 2]])
    >>> {name}(img, lab, [0, 1, 2]).compute()
    {example}
"""

SUM_EXACT = (
    "Exactness: integer and bool images are summed in int64, exactly (scipy's float64 "
    "sum is the same while it stays below 2**53). Float images are summed in float64 "
    "per block and the block sums added: another order than scipy's sequential "
    "bincount, so the last bits may differ; each is within ``(n - 1) * 2**-53 * "
    "sum(|x|)`` of the exact sum (``n`` pixels), so they are within twice that of each "
    "other (tested)."
)
MEAN_EXACT = (
    "Exactness: the sum (see :func:`sum_labels`) divided by the count, as scipy divides: "
    "equal to scipy's for integer images; for float images within the sums' bound "
    "divided by the count (tested)."
)
VAR_EXACT = (
    "Exactness: for 8- and 16-bit (and bool) images, ``(Q - S*S/n) / n`` from the exact "
    "integer sum ``S`` and sum of squares ``Q`` in double-double arithmetic, within 1 ulp "
    "of the exact population variance; for other images sums of ``x - c`` and "
    "``(x - c)**2`` about per-block centres ``c`` near the mean, re-centred when merged, "
    "within a relative ``(n + 8) * 2**-53`` of it whatever the mean (tested). scipy's "
    "two-pass result carries its own rounding of the same size."
)
EXTREME_EXACT = (
    "Exactness: exact (a minimum or maximum is a value of the image). NaN follows "
    "scipy: one NaN makes the maximum NaN, and the minimum of a single region NaN; the "
    "minimum of each label of a sequence index ignores NaN unless all its values are NaN."
)
POS_EXACT = (
    "Exactness: exact. Positions are those of the first occurrence of the extreme "
    "value in raster (C) order, as scipy gives for a scalar index; for a sequence "
    "index scipy reports the maximum's last occurrence, and so does this function "
    "(scipy's order among equal values there follows its sort, stable on small arrays)."
)
COM_EXACT = (
    "Exactness: the numerators sum scipy's own terms ``fl(value * coordinate)`` and the "
    "denominator the values (see :func:`sum_labels`): equal to scipy's for integer "
    "images; for float images within the sums' bounds (tested)."
)


def _doc(
    name,
    what,
    exact,
    structure,
    returns,
    example,
    args="input, labels, index",
    params="",
    empty=" a single region has no pixels (when computed)",
):
    return DOC.format(
        name=name,
        what=what,
        exact=exact,
        structure=structure,
        returns=returns,
        example=example,
        args=args,
        params=params,
        empty=empty,
    )


_NUMBERS = "a numpy scalar for a single region, else an array"
sum_labels.__doc__ = _doc(
    "sum_labels",
    "The sum of ``input`` over each region.",
    SUM_EXACT,
    _NUMBERS,
    "float64 of the index's shape for a sequence index; numpy's sum dtype otherwise.",
    "array([ 3.,  3., 15.])",
    empty=" never",
)
sum.__doc__ = _doc(
    "sum",
    "An alias of :func:`sum_labels`, as in scipy.",
    SUM_EXACT,
    _NUMBERS,
    "As :func:`sum_labels`.",
    "array([ 3.,  3., 15.])",
    empty=" never",
)
mean.__doc__ = _doc(
    "mean",
    "The mean of ``input`` over each region (NaN for an absent label).",
    MEAN_EXACT,
    _NUMBERS,
    "float64, of the index's shape (0-d for a single region).",
    "array([3. , 1.5, 5. ])",
    empty=" never",
)
variance.__doc__ = _doc(
    "variance",
    "The population variance of ``input`` over each region.",
    VAR_EXACT,
    _NUMBERS,
    "float64, of the index's shape (0-d for a single region).",
    "array([0.        , 0.25      , 0.66666667])",
    empty=" never",
)
standard_deviation.__doc__ = _doc(
    "standard_deviation",
    "The population standard deviation of ``input`` over each region.",
    VAR_EXACT + " The square root is correctly rounded.",
    _NUMBERS,
    "float64, of the index's shape (0-d for a single region).",
    "array([0.        , 0.5       , 0.81649658])",
    empty=" never",
)
minimum.__doc__ = _doc(
    "minimum",
    "The smallest value of ``input`` over each region (0 for an absent label).",
    EXTREME_EXACT,
    _NUMBERS,
    "``input``'s dtype, of the index's shape.",
    "array([3., 1., 4.])",
)
maximum.__doc__ = _doc(
    "maximum",
    "The largest value of ``input`` over each region (0 for an absent label).",
    EXTREME_EXACT,
    _NUMBERS,
    "``input``'s dtype, of the index's shape.",
    "array([3., 2., 6.])",
)
_POS = "a tuple of coordinates for a single region, else a list of tuples"
minimum_position.__doc__ = _doc(
    "minimum_position",
    "The coordinates of the smallest value of ``input`` in each region.",
    POS_EXACT,
    _POS,
    "int64 of shape ``(input.ndim,)``, or ``(index.size, input.ndim)``.",
    "[(np.int64(0), np.int64(2)), (np.int64(0), np.int64(0)), (np.int64(1), np.int64(0))]",
)
maximum_position.__doc__ = _doc(
    "maximum_position",
    "The coordinates of the largest value of ``input`` in each region.",
    POS_EXACT,
    _POS,
    "int64 of shape ``(input.ndim,)``, or ``(index.size, input.ndim)``.",
    "[(np.int64(0), np.int64(2)), (np.int64(0), np.int64(1)), (np.int64(1), np.int64(2))]",
)
center_of_mass.__doc__ = _doc(
    "center_of_mass",
    "The ``input``-weighted centroid of each region.",
    COM_EXACT,
    "a tuple for a single region, else scipy's list of tuples",
    "float64 of shape ``(input.ndim,)``, or scipy's layout for a sequence index.",
    "[(np.float64(0.0), np.float64(2.0)), (np.float64(0.0), np.float64(0.6666666666666666)), "
    "(np.float64(1.0), np.float64(1.1333333333333333))]",
    empty=" never",
)
extrema.__doc__ = _doc(
    "extrema",
    "The minimum, maximum and their positions over each region, as four results "
    "(:func:`minimum`, :func:`maximum`, :func:`minimum_position`, :func:`maximum_position`) "
    "from one pass.",
    POS_EXACT,
    "a tuple of the four",
    "A tuple of four lazy results.",
    "(3.0, 1.0, 4.0), ...",
)
extrema.__doc__ = extrema.__doc__.replace(
    ">>> extrema(img, lab, [0, 1, 2]).compute()\n    (3.0, 1.0, 4.0), ...",
    ">>> [x.compute().tolist() for x in extrema(img, lab, [0, 1, 2])[:2]]\n"
    "    [[3.0, 1.0, 4.0], [3.0, 2.0, 6.0]]",
)
for _f in (minimum_position, maximum_position, center_of_mass):
    _f.__doc__ = _f.__doc__.replace(
        f">>> {_f.__name__}(img, lab, [0, 1, 2]).compute()",
        f">>> {_f.__name__}(img, lab, [0, 1, 2]).compute()  # doctest: +NORMALIZE_WHITESPACE",
    )


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
