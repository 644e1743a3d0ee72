"""Distance transforms with scipy's answers on chunked arrays: edt, cdt and bf.

None of them is local: the distance of a pixel to the nearest background pixel
has no bounded reach. Each keeps exactness its own way (see the docstrings):

- ``distance_transform_edt``: scipy's separable algorithm, one pass per axis with
  that axis whole. The passes along axes ``0 .. r-2`` are scipy's own, run on each
  hyperplane ``input[..., j]`` (a block holds whole hyperplanes and some of the
  last axis); the pass along the last axis is :func:`._voronoi.last_pass`, which
  repeats scipy's arithmetic, on blocks that hold whole lines along it.
- ``distance_transform_cdt``: scipy's two raster sweeps, run slab by slab along
  axis 0 (a slab holds whole planes), in raster order and then in reverse, each
  slab seeing the finished plane of its neighbour.
- ``distance_transform_bf``: scipy's brute force on the whole array in one task.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any

import dask
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .. import _conventions as C
from .._lazy import da
from ..errors import InvalidParameterError, ParameterRuntimeError

#: Pixels a block of the feature transform aims at (bounds each task's memory).
TARGET_PIXELS = 1 << 22


def _arg_check(distances, indices, return_distances, return_indices) -> None:
    """Check the return flags against the arrays to fill, as scipy does (RuntimeError)."""
    msgs = []
    if not return_distances and not return_indices:
        msgs.append("at least one of return_distances/return_indices must be True")
    if isinstance(distances, np.ndarray) and not return_distances:
        msgs.append("return_distances must be True if distances is supplied")
    if isinstance(indices, np.ndarray) and not return_indices:
        msgs.append("return_indices must be True if indices is supplied")
    if msgs:
        raise ParameterRuntimeError("; ".join(msgs) + ".")


def _check_array(value, name, shape, dtype, cls) -> None:
    if not isinstance(value, np.ndarray):
        return
    if value.shape != tuple(shape):
        raise cls(f"{name} must have shape {tuple(shape)}; got {value.shape}.")
    if value.dtype != dtype:
        raise cls(f"{name} must have dtype {np.dtype(dtype)}; got {value.dtype}.")


def _results(pairs, return_distances, return_indices, distances, indices):
    """Return as scipy does: what was asked for and not filled, or None."""
    fills = {}
    out = []
    if return_distances:
        if isinstance(distances, np.ndarray):
            fills["distances"] = (pairs["distances"], distances)
        else:
            out.append(pairs["distances"])
    if return_indices:
        if isinstance(indices, np.ndarray):
            fills["indices"] = (pairs["indices"], indices)
        else:
            out.append(pairs["indices"])
    if fills:
        C.fill(fills)
    if len(out) == 2:
        return tuple(out)
    return out[0] if out else None


def _sampling(sampling, ndim) -> np.ndarray | None:
    if sampling is None:
        return None
    values = C.sequence(sampling, ndim, "sampling")
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"sampling must hold numbers; got {sampling!r}.") from None


def _split(n: int, size: int) -> tuple[int, ...]:
    size = max(1, min(n, size))
    k, rest = divmod(n, size)
    return (size,) * k + ((rest,) if rest else ())


def _whole(func, x: da.Array, outputs: dict[str, tuple[tuple, Any]], token) -> dict[str, da.Array]:
    """``func(whole numpy array) -> dict`` in one task; each output chunked like ``x``."""
    task = dask.delayed(func, pure=True)(x.rechunk(x.shape), dask_key_name=f"whole-{token}")
    out = {}
    for name, (shape, dtype) in outputs.items():
        arr = da.from_delayed(
            task[name], shape=shape, dtype=dtype, meta=np.empty((0,) * len(shape), dtype)
        )
        lead = len(shape) - x.ndim
        out[name] = arr.rechunk(tuple((n,) for n in shape[:lead]) + x.chunks)
    return out


# --------------------------------------------------------------------------------------
# Euclidean


def _edt_whole(block, *, sampling, distances, indices):
    ft = ndi.distance_transform_edt(
        block, sampling=sampling, return_distances=False, return_indices=True
    )
    return {"indices": ft, "distances": _edt_distances(ft, (0,) * block.ndim, sampling)}


def _edt_distances(ft: np.ndarray, start, sampling) -> np.ndarray:
    """Distances from the feature transform, as scipy computes them, for a block at ``start``."""
    grid = np.indices(ft.shape[1:], dtype=ft.dtype)
    for a, s in enumerate(start):
        grid[a] += s
    dt = (ft - grid).astype(np.float64)
    if sampling is not None:
        for ii in range(len(sampling)):
            dt[ii, ...] *= sampling[ii]
    np.multiply(dt, dt, dt)
    return np.sqrt(np.add.reduce(dt, axis=0))


def _hyperplanes(block, *, sampling, block_info=None):
    """Passes along axes 0 .. r-2 of one block holding whole hyperplanes ``[..., j]``."""
    r = block.ndim
    start = block_info[0]["array-location"][-1][0]
    out = np.zeros((r,) + block.shape, np.int32)
    sub = None if sampling is None else sampling[:-1]
    for j in range(block.shape[-1]):
        ft = ndi.distance_transform_edt(
            block[..., j], sampling=sub, return_distances=False, return_indices=True
        )
        out[: r - 1, ..., j] = ft
        out[r - 1, ..., j] = np.where(ft[0] >= 0, start + j, 0)
    return out


def _last_axis(ft, *, sampling, block_info=None):
    """The pass along the last axis, on a block holding whole lines along it."""
    from ._voronoi import last_pass

    r = ft.shape[0]
    loc = block_info[0]["array-location"][1:]
    lead = ft.shape[1:-1]
    m = math.prod(lead)
    coords = np.array(np.unravel_index(np.arange(m), lead), dtype=np.int64).reshape(r - 1, m)
    for a, (lo, _) in enumerate(loc[:-1]):
        coords[a] += lo
    out = last_pass(ft.reshape(r, m, ft.shape[-1]), coords, sampling)
    return out.reshape(ft.shape)


def _distances_block(ft, *, sampling, block_info=None):
    start = [lo for lo, _ in block_info[0]["array-location"][1:]]
    return _edt_distances(ft, start, sampling)


def edt_features(x: da.Array, sampling) -> da.Array:
    """Compute scipy's Euclidean feature transform of ``x != 0`` (r >= 2), chunked; int32."""
    r = x.ndim
    b = x != 0
    plane = math.prod(x.shape[:-1])
    # stage A: whole hyperplanes, the last axis cut as the input (and to bound a block)
    last = x.chunks[-1]
    cap = max(1, TARGET_PIXELS // max(plane, 1))
    last = tuple(p for c in last for p in _split(c, cap))
    a = b.rechunk(tuple((n,) for n in x.shape[:-1]) + (last,))
    fa = a.map_blocks(
        _hyperplanes,
        sampling=sampling,
        new_axis=0,
        chunks=((r,),) + a.chunks,
        dtype=np.int32,
        meta=np.empty((0,) * (r + 1), np.int32),
    )
    # stage B: whole lines along the last axis, other axes cut as the input (bounded)
    per_row = math.prod(max(c) for c in x.chunks[1:-1]) * x.shape[-1]
    first = tuple(p for c in x.chunks[0] for p in _split(c, TARGET_PIXELS // per_row))
    lead = (first,) + x.chunks[1:-1]
    fb = fa.rechunk(((r,),) + lead + ((x.shape[-1],),))
    return fb.map_blocks(
        _last_axis, sampling=sampling, dtype=np.int32, meta=np.empty((0,) * (r + 1), np.int32)
    )


def distance_transform_edt(
    input: Any,
    sampling: Any = None,
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Exact Euclidean distance transform, equal to ``scipy.ndimage.distance_transform_edt``.

    For every nonzero pixel, the distance to the nearest zero pixel (scaled by
    ``sampling``) and the coordinates of that zero pixel (the feature transform),
    with the same bits as scipy on the whole array -- ties between equally near
    pixels included -- for any chunking.

    How exactness is kept: scipy's algorithm is separable, one pass per axis, each
    pass along whole lines of that axis. Here the passes along axes ``0 .. r-2`` are
    scipy's own, run hyperplane by hyperplane (``input[..., j]``) on blocks holding
    whole hyperplanes; the features are then rechunked so that the last axis is
    whole, and the last pass repeats scipy's arithmetic operation for operation on
    every line (numpy over the lines of a block). Distances follow from the
    features pixel by pixel, as in scipy.

    Cost: one rechunk of the features (``4 * ndim`` bytes per pixel) between the
    two stages, and the last pass is a Python loop along the last axis vectorised
    over the lines of a block (a few times slower than scipy's C on the same
    data; parallel over blocks). Memory per task: one block of each stage, at most
    about ``4 * ndim * 2**22`` bytes of features plus temporaries -- except that a
    stage-A block holds at least one whole hyperplane (all axes but the last), so a
    hyperplane must fit in memory. An array of one chunk runs scipy directly.

    Parameters
    ----------
    input : array_like
        Input (numpy or dask); nonzero pixels get a distance, zeros are the targets.
    sampling : float or sequence of float, optional
        Pixel spacing along each axis.
    return_distances, return_indices : bool, optional
        Which results to return (at least one).
    distances : numpy.ndarray, optional
        A float64 array of the input's shape to fill with the distances.
    indices : numpy.ndarray, optional
        An int32 array of shape ``(input.ndim,) + input.shape`` to fill with the
        feature transform.

    Returns
    -------
    dask.array.Array, tuple of them, or None
        The distances (float64) and/or the indices (int32) that were asked for and
        not filled in place, as scipy returns them.

    Raises
    ------
    ParameterRuntimeError
        For no result asked for, an output array passed without asking for it, a
        ``sampling`` of the wrong length, or an output array of the wrong shape or
        dtype.

    See Also
    --------
    scipy.ndimage.distance_transform_edt : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi, dask.array as da
    >>> from batchimg.morphology import distance_transform_edt
    >>> image = np.arange(80).reshape(8, 10) % 7 > 0
    >>> dt, ft = distance_transform_edt(da.from_array(image, chunks=3), return_indices=True)
    >>> want_dt, want_ft = ndi.distance_transform_edt(image, return_indices=True)
    >>> bool((dt.compute() == want_dt).all() and (ft.compute() == want_ft).all())
    True
    """
    _arg_check(distances, indices, return_distances, return_indices)
    x = C.as_input(input)
    if x.ndim == 0:
        x = x.reshape((1,))
    sampling = _sampling(sampling, x.ndim)
    _check_array(indices, "indices", (x.ndim,) + x.shape, np.int32, ParameterRuntimeError)
    _check_array(distances, "distances", x.shape, np.float64, ParameterRuntimeError)
    if x.ndim == 1 or x.npartitions == 1:
        token = tokenize("edt", x.name, sampling)
        func = functools.partial(_edt_whole, sampling=sampling, distances=True, indices=True)
        pairs = _whole(
            func,
            x,
            {"indices": ((x.ndim,) + x.shape, np.int32), "distances": (x.shape, np.float64)},
            token,
        )
    else:
        ft = edt_features(x, sampling)
        dt = ft.map_blocks(
            _distances_block,
            sampling=sampling,
            drop_axis=0,
            dtype=np.float64,
            meta=np.empty((0,) * x.ndim, np.float64),
        )
        pairs = {
            "indices": ft.rechunk(((x.ndim,),) + x.chunks),
            "distances": dt.rechunk(x.chunks),
        }
    return _results(pairs, return_distances, return_indices, distances, indices)


# --------------------------------------------------------------------------------------
# chamfer


def _cdt_metric(metric, ndim):
    if isinstance(metric, str):
        if metric in ("taxicab", "cityblock", "manhattan"):
            return ndi.generate_binary_structure(ndim, 1)
        if metric == "chessboard":
            return ndi.generate_binary_structure(ndim, ndim)
        raise InvalidParameterError(
            "invalid metric provided: metric must be 'chessboard', 'taxicab', 'cityblock', "
            f"'manhattan' or a 3x...x3 array; got {metric!r}."
        )
    try:
        m = np.asarray(metric)
    except Exception:  # noqa: BLE001 - scipy refuses any value numpy cannot read
        raise InvalidParameterError(f"metric must be a name or an array; got {metric!r}.") from None
    if any(s != 3 for s in m.shape):
        raise InvalidParameterError(f"metric must be 3 wide on every axis; got shape {m.shape}.")
    if m.ndim != ndim:
        raise ParameterRuntimeError(
            f"metric must have {ndim} dimensions, as many as the input; got shape {m.shape}."
        )
    return np.array(m, order="C")


def _sweep(dt, ft, metric):
    """One raster sweep of scipy's chamfer transform, in place (scipy's own C pass).

    scipy's public function always runs both sweeps; its one-sweep C kernel is the
    private ``scipy.ndimage._nd_image.distance_transform_op`` (the same since scipy
    0.x), called exactly as ``distance_transform_cdt`` calls it.
    """
    import scipy.ndimage._nd_image as nd_image

    nd_image.distance_transform_op(metric, dt, ft)


def _cdt_forward(block, *prev, metric, start, features):
    """The forward sweep over one slab, after the finished last plane of the one before."""
    dt = np.where(block, -1, 0).astype(np.int32)
    ft = (
        (np.arange(dt.size, dtype=np.int32) + np.int32(start)).reshape(dt.shape)
        if features
        else None
    )
    if prev:
        pdt, pft = prev[0]
        dt = np.concatenate([pdt[-1:], dt])
        ft = np.concatenate([pft[-1:], ft]) if features else None
    _sweep(dt, ft, metric)
    if prev:
        dt = dt[1:]
        ft = ft[1:] if features else None
    return dt, ft


def _cdt_backward(fwd, *nxt, metric, features):
    """The backward sweep over one slab, before the finished first plane of the one after."""
    dt, ft = fwd[0].copy(), (fwd[1].copy() if features else None)
    if nxt:
        ndt, nft = nxt[0]
        dt = np.concatenate([dt, ndt[:1]])
        ft = np.concatenate([ft, nft[:1]]) if features else None
    rev = (slice(None, None, -1),) * dt.ndim
    _sweep(dt[rev], ft[rev] if features else None, metric)
    if nxt:
        dt = dt[:-1]
        ft = ft[:-1] if features else None
    return dt, ft


def _cdt_whole(block, *, metric, features):
    out = ndi.distance_transform_cdt(block, metric=metric, return_indices=features)
    dt, ft = out if features else (out, None)
    res = {"distances": dt}
    if features:
        res["indices"] = ft
    return res


def _ravel(ft, *, shape):
    return np.ravel_multi_index(tuple(ft), shape)


def _look_up(flat, *, table):
    return np.stack([t[flat] for t in table]).astype(np.int32)


def _unravel(ft, *, shape):
    return np.stack(np.unravel_index(ft, shape)).astype(np.int32)


def cdt_sweeps(x: da.Array, metric: np.ndarray, features: bool) -> dict[str, da.Array]:
    """Run scipy's two chamfer sweeps over slabs along axis 0; ``features``: flat indices too."""
    slabs = x.rechunk((x.chunks[0],) + tuple((n,) for n in x.shape[1:]))
    plane = math.prod(x.shape[1:])
    token = tokenize("cdt", slabs.name, metric, metric.dtype.str, features)
    fwd, bwd = f"cdt-forward-{token}", f"cdt-backward-{token}"
    k = slabs.numblocks[0]
    starts = [0, *np.cumsum(slabs.chunks[0])[:-1].tolist()]
    zeros = (0,) * (x.ndim - 1)
    dsk: dict = {}
    for i in range(k):
        func = functools.partial(
            _cdt_forward, metric=metric, start=starts[i] * plane, features=features
        )
        dsk[(fwd, i)] = (func, (slabs.name, i, *zeros)) + (((fwd, i - 1),) if i else ())
    for i in reversed(range(k)):
        func = functools.partial(_cdt_backward, metric=metric, features=features)
        dsk[(bwd, i)] = (func, (fwd, i)) + (((bwd, i + 1),) if i < k - 1 else ())
    out = {}
    for j, name in enumerate(["distances", "flat"][: 1 + features]):
        key = f"cdt-{name}-{token}"
        layer = {(key, i, *zeros): (operator.getitem, (bwd, i), j) for i in range(k)}
        graph = HighLevelGraph.from_collections(key, {**dsk, **layer}, dependencies=[slabs])
        out[name] = da.Array(
            graph, key, slabs.chunks, dtype=np.int32, meta=np.empty((0,) * x.ndim, np.int32)
        )
    return out


def distance_transform_cdt(
    input: Any,
    metric: Any = "chessboard",
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Chamfer distance transform, equal to ``scipy.ndimage.distance_transform_cdt``.

    For every nonzero pixel, the number of ``metric`` steps to the nearest zero
    pixel and that pixel's coordinates, with scipy's int32 values and its choice
    among equally near pixels, for any chunking.

    How exactness is kept: scipy sweeps the array twice in raster order (forward,
    then backward), each pixel taking the best of its already-visited neighbours.
    A pixel's neighbours in a sweep lie in its own plane or in the plane before it
    along axis 0, so the sweep is run slab by slab (a slab holds whole planes,
    cut along axis 0 as the input), in order, each slab starting from the finished
    last plane of the one before; the backward sweep runs the slabs in reverse.
    Each slab's sweep is scipy's own C pass.

    Cost: the sweeps are sequential over the slabs (no parallelism along axis 0);
    memory per task is one slab and a plane (4 bytes per pixel for the distances,
    4 more for the indices). An array of one chunk runs scipy directly.

    Parameters
    ----------
    input : array_like
        Input (numpy or dask); nonzero pixels get a distance.
    metric : {'chessboard', 'taxicab', 'cityblock', 'manhattan'} or array_like
        The neighbourhood of one step: a name, or a 3x...x3 array read as scipy's C
        code reads it.
    return_distances, return_indices : bool, optional
        Which results to return (at least one).
    distances : numpy.ndarray, optional
        An int32 array of the input's shape to fill with the distances.
    indices : numpy.ndarray, optional
        An int32 array of shape ``(input.ndim,) + input.shape`` to fill with the
        feature transform (scipy reads its coordinates through the array's own
        contents, and so does this).

    Returns
    -------
    dask.array.Array, tuple of them, or None
        The distances and/or indices (int32) that were asked for and not filled.

    Raises
    ------
    ParameterRuntimeError
        For no result asked for, an output array passed without asking for it, or a
        metric array of another rank than the input.
    InvalidParameterError
        For an unknown metric name, a metric not 3 wide, or an output array of the
        wrong shape or dtype.

    See Also
    --------
    scipy.ndimage.distance_transform_cdt : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi, dask.array as da
    >>> from batchimg.morphology import distance_transform_cdt
    >>> image = np.arange(80).reshape(8, 10) % 7 > 0
    >>> dt = distance_transform_cdt(da.from_array(image, chunks=3), "taxicab")
    >>> bool((dt.compute() == ndi.distance_transform_cdt(image, "taxicab")).all())
    True
    """
    _arg_check(distances, indices, return_distances, return_indices)
    x = C.as_input(input)
    metric = _cdt_metric(metric, x.ndim)
    _check_array(distances, "distances", x.shape, np.int32, InvalidParameterError)
    _check_array(indices, "indices", (x.ndim,) + x.shape, np.int32, InvalidParameterError)
    if x.ndim == 0 or x.npartitions == 1 or x.numblocks[0] == 1:
        token = tokenize("cdt", x.name, metric, metric.dtype.str, return_indices)
        func = functools.partial(_cdt_whole, metric=metric, features=return_indices)
        outputs = {"distances": (x.shape, np.int32)}
        if return_indices:
            outputs["indices"] = ((x.ndim,) + x.shape, np.int32)
        pairs = _whole(func, x, outputs, token)
    else:
        swept = cdt_sweeps(x, metric, return_indices)
        pairs = {"distances": swept["distances"].rechunk(x.chunks)}
        if return_indices:
            flat = swept["flat"].rechunk(x.chunks)
            pairs["indices"] = flat.map_blocks(
                _unravel,
                shape=x.shape,
                new_axis=0,
                chunks=((x.ndim,),) + x.chunks,
                dtype=np.int32,
                meta=np.empty((0,) * (x.ndim + 1), np.int32),
            )
            pairs["flat"] = flat
    if isinstance(indices, np.ndarray):
        # scipy reads the coordinates of the flat features through the caller's array
        flat = pairs.pop("flat", None)
        if flat is None:
            flat = pairs["indices"].map_blocks(
                _ravel,
                shape=x.shape,
                drop_axis=0,
                dtype=np.int64,
                meta=np.empty((0,) * x.ndim, np.int64),
            )
        pairs["indices"] = flat.map_blocks(
            _look_up,
            table=indices.reshape(x.ndim, -1).copy(),
            new_axis=0,
            chunks=((x.ndim,),) + flat.chunks,
            dtype=np.int32,
            meta=np.empty((0,) * (x.ndim + 1), np.int32),
        )
    pairs.pop("flat", None)
    return _results(pairs, return_distances, return_indices, distances, indices)


# --------------------------------------------------------------------------------------
# brute force


def _bf_whole(block, *, metric, sampling, features):
    out = ndi.distance_transform_bf(
        block, metric, sampling, return_distances=True, return_indices=features
    )
    dt, ft = out if features else (out, None)
    res = {"distances": dt}
    if features:
        res["indices"] = ft
    return res


def distance_transform_bf(
    input: Any,
    metric: str = "euclidean",
    sampling: Any = None,
    return_distances: bool = True,
    return_indices: bool = False,
    distances: Any = None,
    indices: Any = None,
) -> Any:
    """Brute-force distance transform, equal to ``scipy.ndimage.distance_transform_bf``.

    For every nonzero pixel, the distance to the nearest zero pixel that touches
    the foreground, by comparing with every such pixel (scipy's reference
    algorithm), with scipy's values and its choice among equally near pixels.

    How exactness is kept: it runs scipy on the whole array in one task -- the
    brute force costs time ``O(foreground pixels * border pixels)`` and memory of
    the whole array (about 14 bytes per pixel, 18 with indices), so it suits small
    arrays; :func:`distance_transform_edt` and :func:`distance_transform_cdt` give
    the Euclidean, taxicab and chessboard distances across chunks.

    Parameters
    ----------
    input : array_like
        Input (numpy or dask); nonzero pixels get a distance.
    metric : {'euclidean', 'taxicab', 'cityblock', 'manhattan', 'chessboard'}, optional
        Distance metric (case-insensitive).
    sampling : float or sequence of float, optional
        Pixel spacing along each axis (euclidean metric only, as in scipy).
    return_distances, return_indices : bool, optional
        Which results to return (at least one).
    distances : numpy.ndarray, optional
        An array of the input's shape to fill: float64 for euclidean, uint32 else.
    indices : numpy.ndarray, optional
        An int32 array of shape ``(input.ndim,) + input.shape`` to fill.

    Returns
    -------
    dask.array.Array, tuple of them, or None
        The distances and/or indices that were asked for and not filled.

    Raises
    ------
    ParameterRuntimeError
        For no result asked for, an output array passed without asking for it, an
        unknown metric, a ``sampling`` of the wrong length, or an output array of the
        wrong shape or dtype.

    See Also
    --------
    scipy.ndimage.distance_transform_bf : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.morphology import distance_transform_bf
    >>> image = np.arange(80).reshape(8, 10) % 7 > 0
    >>> dt = distance_transform_bf(image, "chessboard")
    >>> bool((dt.compute() == ndi.distance_transform_bf(image, "chessboard")).all())
    True
    """
    _arg_check(distances, indices, return_distances, return_indices)
    x = C.as_input(input)
    if not isinstance(metric, str):
        raise ParameterRuntimeError(f"metric must be a metric name; got {metric!r}.")
    name = metric.lower()
    kinds = {"euclidean": np.float64, "taxicab": np.uint32, "cityblock": np.uint32,
             "manhattan": np.uint32, "chessboard": np.uint32}  # fmt: skip
    if name not in kinds:
        raise ParameterRuntimeError(
            f"metric must be one of {', '.join(repr(k) for k in kinds)}; got {metric!r}."
        )
    sampling = _sampling(sampling, x.ndim)
    _check_array(distances, "distances", x.shape, kinds[name], ParameterRuntimeError)
    _check_array(indices, "indices", (x.ndim,) + x.shape, np.int32, ParameterRuntimeError)
    token = tokenize("bf", x.name, name, sampling, return_indices)
    func = functools.partial(_bf_whole, metric=name, sampling=sampling, features=return_indices)
    outputs = {"distances": (x.shape, kinds[name])}
    if return_indices:
        outputs["indices"] = ((x.ndim,) + x.shape, np.int32)
    pairs = _whole(func, x, outputs, token)
    return _results(pairs, return_distances, return_indices, distances, indices)
