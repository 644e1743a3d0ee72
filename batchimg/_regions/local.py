"""Per-label histograms of local pixel configurations: perimeter, Crofton perimeter, Euler number.

scikit-image computes ``perimeter``, ``perimeter_crofton`` and ``euler_number`` of a
region as a dot product of fixed coefficients with a histogram of local
configurations of the region's mask (the region's pixels against everything
else, zero beyond the array). The histograms are integer counts, so they add
exactly over blocks; each block needs only a halo of neighbouring labels (one
pixel for the 2x2(x2) windows, two for the perimeter's border pixels) and counts
each configuration once, at a pixel of the region that owns it. The dot product
is then the same numpy call on the same numbers as scikit-image's, so the values
are scikit-image's exactly.

- Euler number and Crofton perimeter: every 2x2 (2x2x2 in 3-D) window that holds a
  pixel of the region, coded ``1, 2, 4, 8 (, 16, 32, 64, 128)`` by which of its
  corners are in the region (scikit-image's ``ndi.convolve`` with
  ``[[0, 0, 0], [0, 1, 4], [0, 2, 8]]``). Windows wholly inside the region (code
  15 or 255) have coefficient 0 everywhere and are not counted.
- Perimeter: the region's border pixels (a 4-neighbour outside the region), coded
  ``1 + 2 * (border 4-neighbours) + 10 * (border diagonal neighbours)``, of the
  region; the codes with a nonzero weight are kept.
"""

from __future__ import annotations

import functools
import itertools
from math import sqrt

import numpy as np

from .fore import flat_nonzero

#: The perimeter codes that have a nonzero weight, and their weights.
PERIMETER_CODES = np.array([5, 7, 13, 15, 17, 21, 23, 25, 27, 33])


def perimeter_weights() -> np.ndarray:
    """scikit-image's 50 perimeter weights (``skimage.measure.perimeter``)."""
    w = np.zeros(50, dtype=np.float64)
    w[[5, 7, 15, 17, 25, 27]] = 1
    w[[21, 33]] = sqrt(2)
    w[[13, 23]] = (1 + sqrt(2)) / 2
    return w


def _corner_weights(ndim: int) -> dict[tuple[int, ...], int]:
    """Corner offset (subtracted from the window's anchor) -> its bit, as scikit-image."""
    if ndim == 2:
        return {(0, 0): 1, (1, 0): 2, (0, 1): 4, (1, 1): 8}
    return {
        (0, 0, 0): 1,
        (0, 0, 1): 4,
        (0, 1, 0): 2,
        (0, 1, 1): 8,
        (1, 0, 0): 16,
        (1, 0, 1): 64,
        (1, 1, 0): 32,
        (1, 1, 1): 128,
    }


def window_codes(
    padded: np.ndarray, halo: int, labels: np.ndarray, pidx: np.ndarray | None = None
) -> np.ndarray:
    """Per-label histogram of 2x2(x2) window codes: ``(len(labels), 16 or 256)`` int64.

    ``padded`` is the label block with ``halo`` pixels of neighbouring labels (0
    beyond the array) on every side; ``labels`` are the sorted labels of the block's
    core. A window is counted for a region at the region's first corner in the
    order of :func:`_corner_weights`, so every (window, region) pair is counted by
    exactly one block. Work is proportional to the core's foreground pixels, whose
    flat indices into ``padded`` the caller may give (``pidx``).
    """
    padded = np.ascontiguousarray(padded)
    ndim = padded.ndim
    core = tuple(s - 2 * halo for s in padded.shape)
    bins = 16 if ndim == 2 else 256
    out = np.zeros((len(labels), bins), np.int64)
    flat = padded.reshape(-1)
    strides = np.array([int(np.prod(padded.shape[k + 1 :])) for k in range(ndim)], np.intp)
    if pidx is None:
        pidx = core_foreground(padded, halo, core)[2]
    base = pidx
    if len(base) == 0:
        return out
    lab = flat[base]
    dirs, index, shifts = _window_tables(ndim)
    same = [flat[base + int(np.dot(d, strides))] == lab if any(d) else None for d in dirs]
    row = np.searchsorted(labels, lab).astype(np.int64) * bins
    keys = []
    for j in range(len(index)):
        # the window whose corner j is this pixel; its corner jj holds the region or not
        code = np.zeros(len(base), np.uint8)  # the corners' bits (codes < 256)
        taken = np.zeros(len(base), bool)  # an earlier corner is the region's: not ours
        for jj, k in enumerate(index[j]):
            if same[k] is None:  # the pixel itself
                code |= np.uint8(1 << int(shifts[jj]))
                continue
            if jj < j:
                taken |= same[k]
            code |= np.left_shift(same[k].view(np.uint8), shifts[jj])
        keep = ~taken & (code != bins - 1)
        keys.append(row[keep] + code[keep])
    # one count of every (label, code) key of the block
    counts = np.bincount(np.concatenate(keys), minlength=len(labels) * bins)
    return counts.reshape(len(labels), bins).astype(np.int64, copy=False)


