"""Two-pass sinks for volumes: labels, holes, propagation, borders, filters -- to Zarr.

Memory is set by the chunk size, never by the volume's size, and the upstream of
each block runs once:

**Pass 1** (one task per block): compute the block (the upstream chain runs here,
once), write it to a compressed cache array, find its components locally (those
of ``scipy.ndimage.label``, by :func:`mask_components`; by value, as scikit-image,
for ``clear_border``), and keep only per-component summaries: the first pixel of
each local component, the block's boundary faces, a flag per component (does it
touch the border, hold a seed...), and the partial statistics of every requested
measurement (:func:`batchimg._regions.sparse_stats` on the *local* labels). Small
pairing tasks turn neighbouring faces into equivalences. The local label image is dropped.

**Resolve** (in memory, per component): union the equivalences, number components
by their first pixel (scipy's raster order), merge the flags or the per-block
statistics by component, evaluate a region filter, renumber the kept regions.

**Pass 2** (one task per block): read the cached block, find its local components
again (deterministic, and cheaper than keeping them), map them through the block's
small lookup table, and write the result.

With ``stack=True`` axis 0 indexes images (the collection's images, or a volume's
time points and channels, flattened): components never connect across it, every
image is numbered and measured on its own (scipy on each image), and the table has
the image's index, its ``label`` within the image and a ``global_label`` numbered
on across images. With a ``journal`` folder every finished block is recorded
(pass-1 results as ``.npz`` of plain arrays, written atomically; written blocks as
empty markers), so a call made again skips them.
"""

from __future__ import annotations

import functools
import io as _io
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import dask
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from .. import _regions as R
from .._lazy import da
from ..errors import InvalidParameterError
from ._merge import (
    block_faces,
    components,
    face_pairs,
    label_dtype,
    mask_components,
    normalize_structure,
    pair_tasks,
    raster_numbers,
)


def _dask_compute(objs: list, label: str = "") -> list:
    return list(dask.compute(*objs))


def _touch(path: str) -> None:
    from ..io import atomic_write

    atomic_write(path, b"")


def _write_block(block, *, target, region, done=None):
    target[region] = block
    if done is not None:
        _touch(done)


# ---------------------------------------------------------------------------
# records of pass 1 (plain arrays, no pickle)


def _save(path: str, small: dict, faces: dict, stats: dict | None) -> None:
    from ..io import atomic_write

    arrays = {"n": np.asarray(small["n"]), "first": small["first"]}
    if "flag" in small:
        arrays["flag"] = small["flag"]
    for key, pairs in faces.items():
        for a, (lo, hi) in enumerate(pairs):
            arrays[f"face_{key}{a}_lo"] = lo
            arrays[f"face_{key}{a}_hi"] = hi
    for k, v in (stats or {}).items():
        arrays[f"stat_{k}"] = v
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())


def _load(*, path: str, ndim: int):
    with np.load(path, allow_pickle=False) as z:
        small = {"n": int(z["n"]), "first": z["first"]}
        if "flag" in z.files:
            small["flag"] = z["flag"]
        faces = {}
        for key in ("labels", "values"):
            if f"face_{key}0_lo" in z.files:
                faces[key] = [(z[f"face_{key}{a}_lo"], z[f"face_{key}{a}_hi"]) for a in range(ndim)]
        stats = {k[5:]: z[k] for k in z.files if k.startswith("stat_")} or None
    return small, faces, stats


def _recorded(*blocks, func, path):
    small, faces, stats = func(*blocks)
    _save(path, small, faces, stats)
    return small, faces, stats


# ---------------------------------------------------------------------------
# pass 1 and 2 of one block


def _first_global(first_spatial: np.ndarray, image: int, spatial_size: int) -> np.ndarray:
    return first_spatial + np.int64(image) * np.int64(spatial_size)


