"""Point operations for pipelines: thresholds, intensity rescaling, casts, inversion.

Each function takes a numpy or dask array and returns a lazy dask array. Pixel-wise
functions equal their scikit-image or numpy oracle block by block. Functions that
need a statistic of the whole input (the Otsu, mean or percentile threshold, the
``"image"`` intensity range) compute it as a lazy dask reduction that the pixel-wise
step depends on: nothing is computed until the result is.

Exactness of the whole-input statistics:

- ``min``/``max``, the Otsu threshold (the same histogram scikit-image builds, summed
  over chunks) and the percentile threshold (exact order statistics, found with a
  histogram pass and a gather pass, then numpy's own interpolation) are exact for
  every dtype;
- the mean threshold is exact for integer images while the sum of absolute values
  stays below 2**53; for float images it is accumulated in float64 and may differ
  from ``np.mean`` (which sums float32 in float32, pairwise) by a few units in the
  last place: only pixels that close to the mean may be classified differently.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import dask
import numpy as np
from dask.base import tokenize

from . import _params as P
from ._lazy import da
from ._overlap import as_dask, map_images
from .errors import InvalidParameterError

#: Bins of the first pass of the exact percentile (a power of two, finer is cheaper).
_PERCENTILE_BINS = 4096
_METHODS = ("otsu", "mean", "percentile")


def _check_real(x: da.Array, name: str = "image", *, bool_ok: bool = False) -> None:
    kind = x.dtype.kind
    if kind in "iuf" or (bool_ok and kind == "b"):
        return
    raise InvalidParameterError(f"{name} must be an integer or float array; got dtype {x.dtype}.")


def _blocks(x: da.Array) -> list:
    return list(x.to_delayed().ravel())


def _delayed(func, *args, name):
    return dask.delayed(func, pure=True, name=f"{name}-{tokenize(func.__name__, *args)}")(*args)


# --------------------------------------------------------------------------------------
# whole-input statistics (lazy)


def _block_stats(block):
    """Per block: (min, max, count of non-NaN values, any NaN) of the non-NaN values."""
    if block.dtype.kind == "f":
        nan = np.isnan(block)
        if nan.all():
            return None, None, 0, bool(nan.any())
        values = block[~nan] if nan.any() else block
        return values.min(), values.max(), values.size, bool(nan.any())
    return block.min(), block.max(), block.size, False


def _merge_stats(parts):
    parts = [p for p in parts if p[2]]
    nan = any(p[3] for p in parts)
    if not parts:
        return None, None, 0, nan
    return min(p[0] for p in parts), max(p[1] for p in parts), sum(p[2] for p in parts), nan


def _stats(x: da.Array):
    """Lazy (min, max, count, has_nan) of ``x``; min and max keep ``x``'s dtype."""
    per_block = [_delayed(_block_stats, b, name="stats-block") for b in _blocks(x)]
    return _delayed(_merge_stats, per_block, name="stats")


def _otsu_block(block, stats):
    lo, hi = stats[0], stats[1]
    if block.dtype.kind in "iu":
        lo, hi = int(lo), int(hi)
        counts = np.bincount((block.ravel().astype(np.int64) - lo), minlength=hi - lo + 1)
        return counts
    return np.histogram(block.ravel(), bins=256, range=(lo, hi))[0]


def _otsu_finish(counts, stats, dtype):
    from skimage.filters import threshold_otsu

    lo, hi, n, nan = stats
    if n and lo == hi and not nan:
        return lo  # scikit-image returns the single value of a constant image
    if nan:
        raise ValueError("autodetected range of [nan, nan] is not finite")
    counts = np.sum(counts, axis=0)
    if dtype.kind in "iu":
        centers = np.arange(int(lo), int(hi) + 1)
    else:
        edges = np.histogram_bin_edges(np.empty(0, dtype), bins=256, range=(lo, hi))
        centers = (edges[:-1] + edges[1:]) / 2.0
    return threshold_otsu(hist=(counts, centers))