@functools.lru_cache(maxsize=4)
def _window_tables(ndim: int) -> tuple:
    """The neighbour directions, the corners' directions and every corner's bit.

    ``index[j, jj]`` is the direction of corner ``jj`` of the window whose corner
    ``j`` is the pixel; ``shifts[jj]`` the bit of corner ``jj`` in the window's code.
    """
    dirs = list(itertools.product((-1, 0, 1), repeat=ndim))
    corners = list(_corner_weights(ndim).items())
    index = np.array(
        [
            [dirs.index(tuple(a - b for a, b in zip(o, o2, strict=True))) for o2, _ in corners]
            for o, _ in corners
        ]
    )
    shifts = np.array([w.bit_length() - 1 for _, w in corners], np.uint8)
    return dirs, index, shifts


def core_foreground(padded: np.ndarray, halo: int, core: tuple[int, ...]) -> tuple:
    """The core's nonzero pixels of a padded (C-contiguous) block, without copying the core.

    Returns ``(nz, values, pidx)``: their raster indices in the core, their labels,
    and their flat indices in ``padded``.
    """
    pnz = flat_nonzero(padded)
    coords = np.unravel_index(pnz, padded.shape)
    inside = np.ones(len(pnz), bool)
    for c, n in zip(coords, core, strict=True):
        inside &= (c >= halo) & (c < halo + n)
    pidx = pnz[inside]
    local = tuple(c[inside] - halo for c in coords)
    nz = np.ravel_multi_index(local, core) if local else np.zeros(len(pidx), np.intp)
    return nz, padded.reshape(-1)[pidx], pidx


def perimeter_codes(padded: np.ndarray, halo: int, labels: np.ndarray) -> np.ndarray:
    """Per-label histogram of the weighted perimeter codes: ``(len(labels), 10)`` int64.

    Needs ``halo >= 2`` (a neighbour's border status depends on its neighbours).
    """
    core = tuple(s - 2 * halo for s in padded.shape)
    out = np.zeros((len(labels), len(PERIMETER_CODES)), np.int64)
    ring = tuple(c + 2 for c in core)
    inner = padded[tuple(slice(halo - 1, halo - 1 + r) for r in ring)]

    def shifted(d):
        return padded[
            tuple(slice(halo - 1 + dk, halo - 1 + dk + r) for dk, r in zip(d, ring, strict=True))
        ]

    interior = np.ones(ring, bool)
    for d in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        interior &= shifted(d) == inner
    border = (inner != 0) & ~interior
    centre = (slice(1, -1), slice(1, -1))
    cb = border[centre]
    idx = np.flatnonzero(cb)
    if len(idx) == 0:
        return out
    lab = inner[centre].reshape(-1)[idx]
    code = np.ones(len(idx), np.int64)
    for d, w in (
        ((-1, 0), 2),
        ((1, 0), 2),
        ((0, -1), 2),
        ((0, 1), 2),
        ((-1, -1), 10),
        ((-1, 1), 10),
        ((1, -1), 10),
        ((1, 1), 10),
    ):
        sl = tuple(slice(1 + dk, 1 + dk + c) for dk, c in zip(d, core, strict=True))
        hit = (inner[sl].reshape(-1)[idx] == lab) & border[sl].reshape(-1)[idx]
        code += w * hit
    col = np.searchsorted(PERIMETER_CODES, code)
    col = np.clip(col, 0, len(PERIMETER_CODES) - 1)
    keep = PERIMETER_CODES[col] == code
    row = np.searchsorted(labels, lab)
    np.add.at(out, (row[keep], col[keep]), 1)
    return out


EULER_COEFS2D_8 = np.array([0, 0, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, -1, 0])


def euler_coefs(ndim: int) -> np.ndarray:
    """scikit-image's Euler coefficients for full connectivity (``connectivity=ndim``)."""
    if ndim == 2:
        return EULER_COEFS2D_8
    from skimage.measure._regionprops_utils import EULER_COEFS3D_26

    return np.asarray(EULER_COEFS3D_26)


def crofton_coefs() -> list[float]:
    """scikit-image's 4-direction Crofton coefficients (``perimeter_crofton``)."""
    return [
        0,
        np.pi / 4 * (1 + 1 / (np.sqrt(2))),
        np.pi / (4 * np.sqrt(2)),
        np.pi / (2 * np.sqrt(2)),
        0,
        np.pi / 4 * (1 + 1 / (np.sqrt(2))),
        0,
        np.pi / (4 * np.sqrt(2)),
        np.pi / 4,
        np.pi / 2,
        np.pi / (4 * np.sqrt(2)),
        np.pi / (4 * np.sqrt(2)),
        np.pi / 4,
        np.pi / 2,
        0,
        0,
    ]