def _label_pass1(mask, *intensity, structure, start, shape, needs, stack, cache=None, region=None):
    """Local labels of one block: (summary, faces, partial statistics)."""
    foreground = mask != 0
    if cache is not None:
        cache[region] = foreground
    local, n = mask_components(foreground, structure)
    img = intensity[0] if intensity else None
    # the measured pixels are found by the measurement (from the runs when they suffice)
    if stack:
        spatial = local[0]
        simg = None if img is None else img[0]
        stats = R.sparse_stats(spatial, simg, start[1:], shape[1:], needs | {"first"}, None)
        stats["first"] = _first_global(stats["first"], start[0], math.prod(shape[1:]))
        stats["image"] = np.full(len(stats["label"]), start[0], np.int64)
    else:
        stats = R.sparse_stats(local, img, start, shape, needs | {"first"}, None)
        stats["image"] = np.zeros(len(stats["label"]), np.int64)
    small = {"n": n, "first": stats["first"]}
    return small, {"labels": block_faces(local)}, stats


def _label_pass2(mask, mapping, *, structure, target, region, done=None):
    local, _ = mask_components(mask, structure)
    target[region] = R.take_lut(mapping, local)
    if done is not None:
        _touch(done)


def _border_seed(shape_block, start, shape, structure, stack) -> np.ndarray:
    """Pixels of a block with a structure neighbour outside the (spatial) array."""
    seed = np.zeros(shape_block, bool)
    offsets = np.argwhere(structure) - 1
    first = 1 if stack else 0
    for o in offsets:
        for a in range(first, len(shape_block)):
            if o[a] < 0 and start[a] == 0:
                sel = [slice(None)] * len(shape_block)
                sel[a] = slice(0, -o[a])
                seed[tuple(sel)] = True
            elif o[a] > 0 and start[a] + shape_block[a] == shape[a]:
                sel = [slice(None)] * len(shape_block)
                sel[a] = slice(shape_block[a] - o[a], None)
                seed[tuple(sel)] = True
    return seed


def _band_seed(shape_block, start, shape, buffer_size, stack) -> np.ndarray:
    """Pixels of a block within ``buffer_size`` of the (spatial) array's edge."""
    seed = np.zeros(shape_block, bool)
    for a in range(1 if stack else 0, len(shape_block)):
        coord = np.arange(start[a], start[a] + shape_block[a])
        near = (coord <= buffer_size) | (coord >= shape[a] - 1 - buffer_size)
        index = [None] * len(shape_block)
        index[a] = slice(None)
        seed |= near[tuple(index)]
    return seed


def _components_of(kind: str, block: np.ndarray, structure: np.ndarray):
    """The local components a flag sink works on, and their count."""
    if kind == "fill_holes":
        return mask_components(block == 0, structure)
    if kind == "propagation":
        return mask_components(block, structure)
    from skimage.measure import label as sk_label

    local = sk_label(block, background=0, connectivity=block.ndim).astype(np.int32)
    return local, int(local.max(initial=0))


def _flag_pass1(
    block, *seed, kind, structure, start, shape, stack, buffer_size=0, cache=None, region=None
):
    """Components of one block and whether each holds a seed: (summary, faces, None)."""
    if cache is not None:
        cache[region] = block
    if kind == "clear_border" and stack:
        local = np.zeros(block.shape, np.int32)
        local[0], n = _components_of(kind, block[0], structure)
    else:
        local, n = _components_of(kind, block, structure)
    if kind == "fill_holes":
        hit = _border_seed(block.shape, start, shape, structure, stack)
    elif kind == "clear_border":
        hit = _band_seed(block.shape, start, shape, buffer_size, stack)
    else:
        hit = seed[0] != 0
    flag = np.bincount(local[hit].ravel(), minlength=n + 1)[1:] > 0
    # a flag sink asks only which components hold a flagged pixel, not their numbers
    # (merged by components(), not raster_numbers()): no first pixels, which cost more
    # than the labelling itself (31-40 ms against 28 ms on a 16x256x1024 block)
    small = {"n": n, "first": np.empty(0, np.int64), "flag": flag}
    faces = {"labels": block_faces(local)}
    if kind == "clear_border":
        faces["values"] = block_faces(block)
    return small, faces, None


