"""Per-block partial statistics per label, and their reduction across blocks.

One task per block turns a label block (and an optional intensity block) into a
small *table*: one row per (image, label) present in the block, holding partial
sums that merge exactly (counts, coordinate sums, bounding boxes, minima, maxima,
first-pixel index) or stably (per-label ``(count, mean, M2)`` merged with Chan's
parallel formula). Every statistic is vectorised and O(pixels) per block whatever
the number of labels:

- labels are compacted to ``0..n-1`` (background ``n``) by a bincount over the
  block's label range when the range is small, else by a hash factorisation
  (``pandas.factorize``), never by a sort of the pixels;
- per-axis coordinate sums and bounding boxes come from one bincount of
  ``(coordinate along the axis, compact label)`` pairs, a small ``(axis length,
  n)`` table, when that table is small; else from per-pixel coordinates;
- minima, maxima and first-pixel indices use ``np.minimum.at``/``np.maximum.at``.

Tables are dicts of numpy arrays sorted by ``(image, label)``; :func:`merge`
combines any number of them, and :func:`tree_reduce` builds a dask.delayed tree of
merges over the per-block tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np

from .._overlap import block_offsets

#: The statistic groups a block task can compute.
NEEDS = frozenset({"coords", "bbox", "isum", "wcoords", "minmax", "m2", "first"})

#: How each field merges: "add", "min", "max" or "chan" (mean/M2 with count).
FIELD_OPS = {
    "count": "add",
    "csum": "add",
    "bmin": "min",
    "bmax": "max",
    "isum": "add",
    "wcsum": "add",
    "imin": "min",
    "imax": "max",
    "mean": "chan",
    "m2": "chan",
    "first": "min",
}

#: A (coordinate, label) table may hold up to this many cells per block pixel
#: (plus a constant) before the per-pixel fallback is used.
TABLE_FACTOR = 4
#: A label range up to this many values per pixel (plus a constant) is compacted
#: by bincount; a wider (sparse) range by hashing.
RANGE_FACTOR = 2
_SLACK = 1 << 16
#: Blocks are measured in slabs along axis 0 of about this many pixels, so the
#: per-pixel temporaries stay in cache; the slab tables are then merged.
SLAB = 1 << 18


def compact(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact the nonzero labels of ``flat``.

    Returns ``(labels, inv, counts)``: the sorted distinct nonzero labels (int64),
    the compact index of every pixel (background -> ``len(labels)``) and the pixel
    count of each label.
    """
    if flat.dtype == bool:
        flat = flat.view(np.uint8)
    if flat.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.intp), np.zeros(0, np.int64)
    lo, hi = int(flat.min()), int(flat.max())
    span = hi - lo + 1
    if span <= RANGE_FACTOR * flat.size + _SLACK:
        idx = flat if lo == 0 else flat.astype(np.intp) - lo
        counts = np.bincount(idx, minlength=span)
        if lo <= 0 <= hi:
            counts[-lo] = 0
        present = np.flatnonzero(counts)
        n = len(present)
        lut = np.full(span, n, dtype=np.intp)
        lut[present] = np.arange(n)
        return present.astype(np.int64) + lo, lut[idx], counts[present].astype(np.int64)
    import pandas as pd

    codes, uniq = pd.factorize(flat, sort=True)
    uniq = np.asarray(uniq).astype(np.int64)
    keep = uniq != 0
    labels = uniq[keep]
    n = len(labels)
    lut = np.full(len(uniq), n, dtype=np.intp)
    lut[keep] = np.arange(n)
    inv = lut[codes]
    counts = np.bincount(inv, minlength=n + 1)[:n].astype(np.int64)
    return labels, inv, counts


def _axis_coords(shape: Sequence[int], axis: int) -> np.ndarray:
    """Return the coordinate along ``axis`` of every pixel of a C-ordered block, raveled."""
    sel = [None] * len(shape)
    sel[axis] = slice(None)
    return np.broadcast_to(np.arange(shape[axis])[tuple(sel)], shape).ravel()


