"""Connected components across chunks, numbered exactly as scipy.ndimage.label.

Algorithm (every step is per block or per label; none holds the whole image):

1. **Per-block labels.** Each block is labelled on its own with
   ``scipy.ndimage.label`` and the structure. For every local label the block
   records the global raster (C-order linear) index of its first pixel, and it
   keeps its boundary faces (one slice per side per axis).
2. **Face equivalences.** For each pair of neighbouring blocks -- across faces,
   and across edges and corners where the structure connects diagonal
   neighbours -- a small task pairs the local labels of touching foreground
   pixels, for every offset of the structure that crosses that boundary.
3. **Union of equivalences.** One task takes only per-label summaries (first
   pixel indices and the equivalence pairs) and finds the connected components of
   the label graph (``scipy.sparse.csgraph.connected_components``).
4. **Renumbering in raster order.** scipy numbers components by the raster order
   of their first pixel; the first pixel of a component is the earliest first
   pixel of its pieces, so ranking components by it reproduces scipy's numbers.
5. **Relabel per block.** Each block maps its local labels through a small
   lookup table.

The number of tasks grows linearly with the number of blocks (one labelling task,
at most ``(3**ndim - 1) / 2`` pairing tasks per block, one relabel task), and the
resolve step is linear in the number of labels.

The same machinery answers other per-component questions with a *flag*
resolver instead of a numbering one: which background components touch the border
(:func:`binary_fill_holes`), which mask components a seed reaches
(:func:`binary_propagation`), which objects touch the border
(:func:`clear_border`).
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from . import _params as P
from . import _reduce
from ._overlap import Step, apply, as_dask, make_step
from .errors import InvalidParameterError

__all__ = [
    "binary_fill_holes",
    "binary_propagation",
    "clear_border",
    "label",
    "label_dtype",
    "reconstruct_by_propagation",
]


# --------------------------------------------------------------------------- structure


def _normalize_structure(structure: Any, ndim: int) -> np.ndarray:
    """Return scipy's default structure or a validated symmetric 3x...x3 one."""
    if structure is None:
        s = ndi.generate_binary_structure(ndim, 1)
        s.setflags(write=False)
        return s
    s = P.normalize_kernel(structure, ndim, "structure", binary=True)
    if s.shape != (3,) * ndim:
        raise InvalidParameterError(
            f"structure must have shape {(3,) * ndim} (3 on every axis); got {s.shape}."
        )
    if not np.array_equal(s, s[(slice(None, None, -1),) * ndim]):
        raise InvalidParameterError(
            "structure must be symmetric about its centre (connectivity is mutual); got "
            f"{s.astype(int).tolist()}."
        )
    return s


def label_dtype(shape: tuple[int, ...]) -> np.dtype:
    """The label dtype scipy.ndimage.label uses for an input of ``shape``.

    int32 while the array has fewer than ``2**31 - 2`` elements, the platform
    integer (int64) beyond.

    Examples
    --------
    >>> label_dtype((512, 512))
    dtype('int32')
    """
    size = int(np.prod(shape, dtype=object))
    return np.dtype(np.intp if size >= 2**31 - 2 else np.int32)


# --------------------------------------------------------------------------- per block


def _first_pixels(local: np.ndarray, n: int, start, shape) -> np.ndarray:
    """Global raster index of the first pixel of each local label 1..n."""
    if n == 0:
        return np.empty(0, np.int64)
    flat = local.ravel()
    idx = np.flatnonzero(flat)
    vals = flat[idx]
    # local labels first appear in increasing order along the raster scan
    new = np.empty(len(vals), bool)
    new[0] = True
    np.greater(vals[1:], np.maximum.accumulate(vals)[:-1], out=new[1:])
    first_local = idx[new]
    coords = np.unravel_index(first_local, local.shape)
    coords = tuple(c + s for c, s in zip(coords, start, strict=True))
    return np.ravel_multi_index(coords, shape).astype(np.int64)


def _faces(arr: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (
            np.take(arr, [0], axis=a).copy(),
            np.take(arr, [arr.shape[a] - 1], axis=a).copy(),
        )
        for a in range(arr.ndim)
    ]