def _flag_pass2(block, mapping, *, kind, structure, stack, bgval, target, region, done=None):
    if kind == "clear_border" and stack:
        local = np.zeros(block.shape, np.int32)
        local[0], _ = _components_of(kind, block[0], structure)
    else:
        local, _ = _components_of(kind, block, structure)
    hit = R.take_lut(mapping, local)
    if kind == "fill_holes":
        out = ~hit  # background reached from the border stays background
    elif kind == "propagation":
        out = hit
    else:
        out = np.where(hit, np.asarray(bgval, block.dtype), block)
    target[region] = out
    if done is not None:
        _touch(done)


# ---------------------------------------------------------------------------
# the graph of pass 1


def _layout(chunks) -> list:
    return [
        (idx, start, tuple(slice(b, b + c[i]) for b, c, i in zip(start, chunks, idx, strict=True)))
        for idx, start in R.block_offsets(chunks)
    ]


def _pass1(
    name: str,
    arrays: Sequence[da.Array],
    func: Callable,
    structure: np.ndarray,
    journal: str | None,
    also_store: Sequence[tuple[da.Array, Any]],
    compute: Callable,
    label: str,
    by_value: bool = False,
):
    """Run pass 1 over the blocks of ``arrays[0]`` (and the face pairs, and ``also_store``)."""
    x = arrays[0]
    token = tokenize(name, [a.name for a in arrays], func, [a.name for a, _ in also_store])
    p1, pr, p1s = f"{name}-pass1-{token}", f"{name}-pairs-{token}", f"{name}-small-{token}"
    layout = _layout(x.chunks)
    grid = [idx for idx, _, _ in layout]
    dsk: dict = {}
    for i, (idx, start, region) in enumerate(layout):
        f = functools.partial(func, start=start, region=region)
        args = [(a.name, *idx) for a in arrays]
        record = None if journal is None else os.path.join(journal, f"pass1-{i:06d}.npz")
        if record is not None and os.path.exists(record):
            dsk[(p1, *idx)] = (functools.partial(_load, path=record, ndim=x.ndim),)
        elif record is not None:
            dsk[(p1, *idx)] = (functools.partial(_recorded, func=f, path=record), *args)
        else:
            dsk[(p1, *idx)] = (f, *args)
    offsets = np.argwhere(structure) - 1
    pair = _pair_values if by_value else _pair_labels
    pair_keys, pair_blocks = pair_tasks(dsk, pr, x.numblocks, offsets, p1, pair)
    # what the resolve step needs of each block, without its boundary faces: a block's
    # faces are released as soon as its pair tasks have run, so memory never holds
    # the faces of the whole volume
    for idx in grid:
        dsk[(p1s, *idx)] = (_drop_faces, (p1, *idx))
    # saved steps are written by tasks of this same graph (not by da.store, whose
    # optimisation would fuse and rename the upstream tasks shared with pass 1, so
    # they would run twice)
    writes = []
    for j, (a, target) in enumerate(also_store):
        a = a.rechunk(x.chunks)
        for i, (idx, _, region) in enumerate(layout):
            done = None if journal is None else os.path.join(journal, f"save{j}-{i:06d}")
            if done is not None and os.path.exists(done):
                continue
            key = (f"{name}-save{j}-{token}", *idx)
            dsk[key] = (
                functools.partial(_write_block, target=target, region=region, done=done),
                (a.name, *idx),
            )
            writes.append(key)
    deps = [*arrays, *(a for a, _ in also_store)]
    if journal is not None:
        os.makedirs(journal, exist_ok=True)
    graph = HighLevelGraph.from_collections(p1, dsk, dependencies=deps)
    keys = [(p1s, *idx) for idx in grid] + pair_keys + writes
    values = compute([Delayed(k, graph, layer=p1) for k in keys], label=label)
    blocks = values[: len(grid)]
    pairs = values[len(grid) : len(grid) + len(pair_keys)]
    return layout, blocks, pairs, pair_blocks


