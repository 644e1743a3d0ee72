"""The measured pixels of one block: their labels compacted, and their runs along the last axis.

A *run* is a maximal stretch of consecutive pixels of one label along the last
axis. Runs are what most per-label sums iterate over: a region of ``P`` pixels
typically has ``P / width`` runs, and a sum of ``z**s`` over a run has a closed form,
so moments, counts, coordinate sums and bounding boxes cost O(pixels) once (to
find the runs) and then O(runs).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

#: A label range up to this many values per pixel (plus a constant) is compacted
#: by bincount; a wider (sparse) range by hashing.
RANGE_FACTOR = 2
_SLACK = 1 << 16


def flat_nonzero(a: np.ndarray) -> np.ndarray:
    """``np.flatnonzero(a)``, through a boolean mask for other dtypes.

    numpy's ``nonzero`` has a fast path for booleans only: on a 128^3 int32 block of
    labels ``flatnonzero(a != 0)`` takes 0.7 ms against 5.0 ms (the mask costs a byte a
    pixel).
    """
    a = np.asarray(a)
    return np.flatnonzero(a if a.dtype == bool else a != 0)


#: Pixels a slab of :func:`take_lut` (its index and output buffers stay in the cache).
TAKE_SLAB = 1 << 18


def take_lut(lut: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``lut[index]`` for an image or block of labels, by ``np.take``, in slabs.

    numpy's fancy indexing with an index of another integer type than intp (the
    uint8 to uint32 labels of an image) runs 2-4x slower than ``np.take`` with the
    same index (a 256x256 int32 image: 204 against 86 us); ``np.take`` still casts a
    whole index to intp first, a fresh temporary of 8 bytes a pixel, so a block
    larger than :data:`TAKE_SLAB` pixels is taken slab by slab (a 16x256x1024
    uint32 block: 9.9 ms against 11.2 ms at once and 24 ms by indexing). Same
    values and errors as ``lut[index]`` (negative indices count from the end; one
    out of range raises IndexError); an index that is not integral (a mask) is
    indexed as numpy does.
    """
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        return lut[index]
    if index.size <= TAKE_SLAB or not index.flags.c_contiguous:
        return np.take(lut, index)
    out = np.empty(index.shape, lut.dtype)
    flat, dest = index.reshape(-1), out.reshape(-1)
    for s in range(0, flat.size, TAKE_SLAB):
        np.take(lut, flat[s : s + TAKE_SLAB], out=dest[s : s + TAKE_SLAB])
    return out