def _label_block(block, *seed, structure, start, shape, by_value):
    """Label one block; return (local labels, small summary, faces)."""
    if by_value:
        from skimage.measure import label as sk_label

        local = sk_label(block, background=0, connectivity=block.ndim).astype(np.int32)
        n = int(local.max(initial=0))
    else:
        local, n = ndi.label(block, structure)
    small = {"n": n, "first": _first_pixels(local, n, start, shape)}
    if seed:
        hit = np.bincount(local[seed[0]].ravel(), minlength=n + 1)[1:] > 0
        small["flag"] = hit
    faces = {"labels": _faces(local)}
    if by_value:
        faces["values"] = _faces(block)
    return local, small, faces


def _directions(ndim: int, offsets: np.ndarray):
    """Neighbour directions (first nonzero component +1) that the structure crosses."""
    for d in itertools.product((-1, 0, 1), repeat=ndim):
        nz = [k for k in range(ndim) if d[k]]
        if not nz or d[nz[0]] != 1:
            continue
        if any(all(o[k] == d[k] for k in nz) for o in offsets):
            yield d


def _side(faces, d, sign):
    """The boundary of a block facing direction ``sign * d`` (1 along crossed axes)."""
    nz = [k for k in range(len(d)) if d[k]]
    k0 = nz[0]
    face = faces[k0][1 if sign * d[k0] > 0 else 0]
    for k in nz[1:]:
        i = face.shape[k] - 1 if sign * d[k] > 0 else 0
        face = face[(slice(None),) * k + (slice(i, i + 1),)]
    return face


def _face_pairs(faces_a, faces_b, *, d, offsets):
    """Pairs (local label in a, local label in b) of touching pixels across ``d``."""
    nz = [k for k in range(len(d)) if d[k]]
    zero = [k for k in range(len(d)) if not d[k]]
    la = _side(faces_a["labels"], d, +1)
    lb = _side(faces_b["labels"], d, -1)
    va = vb = None
    if "values" in faces_a:
        va = _side(faces_a["values"], d, +1)
        vb = _side(faces_b["values"], d, -1)
    out = []
    seen = set()
    for o in offsets:
        if any(o[k] != d[k] for k in nz):
            continue
        shift = tuple(int(o[k]) for k in zero)
        if shift in seen:
            continue
        seen.add(shift)
        sa = [slice(None)] * len(d)
        sb = [slice(None)] * len(d)
        for k, s in zip(zero, shift, strict=True):
            n = la.shape[k]
            sa[k] = slice(max(0, -s), n - max(0, s))
            sb[k] = slice(max(0, s), n - max(0, -s))
        a = la[tuple(sa)].ravel()
        b = lb[tuple(sb)].ravel()
        keep = (a > 0) & (b > 0)
        if va is not None:
            keep &= va[tuple(sa)].ravel() == vb[tuple(sb)].ravel()
        if keep.any():
            out.append(np.stack([a[keep], b[keep]], axis=1))
    if not out:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(out).astype(np.int64), axis=0)


# --------------------------------------------------------------------------- resolve


