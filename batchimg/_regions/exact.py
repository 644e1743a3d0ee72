"""Exact per-group sums of floats, and double-double arithmetic, vectorised with numpy.

**Exact sums.** :func:`exact_sums` turns per-pixel float64 values and their group
(compact label) into *limbs*: an ``(n, K)`` array of floats whose row sums are the
exact sums of each group's values, whatever their order. It is the error-free
extraction of Rump, Ogita and Oishi ("Accurate floating-point summation, part I",
SIAM J. Sci. Comput. 31, 2008, lemma 3.3): for ``sigma = 2**k`` at least ``N``
times the largest ``|x|``, ``q = (sigma + x) - sigma`` is ``x`` rounded to a
multiple of ``2**-53 * sigma`` and ``x - q`` is exact; every partial sum of ``N``
such ``q`` is a multiple of that grid no larger than ``sigma``, hence representable,
so ``np.bincount`` adds them exactly in any order. The remainders go round again
until they are all zero (each round takes ``53 - log2(N)`` bits; two or three rounds
for typical float data, one for integers below ``2**53 / N``). Limbs of several
tables merge by running the same extraction over the limbs themselves
(:func:`merge_limbs`), and :func:`round_limbs` gives the float64 nearest each exact
sum (``math.fsum`` is correctly rounded). The result therefore does not depend on
the chunking.

**Double-double.** ``(hi, lo)`` pairs of float64 arrays with ``hi + lo`` exact
(Dekker; Knuth's two-sum), for the few per-label formulas whose cancellation would
otherwise cost digits (central moments from raw ones, variance from exact sums).
"""

from __future__ import annotations

import math

import numpy as np

#: Values this large or larger (or inf/NaN) are summed by a plain float64 bincount.
_HUGE = 2.0**960


def exact_sums(x: np.ndarray, groups: np.ndarray, n: int, count: int | None = None) -> np.ndarray:
    """Return limbs ``(n, K)``: row ``g`` sums exactly to the sum of ``x[groups == g]``.

    ``x`` is float64; ``groups`` holds values in ``0..n`` (``n`` is dropped: the
    background). Infinite or NaN values, and values of magnitude ``>= 2**960``, fall
    back to one plain bincount (the sum is then inf, NaN, or rounded as numpy's).
    ``count`` bounds the number of values of any one group (computed when None).
    """
    x = np.asarray(x, np.float64)
    if x.size == 0 or n == 0:
        return np.zeros((n, 1), np.float64)
    limbs = []
    if count is None:
        count = int(np.bincount(groups, minlength=n + 1)[:n].max(initial=0))
    count = max(2, count)
    k = max(1, math.ceil(math.log2(count)))
    while True:
        top = float(np.max(np.abs(x)))
        if top == 0.0:
            break
        if not top < _HUGE:
            limbs.append(np.bincount(groups, weights=x, minlength=n + 1)[:n])
            break
        e = math.frexp(top)[1]  # top < 2**e
        if e + k < -1021:  # below the normal range: every partial sum is exact
            limbs.append(np.bincount(groups, weights=x, minlength=n + 1)[:n])
            break
        sigma = math.ldexp(1.0, e + k)
        q = (sigma + x) - sigma
        limbs.append(np.bincount(groups, weights=q, minlength=n + 1)[:n])
        x = x - q
        if e + k - 53 < -1021:  # the remainder is below the grid of every subnormal
            limbs.append(np.bincount(groups, weights=x, minlength=n + 1)[:n])
            break
    if not limbs:
        return np.zeros((n, 1), np.float64)
    return np.stack(limbs, axis=1)


def merge_limbs(limbs: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Combine rows of limbs that share a group: ``(rows, K) -> (n, K')``, exactly."""
    limbs = np.asarray(limbs, np.float64)
    if limbs.ndim == 1:
        limbs = limbs[:, None]
    k = limbs.shape[1]
    flat = limbs.reshape(-1)
    g = np.repeat(np.asarray(groups, np.intp), k)
    nonzero = flat != 0
    return exact_sums(flat[nonzero], g[nonzero], n)


def round_limbs(limbs: np.ndarray) -> np.ndarray:
    """The float64 nearest each row's exact sum (round half to even)."""
    limbs = np.asarray(limbs, np.float64)
    if limbs.ndim == 1:
        return limbs.copy()
    out = limbs.sum(axis=1) if limbs.shape[1] else np.zeros(len(limbs))
    several = (np.count_nonzero(limbs, axis=1) > 1) & np.isfinite(out)
    rows = np.flatnonzero(several)
    if len(rows):
        out[rows] = [math.fsum(r) for r in limbs[rows].tolist()]
    return out


def pad_limbs(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Pad limb arrays (``(..., K_i)``) with zero limbs to one common ``K``."""
    k = max(p.shape[-1] for p in parts)
    out = []
    for p in parts:
        if p.shape[-1] < k:
            pad = np.zeros(p.shape[:-1] + (k - p.shape[-1],), p.dtype)
            p = np.concatenate([p, pad], axis=-1)
        out.append(p)
    return out


# ---------------------------------------------------------------------------
# double-double
# ---------------------------------------------------------------------------

_SPLIT = 134217729.0  # 2**27 + 1


def two_sum(a, b):
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e = a + b`` exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a, b):
    """``(p, e)`` with ``p = fl(a * b)`` and ``p + e = a * b`` exactly (Dekker)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def dd(hi, lo=0.0):
    """A double-double from one or two float64 arrays."""
    hi = np.asarray(hi, np.float64)
    return two_sum(hi, np.asarray(lo, np.float64) + np.zeros_like(hi))


def dd_add(x, y):
    """``x + y`` for double-doubles."""
    s, e = two_sum(x[0], y[0])
    e = e + (x[1] + y[1])
    return two_sum(s, e)


def dd_mul(x, y):
    """``x * y`` for double-doubles."""
    p, e = two_prod(x[0], y[0])
    e = e + (x[0] * y[1] + x[1] * y[0])
    return two_sum(p, e)


def dd_div(x, y):
    """``x / y`` for double-doubles (one Newton step)."""
    q1 = x[0] / y[0]
    r = dd_add(x, dd_mul(dd(-q1), y))
    q2 = r[0] / y[0]
    return two_sum(q1, q2)


def dd_from_limbs(limbs: np.ndarray):
    """A double-double per row of limbs (the rounded sum and the rest, both exact-ish).

    The high part is the correctly rounded sum; the low part is the rounded
    remainder, so the pair carries about 106 bits of the exact sum.
    """
    limbs = np.asarray(limbs, np.float64)
    if limbs.ndim == 1:
        return dd(limbs)
    hi = round_limbs(limbs)
    rest = np.concatenate([limbs, -hi[:, None]], axis=1)
    lo = round_limbs(rest)
    return hi, lo
