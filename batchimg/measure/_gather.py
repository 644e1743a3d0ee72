"""scipy.ndimage's measurements that need every value of a region: gathered in raster order.

``median``, ``labeled_comprehension`` and ``value_indices`` need all the values of
a region (a user function may even depend on their order). One task per block
takes the pixels the call selects (their global raster index, label and value);
the pieces are joined and put back in raster order, which is the order scipy reads
the whole array in, and scipy's own steps run on that: the same sort (so the same
order within a label, even for an unstable sort), the same arithmetic. The
results are scipy's exactly, for any chunking. Memory is that of the selected
pixels (a median of the whole image holds the whole image's values). ``histogram``
counts per block and adds the counts (exact, one pass).
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np

from .._lazy import da
from .._overlap import as_dask
from .._regions import graphs as G
from ..errors import InputError, InvalidParameterError
from ._scipy import normalize_index, setup
from ._structured import structured


def _pieces(lab, img, *, offset, gshape, mode, index, with_values=True):
    """(raster index, label, value) of the selected pixels of one block."""
    lab = np.asarray(lab)
    if mode == "all":
        keep = np.ones(lab.shape, bool)
    elif mode == "positive":
        keep = lab > 0
    elif mode == "one":
        keep = lab == index if index is not None else np.zeros(lab.shape, bool)
    elif mode == "range":
        keep = (lab >= index[0]) & (lab <= index[1])
    else:
        keep = np.isin(lab, index)
    nz = np.flatnonzero(keep)
    coords = np.unravel_index(nz, lab.shape)
    glob = tuple(c + o for c, o in zip(coords, offset, strict=True))
    pos = np.ravel_multi_index(glob, tuple(gshape)) if lab.ndim else np.zeros(len(nz), np.intp)
    out = [pos.astype(np.int64), lab.reshape(-1)[nz]]
    if with_values:
        out.append(np.asarray(img).reshape(-1)[nz])
    return out


def _joined(*parts):
    """Join block pieces and restore raster order."""
    cols = [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
    order = np.argsort(cols[0], kind="stable")
    return [c[order] for c in cols]


def gather(img, lab, mode, index, with_values=True) -> Any:
    """A delayed ``[positions, labels(, values)]`` of the selected pixels, in raster order."""
    name = G.name_of(
        "gather", None if img is None else img.name, lab.name, mode, index, with_values
    )
    dsk: dict = {}
    keys = G.block_tasks(
        dsk,
        name,
        _pieces,
        [lab, img],
        lab.chunks,
        extra=lambda idx, off: {
            "offset": off,
            "gshape": lab.shape,
            "mode": mode,
            "index": index,
            "with_values": with_values,
        },
    )
    root = (f"join-{name}",)
    dsk[root] = (_joined, *keys.values())
    return G.delayed(dsk, name, root, [lab, img])


def _per_block(prefix, func, lab, img, *args, combine=None):
    """One ``func(lab_block, img_block, *args)`` per block; a tree of ``combine`` over them."""
    name = G.name_of(prefix, lab.name, None if img is None else img.name, args)
    dsk: dict = {}
    keys = G.block_tasks(dsk, name, func, [lab, img], lab.chunks, tail=args)
    root = G.tree(dsk, f"combine-{name}", list(keys.values()), combine)
    return G.delayed(dsk, name, root, [lab, img])


def _lowest(lab, img):
    """(smallest label, smallest non-NaN value of it) of one block (scipy's median filler)."""
    lab = np.asarray(lab)
    img = np.asarray(img)
    if lab.size == 0:
        return None
    low = lab.min()
    vals = img[lab == low]
    good = vals[~np.isnan(vals)] if vals.dtype.kind == "f" else vals
    return low, (good.min() if good.size else vals[0])


def _lowest_pair(*parts):
    """Combine ``(label, value)`` pairs of :func:`_lowest` (the same rule, over blocks)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    low = min(p[0] for p in parts)
    vals = np.array([p[1] for p in parts if p[0] == low])
    good = vals[~np.isnan(vals)] if vals.dtype.kind == "f" else vals
    return low, (good.min() if good.size else vals[0])


def _median_finish(data, mode, index, dtype, filler):
    _, labels, vals = data
    filler = None if filler is None else filler[1]
    if mode != "many":
        if vals.size == 0:
            return np.array(np.nan)
        return np.asarray(np.median(vals))
    order = np.lexsort((vals, labels))
    vals, labels = vals[order], labels[order]
    flat = index.ravel()
    lo = np.searchsorted(labels, flat, side="left")
    hi = np.searchsorted(labels, flat, side="right") - 1
    found = hi >= lo
    step = np.where(found, (hi - lo) // 2, 0)
    lo, hi = lo + step, hi - step
    num = vals.dtype.kind in "biu"
    safe = np.clip(lo, 0, max(len(vals) - 1, 0))
    safe_hi = np.clip(hi, 0, max(len(vals) - 1, 0))
    if len(vals):
        a, b = vals[safe], vals[safe_hi]
    else:
        a = b = np.zeros(len(flat), vals.dtype)
    if num:
        out = (a.astype("d") + b.astype("d")) / 2.0
        fill = (np.float64(filler) + np.float64(filler)) / 2.0 if filler is not None else 0.0
    else:
        out = (a + b) / 2.0
        fill = (filler + filler) / 2.0 if filler is not None else 0.0
    out = np.where(found, out, fill).astype(dtype)
    return out.reshape(index.shape)


def median(input: Any, labels: Any = None, index: Any = None) -> da.Array:
    """Equals ``scipy.ndimage.median(input, labels, index)`` on the whole arrays, exactly.

    The median of each region, with scipy's ``labels``/``index`` rules (see
    :func:`batchimg.measure.mean`). Exactness: the region's values are gathered from
    the blocks (memory: the measured pixels) and put in scipy's order, and scipy's
    arithmetic runs on them, so the result is scipy's bit for bit for any chunking --
    for an absent label too (scipy then gives the smallest value of the smallest
    label, its quirk, reproduced from a per-block minimum).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The values.
    labels : array_like or dask.array.Array, optional
        The regions.
    index : label or sequence of labels, optional
        The labels to measure.

    Returns
    -------
    dask.array.Array
        float64 (``input``'s float dtype for float input), of the index's shape; for a
        single region it computes to a numpy scalar.

    Raises
    ------
    InputTypeError
        If ``input`` is complex or not numeric.
    InputError
        If ``labels`` does not broadcast to ``input``.

    See Also
    --------
    scipy.ndimage.median : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> median(np.array([1.0, 5.0, 2.0, 7.0]), np.array([1, 1, 1, 2]), [1, 2]).compute()
    array([2., 7.])
    """
    img, lab, mode, idx, _ = setup(input, labels, index)
    data = gather(img, lab, mode, idx)
    single = mode != "many"
    if single:
        dtype = np.median(np.zeros(1, img.dtype)).dtype
    else:
        dtype = np.dtype(np.float64) if img.dtype.kind in "biu" else img.dtype
    filler = None
    if not single:
        filler = _per_block("lowest", _lowest, lab, img, combine=_lowest_pair)
    value = dask.delayed(_median_finish, pure=True)(data, mode, idx, dtype, filler)
    shape = () if single else idx.shape
    x = da.from_delayed(value, shape=shape, dtype=dtype, meta=np.empty((0,) * len(shape), dtype))
    return structured(x, "scalar") if single else x


def _hist_pieces(lab, img, mode, index, edges):
    """Per-label histogram counts of one block: ``(len(index) or 1, bins)`` int64."""
    lab, img = np.asarray(lab), np.asarray(img)
    if mode == "many":
        flat = index.ravel()
        out = np.zeros((len(flat), len(edges) - 1), np.int64)
        for i, v in enumerate(flat.tolist()):
            out[i] = np.histogram(img[lab == v], edges)[0]
        return out
    sel = {"all": np.ones(lab.shape, bool), "positive": lab > 0}.get(mode)
    if sel is None:
        sel = lab == index if index is not None else np.zeros(lab.shape, bool)
    return np.histogram(img[sel], edges)[0][None, :]


def _hist_finish(counts_found, mode, index):
    counts, found = counts_found
    if mode != "many":
        return _obj(counts[0] if found[0] else None)
    out = np.empty(index.size, dtype=object)
    for i in range(index.size):
        out[i] = counts[i] if found[i] else None
    return out.reshape(index.shape)


def _obj(value):
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _hist_sum(*parts):
    counts = np.sum([p[0] for p in parts], axis=0)
    found = np.any([p[1] for p in parts], axis=0)
    return counts, found


def _hist_block(lab, img, mode, index, edges):
    counts = _hist_pieces(lab, img, mode, index, edges)
    lab = np.asarray(lab)
    if mode == "many":
        found = np.isin(index.ravel(), lab)
    elif mode == "one":
        found = np.array([index is not None and bool(np.any(lab == index))])
    elif mode == "positive":
        found = np.array([bool(np.any(lab > 0))])
    else:
        found = np.array([True])
    return counts, found


def histogram(
    input: Any,
    min: Any,
    max: Any,
    bins: Any,
    labels: Any = None,
    index: Any = None,  # noqa: A002
) -> da.Array:
    img, lab, mode, idx, _ = setup(input, labels, index)
    try:
        edges = np.linspace(min, max, bins + 1)
    except TypeError:
        raise InvalidParameterError(f"bins must be a positive integer; got {bins!r}.") from None
    total = _per_block("histogram", _hist_block, lab, img, mode, idx, edges, combine=_hist_sum)
    value = dask.delayed(_hist_finish, pure=True)(total, mode, idx)
    if mode != "many":
        x = da.from_delayed(value, shape=(), dtype=object, meta=np.empty((), object))
        return structured(x, "raw")
    return da.from_delayed(
        value, shape=idx.shape, dtype=object, meta=np.empty((0,) * idx.ndim, object)
    )


def _comprehension(
    data, index_sorted, index_order, shape, func, out_dtype, default, pass_positions
):
    positions, labels, values = data
    label_order = labels.argsort()
    labels = labels[label_order]
    values = values[label_order]
    if pass_positions:
        positions = positions[label_order]
    lo = np.searchsorted(labels, index_sorted, side="left")
    hi = np.searchsorted(labels, index_sorted, side="right")
    temp = np.empty(index_sorted.shape, out_dtype)
    temp[:] = default
    for i, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        if a == b:
            continue
        args = (values[a:b], positions[a:b]) if pass_positions else (values[a:b],)
        temp[i] = func(*args)
    output = np.zeros(index_sorted.shape, out_dtype)
    output[index_order] = temp
    return output.reshape(shape)


def _single_comprehension(data, func, pass_positions, out_dtype):
    positions, _, values = data
    value = func(values, positions) if pass_positions else func(values)
    out = np.empty((), out_dtype)
    try:
        out[()] = value
    except (TypeError, ValueError):  # a value out_dtype cannot hold: scipy returns it as is
        out = _obj(value)
    return out


def _single(data, func, pass_positions, out_dtype) -> da.Array:
    """``func`` of one group's values, as a 0-d array of ``out_dtype`` (computes to a scalar)."""
    out_dtype = np.dtype(out_dtype)
    value = dask.delayed(_single_comprehension, pure=True)(data, func, pass_positions, out_dtype)
    x = da.from_delayed(value, shape=(), dtype=out_dtype, meta=np.empty((), out_dtype))
    return structured(x, "scalar")


def labeled_comprehension(
    input: Any,
    labels: Any,
    index: Any,
    func: Any,
    out_dtype: Any,
    default: Any,
    pass_positions: bool = False,
) -> da.Array:
    """Equals ``scipy.ndimage.labeled_comprehension(...)`` on the whole arrays, exactly.

    ``func`` of each region's values (and, with ``pass_positions``, their raster
    indices in the whole array), ``default`` for an absent label, as ``out_dtype``.
    Exactness: the pixels whose label lies between the smallest and largest of
    ``index`` are gathered from the blocks and put back in raster order, and scipy's
    own steps run on them (the same sort), so ``func`` sees each region's values in
    the same order as under scipy, and the result is scipy's for any chunking.
    Memory is that of the gathered pixels.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The values.
    labels : array_like or dask.array.Array or None
        The regions; None applies ``func`` to the whole array (then ``index`` must
        be None).
    index : label, sequence of labels, or None
        The labels; None applies ``func`` to all pixels with a label > 0.
    func : callable
        ``func(values)`` or ``func(values, positions)``.
    out_dtype : dtype
        The result's dtype.
    default : scalar
        The value for a label absent from ``labels``.
    pass_positions : bool
        Pass the raster indices too.

    Returns
    -------
    dask.array.Array
        ``out_dtype`` of the index's shape; for a scalar (or None) index a 0-d array
        that computes to a numpy scalar.

    Raises
    ------
    InputError
        If ``index`` is given without ``labels``, or ``labels`` does not broadcast.
    InvalidParameterError
        If ``func`` is not callable, or ``index`` cannot be cast to the labels' dtype
        without loss.

    See Also
    --------
    scipy.ndimage.labeled_comprehension : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([1.0, 2.0, 4.0]); lab = np.array([1, 1, 2])
    >>> labeled_comprehension(a, lab, [1, 2, 3], np.mean, float, -1).compute()
    array([ 1.5,  4. , -1. ])
    """
    if not callable(func):
        raise InvalidParameterError(f"func must be callable; got {func!r}.")
    if labels is None:
        if index is not None:
            raise InputError("index without defined labels: labels must be given with index.")
        img, lab, _, _, _ = setup(input, None, None)
        return _single(gather(img, lab, "all", None), func, pass_positions, out_dtype)
    img, lab, mode, idx, _ = setup(input, labels, None)
    if index is None:
        return _single(gather(img, lab, "positive", None), func, pass_positions, out_dtype)
    as_scalar = np.isscalar(index)
    index = np.atleast_1d(index)
    if index.dtype == object or index.dtype.kind not in "biuf":
        raise InvalidParameterError(f"index must be None, a label or labels; got {index!r}.")
    if np.any(index.astype(lab.dtype).astype(index.dtype) != index):
        raise InvalidParameterError(
            f"Cannot convert index values from <{index.dtype}> to <{lab.dtype}> (labels' type) "
            "without loss of precision"
        )
    index = index.astype(lab.dtype)
    out_dtype = np.dtype(out_dtype)
    lo, hi = index.min(), index.max()
    data = gather(img, lab, "range", (lo, hi))
    index_order = index.ravel().argsort()
    value = dask.delayed(_comprehension, pure=True)(
        data,
        index.ravel()[index_order],
        index_order,
        index.shape,
        func,
        out_dtype,
        default,
        bool(pass_positions),
    )
    x = da.from_delayed(
        value, shape=index.shape, dtype=out_dtype, meta=np.empty((0,) * index.ndim, out_dtype)
    )
    if as_scalar:
        return structured(x[0], "scalar")
    return x


def value_indices(arr: Any, *, ignore_value: Any = None) -> dict:
    """The indices of each distinct value of ``arr``; a sink that computes.

    Equals ``scipy.ndimage.value_indices(arr, ignore_value=ignore_value)`` exactly: a
    dict from each distinct value (a numpy scalar of ``arr``'s dtype, in increasing
    order) to the tuple of index arrays where ``arr`` holds it, in raster order
    (``numpy.nonzero(arr == value)``). Every block gives its pixels' raster indices;
    they are joined in raster order, so the result holds the whole array's indices
    (memory of the array's size, as scipy's output).

    Parameters
    ----------
    arr : array_like or dask.array.Array of int
        The values.
    ignore_value : int, optional
        A value left out.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        If ``arr`` is not an integer array (scipy raises ``ValueError``).

    See Also
    --------
    scipy.ndimage.value_indices : The oracle.

    Examples
    --------
    >>> import numpy as np
    >>> value_indices(np.array([[1, 0], [1, 2]]), ignore_value=0)
    {np.int64(1): (array([0, 1]), array([0, 0])), np.int64(2): (array([1]), array([1]))}
    """
    x = as_dask(arr, "arr")
    if x.dtype.kind not in "iu":
        raise InputError(f"Parameter 'arr' must be an integer array; got dtype {x.dtype}.")
    data = gather(None, x, "all", None, with_values=False)
    (positions, values) = dask.compute(data)[0]
    if ignore_value is not None:
        keep = values != np.asarray(ignore_value).astype(x.dtype)
        positions, values = positions[keep], values[keep]
    order = np.argsort(values, kind="stable")
    values, positions = values[order], positions[order]
    keys, starts = np.unique(values, return_index=True)
    bounds = np.append(starts, len(values))
    out = {}
    for k, a, b in zip(keys, bounds[:-1], bounds[1:], strict=True):
        idx = np.unravel_index(positions[a:b], x.shape)
        out[x.dtype.type(k)] = tuple(np.asarray(i, np.intp) for i in idx)
    return out


__all__ = ["histogram", "labeled_comprehension", "median", "normalize_index", "value_indices"]
