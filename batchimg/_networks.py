"""Networks of minima and maxima: exact medians of small integer windows.

A network of compare-exchanges (numpy ``minimum``/``maximum`` on whole arrays) computes
a pure function of a window's values, so its answer is scipy's, bit for bit, at a few
dozen array operations a window. batchimg.filters runs the 3x3 and 3x3x3 medians of
integer images through these.
"""

import numpy as np

#: The 19 compare-exchanges that leave the median of 9 values in position 4
#: (Paeth's network, as in Devillard's opt_med9).
MEDIAN9 = (
    (1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3),
    (5, 8), (4, 7), (3, 6), (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2),
)  # fmt: skip
#: The median of a 3x3x3 window after its values are sorted along the first two axes
#: (:func:`median27`): wire ``9 r + 3 s + t`` holds the ``s``-th smallest along axis 1
#: of the ``r``-th smallest along axis 0, at offset ``t`` along axis 2. Each entry is
#: ``(a, b, keep)``: the minimum goes to ``a`` and the maximum to ``b``, ``keep`` saying
#: which the rest reads (1 the minimum, 2 the maximum, 3 both); the median is left on
#: wire :data:`MEDIAN27_WIRE`. 86 compare-exchanges, 146 array operations: the nine
#: sorts along axis 2, then Batcher's odd-even merge sort of 27 inputs, less every
#: exchange that never swaps once the axes are sorted and every output the median does
#: not read. It is the median for every input: a network of minima and maxima gives
#: the median of every input if it does for every input of 0s and 1s, and the test
#: suite runs all 2**27 of those.
MEDIAN27 = (
    (0, 1, 3), (1, 2, 3), (0, 1, 2), (3, 4, 3), (4, 5, 3), (3, 4, 3), (6, 7, 3), (7, 8, 3),
    (6, 7, 3), (9, 10, 3), (10, 11, 3), (9, 10, 3), (12, 13, 3), (13, 14, 3), (12, 13, 3),
    (15, 16, 3), (16, 17, 3), (15, 16, 3), (18, 19, 3), (19, 20, 3), (18, 19, 3), (21, 22, 3),
    (22, 23, 1), (21, 22, 3), (24, 25, 3), (25, 26, 1), (24, 25, 1), (1, 9, 3), (3, 9, 3),
    (3, 1, 2), (2, 18, 3), (6, 10, 3), (2, 6, 3), (18, 10, 3), (18, 6, 3), (1, 2, 2),
    (9, 18, 3), (9, 2, 2), (18, 6, 3), (12, 4, 3), (15, 5, 3), (4, 15, 3), (11, 7, 3),
    (21, 19, 3), (11, 21, 3), (7, 19, 3), (7, 21, 3), (12, 11, 3), (15, 21, 3), (15, 11, 3),
    (4, 7, 3), (5, 19, 1), (5, 7, 3), (4, 15, 3), (5, 11, 3), (7, 21, 3), (2, 12, 2),
    (6, 15, 3), (6, 12, 2), (15, 11, 2), (18, 4, 2), (10, 5, 3), (10, 4, 1), (5, 7, 3),
    (10, 12, 2), (5, 11, 3), (16, 24, 3), (13, 16, 3), (22, 24, 1), (22, 16, 3), (14, 8, 3),
    (20, 17, 1), (14, 20, 3), (8, 20, 3), (13, 14, 3), (16, 20, 1), (16, 14, 1), (22, 8, 1),
    (22, 16, 3), (12, 13, 2), (11, 13, 2), (21, 16, 1), (21, 13, 1), (7, 22, 1), (5, 7, 2),
    (7, 21, 1),
)  # fmt: skip
MEDIAN27_WIRE = 7
#: Output planes of a 3x3x3 median per slab (its ~30 intermediates stay in cache).
SLAB_VOXELS = 1 << 17


def sort3(a, b, c):
    """The smallest, middle and largest of three arrays, element by element."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    mid, high = np.minimum(high, c), np.maximum(high, c)
    return np.minimum(low, mid), np.maximum(low, mid), high


def median9(p, shape):
    """The 3x3 median of the image padded by one (``p``), by :data:`MEDIAN9`."""
    h, w = shape
    v = [p[i : i + h, j : j + w] for i in range(3) for j in range(3)]
    for a, b in MEDIAN9:
        v[a], v[b] = np.minimum(v[a], v[b]), np.maximum(v[a], v[b])
    return v[4]


def median27(p, shape):
    """The 3x3x3 median of the volume padded by one (``p``), a slab of planes at a time.

    The three values along axis 0 are sorted once for every window that shares them,
    then the sorted columns along axis 1 (12 compare-exchanges a voxel, shared), and
    :data:`MEDIAN27` finishes each window from the nine sorted columns at its three
    offsets along axis 2.
    """
    d, h, w = shape
    out = np.empty(shape, p.dtype)
    step = max(1, SLAB_VOXELS // ((h + 2) * (w + 2)))
    for z in range(0, d, step):
        s = p[z : min(d, z + step) + 2]
        v = []
        for col in sort3(s[:-2], s[1:-1], s[2:]):
            for row in sort3(col[:, :-2], col[:, 1:-1], col[:, 2:]):
                v += [row[:, :, t : t + w] for t in range(3)]
        for a, b, keep in MEDIAN27:
            low = np.minimum(v[a], v[b]) if keep & 1 else None
            if keep & 2:
                v[b] = np.maximum(v[a], v[b])
            v[a] = low
        out[z : z + step] = v[MEDIAN27_WIRE]
    return out