def _mean_block(block):
    if block.dtype.kind in "iu":
        if block.dtype.itemsize < 8:
            return int(block.sum(dtype=np.int64)), block.size
        # 64-bit integers: sum the high and low 32-bit halves separately, exactly
        v = block.ravel()
        high = (v >> 32).astype(np.int64).sum(dtype=np.int64)
        low = (v & 0xFFFFFFFF).astype(np.uint64).sum(dtype=np.uint64)
        return int(high) * 2**32 + int(low), block.size
    return float(np.sum(block, dtype=np.float64)), block.size


def _mean_finish(parts, dtype):
    n = sum(p[1] for p in parts)
    if dtype.kind in "iu":
        return np.float64(sum(p[0] for p in parts)) / n
    return dtype.type(math.fsum(p[0] for p in parts) / n)


def _bin_of(values, lo, hi):
    """Return a monotone bin index in [0, _PERCENTILE_BINS) for every value."""
    lo, hi = float(lo), float(hi)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scale = _PERCENTILE_BINS / (hi - lo) if hi > lo else 0.0
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(scale)):
        return np.zeros(values.shape, np.intp)
    f = np.floor((values.astype(np.float64) - lo) * scale)
    return np.clip(f, 0, _PERCENTILE_BINS - 1).astype(np.intp)


def _non_nan(block):
    v = block.ravel()
    return v[~np.isnan(v)] if v.dtype.kind == "f" else v


def _count_block(block, stats):
    if not stats[2]:
        return np.zeros(_PERCENTILE_BINS, np.int64)
    v = _non_nan(block)
    return np.bincount(_bin_of(v, stats[0], stats[1]), minlength=_PERCENTILE_BINS)


def _ranks(n, q):
    """Return the ranks (previous, next) and gamma of numpy's linear ``q``% rule."""
    quantile = np.true_divide(q, 100)
    virtual = np.asanyarray((n - 1) * quantile)
    previous = np.floor(virtual)
    gamma = float(np.asanyarray(virtual - previous, dtype=virtual.dtype))
    if virtual >= n - 1:
        return n - 1, n - 1, gamma
    return int(previous), int(previous) + 1, gamma


def _plan_gather(counts, stats, q):
    """Which bins hold the needed order statistics, and their ranks within the bins."""
    counts = np.sum(counts, axis=0)
    lo, hi, n, nan = stats
    if nan or not n:
        return None
    previous, nxt, gamma = _ranks(n, q)
    below = np.concatenate(([0], np.cumsum(counts)))
    wanted = []
    for k in (previous, nxt):
        b = int(np.searchsorted(below, k, side="right")) - 1
        wanted.append((b, k - int(below[b])))
    return wanted, gamma


def _gather_block(block, stats, plan):
    if plan is None:
        return None
    v = _non_nan(block)
    bins = _bin_of(v, stats[0], stats[1])
    return [v[bins == b] for b, _ in plan[0]]


def _lerp(a, b, t):
    # numpy's own interpolation (numpy.lib._function_base_impl._lerp), step for step
    diff_b_a = b - a
    out = np.add(a, diff_b_a * t, out=...)
    np.subtract(
        b, diff_b_a * (1 - t), out=out, where=t >= 0.5, casting="unsafe", dtype=type(out.dtype)
    )
    return out[()]


def _percentile_finish(parts, stats, plan, dtype):
    lo, hi, n, nan = stats
    if nan:
        return dtype.type(np.nan)
    if plan is None:
        raise ValueError("cannot take a percentile of an empty image")
    values = []
    for i, (_, rank) in enumerate(plan[0]):
        found = np.sort(np.concatenate([p[i] for p in parts]))
        values.append(found[rank])
    return _lerp(values[0], values[1], plan[1])