def _image_stats(
    lab: np.ndarray,
    img: np.ndarray | None,
    offset: Sequence[int],
    gshape: Sequence[int],
    needs: frozenset,
) -> dict[str, np.ndarray]:
    """Compute the partial statistics of one image (or one image's block)."""
    shape = lab.shape
    ndim = lab.ndim
    labels, inv, counts = compact(lab.ravel())
    n = len(labels)
    size = lab.size
    out: dict[str, np.ndarray] = {"label": labels, "count": counts}
    w = None
    if img is not None and needs & {"isum", "wcoords", "m2"}:
        w = img.ravel().astype(np.float64)
    if needs & {"coords", "bbox", "wcoords"}:
        csum = np.zeros((n, ndim), np.int64)
        bmin = np.zeros((n, ndim), np.int64)
        bmax = np.zeros((n, ndim), np.int64)
        wcsum = np.zeros((n, ndim), np.float64)
        inv_nd = inv.reshape(shape)
        for k in range(ndim):
            sk = shape[k]
            pos = np.arange(sk, dtype=np.int64) + offset[k]
            if sk * (n + 1) <= TABLE_FACTOR * size + _SLACK:
                sel = [None] * ndim
                sel[k] = slice(None)
                comb = (inv_nd + (n + 1) * np.arange(sk, dtype=np.intp)[tuple(sel)]).ravel()
                if needs & {"coords", "bbox"}:
                    table = np.bincount(comb, minlength=sk * (n + 1)).reshape(sk, n + 1)[:, :n]
                if "coords" in needs:
                    csum[:, k] = pos @ table
                if "bbox" in needs:
                    hit = table > 0
                    bmin[:, k] = pos[np.argmax(hit, axis=0)]
                    bmax[:, k] = pos[sk - 1 - np.argmax(hit[::-1], axis=0)]
                if "wcoords" in needs:
                    wt = np.bincount(comb, weights=w, minlength=sk * (n + 1))
                    wcsum[:, k] = pos.astype(np.float64) @ wt.reshape(sk, n + 1)[:, :n]
            else:
                coord = _axis_coords(shape, k)
                if "coords" in needs:
                    acc = np.zeros(n + 1, np.int64)
                    np.add.at(acc, inv, coord)
                    csum[:, k] = acc[:n] + counts * offset[k]
                if "bbox" in needs:
                    lo = np.full(n + 1, sk, np.int64)
                    hi = np.full(n + 1, -1, np.int64)
                    np.minimum.at(lo, inv, coord)
                    np.maximum.at(hi, inv, coord)
                    bmin[:, k] = lo[:n] + offset[k]
                    bmax[:, k] = hi[:n] + offset[k]
                if "wcoords" in needs:
                    wsum = np.bincount(inv, weights=coord * w, minlength=n + 1)[:n]
                    wtot = np.bincount(inv, weights=w, minlength=n + 1)[:n]
                    wcsum[:, k] = wsum + offset[k] * wtot
        if "coords" in needs:
            out["csum"] = csum
        if "bbox" in needs:
            out["bmin"] = bmin
            out["bmax"] = bmax
        if "wcoords" in needs:
            out["wcsum"] = wcsum
    if needs & {"isum", "m2"}:
        isum = np.bincount(inv, weights=w, minlength=n + 1)[:n]
        if "isum" in needs:
            out["isum"] = isum
        if "m2" in needs:
            mean = isum / counts if n else isum
            dev = w - np.append(mean, 0.0)[inv]
            out["mean"] = mean
            out["m2"] = np.bincount(inv, weights=dev * dev, minlength=n + 1)[:n]
    if "minmax" in needs:
        vals = img.ravel()
        lo, hi = _extremes(vals.dtype)
        imin = np.full(n + 1, hi, vals.dtype)
        imax = np.full(n + 1, lo, vals.dtype)
        np.minimum.at(imin, inv, vals)
        np.maximum.at(imax, inv, vals)
        out["imin"] = imin[:n]
        out["imax"] = imax[:n]
    if "first" in needs:
        first = np.full(n + 1, size, np.intp)
        np.minimum.at(first, inv, np.arange(size, dtype=np.intp))
        local = np.unravel_index(first[:n], shape)
        glob = tuple(c + o for c, o in zip(local, offset, strict=True))
        out["first"] = (
            np.ravel_multi_index(glob, gshape).astype(np.int64) if n else np.zeros(0, np.int64)
        )
    return out


#: Below this foreground fraction a block is measured on its foreground pixels only.
SPARSE = 0.5


