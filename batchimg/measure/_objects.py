"""The per-object road over chunks: every region's crop gathered from the blocks it touches.

After the one pass of partial sums has given every region's bounding box, one task
per block cuts out, for every region whose box meets the block, its piece (the box
within the block: the region's mask and the intensity there). A binary tree of
tasks over the block grid then joins pieces; a region whose pieces are all in hand
(as many as blocks its box meets) is measured at once and its pieces dropped, so a
region is measured at the smallest subtree that holds its box and memory follows
the regions, not the image. The graph is static (nothing is computed to build it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _regions as R
from .._lazy import da
from .._regions import graphs as G


def plan(table: dict, *, chunks: tuple, stack: bool, limit: int) -> dict:
    """The regions' boxes and how many blocks each box meets (checks the crop limit)."""
    labels, bmin, bmax = table["label"], table["bmin"], table["bmax"]
    image = table["image"]
    if stack:
        bmin = np.concatenate([image[:, None], bmin], axis=1)
        bmax = np.concatenate([image[:, None], bmax], axis=1)
    expected = np.ones(len(labels), np.int64)
    for a, c in enumerate(chunks):
        edges = np.cumsum((0, *c))
        lo = np.searchsorted(edges, bmin[:, a], side="right") - 1
        hi = np.searchsorted(edges, bmax[:, a], side="right") - 1
        expected *= hi - lo + 1
    for i in range(len(labels)):
        box_lo = bmin[i, 1:] if stack else bmin[i]
        box_hi = bmax[i, 1:] if stack else bmax[i]
        R.check_crop(labels[i], box_lo, box_hi, limit)
    return {
        "keys": list(zip(image.tolist(), labels.tolist(), strict=True)),
        "bmin": bmin,
        "bmax": bmax,
        "expected": expected,
    }


def pieces(lab, img, boxes, *, offset) -> dict:
    """The pieces of every region whose box meets this block: ``key -> [(lo, mask, img)]``."""
    lab = np.asarray(lab)
    offset = np.asarray(offset, np.int64)
    stop = offset + np.asarray(lab.shape, np.int64) - 1
    bmin, bmax = boxes["bmin"], boxes["bmax"]
    hit = np.flatnonzero(np.all((bmin <= stop) & (bmax >= offset), axis=1))
    out = {}
    for i in hit.tolist():
        lo = np.maximum(bmin[i], offset)
        hi = np.minimum(bmax[i], stop)
        sl = tuple(
            slice(int(a - o), int(b - o) + 1) for a, b, o in zip(lo, hi, offset, strict=True)
        )
        key = boxes["keys"][i]
        mask = lab[sl] == key[1]
        part = None if img is None else np.asarray(img)[sl]
        out[i] = [(lo, mask, part)]
    return {"pending": out, "done": {}}


def join(boxes, *children, finish) -> dict:
    """Join the pieces of subtrees; measure every region whose pieces are all here."""
    pending: dict = {}
    done: dict = {}
    for child in children:
        done.update(child["done"])
        for i, parts in child["pending"].items():
            pending.setdefault(i, []).extend(parts)
    expected = boxes["expected"]
    for i in [i for i, parts in pending.items() if len(parts) == expected[i]]:
        done[i] = finish(boxes, i, pending.pop(i))
    return {"pending": pending, "done": done}


class Finish:
    """Assemble one region's crop from its pieces and measure it (picklable)."""

    def __init__(self, props, spacing, extra, stack, idtype, channels):
        self.props = props
        self.spacing = spacing
        self.extra = extra
        self.stack = stack
        self.idtype = idtype
        self.channels = channels

    def __call__(self, boxes: dict, i: int, parts: list) -> dict:
        bmin, bmax = boxes["bmin"][i], boxes["bmax"][i]
        shape = tuple(int(b - a + 1) for a, b in zip(bmin, bmax, strict=True))
        mask = np.zeros(shape, bool)
        img = None
        if self.idtype is not None:
            tail = () if self.channels is None else (self.channels,)
            img = np.zeros(shape + tail, self.idtype)
        for lo, m, part in parts:
            sl = tuple(
                slice(int(a - b), int(a - b) + s) for a, b, s in zip(lo, bmin, m.shape, strict=True)
            )
            mask[sl] = m
            if img is not None:
                img[sl] = part
        start = bmin
        if self.stack:
            mask, start = mask[0], bmin[1:]
            img = None if img is None else img[0]
        return R.crop_values(mask, img, start, self.props, self.spacing, self.extra)


def objects_delayed(
    labels: da.Array,
    intensity: da.Array | None,
    table: Any,
    props: Sequence[str],
    spacing: tuple,
    extra: Sequence,
    *,
    stack: bool,
    limit: int,
    fan_in: int = 2,
) -> Any:
    """A delayed ``{row: {property: value}}`` of the per-object properties of every region."""
    channels = None if intensity is None or intensity.ndim == labels.ndim else intensity.shape[-1]
    finish = Finish(
        tuple(props),
        spacing,
        tuple(extra),
        stack,
        None if intensity is None else intensity.dtype,
        channels,
    )
    name = G.name_of(
        "pieces",
        labels.name,
        None if intensity is None else intensity.name,
        table.key,
        tuple(props),
        spacing,
        tuple(extra),
        stack,
        limit,
    )
    dsk: dict = {}
    boxes = (f"plan-{name}",)
    dsk[boxes] = (
        functools.partial(plan, chunks=labels.chunks, stack=stack, limit=limit),
        table.key,
    )
    keys = G.block_tasks(
        dsk,
        name,
        pieces,
        [labels, intensity],
        labels.chunks,
        extra=lambda idx, off: {"offset": off},
        tail=(boxes,),
    )
    merge = functools.partial(join, finish=finish)
    level = dict(keys)
    depth = 0
    while len(level) > 1:
        groups: dict = {}
        for idx, key in level.items():
            groups.setdefault(tuple(i // fan_in for i in idx), []).append(key)
        level = {}
        for k, children in groups.items():
            key = (f"join-{name}-{depth}", *k)
            dsk[key] = (merge, boxes, *children)
            level[k] = key
        depth += 1
    (top,) = level.values()
    root = (f"collect-{name}",)
    dsk[root] = (_collect, (merge, boxes, top))
    return G.delayed(dsk, name, root, [labels, intensity, table])


def _collect(root: dict) -> dict:
    if root["pending"]:  # pragma: no cover - every box meets a block, so never
        raise AssertionError("regions left unmeasured")
    return root["done"]