def _global_threshold(x: da.Array, method: str, percentile: float | None) -> da.Array:
    """Return the threshold of ``method`` over the whole of ``x`` as a lazy 0-d array."""
    stats = _stats(x)
    blocks = _blocks(x)
    if method == "otsu":
        counts = [_delayed(_otsu_block, b, stats, name="otsu-block") for b in blocks]
        value = _delayed(_otsu_finish, counts, stats, x.dtype, name="otsu")
        dtype = np.dtype(np.int64) if x.dtype.kind in "iu" else x.dtype
    elif method == "mean":
        parts = [_delayed(_mean_block, b, name="mean-block") for b in blocks]
        value = _delayed(_mean_finish, parts, x.dtype, name="mean")
        dtype = np.dtype(np.float64) if x.dtype.kind in "iu" else x.dtype
    else:
        counts = [_delayed(_count_block, b, stats, name="percentile-count") for b in blocks]
        plan = _delayed(_plan_gather, counts, stats, percentile, name="percentile-plan")
        parts = [_delayed(_gather_block, b, stats, plan, name="percentile-gather") for b in blocks]
        value = _delayed(_percentile_finish, parts, stats, plan, x.dtype, name="percentile")
        dtype = np.percentile(np.zeros(2, x.dtype), percentile).dtype
    return da.from_delayed(value, shape=(), dtype=dtype)


# --------------------------------------------------------------------------------------
# whole-input statistics in bounded passes (for engines that stream blocks)

#: Integer dtypes whose whole value range is counted in one pass (a bincount).
_SMALL_INTS = frozenset(np.dtype(t) for t in ("uint8", "int8", "uint16", "int16", "bool"))
#: The most values a percentile gathers from the blocks before refining its bin.
_GATHER_MAX = 1 << 20