def _components(smalls, pairs, pair_blocks):
    """Component id of every (block, local label), as one array per block."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    counts = np.array([s["n"] for s in smalls], dtype=np.int64)
    bases = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    us, vs = [], []
    for (ba, bb), p in zip(pair_blocks, pairs, strict=True):
        if len(p):
            us.append(bases[ba] + p[:, 0] - 1)
            vs.append(bases[bb] + p[:, 1] - 1)
    if us:
        u = np.concatenate(us)
        v = np.concatenate(vs)
        graph = coo_matrix((np.ones(len(u), np.int8), (u, v)), shape=(total, total))
        ncomp, comp = connected_components(graph, directed=False)
    else:
        ncomp, comp = total, np.arange(total)
    return ncomp, comp.astype(np.int64), counts, bases


def _raster_numbers(smalls, pairs, pair_blocks):
    """Number every (block, local label) as scipy does: components by first pixel.

    Returns ``(ncomp, glob, counts, bases)``; block ``b``'s local label ``k`` has the
    global label ``glob[bases[b] + k - 1]``.
    """
    ncomp, comp, counts, bases = _components(smalls, pairs, pair_blocks)
    firsts = np.concatenate([s["first"] for s in smalls]) if smalls else np.empty(0, np.int64)
    minfirst = np.full(ncomp, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(minfirst, comp, firsts)
    rank = np.empty(ncomp, np.int64)
    rank[np.argsort(minfirst, kind="stable")] = np.arange(1, ncomp + 1)
    return ncomp, rank[comp], counts, bases


def _pair_tasks(dsk, name, numblocks, offsets, source, pair):
    """Add one pairing task per pair of neighbouring blocks the structure connects.

    ``pair(a, b, d=..., offsets=...)`` runs on the tasks ``(source, *idx)`` of the two
    blocks. Returns the task keys and the pairs' flat block indices.
    """
    grid = list(np.ndindex(*numblocks))
    flat = {idx: i for i, idx in enumerate(grid)}
    keys, blocks = [], []
    for d in _directions(len(numblocks), offsets):
        for idx in grid:
            nb = tuple(i + k for i, k in zip(idx, d, strict=True))
            if not all(0 <= i < n for i, n in zip(nb, numblocks, strict=True)):
                continue
            key = (name, len(keys))
            dsk[key] = (
                functools.partial(pair, d=d, offsets=offsets),
                (source, *idx),
                (source, *nb),
            )
            keys.append(key)
            blocks.append((flat[idx], flat[nb]))
    return keys, blocks


def _resolve_numbers(smalls, pairs, *, pair_blocks, dtype):
    ncomp, glob, counts, bases = _raster_numbers(smalls, pairs, pair_blocks)
    maps = [
        np.concatenate([[0], glob[b : b + c]]).astype(dtype)
        for b, c in zip(bases, counts, strict=True)
    ]
    return ncomp, maps


def _resolve_flags(smalls, pairs, *, pair_blocks, dtype):
    ncomp, comp, counts, bases = _components(smalls, pairs, pair_blocks)
    flags = np.concatenate([s["flag"] for s in smalls]) if smalls else np.empty(0, bool)
    hit = np.bincount(comp, weights=flags, minlength=ncomp) > 0
    glob = hit[comp]
    maps = [np.concatenate([[False], glob[b : b + c]]) for b, c in zip(bases, counts, strict=True)]
    return ncomp, maps


def _pick(resolved, i):
    return resolved[1][i]


def _apply_map(local, mapping):
    return mapping[local]


# --------------------------------------------------------------------------- graph


def _connected(
    x: da.Array,
    structure: np.ndarray,
    *,
    resolver,
    dtype,
    seed: da.Array | None = None,
    by_value: bool = False,
    kind: str,
) -> tuple[da.Array, da.Array]:
    """Build the graph: per-block labels, face pairs, one resolve, per-block maps.

    Returns the mapped image (``mapping[local]`` per block) and the component
    count as a 0-d dask array.
    """
    ndim = x.ndim
    if seed is not None:
        seed = seed.rechunk(x.chunks)
    token = tokenize(x.name, structure, kind, by_value, None if seed is None else seed.name)
    blk, loc, small, face = (f"{kind}-{s}-{token}" for s in ("block", "local", "summary", "faces"))
    pair, res, mp, out, num = (f"{kind}-{s}-{token}" for s in ("pairs", "resolve", "map", "", "n"))
    out = f"{kind}-{token}"
    layout = list(_reduce.block_offsets(x.chunks))
    grid = [idx for idx, _ in layout]
    flat = {idx: i for i, idx in enumerate(grid)}
    offsets = np.argwhere(structure) - 1
    dsk: dict = {}
    for idx, start in layout:
        args = [(x.name, *idx)] + ([(seed.name, *idx)] if seed is not None else [])
        func = functools.partial(
            _label_block, structure=structure, start=start, shape=x.shape, by_value=by_value
        )
        dsk[(blk, *idx)] = (func, *args)
        dsk[(loc, *idx)] = (operator.getitem, (blk, *idx), 0)
        dsk[(small, *idx)] = (operator.getitem, (blk, *idx), 1)
        dsk[(face, *idx)] = (operator.getitem, (blk, *idx), 2)
    pair_keys, pair_blocks = _pair_tasks(dsk, pair, x.numblocks, offsets, face, _face_pairs)
    dsk[(res, 0)] = (
        functools.partial(resolver, pair_blocks=pair_blocks, dtype=dtype),
        [(small, *idx) for idx in grid],
        pair_keys,
    )
    for idx in grid:
        dsk[(mp, *idx)] = (_pick, (res, 0), flat[idx])
        dsk[(out, *idx)] = (_apply_map, (loc, *idx), (mp, *idx))
    dsk[(num,)] = (operator.getitem, (res, 0), 0)
    deps = [x] + ([seed] if seed is not None else [])
    graph = HighLevelGraph.from_collections(out, dsk, dependencies=deps)
    result = da.Array(graph, out, chunks=x.chunks, dtype=dtype, meta=np.empty((0,) * ndim, dtype))
    ngraph = HighLevelGraph.from_collections(num, dsk, dependencies=deps)
    n = da.Array(ngraph, num, chunks=(), dtype=np.intp, meta=np.empty((), np.intp))
    return result, n


# --------------------------------------------------------------------------- public


def _embed(structure: np.ndarray, ndim: int, axes: tuple[int, ...]) -> np.ndarray:
    """A structure over ``axes`` as an ``ndim`` structure with no connectivity elsewhere."""
    full = np.zeros((3,) * ndim, bool)
    index = [1] * ndim
    for a in axes:
        index[a] = slice(None)
    full[tuple(index)] = np.transpose(structure, np.argsort(np.argsort(axes)))
    return full


def label(image: Any, structure: Any = None, *, axes: Any = None) -> tuple[da.Array, da.Array]:
    """Label connected components, identical to ``scipy.ndimage.label`` on the whole array.

    The labels have scipy's numbers (components numbered by the raster order of
    their first pixel) and scipy's dtype (:func:`label_dtype`), for any chunking.
    An image stack is labelled image by image with a structure that has no
    connectivity along the image axis (``np.stack([zeros, s2d, zeros])``); its
    labels then run on from one image to the next, exactly as scipy numbers them.

    Parameters
    ----------
    image : array_like
        Input; every nonzero pixel is foreground.
    structure : array_like, optional
        Symmetric 3x...x3 connectivity; default connectivity 1
        (``scipy.ndimage.generate_binary_structure(ndim, 1)``).
    axes : int or sequence of int, optional
        Label over these axes only; the other axes index independent images (a
        stack). ``structure`` then has ``len(axes)`` dimensions and is embedded
        with no connectivity along the other axes, so the labels equal
        ``scipy.ndimage.label`` of the stack with that embedded structure: each
        image's components, numbered on from the previous image's.

    Returns
    -------
    labels : dask.array.Array
        The label image, lazy.
    n : dask.array.Array
        The number of labels, a lazy 0-d integer array.

    Raises
    ------
    InvalidParameterError
        When the structure has the wrong shape or is not symmetric.

    See Also
    --------
    scipy.ndimage.label : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi, dask.array as da
    >>> image = np.eye(6, dtype=bool) | np.eye(6, dtype=bool)[::-1]
    >>> labels, n = label(da.from_array(image, chunks=2))
    >>> expected, m = ndi.label(image)
    >>> bool((labels.compute() == expected).all()), int(n.compute()) == m
    (True, True)
    """
    x = as_dask(image)
    if x.ndim == 0:
        raise InvalidParameterError("image must have at least one dimension; got a 0-d array.")
    axes = P.normalize_axes(axes, x.ndim)
    s = _normalize_structure(structure, len(axes))
    if len(axes) < x.ndim:
        s = _embed(s, x.ndim, axes)
    return _connected(x, s, resolver=_resolve_numbers, dtype=label_dtype(x.shape), kind="label")


def _border_seed_kernel(block, *, structure, border_value):
    zeros = np.zeros(block.shape, bool)
    return ndi.binary_dilation(zeros, structure, border_value=border_value)


def _border_step(ndim: int, structure: np.ndarray, name: str) -> Step:
    """Pixels with a structure neighbour outside the array (a local step of depth 1)."""
    kernel = functools.partial(_border_seed_kernel, structure=structure, border_value=1)
    return make_step(
        name,
        kernel,
        ndim=ndim,
        axes=tuple(range(ndim)),
        reach=(1,) * ndim,
        modes=("constant",) * ndim,
        dtype=bool,
        params=(structure, "border"),
    )


def binary_fill_holes(image: Any, structure: Any = None) -> da.Array:
    """Fill holes, identical to ``scipy.ndimage.binary_fill_holes`` on the whole array.

    A hole is a background component (connected by ``structure``) that no border
    pixel reaches; every pixel of it becomes foreground.

    Parameters
    ----------
    image : array_like
        Binary input (nonzero is foreground).
    structure : array_like, optional
        Symmetric 3x...x3 connectivity of the background; default connectivity 1.

    Returns
    -------
    dask.array.Array
        bool array, lazy.

    See Also
    --------
    scipy.ndimage.binary_fill_holes : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> ring = np.zeros((7, 7), bool); ring[1:6, 1:6] = True; ring[3, 3] = False
    >>> bool((binary_fill_holes(ring).compute() == ndi.binary_fill_holes(ring)).all())
    True
    """
    x = as_dask(image)
    s = _normalize_structure(structure, x.ndim)
    background = x == 0
    seed = background & apply(background, _border_step(x.ndim, s, "border_seed"))
    outside, _ = _connected(
        background, s, resolver=_resolve_flags, dtype=bool, seed=seed, kind="fill_holes"
    )
    return ~outside


def binary_propagation(
    image: Any, structure: Any = None, mask: Any = None, *, border_value: int = 0
) -> da.Array:
    """Propagate seeds through a mask, identical to ``scipy.ndimage.binary_propagation``.

    A mask component (connected by ``structure``) is filled when it holds a seed,
    touches a seed outside the mask, or -- with ``border_value=1`` -- touches the
    array border; pixels outside the mask keep the input's value.

    Parameters
    ----------
    image : array_like
        Binary seeds (nonzero is True).
    structure : array_like, optional
        Symmetric 3x...x3 connectivity with a True centre; default connectivity 1.
    mask : array_like, optional
        Binary mask of the same shape; ``None`` is the whole array.
    border_value : {0, 1}, optional
        Value beyond the array's edge.

    Returns
    -------
    dask.array.Array
        bool array, lazy.

    See Also
    --------
    scipy.ndimage.binary_propagation : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> mask = np.zeros((5, 8), bool); mask[1:4, 1:3] = mask[1:4, 5:7] = True
    >>> seeds = np.zeros_like(mask); seeds[2, 2] = True
    >>> out = binary_propagation(seeds, mask=mask).compute()
    >>> bool((out == ndi.binary_propagation(seeds, mask=mask)).all())
    True
    """
    x = as_dask(image) != 0
    s = _normalize_structure(structure, x.ndim)
    if not s[(1,) * x.ndim]:
        raise InvalidParameterError("structure must have a True centre; got a False centre.")
    if border_value not in (0, 1, True, False):
        raise InvalidParameterError(f"border_value must be 0 or 1; got {border_value!r}.")
    if mask is None:
        m = da.ones(x.shape, dtype=bool, chunks=x.chunks)
    else:
        m = as_dask(mask, "mask") != 0
        if m.shape != x.shape:
            raise InvalidParameterError(
                f"mask must have the image's shape {x.shape}; got {m.shape}."
            )
        m = m.rechunk(x.chunks)
    outside_seed = x & ~m
    kernel = functools.partial(ndi.binary_dilation, structure=s, border_value=int(border_value))
    step = make_step(
        "seed_dilation",
        kernel,
        ndim=x.ndim,
        axes=tuple(range(x.ndim)),
        reach=(1,) * x.ndim,
        modes=("constant",) * x.ndim,
        dtype=bool,
        params=(s, int(border_value)),
    )
    seed = m & (x | apply(outside_seed, step))
    reached, _ = _connected(
        m, s, resolver=_resolve_flags, dtype=bool, seed=seed, kind="propagation"
    )
    return outside_seed | reached


def reconstruct_by_propagation(
    image: Any, structure: Any = None, *, iterations: int = 1
) -> da.Array:
    """Erosion then propagation back into the image: the scipy lecture notes' cleanup.

    Equal to ``scipy.ndimage.binary_propagation(scipy.ndimage.binary_erosion(image,
    structure, iterations), structure, mask=image)`` on the whole array: objects
    too thin to survive the erosion vanish, every other object comes back whole
    (an opening by reconstruction).

    Parameters
    ----------
    image : array_like
        Binary input (nonzero is True).
    structure : array_like, optional
        Symmetric 3x...x3 structure for both steps; default connectivity 1.
    iterations : int, optional
        Erosion iterations (>= 1).

    Returns
    -------
    dask.array.Array
        bool array, lazy.

    See Also
    --------
    scipy.ndimage.binary_erosion, scipy.ndimage.binary_propagation : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> img = np.zeros((8, 8), bool); img[1:5, 1:5] = True; img[6, 1:7] = True
    >>> out = reconstruct_by_propagation(img).compute()
    >>> expected = ndi.binary_propagation(ndi.binary_erosion(img), mask=img)
    >>> bool((out == expected).all())
    True
    """
    x = as_dask(image) != 0
    s = _normalize_structure(structure, x.ndim)
    iterations = P.normalize_int(iterations, "iterations", minimum=1)
    kernel = functools.partial(ndi.binary_erosion, structure=s, iterations=iterations)
    erode = make_step(
        "binary_erosion",
        kernel,
        ndim=x.ndim,
        axes=tuple(range(x.ndim)),
        reach=(iterations,) * x.ndim,
        modes=("constant",) * x.ndim,
        dtype=bool,
        params=(s, iterations),
    )
    return binary_propagation(apply(x, erode), s, mask=x)


def _buffer_seed(block, *, buffer_size, shape, block_info=None):
    loc = block_info[0]["array-location"]
    seed = np.zeros(block.shape, bool)
    for a, (lo, hi) in enumerate(loc):
        coord = np.arange(lo, hi)
        near = (coord <= buffer_size) | (coord >= shape[a] - 1 - buffer_size)
        index = [None] * block.ndim
        index[a] = slice(None)
        seed |= near[tuple(index)]
    return seed & (block != 0)


def clear_border(image: Any, *, buffer_size: int = 0, bgval: int = 0) -> da.Array:
    """Clear objects touching the border, identical to ``skimage.segmentation.clear_border``.

    An object is a connected region (full connectivity) of one nonzero value; it
    is cleared (set to ``bgval``) when any of its pixels lies within
    ``buffer_size`` pixels of the array's edge. Other pixels keep their values.

    Parameters
    ----------
    image : array_like
        Label image or binary image.
    buffer_size : int, optional
        Width of the border band, in pixels beyond the edge row.
    bgval : int, optional
        Value given to cleared pixels.

    Returns
    -------
    dask.array.Array
        Same dtype as ``image``, lazy.

    See Also
    --------
    skimage.segmentation.clear_border : the oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.segmentation import clear_border as sk_clear_border
    >>> img = np.zeros((6, 6), int); img[0:2, 0:2] = 1; img[3:5, 3:5] = 2
    >>> bool((clear_border(img).compute() == sk_clear_border(img)).all())
    True
    """
    x = as_dask(image)
    buffer_size = P.normalize_int(buffer_size, "buffer_size", minimum=0)
    s = np.ones((3,) * x.ndim, bool)
    seed = x.map_blocks(
        _buffer_seed,
        buffer_size=buffer_size,
        shape=x.shape,
        dtype=bool,
        meta=np.empty((0,) * x.ndim, bool),
    )
    touching, _ = _connected(
        x, s, resolver=_resolve_flags, dtype=bool, seed=seed, by_value=True, kind="clear_border"
    )
    return da.where(touching, np.asarray(bgval, dtype=x.dtype), x)
