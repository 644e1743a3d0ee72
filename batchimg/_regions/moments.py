"""Image moments per label from per-block partial sums, and what derives from them.

Raw sums, origin shifts, central and normalized moments, Hu moments, inertia tensor.

Every block sums, per label, the monomials ``dr**p * dc**q * ...`` (each power 0..3,
scikit-image's ``order=3``) of the label's pixels about an integer *origin* near the
label's centroid in that block, as ``float64``. Merging moves every partial sum to
one common integer origin (near the whole region's centroid) with the binomial
theorem. For a label image (no intensity) every one of these numbers is an integer,
so while they stay below ``2**53`` all of this is exact and independent of the
chunking: the raw moments about the bounding-box corner are exactly scikit-image's.
Central moments then need only a shift by less than a pixel from that integer
origin to the centroid, which costs no digits to cancellation. Weighted moments
are float sums (bounded error relative to the moments of ``|intensity|``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .fore import Fore

ORDER = 3
_K = ORDER + 1
_BINOM = np.array([[math.comb(p, i) for i in range(_K)] for p in range(_K)], np.float64)
#: Runs are turned into monomials this many at a time (bounds the temporaries).
RUN_BATCH = 1 << 14


def _faulhaber(a: np.ndarray, length: np.ndarray, k: int = _K) -> np.ndarray:
    """``sum(z**s for z in range(a, a + length))`` for s = 0..k-1 (k <= 4), float64."""
    b = a + length - 1
    am = a - 1

    def f1(m):
        return m * (m + 1) // 2

    def f2(m):
        return m * (m + 1) * (2 * m + 1) // 6

    s1 = f1(b) - f1(am)
    out = np.empty((len(a), k), np.float64)
    out[:, 0] = length
    if k > 1:
        out[:, 1] = s1
    if k > 2:
        out[:, 2] = f2(b) - f2(am)
    if k > 3:
        out[:, 3] = s1.astype(np.float64) * (f1(b) + f1(am)).astype(np.float64)
    return out


def _powers(d: np.ndarray, k: int = _K) -> np.ndarray:
    """``d**0 .. d**(k-1)`` as float64, shape (len(d), k)."""
    d = d.astype(np.float64)
    out = np.empty((len(d), k), np.float64)
    out[:, 0] = 1.0
    for p in range(1, k):
        out[:, p] = out[:, p - 1] * d
    return out


def block_origin(fore: Fore) -> np.ndarray:
    """Per-label integer origin (local coordinates) nearest the label's centroid in the block."""
    n = fore.n
    origin = np.zeros((n, fore.ndim), np.int64)
    if n == 0:
        return origin
    lab, length = fore.run_label, fore.run_length
    count = fore.counts.astype(np.float64)
    for k, c in enumerate(fore.run_coords):
        if k == fore.ndim - 1:
            w = c * length + length * (length - 1) // 2
        else:
            w = c * length
        s = np.bincount(lab, weights=w.astype(np.float64), minlength=n)[:n]
        origin[:, k] = np.floor(s / count + 0.5).astype(np.int64)
    return origin


def block_moments(fore: Fore, origin: np.ndarray, weights: np.ndarray | None = None, k: int = _K):
    """Raw moments per label about ``origin`` (local coordinates), powers ``0..k-1`` per axis.

    Returns ``mom`` of shape ``(n,) + (k,) * ndim`` and, with per-pixel ``weights``
    of shape ``(pixels, channels)``, ``wmom`` of shape ``(n, channels) + (k,) * ndim``
    (else None).
    """
    n, ndim = fore.n, fore.ndim
    cube = (k,) * ndim
    lab = fore.run_label
    coords = fore.run_coords
    rel = [c - origin[lab, k] for k, c in enumerate(coords)]
    zsum = _faulhaber(rel[-1], fore.run_length, k)
    mom = np.zeros((n,) + cube, np.float64)
    wmom = None
    wz = None
    if weights is not None:
        nch = weights.shape[1]
        wmom = np.zeros((n, nch) + cube, np.float64)
        # per run, sum(w * dz**p) for p < k, with dz the last-axis offset from the origin
        if k == 2:
            # sum(w * (z - o)) = sum(w * z) - o * sum(w): no per-pixel gather of origins
            s0 = fore.run_sum(weights)
            s1 = fore.run_sum(weights * fore.pixel_last.astype(np.float64)[:, None])
            s1 -= origin[lab, ndim - 1].astype(np.float64)[:, None] * s0
            wz = np.stack([s0, s1], axis=-1)
        else:
            dz = (fore.pixel_last - origin[fore.inv, ndim - 1]).astype(np.float64)[:, None]
            term = weights.copy()
            sums = []
            for p in range(k):
                sums.append(fore.run_sum(term))
                if p + 1 < k:
                    term *= dz
            wz = np.stack(sums, axis=-1)  # (runs, channels, k)
    runs = len(lab)
    for lo in range(0, runs, RUN_BATCH):
        sl = slice(lo, lo + RUN_BATCH)
        by_label = _run_sums(lab[sl], n)
        r = min(runs, lo + RUN_BATCH) - lo
        head = np.ones((r, 1), np.float64)  # the monomials of all axes but the last
        for d in rel[:-1]:
            head = (head[:, :, None] * _powers(d[sl], k)[:, None, :]).reshape(r, -1)
        # per run, (last-axis power, other monomials): the wide axis innermost is the
        # fast product; moved to the cube's order after the (small) per-label sums
        mom += _cube(by_label(zsum[sl][:, :, None] * head[:, None, :]), cube)
        if wz is not None:
            for c in range(wz.shape[1]):
                part = wz[sl][:, c, :, None] * head[:, None, :]
                wmom[:, c] += _cube(by_label(part), cube)
    return mom, wmom


