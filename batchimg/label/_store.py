"""The two-pass label/filter/measure sink for volumes: labels to Zarr, bounded memory.

Memory is set by the chunk size, never by the volume's size, and every upstream
step runs once per chunk:

**Pass 1** (one task per block): compute the mask block (the upstream chain runs
here, once), write it to a compressed cache array, label the block locally with
``scipy.ndimage.label``, and keep only per-label summaries -- the first pixel of
each local label, the block's boundary faces, and the partial statistics of every
requested measurement (:func:`batchimg._regions.sparse_stats` on the *local*
labels). Small pairing tasks turn neighbouring faces into equivalences. The local
label image is dropped.

**Resolve** (in memory, per label): union the equivalences, number components by
their first pixel (scipy's raster order), merge the per-block statistics by
component, evaluate the region filter, and renumber the kept regions.

**Pass 2** (one task per block): read the cached mask block, label it again
(deterministic, and cheaper than keeping int32 labels for the whole volume), map
local labels through the block's small lookup table, and write the final labels.

The labels equal ``scipy.ndimage.label`` (then ``filter_regions``) on the whole
array, and the table equals ``regionprops_table`` of those labels. With a
``journal`` folder every finished block is recorded (pass-1 results as ``.npz`` of
plain arrays, written atomically; saved-step and pass-2 blocks as empty markers), so
a resumed call skips them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from .. import _regions as R
from .._params import did_you_mean
from ..errors import InvalidParameterError
from ._merge import (
    block_faces,
    face_pairs,
    label_dtype,
    normalize_structure,
    pair_tasks,
    raster_numbers,
)


def _write_block(block, *, target, region, done=None):
    target[region] = block
    if done is not None:
        _touch(done)


def _touch(path: str) -> None:
    from ..io import atomic_write

    atomic_write(path, b"")


def _recorded(*blocks, func, path):
    """Run pass 1 on a block and record its result (plain arrays, written atomically)."""
    import io as _io

    from ..io import atomic_write

    small, faces, stats = func(*blocks)
    arrays = {"n": np.asarray(small["n"]), "first": small["first"]}
    for a, (lo, hi) in enumerate(faces["labels"]):
        arrays[f"face{a}_lo"] = lo
        arrays[f"face{a}_hi"] = hi
    for k, v in stats.items():
        arrays[f"stat_{k}"] = v
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())
    return small, faces, stats


def _load_pass1(*, path, ndim):
    with np.load(path, allow_pickle=False) as z:
        small = {"n": int(z["n"]), "first": z["first"]}
        faces = {"labels": [(z[f"face{a}_lo"], z[f"face{a}_hi"]) for a in range(ndim)]}
        stats = {k[5:]: z[k] for k in z.files if k.startswith("stat_")}
    return small, faces, stats


def _pass1_block(mask, *intensity, structure, start, shape, needs, cache=None, region=None):
    if cache is not None:
        cache[region] = mask != 0
    local, n = ndi.label(mask, structure)
    nz = np.flatnonzero(local)
    img = intensity[0] if intensity else None
    stats = R.sparse_stats(local, img, start, shape, needs | {"first"}, nz)
    stats["image"] = np.zeros(n, np.int64)
    small = {"n": n, "first": stats["first"]}
    return small, {"labels": block_faces(local)}, stats


def _pass2_block(mask, mapping, *, structure, target, region, done=None):
    local, _ = ndi.label(mask, structure)
    target[region] = mapping[local]
    if done is not None:
        _touch(done)


def _resolve(smalls, pairs, pair_blocks, tables, *, where, props, ndim, spacing, dtype):
    ncomp, glob, counts, bases = raster_numbers(smalls, pairs, pair_blocks)
    merged = None
    if tables is not None:
        parts = []
        for t, base in zip(tables, bases, strict=True):
            if len(t["label"]):
                t = dict(t)
                t["label"] = glob[base + t["label"] - 1]
                parts.append(t)
        if parts:
            merged = R.group(R.concat(parts))
        else:
            merged = tables[0]
    new = np.arange(ncomp + 1, dtype=np.int64)  # global label -> final label
    if where is not None:
        frame = R.frame(merged, props, ndim, spacing, False)
        keep = np.asarray(R.evaluate(where, frame), bool)
        new = np.zeros(ncomp + 1, np.int64)
        new[merged["label"][keep]] = np.arange(1, int(keep.sum()) + 1)
        merged = {k: v[keep] for k, v in merged.items()}
        merged["label"] = new[merged["label"]]
    final = new[glob]
    maps = [
        np.concatenate([[0], final[b : b + c]]).astype(dtype)
        for b, c in zip(bases, counts, strict=True)
    ]
    n = int(new.max(initial=0))
    return n, maps, merged


def label_measure_store(
    mask: da.Array,
    *,
    structure: Any = None,
    intensity: da.Array | None = None,
    properties: Sequence[str] = ("label", "area"),
    spacing: Any = None,
    where: str | None = None,
    labels_out: Any = None,
    mask_cache: Any = None,
    also_store: Sequence[tuple[da.Array, Any]] = (),
    compute: Any = dask.compute,
    journal: str | None = None,
):
    """Label ``mask``, keep the regions satisfying ``where``, measure them, store labels.

    A sink that computes: pass 1 and ``also_store`` (saved steps, written from the
    same upstream tasks) in one ``compute`` call, then pass 2.

    Parameters
    ----------
    mask : dask.array.Array
        The (lazy) binary image; nonzero is foreground.
    structure : array_like, optional
        Connectivity for ``scipy.ndimage.label``; default connectivity 1.
    intensity : dask.array.Array, optional
        Intensity image for intensity measurements.
    properties : sequence of str
        ``regionprops_table`` properties to measure.
    spacing : float or sequence of float, optional
        Pixel size per axis.
    where : str, optional
        ``filter_regions`` condition.
    labels_out : zarr.Array, optional
        Where the final labels go (same shape; chunks aligned with ``mask``'s).
    mask_cache : zarr.Array, optional
        A bool array of ``mask``'s shape and chunks; with it, pass 2 reads the mask
        from there instead of recomputing the upstream chain.
    also_store : sequence of (dask.array.Array, zarr.Array)
        Further arrays to write during pass 1.
    compute : callable
        ``dask.compute`` or a scheduler-bound equivalent (``compute(*objs)``).

    Returns
    -------
    table : pandas.DataFrame
        ``regionprops_table`` of the final labels (``label`` always included).
    n : int
        Number of final labels.
    """
    ndim = mask.ndim
    s = normalize_structure(structure, ndim)
    props = R.normalize_properties(properties, intensity is not None)
    node = None if where is None else R.parse_where(where)
    filter_props = () if node is None else _where_properties(node, ndim)
    all_props = tuple(dict.fromkeys(("label", *props, *filter_props)))
    needs = R.needs_of(all_props)
    sp = R.normalize_spacing(spacing, ndim)
    dtype = label_dtype(mask.shape)
    if intensity is not None and intensity.chunks != mask.chunks:
        intensity = intensity.rechunk(mask.chunks)

    # pass 1 -------------------------------------------------------------------------
    token = tokenize(mask.name, None if intensity is None else intensity.name, s, needs)
    p1 = f"label-pass1-{token}"
    pr = f"label-pairs-{token}"
    # every block's index, start and region, in the raster order of the block grid
    layout = [
        (
            idx,
            start,
            tuple(slice(b, b + c[i]) for b, c, i in zip(start, mask.chunks, idx, strict=True)),
        )
        for idx, start in R.block_offsets(mask.chunks)
    ]
    grid = [idx for idx, _, _ in layout]
    dsk: dict = {}
    for i, (idx, start, region) in enumerate(layout):
        # pass 1 also writes the mask block to the cache: the upstream runs once
        func = functools.partial(
            _pass1_block,
            structure=s,
            start=start,
            shape=mask.shape,
            needs=needs,
            cache=mask_cache,
            region=region,
        )
        args = [(mask.name, *idx)]
        if intensity is not None:
            args.append((intensity.name, *idx))
        record = None if journal is None else os.path.join(journal, f"pass1-{i:06d}.npz")
        if record is not None and os.path.exists(record):
            dsk[(p1, *idx)] = (functools.partial(_load_pass1, path=record, ndim=ndim),)
        elif record is not None:
            dsk[(p1, *idx)] = (functools.partial(_recorded, func=func, path=record), *args)
        else:
            dsk[(p1, *idx)] = (func, *args)
    offsets = np.argwhere(s) - 1
    pair_keys, pair_blocks = pair_tasks(dsk, pr, mask.numblocks, offsets, p1, _pair_from_pass1)
    # what the resolve step needs of each block (its first pixels and statistics),
    # without the boundary faces: a block's faces are released as soon as its pair
    # tasks have run, so memory never holds the faces of the whole volume
    p1s = f"label-pass1-small-{token}"
    for idx in grid:
        dsk[(p1s, *idx)] = (_drop_faces, (p1, *idx))
    # saved steps are written by tasks of this same graph (not by da.store, whose
    # array optimisation would fuse and rename the upstream tasks it shares with
    # pass 1, so they would run twice)
    writes = []
    for j, (a, target) in enumerate(also_store):
        a = a.rechunk(mask.chunks)
        for i, (idx, _, region) in enumerate(layout):
            key = (f"label-save-{j}-{token}", *idx)
            done = None if journal is None else os.path.join(journal, f"save{j}-{i:06d}")
            if done is not None and os.path.exists(done):
                continue
            dsk[key] = (
                functools.partial(_write_block, target=target, region=region, done=done),
                (a.name, *idx),
            )
            writes.append(key)
    deps = [mask, *(a for a, _ in also_store)] + ([intensity] if intensity is not None else [])
    if journal is not None:
        os.makedirs(journal, exist_ok=True)
    graph = HighLevelGraph.from_collections(p1, dsk, dependencies=deps)
    keys = [(p1s, *idx) for idx in grid] + pair_keys + writes
    (values,) = compute([Delayed(k, graph, layer=p1) for k in keys])
    blocks = values[: len(grid)]
    pairs = values[len(grid) : len(grid) + len(pair_keys)]
    smalls = [b[0] for b in blocks]
    tables = [b[2] for b in blocks]

    # resolve --------------------------------------------------------------------------
    n, maps, merged = _resolve(
        smalls,
        pairs,
        pair_blocks,
        tables,
        where=node,
        props=all_props,
        ndim=ndim,
        spacing=sp,
        dtype=dtype,
    )
    if merged is None:
        merged = R.empty_table(ndim, needs)
    table = R.frame(merged, props if "label" in props else ("label", *props), ndim, sp, False)

    # pass 2 -------------------------------------------------------------------------
    if labels_out is not None:
        src = mask
        if mask_cache is not None:
            src = da.from_zarr(mask_cache, chunks=mask.chunks)
        p2 = f"label-pass2-{tokenize(token, src.name, [m.tobytes() for m in maps])}"
        dsk2 = {}
        for i, (idx, _, region) in enumerate(layout):
            done = None if journal is None else os.path.join(journal, f"pass2-{i:06d}")
            if done is not None and os.path.exists(done):
                continue
            dsk2[(p2, *idx)] = (
                functools.partial(
                    _pass2_block, structure=s, target=labels_out, region=region, done=done
                ),
                (src.name, *idx),
                maps[i],
            )
        if dsk2:
            g2 = HighLevelGraph.from_collections(p2, dsk2, dependencies=[src])
            compute([Delayed(k, g2, layer=p2) for k in dsk2])
    return table, n


def _drop_faces(block):
    small, _, stats = block
    return small, None, stats


def _pair_from_pass1(a, b, *, d, offsets):
    return face_pairs(a[1], b[1], d=d, offsets=offsets)


def _where_properties(node: tuple, ndim: int) -> tuple[str, ...]:
    columns = {c: p for p in R.PROPERTIES for c in R.columns_of(p, ndim)}
    out = []
    for col in sorted(R.where_columns(node)):
        if col not in columns:
            raise InvalidParameterError(
                f"where must name measurement columns; got unknown column {col!r}."
                f"{did_you_mean(col, list(columns))}"
            )
        out.append(columns[col])
    return tuple(dict.fromkeys(out))