def _pass2(name, src: da.Array, maps, func: Callable, journal, compute, label):
    layout = _layout(src.chunks)
    p2 = f"{name}-pass2-{tokenize(src.name, func, [m.tobytes() for m in maps])}"
    dsk2 = {}
    for i, (idx, _, region) in enumerate(layout):
        done = None if journal is None else os.path.join(journal, f"pass2-{i:06d}")
        if done is not None and os.path.exists(done):
            continue
        dsk2[(p2, *idx)] = (
            functools.partial(func, region=region, done=done),
            (src.name, *idx),
            maps[i],
        )
    if dsk2:
        g2 = HighLevelGraph.from_collections(p2, dsk2, dependencies=[src])
        compute([Delayed(k, g2, layer=p2) for k in dsk2], label=label)


def _drop_faces(block):
    small, _, stats = block
    return small, None, stats


def _pair_labels(a, b, *, d, offsets):
    return face_pairs(a[1], b[1], d=d, offsets=offsets)


def _pair_values(a, b, *, d, offsets):
    return face_pairs(a[1], b[1], d=d, offsets=offsets)


def _embed(structure: np.ndarray) -> np.ndarray:
    """A structure over the spatial axes, with no connectivity along a leading image axis."""
    full = np.zeros((3, *structure.shape), bool)
    full[1] = structure
    return full


def _stacked(x: da.Array) -> da.Array:
    """``x`` with one image per chunk along axis 0."""
    if all(c == 1 for c in x.chunks[0]):
        return x
    return x.rechunk(((1,) * x.shape[0], *x.chunks[1:]))


# ---------------------------------------------------------------------------
# labels, filtered and measured