def _run_sums(groups: np.ndarray, n: int):
    """A function summing rows ``(runs, ...)`` by ``groups`` (``0..n-1``) -> ``(n, ...)``.

    One sparse matrix serves every sum of the batch (building it costs more than a
    product); each label's runs add in their raster order.
    """
    import scipy.sparse as sp

    r = len(groups)
    order = np.argsort(groups, kind="stable")  # each row's runs in their order
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(groups, minlength=n), out=indptr[1:])
    m = sp.csr_matrix((np.ones(r), order, indptr), shape=(n, r))

    def by_label(part: np.ndarray) -> np.ndarray:
        if r == 0 or n == 0:
            return np.zeros((n,) + part.shape[1:], np.float64)
        return np.asarray(m @ part.reshape(r, -1)).reshape((n,) + part.shape[1:])

    return by_label


def _cube(sums: np.ndarray, cube: tuple[int, ...]) -> np.ndarray:
    """Per-label sums ``(n, k, rest)`` (last-axis power first) as moments ``(n,) + cube``."""
    return np.moveaxis(sums, 1, -1).reshape((len(sums),) + cube)


def shift(mom: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Move moments about ``a`` to moments about ``a - t``, row by row.

    ``mom`` has shape ``(m, ..., k, ..., k)`` with the ``ndim`` moment axes last;
    ``t`` has shape ``(m, ndim)``. Uses ``sum((x - a + t)**p) = sum_i C(p, i) t**(p-i)
    sum((x - a)**i)``, axis by axis (the binomial sums written out: a few array
    operations per axis, whatever the number of rows). Rows go :data:`SHIFT_BATCH` at
    a time, each batch turned rows-last so that every operation runs over contiguous
    memory that stays in cache (3x faster than strided passes over the whole table,
    the same operations in the same order, so the same bits).
    """
    mom = np.asarray(mom, np.float64)
    if len(t) == 0:
        return mom.copy()
    still = ~np.any(t != 0, axis=1)
    if still.sum() * 2 > len(t):  # rows that stay put (most, after an exact merge) are left alone
        out = mom.copy()
        moved = np.flatnonzero(~still)
        if len(moved):
            out[moved] = shift(mom[moved], t[moved])
        return out
    t = np.asarray(t, np.float64)
    out = np.empty(mom.shape, np.float64)
    for lo in range(0, len(t), SHIFT_BATCH):
        rows = slice(lo, lo + SHIFT_BATCH)
        out[rows] = _shift_rows_last(mom[rows], t[rows])
    if still.any():  # their own values, exactly (a zero shift of an infinite moment is NaN)
        out[still] = mom[still]
    return out


#: Rows of moments shifted together (a few MiB of temporaries).
SHIFT_BATCH = 4096


def _shift_rows_last(mom: np.ndarray, t: np.ndarray) -> np.ndarray:
    """:func:`shift` of a batch of rows, computed on a rows-last copy; returns rows-first."""
    ndim = t.shape[1]
    kk = mom.shape[-1]
    x = np.array(np.moveaxis(mom, 0, -1), order="C")  # a copy, (..., k, ..., k, m)
    buf = np.empty(x.shape[: -ndim - 1] + x.shape[-ndim:], np.float64)
    for k in range(ndim):
        if not np.any(t[:, k]):
            continue
        tk = t[:, k]
        tp = [None, tk]
        for _ in range(2, kk):
            tp.append(tp[-1] * tk)
        xk = np.moveaxis(x, x.ndim - 1 - ndim + k, 0)  # a view: (k, ..., m)
        # y_p = x_p + sum_{i<p} C(p, i) t**(p-i) x_i: updating p from the top down reads
        # only the x_i below it, still unchanged
        for p in range(kk - 1, 0, -1):
            acc = xk[p]
            for i in range(p):
                c = _BINOM[p, i]
                coef = tp[p - i] if c == 1.0 else c * tp[p - i]
                np.multiply(coef, xk[i], out=buf)
                acc += buf
    return np.moveaxis(x, -1, 0)


def scaled(mom: np.ndarray, spacing) -> np.ndarray:
    """Moments of coordinates scaled by ``spacing`` (``s_k**p`` on moment axis k)."""
    ndim = len(spacing)
    if all(s == 1.0 for s in spacing):
        return mom
    out = mom
    kk = mom.shape[-1]
    for k, s in enumerate(spacing):
        shape = [1] * out.ndim
        shape[out.ndim - ndim + k] = kk
        out = out * (float(s) ** np.arange(kk, dtype=np.float64)).reshape(shape)
    return out


def _axis_index(ndim: int, k: int) -> tuple[int, ...]:
    return tuple(1 if j == k else 0 for j in range(ndim))


def centroid_local(mom_s: np.ndarray, ndim: int) -> np.ndarray:
    """``M[e_k] / M[0]`` for every row: scikit-image's local centroid, shape (..., ndim)."""
    zero = (0,) * ndim
    m0 = mom_s[(Ellipsis, *zero)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([mom_s[(Ellipsis, *_axis_index(ndim, k))] / m0 for k in range(ndim)], -1)


def normalized(mu: np.ndarray, ndim: int, spacing) -> np.ndarray:
    """scikit-image's ``moments_normalized(mu, 3, spacing)`` for every row."""
    kk = mu.shape[-1]
    powers = sum(
        np.arange(kk).reshape((1,) * a + (kk,) + (1,) * (ndim - 1 - a)) for a in range(ndim)
    )
    mu0 = mu[(Ellipsis, *((0,) * ndim))]
    scale = min(spacing)
    with np.errstate(divide="ignore", invalid="ignore"):
        # one power of mu0 per order (not per moment)
        denom = np.stack([mu0 ** (s / ndim + 1) for s in range(int(powers.max()) + 1)], -1)
        nu = (mu / np.float64(scale) ** powers) / denom[..., powers]
    nu[..., powers < 2] = np.nan
    return nu


def hu(nu: np.ndarray) -> np.ndarray:
    """scikit-image's ``moments_hu`` for every row of 2-D normalized moments ``(..., 4, 4)``."""
    from skimage.measure import moments_hu

    flat = nu.reshape((-1, _K, _K))
    out = np.array([moments_hu(m) for m in flat], np.float64).reshape(nu.shape[:-2] + (7,))
    return out


def inertia(mu: np.ndarray, ndim: int) -> np.ndarray:
    """scikit-image's ``inertia_tensor`` from central moments, for every row -> (m, ndim, ndim)."""
    m = len(mu)
    mu0 = mu[(slice(None), *((0,) * ndim))]
    result = np.zeros((m, ndim, ndim), np.float64)
    corners = [mu[(slice(None), *(2 * np.eye(ndim, dtype=int)[k]))] for k in range(ndim)]
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.sum(np.stack(corners, axis=1), axis=1)
        for k in range(ndim):
            result[:, k, k] = (total - corners[k]) / mu0
        for a, b in itertools.combinations(range(ndim), 2):
            idx = np.zeros(ndim, int)
            idx[[a, b]] = 1
            value = -mu[(slice(None), *idx)] / mu0
            result[:, a, b] = value
            result[:, b, a] = value
    return result


def eigvals(tensor: np.ndarray) -> np.ndarray:
    """scikit-image's ``inertia_tensor_eigvals``: clipped at 0, descending, per row."""
    if len(tensor) == 0:
        return np.zeros((0, tensor.shape[-1]), np.float64)
    ok = np.isfinite(tensor).all(axis=(1, 2))
    ev = np.full(tensor.shape[:2], np.nan)
    if ok.any():
        ev[ok] = np.linalg.eigvalsh(tensor[ok])
    ev = np.clip(ev, 0, None)
    return -np.sort(-ev, axis=1)
