"""The last pass of scipy's exact Euclidean feature transform, vectorised over lines.

scipy's ``distance_transform_edt`` (Maurer, Qi and Raghavan's separable algorithm)
runs one pass per axis, axis 0 first; the pass along axis ``d`` takes, line by
line, the features left by the passes before it and keeps, for every pixel of
the line, the nearest of them (a lower envelope of parabolas, built with a stack).
:func:`last_pass` repeats scipy's pass along the last axis with the same
floating-point operations in the same order, for many lines at once (numpy over
the lines, a Python loop along them), so its features -- ties included -- are
scipy's bit for bit.
"""

from __future__ import annotations

import numpy as np


def _sq_sum(terms):
    """``0.0 + t0*t0 + t1*t1 + ...`` in that order (as scipy's C loops sum)."""
    total = None
    for t in terms:
        total = t * t if total is None else total + t * t
    return total


def last_pass(features: np.ndarray, coords: np.ndarray, sampling) -> np.ndarray:
    """Run scipy's Voronoi pass along the last axis of ``features``, for every line.

    Parameters
    ----------
    features : numpy.ndarray
        Integer array of shape ``(r, M, n)``: for ``M`` lines of length ``n`` along
        the last axis ``d = r - 1``, the ``r`` feature coordinates of each pixel
        after the passes along axes ``0 .. r - 2`` (``features[0] < 0``: none yet).
    coords : numpy.ndarray
        Integer array of shape ``(r - 1, M)``: each line's coordinates on axes
        ``0 .. r - 2``.
    sampling : numpy.ndarray or None
        Pixel spacing per axis (float64), as scipy takes it.

    Returns
    -------
    numpy.ndarray
        The features after the pass, shape ``(r, M, n)``, of ``features``' dtype.
    """
    r, m, n = features.shape
    d = r - 1
    f = features.astype(np.int64)
    ff = f.astype(np.float64)
    s = None if sampling is None else np.asarray(sampling, np.float64)
    g = np.zeros((m, n), np.int64)
    top = np.full(m, -1, np.int64)
    cf = coords.astype(np.float64)

    def scaled(t, jj):
        return t if s is None else t * s[jj]

    for ii in range(n):
        lines = np.flatnonzero(f[0, :, ii] >= 0)
        if lines.size == 0:
            continue
        fd = ff[d, lines, ii]
        w = _sq_sum(
            scaled((f[jj, lines, ii] - coords[jj, lines]).astype(np.float64), jj) for jj in range(d)
        )
        act = lines
        pos = np.arange(lines.size)
        while act.size:
            keep = top[act] >= 1
            act, pos = act[keep], pos[keep]
            if act.size == 0:
                break
            i1 = g[act, top[act]]
            i2 = g[act, top[act] - 1]
            f1 = ff[d, act, i1]
            a = scaled(f1 - ff[d, act, i2], d)
            b = scaled(fd[pos] - f1, d)
            c = a + b
            u = _sq_sum(scaled(ff[jj, act, i2] - cf[jj, act], jj) for jj in range(d))
            v = _sq_sum(scaled(ff[jj, act, i1] - cf[jj, act], jj) for jj in range(d))
            stop = ((c * v - b * u) - a * w[pos]) - (a * b) * c <= 0.0
            pop = ~stop
            act, pos = act[pop], pos[pop]
            top[act] -= 1
        top[lines] += 1
        g[lines, top[lines]] = ii
    out = features.copy()
    valid = np.flatnonzero(top >= 0)
    if valid.size == 0:
        return out
    last = top[valid]
    at = np.zeros(m, np.int64)
    delta1 = np.empty(m, np.float64)

    def delta(lines, sites, ii):
        return _sq_sum(
            scaled(
                (f[jj, lines, sites] - (ii if jj == d else coords[jj, lines])).astype(np.float64),
                jj,
            )
            for jj in range(r)
        )

    for ii in range(n):
        delta1[valid] = delta(valid, g[valid, at[valid]], ii)
        act = valid[at[valid] < last]
        while act.size:
            d2 = delta(act, g[act, at[act] + 1], ii)
            move = ~(delta1[act] <= d2)
            act, d2 = act[move], d2[move]
            delta1[act] = d2
            at[act] += 1
            act = act[at[act] < top[act]]
        out[:, valid, ii] = features[:, valid, g[valid, at[valid]]]
    return out