def _resolve(
    smalls,
    pairs,
    pair_blocks,
    tables,
    *,
    filters,
    props,
    ndim,
    dtype,
    stack,
    spatial_size,
    channels=None,
):
    """Number the components, run the region filters on the merged table, make the maps.

    ``filters`` is a sequence of ``(parsed where, renumber, spacing)`` applied in
    order: a renumbering filter numbers the kept regions 1, 2, ... in raster order
    (``filter_regions``), the other keeps their values (``remove_small_objects``).
    Returns ``(n, maps, merged, offsets)``: the number of final regions, one label map
    per block (labels within each image with ``stack``), the merged table of the final
    regions with ``label`` the global label and ``in_image`` the label in its image,
    and each image's global offset (the previous images' largest labels summed).
    """
    ncomp, glob, counts, bases = raster_numbers(smalls, pairs, pair_blocks)
    parts = []
    for t, base in zip(tables, bases, strict=True):
        if len(t["label"]):
            t = dict(t)
            t["label"] = glob[base + t["label"] - 1]
            parts.append(t)
    merged = R.group(R.concat(parts)) if parts else tables[0]
    gid = np.asarray(merged["label"], np.int64)  # rows: global raster numbers, sorted
    if stack:
        n_images = (
            max(
                (int(s["first"].max()) // spatial_size for s in smalls if len(s["first"])),
                default=-1,
            )
            + 1
        )
        image = np.asarray(merged["image"], np.int64)
    else:
        n_images, image = 1, np.zeros(len(gid), np.int64)
    # the label of every row within its image: scipy's numbers on each image
    current = R.rank_within(image) if stack else gid.copy()
    for node, renumber, sp in filters:
        frame = dict(merged)
        frame["label"] = current
        cols = R.table_columns(frame, props, ndim, sp, False, channels=channels)
        keep = np.asarray(R.evaluate(node, cols), bool)
        merged = {k: v[keep] for k, v in merged.items()}
        gid, image, current = gid[keep], image[keep], current[keep]
        if renumber:
            current = R.rank_within(image) if stack else np.arange(1, len(gid) + 1)
    final = np.zeros(ncomp + 1, np.int64)  # global raster number -> final label in image
    final[gid] = current
    top = np.zeros(n_images, np.int64)
    np.maximum.at(top, image, current)
    offsets = np.concatenate(([0], np.cumsum(top)))[:-1].astype(np.int64)
    merged["in_image"] = current
    merged["label"] = current + offsets[image]
    maps = [
        np.concatenate([[0], final[glob[b : b + c]]]).astype(dtype)
        for b, c in zip(bases, counts, strict=True)
    ]
    return len(gid), maps, merged, offsets


def label_measure_store(
    mask: da.Array,
    *,
    structure: Any = None,
    intensity: da.Array | None = None,
    properties: Sequence[str] = ("label", "area"),
    spacing: Any = None,
    where: str | None = None,
    filters: Sequence[tuple[str, bool, Any]] = (),
    labels_out: Any = None,
    mask_cache: Any = None,
    also_store: Sequence[tuple[da.Array, Any]] = (),
    compute: Callable | None = None,
    journal: str | None = None,
    stack: bool = False,
    name: str = "label",
):
    """Label ``mask``, keep the regions satisfying ``where``, measure them, store the labels.

    The labels equal ``scipy.ndimage.label`` of the whole array (then
    ``filter_regions``), and the table ``regionprops_table`` of those labels. A
    sink that computes: pass 1 and ``also_store`` (saved steps, written from the
    same upstream tasks) in one computation, then pass 2.

    Parameters
    ----------
    mask : dask.array.Array
        The (lazy) binary image; nonzero is foreground.
    structure : array_like, optional
        Connectivity over the (spatial) axes; default connectivity 1.
    intensity : dask.array.Array, optional
        Intensity image for intensity measurements (same shape and chunks).
    properties : sequence of str
        ``regionprops_table`` properties to measure.
    spacing : float or sequence of float, optional
        Pixel size per (spatial) axis.
    where : str, optional
        ``filter_regions`` condition (the regions renumbered, measured with ``spacing``).
    filters : sequence of (str, bool, spacing)
        Further region filters, after ``where``, in order: ``(condition, renumber,
        spacing)``; ``renumber=False`` keeps the kept labels' values, as
        ``remove_small_objects`` (``spacing=None``: pixel counts).
    labels_out : zarr.Array, optional
        Where the final labels go (same shape; chunks aligned with ``mask``'s).
    mask_cache : zarr.Array, optional
        A bool array of ``mask``'s shape and chunks; with it, pass 2 reads the mask
        from there instead of recomputing the upstream chain.
    also_store : sequence of (dask.array.Array, zarr.Array)
        Further arrays to write during pass 1.
    compute : callable, optional
        ``compute(objects, label=...) -> list`` (default: ``dask.compute``).
    journal : str, optional
        A folder recording finished blocks (see the module docstring).
    stack : bool
        Axis 0 indexes images, each labelled, numbered and measured on its own.
    name : str
        What the progress labels call this sink.

    Returns
    -------
    table : pandas.DataFrame
        ``regionprops_table`` of the final labels (``label`` always included); with
        ``stack``, ``image`` first, ``label`` within the image, then ``global_label``.
    n : int
        Number of final labels.
    """
    compute = compute or _dask_compute
    ndim = mask.ndim - 1 if stack else mask.ndim
    s = normalize_structure(structure, ndim)
    full = _embed(s) if stack else s
    props = R.normalize_properties(properties, intensity is not None)
    sp = R.normalize_spacing(spacing, ndim)
    channels = None  # a trailing channel axis of the intensity: one column per channel
    if intensity is not None and intensity.ndim > mask.ndim:
        channels = intensity.shape[-1]
    chain = ([(where, True, spacing)] if where is not None else []) + list(filters)
    nodes = [
        (R.parse_where(w), bool(renumber), R.normalize_spacing(fsp, ndim))
        for w, renumber, fsp in chain
    ]
    filter_props = tuple(
        p
        for node, _, _ in nodes
        for p in R.filter_properties(ndim, intensity is not None, node, channels)
    )
    all_props = tuple(dict.fromkeys(("label", *props, *filter_props)))
    needs = R.needs_of(all_props)
    dtype = label_dtype(mask.shape[1:] if stack else mask.shape)
    if stack:
        mask = _stacked(mask)
    if intensity is not None and intensity.chunks[: mask.ndim] != mask.chunks:
        intensity = intensity.rechunk(mask.chunks + intensity.chunks[mask.ndim :])
    func = functools.partial(
        _label_pass1, structure=full, shape=mask.shape, needs=needs, stack=stack, cache=mask_cache
    )
    arrays = [mask] + ([intensity] if intensity is not None else [])
    layout, blocks, pairs, pair_blocks = _pass1(
        name, arrays, func, full, journal, also_store, compute, f"{name}: pass 1 of 2"
    )
    smalls = [b[0] for b in blocks]
    tables = [b[2] for b in blocks]
    spatial = math.prod(mask.shape[1:]) if stack else 0
    n, maps, merged, _ = _resolve(
        smalls,
        pairs,
        pair_blocks,
        tables,
        filters=nodes,
        props=all_props,
        ndim=ndim,
        channels=channels,
        dtype=dtype,
        stack=stack,
        spatial_size=spatial,
    )
    in_image = merged.pop("in_image")
    if not len(merged["label"]):
        merged = R.empty_table(ndim, needs)
        if stack:
            merged["image"] = np.zeros(0, np.int64)
    columns = props if "label" in props else ("label", *props)
    table = R.frame(merged, columns, ndim, sp, stack, channels=channels)
    if stack:
        table["image_label"] = in_image.astype(table["label"].dtype)
        table = table.rename(columns={"label": "global_label", "image_label": "label"})
        order = ["image", "label", "global_label"] + [
            c for c in table.columns if c not in ("image", "label", "global_label")
        ]
        table = table[order]
    if labels_out is not None:
        src = mask if mask_cache is None else da.from_zarr(mask_cache, chunks=mask.chunks)
        _pass2(
            name,
            src,
            maps,
            functools.partial(_label_pass2, structure=full, target=labels_out),
            journal,
            compute,
            f"{name}: pass 2 of 2",
        )
    return table, n


def flag_store(
    image: da.Array,
    kind: str,
    *,
    out: Any,
    structure: Any = None,
    seed: da.Array | None = None,
    cache: Any = None,
    buffer_size: int = 0,
    bgval: Any = 0,
    also_store: Sequence[tuple[da.Array, Any]] = (),
    compute: Callable | None = None,
    journal: str | None = None,
    stack: bool = False,
    name: str | None = None,
) -> None:
    """Holes, propagation or borders over whole components, in two passes, into ``out``.

    ``kind``:

    - ``"fill_holes"``: equals ``scipy.ndimage.binary_fill_holes(image, structure)``
      (background components no border pixel reaches become foreground);
    - ``"propagation"``: the components of ``image != 0`` that hold a pixel of
      ``seed`` (``scipy.ndimage.binary_propagation(seed, structure, mask=image)`` for
      a ``seed`` inside the mask);
    - ``"clear_border"``: equals ``skimage.segmentation.clear_border(image,
      buffer_size, bgval)`` (objects of one value, fully connected, touching the band
      within ``buffer_size`` of the edge become ``bgval``).

    Parameters
    ----------
    image : dask.array.Array
        The image (binary, or labels for ``clear_border``).
    kind : {"fill_holes", "propagation", "clear_border"}
        What to compute.
    out : zarr.Array
        Where the result goes (``image``'s shape; chunks aligned with its chunks).
    structure : array_like, optional
        Connectivity (not used by ``clear_border``, which connects fully).
    seed : dask.array.Array, optional
        The seeds of ``"propagation"``.
    cache : zarr.Array, optional
        An array of ``image``'s shape, dtype and chunks; pass 2 reads the image from
        there instead of recomputing its upstream.
    buffer_size, bgval
        As in ``clear_border``.
    also_store, compute, journal, stack, name
        As in :func:`label_measure_store`.
    """
    kinds = ("fill_holes", "propagation", "clear_border")
    if kind not in kinds:
        raise InvalidParameterError(f"kind must be one of {kinds}; got {kind!r}.")
    compute = compute or _dask_compute
    name = name or kind
    ndim = image.ndim - 1 if stack else image.ndim
    s = (
        np.ones((3,) * ndim, bool)
        if kind == "clear_border"
        else normalize_structure(structure, ndim)
    )
    full = _embed(s) if stack else s
    if stack:
        image = _stacked(image)
    arrays = [image]
    if kind == "propagation":
        if seed is None:
            raise InvalidParameterError("seed must be given for kind='propagation'; got None.")
        arrays.append(seed.rechunk(image.chunks))
    func = functools.partial(
        _flag_pass1,
        kind=kind,
        structure=full,
        shape=image.shape,
        stack=stack,
        buffer_size=buffer_size,
        cache=cache,
    )
    layout, blocks, pairs, pair_blocks = _pass1(
        name,
        arrays,
        func,
        full,
        journal,
        also_store,
        compute,
        f"{name}: pass 1 of 2",
        by_value=kind == "clear_border",
    )
    smalls = [b[0] for b in blocks]
    ncomp, comp, counts, bases = components(smalls, pairs, pair_blocks)
    flags = np.concatenate([s["flag"] for s in smalls]) if smalls else np.empty(0, bool)
    hit = np.bincount(comp, weights=flags, minlength=ncomp) > 0
    glob = hit[comp]
    maps = [np.concatenate([[False], glob[b : b + c]]) for b, c in zip(bases, counts, strict=True)]
    src = image if cache is None else da.from_zarr(cache, chunks=image.chunks)
    _pass2(
        name,
        src,
        maps,
        functools.partial(
            _flag_pass2, kind=kind, structure=full, stack=stack, bgval=bgval, target=out
        ),
        journal,
        compute,
        f"{name}: pass 2 of 2",
    )


# ---------------------------------------------------------------------------
# region filters over stored labels


def _relabel_apply(block, mapping, *, stack, start, target, region, done=None):
    if stack:
        m = mapping.get(int(start[0]))
        out = (
            np.zeros(block.shape, block.dtype)
            if m is None
            else R.apply_mapping(block, m, block.dtype)
        )
    else:
        out = R.apply_mapping(block, mapping, block.dtype)
    target[region] = out
    if done is not None:
        _touch(done)


def relabel_store(
    labels: da.Array,
    mapping: Any,
    *,
    out: Any,
    compute: Callable | None = None,
    journal: str | None = None,
    stack: bool = False,
    name: str = "relabel",
) -> None:
    """Map every label of ``labels`` through ``mapping`` into ``out``, block by block.

    ``mapping`` is a lookup array or sorted ``(keys, values)`` (a region filter's, see
    :func:`batchimg.measure.filter_mapping_delayed`); with ``stack`` (axis 0 indexes
    images), ``{image: mapping}``, an image without one mapped to 0. Every block
    written is recorded in ``journal``; a rerun skips them.
    """
    compute = compute or _dask_compute
    if stack:
        labels = _stacked(labels)
    shared = dask.delayed(mapping, pure=True, traverse=False)  # one key, sent once
    tasks = []
    for i, (idx, start, region) in enumerate(_layout(labels.chunks)):
        done = None if journal is None else os.path.join(journal, f"pass2-{i:06d}")
        if done is not None and os.path.exists(done):
            continue
        f = functools.partial(
            _relabel_apply, stack=stack, start=start, target=out, region=region, done=done
        )
        tasks.append(dask.delayed(f)(labels.blocks[idx], shared))
    if journal is not None:
        os.makedirs(journal, exist_ok=True)
    compute(tasks, label=f"{name}: pass 2 of 2")


__all__ = ["flag_store", "label_measure_store", "relabel_store"]
