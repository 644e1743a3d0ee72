"""Per-block partial statistics per label, and their reduction across blocks.

One task per block turns a label block (and an optional intensity block) into a
small *table* (:mod:`.tables`): one row per label present in the block, holding
partial sums that merge exactly. Work is O(measured pixels) per block whatever the
number of labels: the pixels are found once (``np.flatnonzero``), their labels
compacted (:func:`.fore.compact`), and most sums run over the *runs* of a label
along the last axis (:class:`.fore.Fore`).

The statistic groups a block task can compute (:data:`NEEDS`):

``bbox``        bounding box (``bmin``, ``bmax``), exact;
``first``       raster index of the first pixel, exact;
``coords``      integer coordinate sums (``csum``), exact;
``moments``     raw moments up to order 3 per axis about an integer origin
                (``origin``, ``mom``; exact for label images below ``2**53``);
``moments1``    the same up to order 1 (enough for centroids);
``wmoments``    the same weighted by intensity (``wmom``, per channel; ``wmoments1``);
``isum``        intensity sums: int64 (exact) for integer images, float64 otherwise;
``isq``         for variances: exact sums of squares (int64) for 8- and 16-bit images,
                else sums of ``x - c`` and ``(x - c)**2`` about a per-block centre ``c``
                near the mean (``centre``, ``l1``, ``q2``), re-centred when merged;
``wcoords``     exact sums of ``fl(intensity * coordinate)`` (scipy's ``center_of_mass``);
``minmax``      minimum and maximum (NaN ignored, ``nnan`` counts NaN);
``positions``   value and raster index of the first minimum and maximum;
``perimeter``   perimeter configuration counts (2-D; needs a halo of 2);
``euler``       2x2(x2) window configuration counts (needs a halo of 1).

Dense blocks are measured in slabs along axis 0 of about :data:`SLAB` pixels, so
the per-pixel temporaries stay small; the slab tables are then merged.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import dask
import numpy as np

from .._lazy import da
from .._overlap import block_offsets
from ..errors import InvalidParameterError
from . import graphs as G
from .fore import RANGE_FACTOR, RUN_NEEDS, Fore, compact, flat_nonzero
from .local import (
    PERIMETER_CODES,
    core_foreground,
    euler_coefs,
    perimeter_codes,
    window_codes,
)
from .moments import block_moments, block_origin
from .tables import FIELD_OPS, apply_mapping, concat, group, merge

#: The statistic groups a block task can compute.
NEEDS = frozenset(
    {
        "bbox",
        "first",
        "coords",
        "moments",
        "moments1",
        "wmoments",
        "wmoments1",
        "isum",
        "isq",
        "wcoords",
        "minmax",
        "positions",
        "perimeter",
        "euler",
    }
)
#: Halo (pixels of neighbouring labels) each local statistic needs.
HALO = {"perimeter": 2, "euler": 1}
#: Blocks are measured in slabs along axis 0 of about this many pixels.
SLAB = 1 << 18
#: Below this foreground fraction a block is measured without slabs.
SPARSE = 0.5


def halo_of(needs: frozenset) -> int:
    """The halo the statistics ``needs`` require (0 for none)."""
    return max((HALO[k] for k in needs if k in HALO), default=0)


def _int_path(dtype: np.dtype) -> bool:
    """Integer intensity sums are exact in int64 for these dtypes."""
    return dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 4)


def _square_int_path(dtype: np.dtype) -> bool:
    return dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 2)


def moment_order(needs: frozenset) -> int:
    """Powers per axis the moment statistics need: 4 (order 3), 2 (order 1) or 0 (none)."""
    if needs & {"moments", "wmoments"}:
        return 4
    if needs & {"moments1", "wmoments1"}:
        return 2
    return 0


def field_shapes(ndim: int, needs: frozenset, idtype: Any, channels: int) -> dict:
    """Field name -> (shape after the row axis, dtype) for the statistics ``needs``."""
    idtype = np.dtype(np.float64 if idtype is None else idtype)
    c = channels
    out: dict[str, tuple] = {"count": ((), np.int64)}
    if "bbox" in needs:
        out["bmin"] = ((ndim,), np.int64)
        out["bmax"] = ((ndim,), np.int64)
    if "first" in needs:
        out["first"] = ((), np.int64)
    k = moment_order(needs)
    cube = (k,) * ndim
    if "coords" in needs or k:
        out["csum"] = ((ndim,), np.int64)
    if k:
        out["origin"] = ((ndim,), np.int64)
        out["mom"] = (cube, np.float64)
    if needs & {"wmoments", "wmoments1"}:
        out["wmom"] = ((c, *cube), np.float64)
    if "isum" in needs:
        out.update(
            {"isum": ((c,), np.int64)} if _int_path(idtype) else {"isum_f": ((c,), np.float64)}
        )
    if "isq" in needs:
        if _square_int_path(idtype):
            out["isq"] = ((c,), np.int64)
        else:
            out["centre"] = ((c,), np.float64)
            out["l1"] = ((c,), np.float64)
            out["q2"] = ((c,), np.float64)
    if "wcoords" in needs:
        out["wcs"] = ((ndim,), np.float64)
    if needs & {"minmax", "positions"}:
        out["imin"] = ((c,), idtype)
        out["imax"] = ((c,), idtype)
        out["nnan"] = ((c,), np.int64)
    if "positions" in needs:
        for p in ("pmin", "pmax", "pmaxl"):
            out[f"{p}_v"] = ((), idtype)
            out[f"{p}_i"] = ((), np.int64)
    if "perimeter" in needs:
        out["perim"] = ((len(PERIMETER_CODES),), np.int64)
    if "euler" in needs:
        # 2-D: the 16-window histogram (Crofton's float weights need it); 3-D: the sum of
        # the Euler coefficients over the windows, an integer (256 counts would be 2 KiB)
        out["euler"] = ((16,), np.int64) if ndim == 2 else ((), np.int64)
    return out


def empty_table(
    ndim: int, needs: frozenset, idtype: Any = None, channels: int = 1
) -> dict[str, np.ndarray]:
    """Return a table with no rows and the fields ``needs`` asks for."""
    t = {"image": np.zeros(0, np.int64), "label": np.zeros(0, np.int64)}
    for name, (shape, dtype) in field_shapes(ndim, needs, idtype, channels).items():
        t[name] = np.zeros((0, *shape), dtype)
    return t


def _extremes(dtype: np.dtype) -> tuple[Any, Any]:
    if dtype.kind == "f":
        return -np.inf, np.inf
    if dtype.kind == "b":
        return False, True
    info = np.iinfo(dtype)
    return info.min, info.max


def _intensity_stats(fore: Fore, vals: np.ndarray, needs, out, gshape, fvals=None) -> None:
    """The intensity fields of one block from the measured pixels' values ``(P, C)``.

    ``fvals`` is ``vals`` as float64 when the caller has it.
    """
    n = fore.n
    dtype = vals.dtype
    inv = fore.inv
    nch = vals.shape[1]

    def as_float():
        nonlocal fvals
        if fvals is None:
            fvals = vals.astype(np.float64, copy=False)
        return fvals

    def sums(v):
        return np.stack(
            [np.bincount(inv, weights=v[:, c], minlength=n)[:n] for c in range(v.shape[1])],
            axis=1,
        )

    cmax = int(fore.counts.max(initial=0))
    small = dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 2)
    fsum = None
    if "isum" in needs:
        if small:  # |x| < 2**16: a float64 bincount is exact below 2**37 pixels
            out["isum"] = np.rint(sums(as_float())).astype(np.int64)
        elif _int_path(dtype):
            s = np.zeros((n, nch), np.int64)
            np.add.at(s, fore.run_label, fore.run_sum(vals.astype(np.int64)))
            out["isum"] = s
        else:
            out["isum_f"] = fsum = sums(as_float())
    if "isq" in needs:
        if _square_int_path(dtype):
            v = vals.astype(np.int64)
            v *= v
            if cmax < 1 << 21:  # x*x < 2**32: a float64 bincount is exact
                out["isq"] = np.rint(sums(v.astype(np.float64))).astype(np.int64)
            else:
                s = np.zeros((n, nch), np.int64)
                np.add.at(s, fore.run_label, fore.run_sum(v))
                out["isq"] = s
        else:
            v = as_float()
            cnt = fore.counts.astype(np.float64)[:, None]
            s = fsum if fsum is not None else sums(v)
            with np.errstate(divide="ignore", invalid="ignore"):
                centre = np.nan_to_num(s / cnt)
            # about a centre near the mean the differences are exact (Sterbenz) and small
            dev = v - centre[inv]
            out["centre"] = centre
            out["l1"] = sums(dev)
            dev *= dev
            out["q2"] = sums(dev)
    if "wcoords" in needs:
        v = as_float()[:, 0]
        coords = np.unravel_index(fore.nz, fore.shape) if fore.ndim else ()
        parts = []
        for k, c in enumerate(coords):
            g = (c + fore.offset[k]).astype(np.float64)
            parts.append(np.bincount(inv, weights=v * g, minlength=n)[:n])
        out["wcs"] = np.stack(parts, axis=1) if parts else np.zeros((n, 0))
    if needs & {"minmax", "positions"}:
        _extreme_stats(fore, vals, out)
    if "positions" in needs:
        v = vals[:, 0]
        for prefix, pick, last in (
            ("pmin", "imin", False),
            ("pmax", "imax", False),
            ("pmaxl", "imax", True),
        ):
            best = out[pick][:, 0]
            hit = v == best[inv]
            if dtype.kind == "f":
                hit |= np.isnan(best[inv])  # an all-NaN label: its first (last) pixel
            if last:
                pos = np.full(n, -1, np.intp)
                np.maximum.at(pos, inv[hit], fore.nz[hit])
            else:
                pos = np.full(n, fore.size, np.intp)
                np.minimum.at(pos, inv[hit], fore.nz[hit])
            out[f"{prefix}_v"] = best.copy()
            out[f"{prefix}_i"] = fore.global_index(pos, gshape)


def _extreme_stats(fore: Fore, vals: np.ndarray, out) -> None:
    """``imin``/``imax`` (NaN ignored unless a label is all NaN) and ``nnan`` per label."""
    n, nch, dtype = fore.n, vals.shape[1], vals.dtype
    lo, hi = _extremes(dtype)
    imin = np.full((n, nch), hi, dtype)
    imax = np.full((n, nch), lo, dtype)
    # NaN propagates through minimum/maximum: only labels that hold one need more work
    np.minimum.at(imin, fore.run_label, fore.run_reduce(np.minimum, vals))
    np.maximum.at(imax, fore.run_label, fore.run_reduce(np.maximum, vals))
    nnan = np.zeros((n, nch), np.int64)
    if dtype.kind == "f":
        bad = np.isnan(imin).any(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            sel = np.isin(fore.inv, rows)
            sub, lab = vals[sel], fore.inv[sel]
            lo_, hi_ = np.full((n, nch), np.inf), np.full((n, nch), -np.inf)
            np.fmin.at(lo_, lab, sub)
            np.fmax.at(hi_, lab, sub)
            np.add.at(nnan, lab, np.isnan(sub).astype(np.int64))
            fully = nnan == fore.counts[:, None]
            lo_[fully] = np.nan
            hi_[fully] = np.nan
            imin[rows] = lo_[rows]
            imax[rows] = hi_[rows]
    out["imin"] = imin
    out["imax"] = imax
    out["nnan"] = nnan


#: Every how many pixels a block is sampled to guess its foreground fraction, and the
#: fractions from which finding its runs beats listing its pixels: for counts alone,
#: and with bounding boxes, first pixels or coordinate sums. Measured on 256x256
#: images, 200 each: at 1% foreground counts took 249 us by the runs against 130 us
#: by the pixels, boxes and centroids 392 against 374 us; at 50%, 324 against 461 us
#: and 511 against 852 us (16x256x1024 blocks at 50%: 19 against 67 ms).
RUN_SAMPLE = 61
RUN_FRACTION = {"counts": 0.25, "boxes": 0.05}


def _runs_pay(lab: np.ndarray, needs: frozenset) -> bool:
    """Whether :meth:`Fore.from_runs` is the faster road for ``needs`` on ``lab``."""
    if lab.size == 0:
        return False
    sample = lab.reshape(-1)[::RUN_SAMPLE]
    fraction = np.count_nonzero(sample) / sample.size
    return fraction >= RUN_FRACTION["boxes" if needs else "counts"]


def measure_block(
    lab: np.ndarray,
    img: np.ndarray | None,
    offset: Sequence[int],
    gshape: Sequence[int],
    needs: frozenset,
    *,
    padded: np.ndarray | None = None,
    halo: int = 0,
    background: bool = False,
    nz: np.ndarray | None = None,
    values: np.ndarray | None = None,
    pidx: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The statistics table of one block (no ``image`` field), without slabs.

    ``img`` has the block's shape, or one more (last) axis of channels. ``padded``
    is the label block with ``halo`` pixels of neighbours on every side (for the
    local statistics); ``nz``, ``values`` and ``pidx`` are the measured pixels (see
    :func:`.local.core_foreground`) when the caller has them.
    """
    if (
        needs <= RUN_NEEDS
        and nz is None
        and values is None
        and not background
        and _runs_pay(lab, needs)
    ):
        # the runs suffice (no statistic reads ``img``): the pixels are not listed
        fore = Fore.from_runs(lab, offset)
        img = None
    else:
        fore = Fore(lab, offset, background=background, nz=nz, values=values)
    n, ndim = fore.n, fore.ndim
    out: dict[str, np.ndarray] = {"label": fore.labels, "count": fore.counts}
    if needs & {"bbox"}:
        bmin, bmax = fore.bbox
        out["bmin"] = bmin + np.asarray(fore.offset, np.int64)
        out["bmax"] = bmax + np.asarray(fore.offset, np.int64)
    if "first" in needs:
        out["first"] = fore.global_index(fore.first, gshape)
    order = moment_order(needs)
    if "coords" in needs or order:
        csum = np.zeros((n, ndim), np.int64)
        length = fore.run_length
        for k, c in enumerate(fore.run_coords):
            w = c * length + (length * (length - 1) // 2 if k == ndim - 1 else 0)
            csum[:, k] = np.rint(np.bincount(fore.run_label, weights=w, minlength=n)[:n]).astype(
                np.int64
            )
        out["csum"] = csum + fore.counts[:, None] * np.asarray(fore.offset, np.int64)
    vals = fvals = None
    if img is not None:
        flat = img.reshape((fore.size, 1 if img.ndim == lab.ndim else img.shape[-1]))
        vals = flat[fore.nz]
        if needs & {"wmoments", "wmoments1"}:
            fvals = vals.astype(np.float64, copy=False)
    if order:
        origin = block_origin(fore)
        mom, wmom = block_moments(fore, origin, fvals, order)
        out["origin"] = origin + np.asarray(fore.offset, np.int64)
        out["mom"] = mom
        if wmom is not None:
            out["wmom"] = wmom
    if vals is not None and needs & {"isum", "isq", "wcoords", "minmax", "positions"}:
        _intensity_stats(fore, vals, needs, out, gshape, fvals)
    if "perimeter" in needs:
        out["perim"] = perimeter_codes(padded, halo, fore.labels)
    if "euler" in needs:
        codes = window_codes(padded, halo, fore.labels, pidx)
        out["euler"] = codes if lab.ndim == 2 else codes @ np.asarray(euler_coefs(3), np.int64)
    return out


def _slabbed(lab, img, padded, halo, offset, gshape, needs, background) -> dict[str, np.ndarray]:
    """Measure one image's block: in one go when sparse or small, else in slabs along axis 0."""
    size = lab.size
    dense = background or size <= SLAB or lab.ndim < 2
    nz = values = pidx = None
    if padded is not None and not background:
        # the core is a view of the padded block: find its pixels there, without a copy
        nz, values, pidx = core_foreground(padded, halo, lab.shape)
        dense = dense or len(nz) <= SPARSE * size
    elif not dense:
        nz = flat_nonzero(lab)
        dense = len(nz) <= SPARSE * size
    if dense:
        return measure_block(
            lab,
            img,
            offset,
            gshape,
            needs,
            padded=padded,
            halo=halo,
            background=background,
            nz=nz,
            values=values,
            pidx=pidx,
        )
    step = max(1, SLAB // (size // lab.shape[0]))
    parts = []
    for s in range(0, lab.shape[0], step):
        sub = slice(s, s + step)
        pad = None
        if padded is not None:
            pad = padded[s : s + min(step, lab.shape[0] - s) + 2 * halo]
        t = measure_block(
            lab[sub],
            None if img is None else img[sub],
            (offset[0] + s, *offset[1:]),
            gshape,
            needs,
            padded=pad,
            halo=halo,
        )
        t["image"] = np.zeros(len(t["label"]), np.int64)
        parts.append(t)
    t = merge(*parts)
    del t["image"]
    return t


def sparse_stats(lab, img, offset, gshape, needs, nz) -> dict[str, np.ndarray]:
    """The statistics of one block's nonzero pixels ``nz`` (raster indices), no ``image`` field.

    The local statistics (``perimeter``, ``euler``) need a halo and are not available here.
    """
    local = sorted(needs & set(HALO))
    if local:
        raise InvalidParameterError(
            f"the statistics {local} need the neighbouring labels of every block; got a "
            "block without its halo. Hint: perimeter, perimeter_crofton and euler_number "
            "are measured by regionprops_table on the labels."
        )
    return measure_block(np.asarray(lab), img, offset, gshape, needs, nz=nz)


def block_stats(
    lab: np.ndarray,
    img: np.ndarray | None,
    offset: Sequence[int],
    gshape: Sequence[int],
    needs: frozenset,
    stack: bool = False,
    halo: int = 0,
    background: bool = False,
    slivers: Sequence[np.ndarray | None] | None = None,
) -> dict[str, np.ndarray]:
    """Compute the partial statistics table of one block.

    ``offset`` is the block's start in the whole array, ``gshape`` the whole
    array's shape. With ``stack``, axis 0 indexes images: each image of the block
    is measured on its own and coordinates exclude axis 0. With ``halo`` > 0, the
    neighbouring labels come as ``slivers``: one per neighbour direction (in the order
    of :func:`halo_directions`; None beyond the array, which is background), or, with
    ``slivers=None``, ``lab`` carries them already (``halo`` pixels on every measured side).
    """
    lab = np.asarray(lab)
    if img is not None:
        img = np.asarray(img)
        if img.dtype == bool:
            img = img.view(np.uint8)
    if lab.dtype == bool:
        lab = lab.view(np.uint8)
    padded = None
    if halo:
        measured = [not (stack and a == 0) for a in range(lab.ndim)]
        if slivers is not None:
            padded = _assemble(lab, slivers, halo, measured)
        else:
            padded = np.ascontiguousarray(lab)
        core = tuple(
            slice(halo, padded.shape[a] - halo) if measured[a] else slice(None)
            for a in range(lab.ndim)
        )
        lab = padded[core]
    if not stack:
        t = _slabbed(lab, img, padded, halo, offset, gshape, needs, background)
        t["image"] = np.zeros(len(t["label"]), np.int64)
        return t
    nch = 1 if img is None or img.ndim == lab.ndim else img.shape[-1]
    idtype = None if img is None else img.dtype
    parts = [empty_table(lab.ndim - 1, needs, idtype, nch)]
    for i in range(lab.shape[0]):
        t = _slabbed(
            lab[i],
            None if img is None else img[i],
            None if padded is None else padded[i],
            halo,
            offset[1:],
            gshape[1:],
            needs,
            background,
        )
        t["image"] = np.full(len(t["label"]), offset[0] + i, np.int64)
        parts.append(t)
    return concat(parts)


def halo_directions(measured: Sequence[bool]) -> list[tuple[int, ...]]:
    """The neighbour directions of a block: offsets in -1, 0, 1 (0 on unmeasured axes)."""
    ranges = [(-1, 0, 1) if m else (0,) for m in measured]
    return [d for d in itertools.product(*ranges) if any(d)]


def _assemble(core: np.ndarray, slivers, halo: int, measured) -> np.ndarray:
    """The block with its neighbours' ``halo`` (background beyond the array): one copy."""
    shape = tuple(s + 2 * halo if m else s for s, m in zip(core.shape, measured, strict=True))
    out = np.empty(shape, core.dtype if core.dtype != bool else np.uint8)
    for a, m in enumerate(measured):  # only the shell is zeroed (the core is copied over)
        if m:
            lead = (slice(None),) * a
            out[(*lead, slice(0, halo))] = 0
            out[(*lead, slice(shape[a] - halo, None))] = 0

    def region(d):
        return tuple(
            slice(None)
            if not m
            else (
                slice(0, halo)
                if k < 0
                else slice(halo + s, None)
                if k > 0
                else slice(halo, halo + s)
            )
            for k, s, m in zip(d, core.shape, measured, strict=True)
        )

    out[region((0,) * core.ndim)] = core
    for d, piece in zip(halo_directions(measured), slivers, strict=True):
        if piece is not None:
            out[region(d)] = piece
    return out


def _edge_cut(d: tuple[int, ...], halo: int) -> tuple[slice, ...]:
    """What the block in direction ``-d`` of a block needs of it.

    Along every axis: the last ``halo`` pixels (``d < 0``: the block lies before its
    neighbour), the first ``halo`` pixels (``d > 0``) or all of them.
    """
    return tuple(
        slice(-halo, None) if k < 0 else slice(0, halo) if k > 0 else slice(None) for k in d
    )


def _edges(block: np.ndarray, cuts: list[tuple[slice, ...]]) -> tuple:
    """The slices of ``block`` that its neighbours need (see :func:`_edge_cut`), copied."""
    block = np.asarray(block)
    return tuple(np.ascontiguousarray(block[c]) for c in cuts)


def _at_least(size: int, chunks: tuple[int, ...]) -> tuple[int, ...]:
    """``chunks`` with neighbours joined until every chunk has at least ``size`` pixels."""
    if sum(chunks) <= size:
        return (sum(chunks),)
    from dask.array.overlap import ensure_minimum_chunksize

    return tuple(ensure_minimum_chunksize(size, chunks))


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
    split_every: int = 16,
    background: bool = False,
    partials: bool = False,
) -> Any:
    """Build the merged statistics table of a whole label image, as a dask.delayed.

    One :func:`block_stats` task per block (the label and intensity blocks of the
    same chunk together; the label block with a halo of neighbouring labels when a
    local statistic is needed), then a tree of merges over the small tables. Every
    level of the tree copies every row (most regions lie in one block), so the fan-in
    is wide: 16 tables a merge (on 128 blocks of many regions, 8 made the tree cost 5
    times one merge of everything). With ``partials``, the tree stops short of its
    root: the delayed is a list of at most ``split_every`` tables, to be merged by
    the caller (several callers can each merge only the fields they need, side by
    side).
    """
    halo = halo_of(needs)
    measured = [not (stack and a == 0) for a in range(labels.ndim)]
    if halo:
        chunks = tuple(
            c if not measured[a] or min(c) >= halo else _at_least(halo, c)
            for a, c in enumerate(labels.chunks)
        )
        if chunks != labels.chunks:
            labels = labels.rechunk(chunks)
            if intensity is not None:
                intensity = intensity.rechunk(chunks + intensity.chunks[labels.ndim :])
    if labels.npartitions == 0:
        ndim = labels.ndim - 1 if stack else labels.ndim
        idtype = None if intensity is None else intensity.dtype
        nch = 1 if intensity is None or intensity.ndim == labels.ndim else intensity.shape[-1]
        empty = dask.delayed(empty_table, pure=True)(ndim, needs, idtype, nch)
        return dask.delayed(_as_list, pure=True)(empty) if partials else empty
    name = G.name_of(
        "block_stats",
        labels.name,
        None if intensity is None else intensity.name,
        needs,
        stack,
        halo,
        background,
    )
    dsk: dict = {}
    keys = {}
    directions = halo_directions(measured) if halo else []
    cuts = [_edge_cut(d, halo) for d in directions]
    numblocks = labels.numblocks
    for idx, off in block_offsets(labels.chunks):
        f = functools.partial(
            block_stats,
            offset=off,
            gshape=labels.shape,
            needs=needs,
            stack=stack,
            halo=halo,
            background=background,
        )
        args = [G.block_key(labels, idx), G.block_key(intensity, idx)]
        if halo:
            # the neighbours' edges: small slices of the neighbouring blocks (not a
            # copy of every block with its halo, as an overlap would make), cut by one
            # task per block for all of its neighbours (a task per slice made 14 times
            # more tasks than blocks)
            dsk[(f"edges-{name}", *idx)] = (_edges, G.block_key(labels, idx), cuts)
            edges = []
            for d in directions:
                j = tuple(i + k for i, k in zip(idx, d, strict=True))
                inside = all(0 <= jj < nb for jj, nb in zip(j, numblocks, strict=True))
                edges.append((f"edges-{name}", *j) if inside else None)
            args.append(edges)
            f = functools.partial(f, slivers=None)
            dsk[(name, *idx)] = (_with_edges, f, *args)
        else:
            dsk[(name, *idx)] = (f, *args)
        keys[idx] = (name, *idx)
    parts = list(keys.values())
    if partials:
        root = (f"partials-{name}",)
        tops = G.levels(dsk, f"merge-{name}", parts, merge, split_every, split_every)
        dsk[root] = (_as_list, *tops)
    else:
        root = G.tree(dsk, f"merge-{name}", parts, merge, split_every)
    return G.delayed(dsk, name, root, [labels, intensity])


def _as_list(*tables):
    return list(tables)


def _with_edges(func, lab, img, edges):
    """``func`` of a block with, per direction, the slice its neighbour there cut for it."""
    slivers = [None if e is None else e[k] for k, e in enumerate(edges)]
    return func(lab, img, slivers=slivers)


__all__ = [
    "FIELD_OPS",
    "HALO",
    "NEEDS",
    "RANGE_FACTOR",
    "SLAB",
    "apply_mapping",
    "block_offsets",
    "block_stats",
    "compact",
    "concat",
    "empty_table",
    "field_shapes",
    "group",
    "halo_of",
    "measure_block",
    "merge",
    "sparse_stats",
    "stats_delayed",
    "tree_reduce",
]