def sparse_stats(lab, img, offset, gshape, needs, nz) -> dict[str, np.ndarray]:
    """Compute the statistics of :func:`_image_stats` from the foreground pixels only.

    ``nz`` holds the raster indices of the nonzero labels; work is proportional to
    their number, with coordinates from ``np.unravel_index``.
    """
    shape = lab.shape
    ndim = lab.ndim
    labels, inv, counts = compact(lab.ravel()[nz])
    n = len(labels)
    out: dict[str, np.ndarray] = {"label": labels, "count": counts}
    w = None
    if img is not None and needs & {"isum", "wcoords", "m2"}:
        w = img.ravel()[nz].astype(np.float64)
    isum = None
    if w is not None:
        isum = np.bincount(inv, weights=w, minlength=n)
    coords = np.unravel_index(nz, shape) if needs & {"coords", "bbox", "wcoords"} else ()
    if "coords" in needs:
        csum = np.zeros((n, ndim), np.int64)
        for k, c in enumerate(coords):
            # float64 sums of integer coordinates are exact below 2**53
            csum[:, k] = np.rint(np.bincount(inv, weights=c, minlength=n)).astype(np.int64)
            csum[:, k] += counts * offset[k]
        out["csum"] = csum
    if "bbox" in needs:
        bmin = np.zeros((n, ndim), np.int64)
        bmax = np.zeros((n, ndim), np.int64)
        for k, c in enumerate(coords):
            lo = np.full(n, shape[k], np.intp)
            hi = np.full(n, -1, np.intp)
            np.minimum.at(lo, inv, c)
            np.maximum.at(hi, inv, c)
            bmin[:, k] = lo + offset[k]
            bmax[:, k] = hi + offset[k]
        out["bmin"] = bmin
        out["bmax"] = bmax
    if "wcoords" in needs:
        wcsum = np.zeros((n, ndim), np.float64)
        for k, c in enumerate(coords):
            wcsum[:, k] = np.bincount(inv, weights=c * w, minlength=n) + offset[k] * isum
        out["wcsum"] = wcsum
    if "isum" in needs:
        out["isum"] = isum
    if "m2" in needs:
        mean = isum / counts if n else isum
        dev = w - mean[inv]
        out["mean"] = mean
        out["m2"] = np.bincount(inv, weights=dev * dev, minlength=n)
    if "minmax" in needs:
        vals = img.ravel()[nz]
        lo, hi = _extremes(vals.dtype)
        imin = np.full(n, hi, vals.dtype)
        imax = np.full(n, lo, vals.dtype)
        np.minimum.at(imin, inv, vals)
        np.maximum.at(imax, inv, vals)
        out["imin"] = imin
        out["imax"] = imax
    if "first" in needs:
        first = np.full(n, lab.size, np.intp)
        np.minimum.at(first, inv, nz)
        local = np.unravel_index(first, shape)
        glob = tuple(c + o for c, o in zip(local, offset, strict=True))
        out["first"] = (
            np.ravel_multi_index(glob, gshape).astype(np.int64) if n else np.zeros(0, np.int64)
        )
    return out