def compact(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact the nonzero labels of ``flat``.

    Returns ``(labels, inv, counts)``: the sorted distinct nonzero labels (int64),
    the compact index of every pixel (background -> ``len(labels)``) and the pixel
    count of each label.
    """
    return compact_values(flat, background=False)


def compact_values(flat: np.ndarray, *, background: bool) -> tuple:
    """:func:`compact`; with ``background`` the label 0 is a label like the others."""
    if flat.dtype == bool:
        flat = flat.view(np.uint8)
    if flat.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.intp), np.zeros(0, np.int64)
    lo, hi = int(flat.min()), int(flat.max())
    span = hi - lo + 1
    if span <= RANGE_FACTOR * flat.size + _SLACK:
        idx = flat if lo == 0 else flat.astype(np.intp) - lo
        counts = np.bincount(idx, minlength=span)
        if not background and lo <= 0 <= hi:
            counts[-lo] = 0
        present = np.flatnonzero(counts)
        n = len(present)
        lut = np.full(span, n, dtype=np.intp)
        lut[present] = np.arange(n)
        return present.astype(np.int64) + lo, take_lut(lut, idx), counts[present].astype(np.int64)
    import pandas as pd

    codes, uniq = pd.factorize(flat, sort=True)
    uniq = np.asarray(uniq).astype(np.int64)
    keep = np.ones(len(uniq), bool) if background else uniq != 0
    labels = uniq[keep]
    n = len(labels)
    lut = np.full(len(uniq), n, dtype=np.intp)
    lut[keep] = np.arange(n)
    inv = take_lut(lut, codes)
    counts = np.bincount(inv, minlength=n + 1)[:n].astype(np.int64)
    return labels, inv, counts


#: The statistics that a block's runs alone give (counts, bounding boxes, first
#: pixels, coordinate sums): :meth:`Fore.from_runs` finds them without listing the
#: block's pixels.
RUN_NEEDS = frozenset({"bbox", "first", "coords"})


class Fore:
    """The measured pixels of a C-ordered block and their runs.

    Parameters
    ----------
    lab : numpy.ndarray
        The label block.
    offset : sequence of int
        The block's start in the whole array.
    background : bool
        Measure label 0 too (scipy's functions with 0 in ``index``).
    nz : numpy.ndarray, optional
        The raster indices of the measured pixels, when the caller has them.
    values : numpy.ndarray, optional
        Their labels, when the caller has them too (``lab`` is then not read).
    """

    def __init__(self, lab: np.ndarray, offset, *, background: bool = False, nz=None, values=None):
        self.shape = lab.shape
        self.ndim = lab.ndim
        self.size = lab.size
        self.offset = tuple(int(o) for o in offset)
        flat = lab.reshape(-1) if nz is None or values is None else None
        if nz is None:
            if background:
                nz = np.arange(flat.size, dtype=np.intp)
            else:
                nz = flat_nonzero(flat)
        self.nz = nz
        if values is None:
            values = flat[nz]
        self.labels, self.inv, self.counts = compact_values(values, background=background)
        self.n = len(self.labels)

    @classmethod
    def from_runs(cls, lab: np.ndarray, offset) -> Fore:
        """The same measured pixels and runs (labels other than 0), found run by run.

        The runs are where a row of ``lab`` (along the last axis) changes value: one
        comparison of neighbours over the block and the runs' first pixels, instead
        of listing every labelled pixel and compacting each one's label (a
        16x256x1024 block, half foreground, in 12 components and 153k runs: the
        counts, bounding boxes and first pixels in 19 ms against 67 ms, the pixels
        listed included). Counts, bounding boxes, first pixels and coordinate sums
        then cost O(runs); the pixels themselves (:attr:`nz`, :attr:`inv`) are
        expanded from the runs only if asked for.
        """
        lab = np.asarray(lab)
        if lab.ndim == 0 or lab.size == 0:
            return cls(lab, offset)
        self = cls.__new__(cls)
        self.shape, self.ndim, self.size = lab.shape, lab.ndim, lab.size
        self.offset = tuple(int(o) for o in offset)
        rows = lab.reshape(-1, lab.shape[-1])
        change = np.empty(rows.shape, bool)
        change[:, 0] = True
        np.not_equal(rows[:, 1:], rows[:, :-1], out=change[:, 1:])
        pix = np.flatnonzero(change)  # the first pixel of every run, background's too
        vals = rows.reshape(-1)[pix]
        length = np.diff(np.append(pix, lab.size))
        keep = vals != 0
        pix, vals, length = pix[keep], vals[keep], length[keep].astype(np.int64)
        self.labels, run_label, _ = compact_values(vals, background=False)
        self.n = n = len(self.labels)
        # integers below 2**53 sum exactly in float64
        self.counts = np.rint(np.bincount(run_label, weights=length, minlength=n)[:n]).astype(
            np.int64
        )
        d = self.__dict__
        d["run_label"], d["run_length"], d["run_pixels"] = run_label, length, pix
        d["starts"] = (np.cumsum(length) - length).astype(np.intp)
        return self

    @cached_property
    def nz(self) -> np.ndarray:
        """Raster indices of the measured pixels (a :meth:`from_runs` Fore's, expanded)."""
        pix, length, starts = self.run_pixels, self.run_length, self.starts
        total = int(length.sum())
        return np.repeat(pix - starts, length) + np.arange(total, dtype=np.intp)

    @cached_property
    def inv(self) -> np.ndarray:
        """Compact label index of every measured pixel (a :meth:`from_runs` Fore's)."""
        return np.repeat(self.run_label, self.run_length)

    @property
    def width(self) -> int:
        return self.shape[-1] if self.ndim else 1

    @cached_property
    def starts(self) -> np.ndarray:
        """Index (into :attr:`nz`) of the first pixel of every run."""
        nz, inv = self.nz, self.inv
        if len(nz) == 0:
            return np.zeros(0, np.intp)
        brk = np.empty(len(nz), bool)
        brk[0] = True
        np.not_equal(np.diff(nz), 1, out=brk[1:])
        brk[1:] |= inv[1:] != inv[:-1]
        # a run also ends with its row: the first measured pixel of every row starts
        # one (found by bisection of the sorted indices, not a modulo of every pixel,
        # which took half the time; where that pixel is not the row's first, the gap
        # has already broken the run)
        rows = np.searchsorted(nz, np.arange(self.width, self.size, self.width))
        brk[rows[rows < len(nz)]] = True
        return np.flatnonzero(brk)

    @cached_property
    def run_label(self) -> np.ndarray:
        return self.inv[self.starts]

    @cached_property
    def run_length(self) -> np.ndarray:
        return np.diff(np.append(self.starts, len(self.nz))).astype(np.int64)

    @cached_property
    def run_pixels(self) -> np.ndarray:
        """Local raster index of every run's first pixel."""
        return self.nz[self.starts]

    @cached_property
    def run_coords(self) -> tuple[np.ndarray, ...]:
        """Local coordinates of every run's first pixel, one int64 array per axis."""
        if self.ndim == 0:
            return ()
        return tuple(c.astype(np.int64) for c in np.unravel_index(self.run_pixels, self.shape))

    @cached_property
    def pixel_last(self) -> np.ndarray:
        """The last-axis coordinate of every measured pixel."""
        return (self.nz % self.width).astype(np.int64)

    def run_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (one per measured pixel, along axis 0) over every run."""
        if len(self.starts) == 0:
            return np.zeros((0,) + values.shape[1:], values.dtype)
        return np.add.reduceat(values, self.starts, axis=0)

    def run_reduce(self, ufunc, values: np.ndarray) -> np.ndarray:
        if len(self.starts) == 0:
            return np.zeros((0,) + values.shape[1:], values.dtype)
        return ufunc.reduceat(values, self.starts, axis=0)

    @cached_property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        """Local ``(bmin, bmax)`` per label, shape ``(n, ndim)``, inclusive."""
        n, ndim = self.n, self.ndim
        bmin = np.zeros((n, ndim), np.int64)
        bmax = np.zeros((n, ndim), np.int64)
        lab = self.run_label
        for k, c in enumerate(self.run_coords):
            lo = np.full(n, np.iinfo(np.int64).max, np.int64)
            hi = np.full(n, -1, np.int64)
            np.minimum.at(lo, lab, c)
            end = c + self.run_length - 1 if k == ndim - 1 else c
            np.maximum.at(hi, lab, end)
            bmin[:, k] = lo
            bmax[:, k] = hi
        return bmin, bmax

    @cached_property
    def first(self) -> np.ndarray:
        """Local raster index of every label's first pixel."""
        first = np.full(self.n, self.size, np.intp)
        if "starts" in self.__dict__:  # the runs are known: their starts suffice
            np.minimum.at(first, self.run_label, self.run_pixels)
        else:
            np.minimum.at(first, self.inv, self.nz)
        return first

    def global_index(self, local: np.ndarray, gshape) -> np.ndarray:
        """Global raster indices of local raster indices."""
        if len(local) == 0:
            return np.zeros(0, np.int64)
        coords = np.unravel_index(local, self.shape)
        glob = tuple(c + o for c, o in zip(coords, self.offset, strict=True))
        return np.ravel_multi_index(glob, tuple(gshape)).astype(np.int64)