def _full_counts(block, size):
    """Counts of every value of a bool or 8/16-bit block, from the dtype's minimum on."""
    v = np.ascontiguousarray(block).ravel()
    if v.dtype == bool:
        v = v.view(np.uint8)
    if v.dtype.itemsize == 1:
        # two bytes a 16-bit bin: one bincount over half as many values (2.7x faster)
        even = v.size - v.size % 2
        pairs = np.bincount(v[:even].view(np.uint16), minlength=65536).reshape(256, 256)
        counts = pairs.sum(axis=0) + pairs.sum(axis=1)
        if even < v.size:
            counts[v[-1]] += 1
    else:
        counts = np.bincount(v.view(np.uint16), minlength=65536)
    if v.dtype.kind == "i":  # the bit patterns of the negative values come last
        counts = np.roll(counts, counts.size // 2)
    return counts[:size]


def _select(v, chain):
    """Keep the values inside the chain of selected bins; count those below them."""
    below = 0
    for lo, hi, b0, b1 in chain:
        bins = _bin_of(v, lo, hi)
        below += int(np.count_nonzero(bins < b0))
        v = v[(bins >= b0) & (bins <= b1)]
    return v, below


def _refine_block(block, chain, lo, hi):
    """(values below the selection, histogram of the selected values in [lo, hi])."""
    v, below = _select(_non_nan(block), chain)
    return below, np.bincount(_bin_of(v, lo, hi), minlength=_PERCENTILE_BINS)


def _gather_block_values(block, chain):
    """(values below the selection, the distinct selected values and their counts)."""
    v, below = _select(_non_nan(block), chain)
    uniq, counts = np.unique(v, return_counts=True)
    return below, uniq, counts


class GlobalThreshold:
    """The threshold of a whole input, computed exactly in passes over its blocks.

    Equal to :func:`threshold`'s whole-input value (scikit-image's
    ``threshold_otsu``/``threshold_mean``, ``np.percentile``) on the concatenation of
    every block, with memory set by the block size: each pass maps every block to a
    small partial result (:meth:`block_function`), and :meth:`merge` combines them
    before the next pass. Otsu on 8- and 16-bit integers takes one pass (the counts
    of every value), on other dtypes two (range, then histogram); the mean one; a
    percentile of 8/16-bit integers one, of other dtypes a range pass and then
    histogram passes that narrow to the bins holding the order statistics until
    they hold few enough values to gather.

    Parameters
    ----------
    method : {"otsu", "mean", "percentile"}
        The threshold.
    percentile : float, optional
        For ``method="percentile"``.
    dtype : numpy.dtype
        The input's dtype.

    Examples
    --------
    >>> from skimage.filters import threshold_otsu
    >>> image = np.arange(60, dtype=np.uint8).reshape(6, 10) % 23
    >>> blocks = [image[:3], image[3:]]
    >>> g = GlobalThreshold("otsu", None, image.dtype)
    >>> while (f := g.block_function()) is not None:
    ...     g.merge([f(b) for b in blocks])
    >>> bool(g.value == threshold_otsu(image))
    True
    """

    def __init__(self, method: str, percentile: float | None, dtype: Any) -> None:
        self.method = P.normalize_choice(method, "method", _METHODS)
        self.percentile = percentile
        self.dtype = np.dtype(dtype)
        self.stats = None
        self.done = False
        self.value: Any = None
        self._small = self.dtype in _SMALL_INTS
        self._pass = "stats"
        if self.method == "mean":
            self._pass = "mean"
        elif self._small:
            self._pass = "counts"

    def block_function(self):
        """The function of one block for the next pass, or None when the value is known."""
        if self.done:
            return None
        if self._pass == "stats":
            return _block_stats
        if self._pass == "mean":
            return _mean_block
        if self._pass == "counts":
            size = 2 if self.dtype == bool else 1 << (8 * np.dtype(self.dtype).itemsize)
            return functools.partial(_full_counts, size=size)
        if self._pass == "otsu":
            return functools.partial(_otsu_block, stats=self.stats)
        if self._pass == "refine":
            lo, hi = self._bounds
            return functools.partial(_refine_block, chain=tuple(self._chain), lo=lo, hi=hi)
        return functools.partial(_gather_block_values, chain=tuple(self._chain))

    def merge(self, partials: list) -> None:
        """Combine the partial results of the pass just run."""
        if self._pass == "mean":
            self.value = _mean_finish(partials, self.dtype)
            self.done = True
        elif self._pass == "stats":
            self.stats = _merge_stats(partials)
            lo, hi, n, nan = self.stats
            if self.method == "otsu":
                if n and lo == hi and not nan:
                    self.value, self.done = lo, True
                else:
                    if nan:
                        raise ValueError("autodetected range of [nan, nan] is not finite")
                    self._pass = "otsu"
            else:
                if nan:
                    self.value, self.done = self.dtype.type(np.nan), True
                elif not n:
                    raise ValueError("cannot take a percentile of an empty image")
                else:
                    self._start_refine(lo, hi, 0, n)
        elif self._pass == "otsu":
            self.value = _otsu_finish(partials, self.stats, self.dtype)
            self.done = True
        elif self._pass == "counts":
            counts = np.sum(partials, axis=0)
            offset = 0 if self.dtype == bool else int(np.iinfo(self.dtype).min)
            present = np.flatnonzero(counts)
            lo, hi = present[0] + offset, present[-1] + offset
            n = int(counts.sum())
            if self.method == "otsu":
                stats = (self.dtype.type(lo), self.dtype.type(hi), n, False)
                if lo == hi:
                    self.value = self.dtype.type(lo)
                else:
                    self.value = _otsu_finish([counts[lo - offset : hi - offset + 1]], stats,
                                              self.dtype)  # fmt: skip
            else:
                previous, nxt, gamma = _ranks(n, self.percentile)
                below = np.cumsum(counts)
                a = np.searchsorted(below, previous, side="right") + offset
                b = np.searchsorted(below, nxt, side="right") + offset
                self.value = _lerp(self.dtype.type(a), self.dtype.type(b), gamma)
            self.done = True
        elif self._pass == "refine":
            below = sum(p[0] for p in partials)
            counts = np.sum([p[1] for p in partials], axis=0)
            edges = np.concatenate(([0], np.cumsum(counts))) + below
            bins = [int(np.searchsorted(edges, k, side="right")) - 1 for k in self._ranks]
            b0, b1 = min(bins), max(bins)
            lo, hi = self._bounds
            self._chain.append((lo, hi, b0, b1))
            count = int(edges[b1 + 1] - edges[b0])
            width = (float(hi) - float(lo)) / _PERCENTILE_BINS
            self._bounds = (float(lo) + b0 * width, float(lo) + (b1 + 1) * width)
            if count <= _GATHER_MAX or len(self._chain) >= 4:
                self._pass = "gather"
        else:  # gather: the distinct selected values and their counts
            below = sum(p[0] for p in partials)
            uniq = np.concatenate([p[1] for p in partials])
            counts = np.concatenate([p[2] for p in partials])
            values, where = np.unique(uniq, return_inverse=True)
            total = np.bincount(where, weights=counts, minlength=len(values)).astype(np.int64)
            ends = np.cumsum(total) + below
            picked = [values[int(np.searchsorted(ends, k, side="right"))] for k in self._ranks]
            self.value = _lerp(picked[0], picked[1], self._gamma)
            self.done = True

    def _start_refine(self, lo, hi, before, n):
        previous, nxt, gamma = _ranks(n, self.percentile)
        self._gamma = gamma
        self._ranks = (previous, nxt)
        self._chain: list[tuple] = []
        self._bounds = (lo, hi)
        self._pass = "gather" if n <= _GATHER_MAX else "refine"


class GlobalRange:
    """The minimum and maximum of a whole input (NaN ignored), in one pass over its blocks.

    The same protocol as :class:`GlobalThreshold`; :attr:`value` is ``(min, max)`` in
    the input's dtype (what :func:`rescale` uses for ``"image"`` ranges).

    Examples
    --------
    >>> g = GlobalRange(np.dtype("uint8"))
    >>> g.merge([g.block_function()(b) for b in (np.array([3, 9]), np.array([1]))])
    >>> g.value
    (np.uint8(1), np.uint8(9))
    """

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.done = False
        self.value: Any = None

    def block_function(self):
        """The function of one block for the next pass, or None when the value is known."""
        return None if self.done else _block_stats

    def merge(self, partials: list) -> None:
        """Combine the partial results of the pass."""
        lo, hi, n, _ = _merge_stats(partials)
        if not n:
            raise ValueError("cannot take the range of an empty (or all-NaN) image")
        self.value = (self.dtype.type(lo), self.dtype.type(hi))
        self.done = True


# --------------------------------------------------------------------------------------
# threshold


def _image_threshold(image, method, percentile):
    if method == "otsu":
        from skimage.filters import threshold_otsu

        return threshold_otsu(image)
    if method == "mean":
        return np.mean(image)
    return np.percentile(image, percentile)


def _threshold_images(block, *, k, method, percentile):
    out = np.empty(block.shape, dtype=bool)
    for idx in np.ndindex(*block.shape[: block.ndim - k]):
        image = np.ascontiguousarray(block[idx])
        out[idx] = image > _image_threshold(image, method, percentile)
    return out


def threshold(
    image: Any,
    value: Any = None,
    *,
    method: str | None = None,
    percentile: float | None = None,
    per_image: bool = False,
    axes: Any = None,
) -> da.Array:
    """Binary threshold: ``image > t``, for a fixed ``t`` or one computed from the image.

    With ``value`` the result equals ``image > value``. With ``method`` the threshold
    is, over the whole input (or over each image with ``per_image=True``):
    ``"otsu"``, ``skimage.filters.threshold_otsu(image)``; ``"mean"``,
    ``skimage.filters.threshold_mean(image)``; ``"percentile"``,
    ``np.percentile(image, percentile)``. Whole-input thresholds are lazy dask
    reductions; see the module notes on their exactness (the float mean is the one
    that is not bit-exact).

    Parameters
    ----------
    image : array_like
        Input image or stack (numpy or dask) of an integer or float dtype.
    value : float, optional
        A fixed threshold; give either ``value`` or ``method``.
    method : {"otsu", "mean", "percentile"}, optional
        How to compute the threshold from the image.
    percentile : float, optional
        The percentile in [0, 100] for ``method="percentile"`` (used as a Python
        float, like ``np.percentile(image, float(percentile))``).
    per_image : bool, optional
        Compute one threshold per image: the image axes are ``axes`` (default the
        last two), every other axis indexes images.
    axes : int or sequence of int, optional
        The image axes for ``per_image=True``.

    Returns
    -------
    dask.array.Array
        Boolean mask, of the input's shape.

    Raises
    ------
    InvalidParameterError
        When both or neither of ``value`` and ``method`` are given, for an unknown
        method, a missing or out-of-range percentile, ``axes`` without
        ``per_image=True``, or a bool or complex image.

    See Also
    --------
    skimage.filters.threshold_otsu, skimage.filters.threshold_mean, numpy.percentile :
        the oracles.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.filters import threshold_otsu
    >>> from batchimg.point import threshold
    >>> image = np.arange(100, dtype=np.uint8).reshape(10, 10) % 37
    >>> out = threshold(image, method="otsu")
    >>> bool((out.compute() == (image > threshold_otsu(image))).all())
    True
    """
    x = as_dask(image)
    _check_real(x)
    if (value is None) == (method is None):
        raise InvalidParameterError(
            f"threshold needs exactly one of value and method; got value={value!r}, "
            f"method={method!r}. Hint: threshold(image, 100) or "
            "threshold(image, method='otsu')."
        )
    if not isinstance(per_image, bool):
        raise InvalidParameterError(f"per_image must be True or False; got {per_image!r}.")
    if axes is not None and not per_image:
        raise InvalidParameterError(
            f"axes applies only with per_image=True; got axes={axes!r}. A whole-image "
            "threshold does not depend on the axes."
        )
    if value is not None:
        if per_image:
            raise InvalidParameterError(
                "per_image=True needs a method; got a fixed value, which is the same for "
                "every image."
            )
        P.normalize_number(value, "value")  # checks; the comparison keeps value as given
        return da.map_blocks(np.greater, x, value, dtype=bool, meta=np.empty((0,) * x.ndim, bool))
    method = P.normalize_choice(method, "method", _METHODS)
    if method == "percentile":
        if percentile is None:
            raise InvalidParameterError(
                "percentile must be given for method='percentile'; got None. Hint: "
                "percentile=99 keeps the brightest 1%."
            )
        percentile = P.normalize_number(percentile, "percentile", minimum=0)
        if percentile > 100:
            raise InvalidParameterError(f"percentile must be <= 100; got {percentile!r}.")
    elif percentile is not None:
        raise InvalidParameterError(
            f"percentile applies only to method='percentile'; got percentile={percentile!r} "
            f"with method={method!r}."
        )
    if not per_image:
        return x > _global_threshold(x, method, percentile)
    if axes is None:
        axes = tuple(range(max(x.ndim - 2, 0), x.ndim))
    axes = P.normalize_axes(axes, x.ndim)
    k = len(axes)
    dest = tuple(range(x.ndim - k, x.ndim))
    moved = da.moveaxis(x, axes, dest)
    out = map_images(
        functools.partial(_threshold_images, k=k, method=method, percentile=percentile),
        moved,
        image_axes=k,
        dtype=bool,
        name="threshold",
        token=(method, percentile, axes),
    )
    return da.moveaxis(out, dest, axes)


# --------------------------------------------------------------------------------------
# rescale, astype, invert, rgb_to_gray


def _range_arg(value: Any, name: str) -> Any:
    from skimage.exposure.exposure import DTYPE_RANGE

    if isinstance(value, str) and value in ("image", "dtype"):
        return value
    if isinstance(value, tuple | list) and len(value) == 2:
        return tuple(P.normalize_number(v, name) for v in value)
    if isinstance(value, np.dtype):
        value = value.type
    try:
        if value in DTYPE_RANGE:
            return value
    except TypeError:
        pass
    raise InvalidParameterError(
        f"{name} must be 'image', 'dtype', a dtype name (e.g. 'uint8', 'uint12') or a "
        f"(min, max) pair; got {value!r}."
    )


def _rescale_block(block, lo, hi, *, in_range, out_range, out_dtype):
    from skimage.exposure import rescale_intensity

    whole = (lo[()], hi[()])
    out = rescale_intensity(
        block,
        in_range=whole if in_range == "image" else in_range,
        out_range=whole if out_range == "image" else out_range,
    )
    return out.astype(out_dtype, copy=False)


def rescale(
    image: Any, *, in_range: Any = "image", out_range: Any = "dtype", dtype: Any = None
) -> da.Array:
    """Stretch intensities, equal to ``skimage.exposure.rescale_intensity`` on the whole array.

    ``in_range="image"`` and ``out_range="image"`` use the minimum and maximum of
    the whole input (exact lazy reductions), so every chunk is rescaled alike.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask) of a bool, integer or float dtype.
    in_range : str or (float, float), optional
        The input intensities mapped to the ends of ``out_range``: ``"image"``,
        ``"dtype"``, a dtype name or a ``(min, max)`` pair; values outside are clipped.
    out_range : str or (float, float), optional
        The output range, in the same forms; it also sets the output dtype as in
        scikit-image.
    dtype : dtype, optional
        Cast the result to this dtype at the end (``None`` keeps scikit-image's).

    Returns
    -------
    dask.array.Array
        The rescaled image.

    Raises
    ------
    InvalidParameterError
        For an unknown range name, a range that is not a pair of numbers or a complex
        image.

    See Also
    --------
    skimage.exposure.rescale_intensity : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.exposure import rescale_intensity
    >>> from batchimg.point import rescale
    >>> image = np.arange(12, dtype=np.uint16).reshape(3, 4) * 7
    >>> out = rescale(image, out_range="uint8")
    >>> bool((out.compute() == rescale_intensity(image, out_range="uint8")).all())
    True
    """
    from skimage.exposure import rescale_intensity

    x = as_dask(image)
    _check_real(x, bool_ok=True)
    in_range = _range_arg(in_range, "in_range")
    out_range = _range_arg(out_range, "out_range")
    probe = np.zeros(2, x.dtype)
    out_dtype = (
        x.dtype
        if out_range == "image"
        else rescale_intensity(
            probe, in_range=(0, 1) if in_range == "image" else in_range, out_range=out_range
        ).dtype
    )
    if in_range == "image" or out_range == "image":
        lo, hi = x.min(), x.max()
    else:
        lo = hi = da.zeros((), dtype=x.dtype)
    ind = tuple(range(x.ndim))
    out = da.blockwise(
        _rescale_block,
        ind,
        x,
        ind,
        lo,
        (),
        hi,
        (),
        dtype=out_dtype,
        meta=np.empty((0,) * x.ndim, out_dtype),
        name=f"rescale-{tokenize(x.name, in_range, out_range)}",
        in_range=in_range,
        out_range=out_range,
        out_dtype=out_dtype,
    )
    return out if dtype is None else astype(out, dtype)


def _dtype_arg(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dtype is None or dt is None or dt.kind not in "biuf":
        raise InvalidParameterError(f"dtype must be a bool, integer or float dtype; got {dtype!r}.")
    return dt


def _clip_limits(source: np.dtype, target: np.dtype):
    if target.kind == "b" or source.kind == "b":
        return None
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
    lo, hi = info.min, info.max
    if source.kind in "iu":
        src = np.iinfo(source)
        if target.kind == "f":
            return None
        lo, hi = max(int(lo), src.min), min(int(hi), src.max)
        return None if (lo, hi) == (src.min, src.max) else (lo, hi)
    return float(lo), float(hi)


def _astype_block(block, *, target, limits):
    if limits is not None:
        block = np.clip(block, *limits)
    return block.astype(target)


def astype(image: Any, dtype: Any, *, clip: bool = False) -> da.Array:
    """Cast to ``dtype``, equal to ``image.astype(dtype)`` (or to a clipped cast).

    With ``clip=True`` the values are first clipped to the range of ``dtype``
    (``np.clip(image, min, max).astype(dtype)``), so an out-of-range value saturates
    instead of wrapping around. ``clip`` has no effect for bool targets or sources,
    nor for integer-to-float casts.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    dtype : dtype
        The target bool, integer or float dtype.
    clip : bool, optional
        Saturate at the target's limits instead of wrapping.

    Returns
    -------
    dask.array.Array
        The cast image.

    Raises
    ------
    InvalidParameterError
        For a dtype that is not bool, integer or float, or a complex image.

    See Also
    --------
    numpy.ndarray.astype : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from batchimg.point import astype
    >>> astype(np.array([-5, 100, 300]), "uint8", clip=True).compute()
    array([  0, 100, 255], dtype=uint8)
    """
    x = as_dask(image)
    _check_real(x, bool_ok=True)
    dt = _dtype_arg(dtype)
    if not isinstance(clip, bool):
        raise InvalidParameterError(f"clip must be True or False; got {clip!r}.")
    limits = _clip_limits(x.dtype, dt) if clip else None
    return da.map_blocks(
        _astype_block,
        x,
        dtype=dt,
        meta=np.empty((0,) * x.ndim, dt),
        name=f"astype-{tokenize(x.name, dt, limits)}",
        target=dt,
        limits=limits,
    )


def _invert_block(block, *, signed_float):
    from skimage.util import invert as sk_invert

    return sk_invert(block, signed_float=signed_float)


def invert(image: Any, *, signed_float: bool = False) -> da.Array:
    """Invert intensities, equal to ``skimage.util.invert`` on the whole array.

    bool images are negated, unsigned integers become ``max - image``, signed
    integers ``-1 - image``, floats ``1 - image`` (or ``-image`` with
    ``signed_float=True``); the dtype is kept.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    signed_float : bool, optional
        Whether a float image spans [-1, 1] rather than [0, 1].

    Returns
    -------
    dask.array.Array
        The inverted image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For a complex or non-numeric image.

    See Also
    --------
    skimage.util.invert : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from batchimg.point import invert
    >>> invert(np.array([0, 10, 255], dtype=np.uint8)).compute()
    array([255, 245,   0], dtype=uint8)
    """
    x = as_dask(image)
    _check_real(x, bool_ok=True)
    if not isinstance(signed_float, bool):
        raise InvalidParameterError(f"signed_float must be True or False; got {signed_float!r}.")
    return da.map_blocks(
        _invert_block,
        x,
        dtype=x.dtype,
        meta=np.empty((0,) * x.ndim, x.dtype),
        name=f"invert-{tokenize(x.name, signed_float)}",
        signed_float=signed_float,
    )


def _gray_block(block):
    from skimage.color import rgb2gray

    return rgb2gray(block)


def rgb_to_gray(image: Any) -> da.Array:
    """Luminance of RGB pixels: ``skimage.color.rgb2gray`` on the whole array, to 3 ulps.

    The channels are the last axis (of length 3), which the result loses; the result
    is float32 for float32 input and float64 otherwise (integers are first scaled
    to [0, 1] as by ``skimage.util.img_as_float``). Each block goes through
    scikit-image's own dot product, but BLAS rounds that product differently with
    the array's size, so the result may differ from scikit-image's on the whole
    array by up to three units in the last place (as scikit-image's own result
    differs between a whole array and its halves); it is exact for a single chunk.

    Parameters
    ----------
    image : array_like
        RGB image or stack (numpy or dask), channels last.

    Returns
    -------
    dask.array.Array
        Gray image of shape ``image.shape[:-1]``.

    Raises
    ------
    InvalidParameterError
        When the last axis does not have length 3, or for a complex image.

    See Also
    --------
    skimage.color.rgb2gray : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.color import rgb2gray
    >>> from batchimg.point import rgb_to_gray
    >>> rgb = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    >>> bool((rgb_to_gray(rgb).compute() == rgb2gray(rgb)).all())
    True
    """
    x = as_dask(image)
    _check_real(x, bool_ok=True)
    if x.ndim < 2 or x.shape[-1] != 3:
        raise InvalidParameterError(
            f"image must have 3 channels on its last axis (RGB); got shape {x.shape}. "
            "Hint: drop an alpha channel with image[..., :3]."
        )
    x = x.rechunk(x.chunks[:-1] + ((3,),))
    out_dtype = np.dtype(np.float32) if x.dtype == np.float32 else np.dtype(np.float64)
    return da.map_blocks(
        _gray_block,
        x,
        drop_axis=x.ndim - 1,
        dtype=out_dtype,
        meta=np.empty((0,) * (x.ndim - 1), out_dtype),
        name=f"rgb_to_gray-{tokenize(x.name)}",
    )


__all__ = ["astype", "invert", "rescale", "rgb_to_gray", "threshold"]