def _slabbed_stats(lab, img, offset, gshape, needs) -> dict[str, np.ndarray]:
    """Measure one block: from its foreground when sparse, else in cache-sized slabs.

    Dense blocks run :func:`_image_stats` over slabs along axis 0 that fit in
    cache, then merge.
    """
    nz = np.flatnonzero(lab)
    if len(nz) <= SPARSE * lab.size:
        return sparse_stats(lab, img, offset, gshape, needs, nz)
    if lab.ndim < 2 or lab.size <= SLAB:
        return _image_stats(lab, img, offset, gshape, needs)
    step = max(1, SLAB // (lab.size // lab.shape[0]))
    parts = []
    for s in range(0, lab.shape[0], step):
        sub = slice(s, s + step)
        t = _image_stats(
            lab[sub], None if img is None else img[sub], (offset[0] + s, *offset[1:]), gshape, needs
        )
        t["image"] = np.zeros(len(t["label"]), np.int64)
        parts.append(t)
    t = merge(*parts)
    del t["image"]
    return t


def _extremes(dtype: np.dtype) -> tuple[Any, Any]:
    if dtype.kind == "f":
        return -np.inf, np.inf
    if dtype.kind == "b":
        return False, True
    info = np.iinfo(dtype)
    return info.min, info.max


def empty_table(ndim: int, needs: frozenset, idtype: Any = None) -> dict[str, np.ndarray]:
    """Return a table with no rows and the fields ``needs`` asks for."""
    t = {"image": np.zeros(0, np.int64), "label": np.zeros(0, np.int64)}
    t["count"] = np.zeros(0, np.int64)
    if "coords" in needs:
        t["csum"] = np.zeros((0, ndim), np.int64)
    if "bbox" in needs:
        t["bmin"] = np.zeros((0, ndim), np.int64)
        t["bmax"] = np.zeros((0, ndim), np.int64)
    if "wcoords" in needs:
        t["wcsum"] = np.zeros((0, ndim), np.float64)
    if "isum" in needs:
        t["isum"] = np.zeros(0, np.float64)
    if "m2" in needs:
        t["mean"] = np.zeros(0, np.float64)
        t["m2"] = np.zeros(0, np.float64)
    if "minmax" in needs:
        t["imin"] = np.zeros(0, idtype)
        t["imax"] = np.zeros(0, idtype)
    if "first" in needs:
        t["first"] = np.zeros(0, np.int64)
    return t


def block_stats(
    lab: np.ndarray,
    img: np.ndarray | None,
    offset: Sequence[int],
    gshape: Sequence[int],
    needs: frozenset,
    stack: bool,
) -> dict[str, np.ndarray]:
    """Compute the partial statistics table of one block.

    ``offset`` is the block's start in the whole array, ``gshape`` the whole
    array's shape. With ``stack``, axis 0 indexes images: each image of the block
    is measured on its own and coordinates exclude axis 0.
    """
    lab = np.asarray(lab)
    if img is not None:
        img = np.asarray(img)
        if img.dtype == bool:
            img = img.view(np.uint8)
    if not stack:
        t = _slabbed_stats(lab, img, offset, gshape, needs)
        t["image"] = np.zeros(len(t["label"]), np.int64)
        return t
    idtype = None if img is None else img.dtype
    parts = [empty_table(lab.ndim - 1, needs, idtype)]
    for i in range(lab.shape[0]):
        t = _slabbed_stats(lab[i], None if img is None else img[i], offset[1:], gshape[1:], needs)
        t["image"] = np.full(len(t["label"]), offset[0] + i, np.int64)
        parts.append(t)
    return concat(parts)


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def merge(*tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Merge tables row-wise by ``(image, label)``.

    Counts, sums and first indices add or take the minimum exactly; ``(mean, M2)``
    merge with the multi-way form of Chan et al.'s parallel formula:
    ``mean = sum(n_i mean_i) / n`` and ``M2 = sum(M2_i) + sum(n_i (mean_i - mean)**2)``.
    """
    rows = [t for t in tables if len(t["label"])]
    if not rows:
        return tables[0]
    if len(rows) == 1:
        return rows[0]
    return group(concat(rows))


def group(cat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Merge the rows of one table that share an ``(image, label)`` (see :func:`merge`)."""
    if len(cat["label"]) == 0:
        return cat
    order = np.lexsort((cat["label"], cat["image"]))
    cat = {k: v[order] for k, v in cat.items()}
    img, lab = cat["image"], cat["label"]
    change = np.ones(len(lab), bool)
    change[1:] = (img[1:] != img[:-1]) | (lab[1:] != lab[:-1])
    starts = np.flatnonzero(change)
    out = {"image": img[starts], "label": lab[starts]}
    for k, v in cat.items():
        op = FIELD_OPS.get(k)
        if op == "add":
            out[k] = np.add.reduceat(v, starts, axis=0)
        elif op == "min":
            out[k] = np.minimum.reduceat(v, starts, axis=0)
        elif op == "max":
            out[k] = np.maximum.reduceat(v, starts, axis=0)
    if "mean" in cat:
        n_i = cat["count"].astype(np.float64)
        n = out["count"].astype(np.float64)
        mean = np.add.reduceat(n_i * cat["mean"], starts) / n
        group = np.cumsum(change) - 1
        dev = cat["mean"] - mean[group]
        out["mean"] = mean
        out["m2"] = np.add.reduceat(cat["m2"], starts) + np.add.reduceat(n_i * dev * dev, starts)
    return out


def tree_reduce(parts: list, split_every: int = 8) -> Any:
    """Build a dask.delayed tree of :func:`merge` over delayed tables (fan-in ``split_every``)."""
    while len(parts) > 1:
        parts = [
            dask.delayed(merge, pure=True)(*parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    return parts[0]


def stats_delayed(
    labels: da.Array,
    intensity: da.Array | None,
    needs: frozenset,
    *,
    stack: bool = False,
    split_every: int = 8,
) -> Any:
    """Build the merged statistics table of a whole label image, as a dask.delayed.

    One :func:`block_stats` task per block (the label and intensity blocks of the
    same chunk together), then a tree of merges over the small tables.
    """
    lab_blocks = labels.to_delayed()
    img_blocks = None if intensity is None else intensity.to_delayed()
    parts = []
    kernel = dask.delayed(block_stats, pure=True)
    for idx, off in block_offsets(labels.chunks):
        img = None if img_blocks is None else img_blocks[idx]
        parts.append(kernel(lab_blocks[idx], img, off, labels.shape, needs, stack))
    if not parts:
        ndim = labels.ndim - 1 if stack else labels.ndim
        idtype = None if intensity is None else intensity.dtype
        return dask.delayed(empty_table, pure=True)(ndim, needs, idtype)
    return tree_reduce(parts, split_every)


# ---------------------------------------------------------------------------
# relabelling
# ---------------------------------------------------------------------------


def apply_mapping(block: np.ndarray, mapping: Any, dtype: Any) -> np.ndarray:
    """Map one block of labels through a lookup array or sorted ``(keys, values)``."""
    if isinstance(mapping, tuple):
        keys, values = mapping
        if len(keys) == 0:
            return np.zeros(block.shape, dtype)
        pos = np.clip(np.searchsorted(keys, block), 0, len(keys) - 1)
        hit = keys[pos] == block
        return np.where(hit, values[pos], 0).astype(dtype, copy=False)
    return np.asarray(mapping)[block].astype(dtype, copy=False)
