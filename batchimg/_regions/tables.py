"""Statistics tables: one row per ``(image, label)``, merged across blocks.

A table is a dict of numpy arrays with the same first axis, sorted by ``(image,
label)``. Every field merges by one rule (:data:`FIELD_OPS`): counts and integer
sums add, bounds take the minimum or maximum, centred sums re-centre,
moments move to a common origin first (:mod:`.moments`), and the
positions of extrema keep the first occurrence of the extreme value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fore import take_lut
from .moments import shift

#: How each field merges.
FIELD_OPS = {
    "count": "add",
    "csum": "add",
    "bmin": "min",
    "bmax": "max",
    "first": "min",
    "isum": "add",
    "isq": "add",
    "isum_f": "add",
    "centre": "shifted",
    "l1": "shifted",
    "q2": "shifted",
    "wcs": "add",
    "imin": "min",
    "imax": "max",
    "nnan": "add",
    "perim": "add",
    "euler": "add",
    "origin": "moments",
    "mom": "moments",
    "wmom": "moments",
    "pmin_v": "argmin",
    "pmin_i": "argmin",
    "pmax_v": "argmax",
    "pmax_i": "argmax",
    "pmaxl_v": "argmax",
    "pmaxl_i": "argmax",
}


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack the rows of tables with the same fields."""
    out = {}
    for k in parts[0]:
        out[k] = np.concatenate([p[k] for p in parts])
    return out


def merge(*tables: dict[str, np.ndarray], drop: frozenset = frozenset()) -> dict[str, np.ndarray]:
    """Merge tables row-wise by ``(image, label)`` (as :func:`group` of their rows).

    The rows are gathered from the tables straight into the merged table (no
    concatenated copy first): on this project's 2-core machine fresh memory costs
    more than the copying itself, and the merged tables of many regions are large.
    The fields named in ``drop`` are left out (not merged).
    """
    if drop:
        tables = tuple({k: v for k, v in t.items() if k not in drop} for t in tables)
    rows = [t for t in tables if len(t["label"])]
    if not rows:
        return tables[0]
    if len(rows) == 1:
        return rows[0]
    return _gather(rows)


