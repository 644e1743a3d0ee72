"""Double-double arithmetic, vectorised with numpy.

``(hi, lo)`` pairs of float64 arrays with ``hi + lo`` exact (Dekker; Knuth's
two-sum), for the few per-label formulas whose cancellation would otherwise cost
digits (a variance from exact integer sums).
"""

from __future__ import annotations

import numpy as np

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