def _gather(rows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The rows of ``rows`` (non-empty tables) sorted by ``(image, label)``, shared ones merged.

    Only the groups of several rows are reduced (most regions lie in one block): the
    others are copied from their table straight to their place.
    """
    sizes = np.array([len(t["label"]) for t in rows])
    ends = np.cumsum(sizes)
    image = np.concatenate([t["image"] for t in rows])
    label = np.concatenate([t["label"] for t in rows])
    order = np.lexsort((label, image))
    n = len(order)
    img, lab = image[order], label[order]
    change = np.ones(n, bool)
    change[1:] = (img[1:] != img[:-1]) | (lab[1:] != lab[:-1])
    starts = np.flatnonzero(change)
    ng = len(starts)
    gsize = np.diff(np.append(starts, n))
    gid = np.cumsum(change) - 1
    multi = gsize[gid] > 1  # per sorted row: its group has several rows
    part = np.searchsorted(ends, order, side="right")  # the table of every sorted row
    local = order - (ends - sizes)[part]
    one_groups = gid[~multi]
    one_part, one_local = part[~multi], local[~multi]
    picks = [(one_groups[one_part == i], one_local[one_part == i]) for i in range(len(rows))]
    merged = None
    if multi.any():
        m_part, m_local = part[multi], local[multi]
        many = {}
        for k in rows[0]:
            many[k] = np.concatenate([rows[i][k][m_local[m_part == i]] for i in range(len(rows))])
        # rows of one group must be adjacent: order the gathered rows as sorted
        back = np.argsort(np.concatenate([np.flatnonzero(m_part == i) for i in range(len(rows))]))
        merged = _reduce({k: v[back] for k, v in many.items()})
    many_groups = np.flatnonzero(gsize > 1)
    out = {}
    for k, v0 in rows[0].items():
        dtype = merged[k].dtype if merged is not None and k in merged else v0.dtype
        col = np.empty((ng,) + v0.shape[1:], dtype)
        for t, (dest, src) in zip(rows, picks, strict=True):
            col[dest] = t[k][src]
        if merged is not None:
            col[many_groups] = merged[k]
        out[k] = col
    return out


def _fmin_first(
    v: np.ndarray, i: np.ndarray, gid: np.ndarray, largest: bool, last: bool = False
) -> np.ndarray:
    """Per group, the row with the smallest (largest) non-NaN ``v``, first (last) ``i`` on ties."""
    nan = np.isnan(v) if v.dtype.kind == "f" else np.zeros(len(v), bool)
    key = v
    if largest:
        key = -v if v.dtype.kind == "f" else ~v  # ~ reverses the order of any integer
    order = np.lexsort((-i if last else i, key, nan, gid))
    first = np.ones(len(order), bool)
    first[1:] = gid[order][1:] != gid[order][:-1]
    return order[first]


def group(cat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Merge the rows of one table that share an ``(image, label)``; sort by them."""
    return _gather([cat]) if len(cat["label"]) else cat


def _reduce(cat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reduce the rows of a table sorted by ``(image, label)`` in which no row is alone."""
    img, lab = cat["image"], cat["label"]
    change = np.ones(len(lab), bool)
    change[1:] = (img[1:] != img[:-1]) | (lab[1:] != lab[:-1])
    starts = np.flatnonzero(change)
    gid = np.cumsum(change) - 1
    out = {"image": img[starts], "label": lab[starts]}
    for k, v in cat.items():
        op = FIELD_OPS.get(k)
        if op == "add":
            out[k] = np.add.reduceat(v, starts, axis=0)
        elif op == "min":
            out[k] = _nan_reduce(np.minimum, np.fmin, v, starts, cat, k)
        elif op == "max":
            out[k] = _nan_reduce(np.maximum, np.fmax, v, starts, cat, k)
    if "origin" in cat:
        _group_moments(cat, out, gid, starts)
    if "q2" in cat:
        _group_shifted(cat, out, gid, starts)
    for prefix, largest, last in (
        ("pmin", False, False),
        ("pmax", True, False),
        ("pmaxl", True, True),
    ):
        if f"{prefix}_v" in cat:
            rows = _fmin_first(cat[f"{prefix}_v"], cat[f"{prefix}_i"], gid, largest, last)
            out[f"{prefix}_v"] = cat[f"{prefix}_v"][rows]
            out[f"{prefix}_i"] = cat[f"{prefix}_i"][rows]
    return out


def _nan_reduce(ufunc, fufunc, v, starts, cat, key):
    """Minimum/maximum by group; ``imin``/``imax`` ignore NaN (``nnan`` counts those)."""
    if key in ("imin", "imax") and v.dtype.kind == "f":
        return fufunc.reduceat(v, starts, axis=0)
    return ufunc.reduceat(v, starts, axis=0)


def _group_shifted(cat, out, gid, starts) -> None:
    """Merge sums about per-part centres ``c_i`` at the group's first centre ``c``.

    With ``d = c_i - c`` (exact for nearby centres): ``L = sum(L_i + n_i d)`` and
    ``Q = sum(Q_i + 2 d L_i + n_i d**2)``: every term has the scale of the spread of
    the values, not of their mean, so no digits cancel.
    """
    n_i = cat["count"].astype(np.float64)[:, None]
    centre = cat["centre"][starts]
    d = cat["centre"] - centre[gid]
    out["centre"] = centre
    out["l1"] = np.add.reduceat(cat["l1"] + n_i * d, starts, axis=0)
    out["q2"] = np.add.reduceat(cat["q2"] + (2 * cat["l1"] + n_i * d) * d, starts, axis=0)


def _group_moments(cat, out, gid, starts) -> None:
    count = cat["count"].astype(np.float64)
    total = np.add.reduceat(count, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.add.reduceat(cat["origin"] * count[:, None], starts, axis=0) / total[:, None]
    origin = np.floor(np.nan_to_num(mean) + 0.5).astype(np.int64)
    t = (cat["origin"] - origin[gid]).astype(np.float64)
    out["origin"] = origin
    if "mom" in cat:
        out["mom"] = np.add.reduceat(shift(cat["mom"], t), starts, axis=0)
    if "wmom" in cat:
        out["wmom"] = np.add.reduceat(shift(cat["wmom"], t), starts, axis=0)


def apply_mapping(block: np.ndarray, mapping: Any, dtype: Any) -> np.ndarray:
    """Map one block of labels through a lookup array or sorted ``(keys, values)``."""
    if isinstance(mapping, tuple):
        keys, values = mapping
        if len(keys) == 0:
            return np.zeros(block.shape, dtype)
        pos = np.clip(np.searchsorted(keys, block), 0, len(keys) - 1)
        hit = keys[pos] == block
        return np.where(hit, values[pos], 0).astype(dtype, copy=False)
    # the lookup array is cast, not the block's result (same values, one small copy)
    return take_lut(np.asarray(mapping).astype(dtype, copy=False), block)


__all__ = ["FIELD_OPS", "apply_mapping", "concat", "group", "merge"]
