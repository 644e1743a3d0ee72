"""Overlap planning: the one place that turns local steps into chunked computations.

A *local step* is a function of a numpy block whose output pixel depends only on
input pixels within a fixed reach (its *depth*, per axis). scipy.ndimage run on a
block that carries ``depth`` extra pixels on every side that is not the array's
true edge gives, on the block's core, exactly what it gives on the whole array:

- ``reflect``, ``mirror``, ``nearest`` and ``constant`` exchange halos with
  ``boundary="none"``: a block at the array's edge is not padded, so scipy sees the
  true edge and applies the mode itself, exactly as on the whole array;
- ``wrap`` exchanges periodic halos, and scipy (still told ``wrap``) only disturbs
  the margin that is trimmed away.

Depth comes from the step's parameters (scipy's own radius rules). An axis that is
one chunk needs no halo; an axis whose chunks are thinner than the depth is
rechunked to at least the depth; an axis shorter than the depth becomes one chunk,
so a filter wider than a chunk or than the whole axis works as in scipy.

A *chain* of steps can run as one halo exchange per step, or fused into groups that
exchange the summed depth once and trim each step's reach as they go. Fusing saves
exchanges and tasks, but the first steps of a group compute on wider blocks;
:func:`plan_chain` picks the grouping with the least estimated work. Measured on the
3-D seed chain (``benchmarks/overlap_plans.md``: gaussian sigma 3, gradient magnitude
sigma 3, threshold, 3x3x3 opening, with 64^3, 128^3 and 256^3 chunks), one exchange per
step with depth is 4-12 % faster than one fused exchange at every size, and "auto"
chooses that grouping; larger chunks matter far more than the plan.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from ._lazy import da
from .errors import InvalidParameterError

#: scipy mode -> dask boundary for the halo exchange.
BOUNDARY = {
    "reflect": "none",
    "mirror": "none",
    "nearest": "none",
    "constant": "none",
    "wrap": "periodic",
}

#: Estimated cost of assembling one voxel of an overlapped block, in the unit of
#: ``Step.cost`` (one 3-tap 1-D filter pass over one voxel).
COPY_COST = 1.5
#: Estimated fixed cost of one task, in voxel-units.
TASK_COST = 20_000.0


@dataclass(frozen=True, eq=False)
class Step:
    """One local operation, ready to run on numpy blocks.

    Parameters
    ----------
    name : str
        The public operation name (used in graph key names).
    kernel : callable
        ``kernel(block, *extra_blocks) -> block`` on numpy arrays of the input's
        dimensionality; it must return an array of the same shape.
    depth : tuple of int
        The reach of one output pixel into the input, per axis.
    boundary : tuple of str
        ``"none"`` or ``"periodic"`` per axis (from the scipy mode, see BOUNDARY).
    dtype : numpy.dtype
        The output dtype (scipy's rule for the operation).
    token : str
        A deterministic token of the operation and its normalised parameters.
    cost : float
        Estimated work per voxel, in 3-tap 1-D filter passes (used by the planner).
    extra : tuple of dask arrays
        Further inputs of the input's shape (a mask), overlapped like the input.
        A step with extras runs alone, never fused.
    trims : bool
        The kernel also takes ``cut=((lo, hi), ...)``, the halo to drop from each
        side of each axis, and returns its output already cut: a kernel of several
        1-D passes drops each pass's spent halo before the next pass (less work,
        the same values). Called without ``cut`` it returns the whole block.
    """

    name: str
    kernel: Callable[..., np.ndarray]
    depth: tuple[int, ...]
    boundary: tuple[str, ...]
    dtype: np.dtype
    token: str
    cost: float = 1.0
    extra: tuple = field(default=())
    trims: bool = False


def make_step(
    name: str,
    kernel: Callable[..., np.ndarray],
    *,
    ndim: int,
    axes: tuple[int, ...],
    reach: Sequence[int],
    modes: Sequence[str],
    dtype: Any,
    params: Any,
    cost: float = 1.0,
    extra: tuple = (),
    trims: bool = False,
) -> Step:
    """Build a :class:`Step` for an operation over ``axes`` of an ``ndim`` array.

    ``kernel`` works on an array whose dimensions are exactly ``axes`` (in that
    order); the other axes are *batch* axes (the images of a stack): the step calls
    the kernel once per index along them, so pixels never mix across images.
    ``reach`` and ``modes`` are given per operated axis.
    """
    depth = [0] * ndim
    boundary = ["none"] * ndim
    for a, r, m in zip(axes, reach, modes, strict=True):
        depth[a] = int(r)
        boundary[a] = BOUNDARY[m]
    if tuple(axes) != tuple(range(ndim)):
        kernel = functools.partial(_over_axes, kernel=kernel, axes=tuple(axes), dtype=dtype)
        trims = False
    return Step(
        name=name,
        kernel=kernel,
        depth=tuple(depth),
        boundary=tuple(boundary),
        dtype=np.dtype(dtype),
        token=tokenize(name, ndim, axes, params),
        cost=float(cost),
        extra=tuple(extra),
        trims=trims,
    )


def _over_axes(block, *extra, kernel, axes, dtype):
    """Run ``kernel`` on every sub-array of ``block`` spanned by ``axes``."""
    k = len(axes)
    lead = [a for a in range(block.ndim) if a not in axes]
    order = lead + list(axes)
    moved = np.transpose(block, order)
    moved_extra = [np.transpose(e, order) for e in extra]
    out = np.empty(moved.shape, dtype=dtype)
    for idx in np.ndindex(*moved.shape[: moved.ndim - k]):
        out[idx] = kernel(moved[idx], *(e[idx] for e in moved_extra))
    return np.transpose(out, np.argsort(order))


def as_dask(image: Any, name: str = "image") -> da.Array:
    """Return ``image`` as a dask array (numpy arrays become a single chunk)."""
    if isinstance(image, da.Array):
        return image
    arr = np.asarray(image)
    if arr.dtype == object:
        raise InvalidParameterError(f"{name} must be a numeric array; got dtype object.")
    return da.from_array(arr, chunks=arr.shape or ())


def _meta(ndim: int, dtype: Any) -> np.ndarray:
    return np.empty((0,) * ndim, dtype=dtype)


def _axis_plan(x: da.Array, depth: Sequence[int]) -> tuple[da.Array, tuple[int, ...]]:
    """Rechunk ``x`` so each axis can exchange ``depth``; return it and the real depths."""
    new_chunks = []
    real = []
    for size, chunks, d in zip(x.shape, x.chunks, depth, strict=True):
        if d == 0 or len(chunks) == 1:
            new_chunks.append(chunks)
            real.append(0)
        elif d >= size:
            new_chunks.append((size,))
            real.append(0)
        else:
            c = da.overlap.ensure_minimum_chunksize(d, chunks)
            new_chunks.append(c)
            real.append(d if len(c) > 1 else 0)
    new_chunks = tuple(new_chunks)
    if new_chunks != x.chunks:
        x = x.rechunk(new_chunks)
    return x, tuple(real)


def _run_trimmed(step, block, extra, left, right):
    """Run ``step`` on a block whose halo still to spend is ``left``/``right`` per axis.

    The step's reach is trimmed from each side, at most what is left there (none
    where the block meets the array's edge); ``left`` and ``right`` are updated.
    Returns the trimmed output, the trimmed extra blocks and the cut applied.
    """
    sides = []
    for a, r in enumerate(step.depth):
        cl, cr = min(r, left[a]), min(r, right[a])
        left[a] -= cl
        right[a] -= cr
        sides.append((cl, cr))
    cut = tuple(slice(cl, n - cr) for (cl, cr), n in zip(sides, block.shape, strict=True))
    if step.trims:
        out = step.kernel(block, *extra, cut=tuple(sides))
    else:
        out = step.kernel(block, *extra)[cut]
    return out, tuple(e[cut] for e in extra), cut


def _run_group(block, *extra, steps, depth, boundary, nblocks, block_id=None):
    """Run a fused group of steps on one overlapped block, trimming as it goes."""
    left = []
    right = []
    for a, d in enumerate(depth):
        periodic = boundary[a] == "periodic"
        left.append(d if (periodic or block_id[a] > 0) else 0)
        right.append(d if (periodic or block_id[a] < nblocks[a] - 1) else 0)
    for step in steps:
        block, extra, _ = _run_trimmed(step, block, extra, left, right)
    rest = tuple(
        slice(lo, block.shape[a] - hi) for a, (lo, hi) in enumerate(zip(left, right, strict=True))
    )
    # np.ascontiguousarray would turn a 0-d block into shape (1,)
    return np.require(block[rest], requirements="C")


def region_depth(steps: Sequence[Step]) -> tuple[int, ...] | None:
    """The halo a chain needs to run on regions read with it, or None if it cannot.

    A chain runs on a region (see :func:`run_on_region`) when no step wraps around
    (``mode="wrap"``) and none takes extra arrays; the halo is the summed depth.
    """
    if not steps or any(s.extra or "periodic" in s.boundary for s in steps):
        return None
    return tuple(sum(s.depth[a] for s in steps) for a in range(len(steps[0].depth)))


def run_on_region(
    read: Any,
    core: Sequence[slice],
    shape: Sequence[int],
    steps: Sequence[Step],
    depth: Sequence[int],
    want: dict[int, str],
) -> dict[str, np.ndarray]:
    """Run a chain on one block, reading the block and its halo from ``read``.

    ``read[region]`` returns the input's pixels in ``region``. The region is
    ``core`` grown by ``depth`` and clipped to the array, so where it meets the
    array's edge the steps apply their own mode there (as scipy does on the whole
    array), and elsewhere each step's reach is trimmed as it runs (as in a fused
    halo exchange). Returns the ``core`` part of the outputs of the steps numbered in
    ``want`` (``-1``: the input itself), by name: equal to those steps run on the
    whole array, cut to ``core``. Tasks built on this share nothing, so memory is
    one region per running task whatever the array's size.
    """
    lo = [max(c.start - d, 0) for c, d in zip(core, depth, strict=True)]
    hi = [min(c.stop + d, n) for c, d, n in zip(core, depth, shape, strict=True)]
    block = np.asarray(read[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))])
    # halo that steps may invalidate (none where the region meets the array's edge)
    left = [d if a > 0 else 0 for a, d in zip(lo, depth, strict=True)]
    right = [d if b < n else 0 for b, d, n in zip(hi, depth, shape, strict=True)]
    origin = list(lo)

    def cut_core(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(
            a[tuple(slice(c.start - o, c.stop - o) for c, o in zip(core, origin, strict=True))]
        )

    out = {want[-1]: cut_core(block)} if -1 in want else {}
    for i, step in enumerate(steps):
        block, _, cut = _run_trimmed(step, block, (), left, right)
        origin = [o + c.start for o, c in zip(origin, cut, strict=True)]
        if i in want:
            out[want[i]] = cut_core(block)
    return out


def block_offsets(chunks: Sequence[Sequence[int]]) -> Iterable[tuple[tuple[int, ...], tuple]]:
    """Yield ``(block index, start offset)`` for every block of a chunked array."""
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int).tolist() for c in chunks]
    for idx in itertools.product(*(range(len(c)) for c in chunks)):
        yield idx, tuple(s[i] for s, i in zip(starts, idx, strict=True))


def region_arrays(
    read: Any,
    x: da.Array,
    steps: Sequence[Any],
    want: dict[int, str],
) -> dict[str, da.Array] | None:
    """The outputs ``want`` of a chain of local steps over ``x``, one task per block.

    Each block's task reads its block and the chain's halo straight from ``read``
    (the input's own storage: a raw file, a Zarr array) and runs the whole chain
    (:func:`run_on_region`); the outputs are views of that one
    task. No block's data is held for its neighbours, so pass 1 holds one region
    per running task whatever the volume's size (halo exchanges between tasks made
    dask keep a slab of neighbouring blocks alive, which grew with the volume).
    Returns None when the chain cannot run this way (``region_depth``).
    """
    depth = region_depth(steps) if steps else (0,) * x.ndim
    if depth is None:
        return None
    token = tokenize(x.name, [s.token for s in steps], sorted(want.items()), x.chunks)
    layer = f"chain-region-{token}"
    dsk: dict = {}
    for idx, start in block_offsets(x.chunks):
        core = tuple(slice(b, b + c[i]) for b, c, i in zip(start, x.chunks, idx, strict=True))
        dsk[(layer, *idx)] = (
            functools.partial(
                run_on_region,
                read,
                core,
                x.shape,
                tuple(steps),
                depth,
                want,
            ),
        )
    dtypes = {want[i]: (x.dtype if i < 0 else steps[i].dtype) for i in want}
    out = {}
    for name, dtype in dtypes.items():
        getter = f"{layer}-{name}"
        gdsk = {(getter, *k[1:]): (operator.getitem, k, name) for k in dsk}
        graph = HighLevelGraph({layer: dsk, getter: gdsk}, {layer: set(), getter: {layer}})
        out[name] = da.Array(graph, getter, x.chunks, dtype=dtype)
    return out


def _apply_group(x: da.Array, steps: Sequence[Step]) -> da.Array:
    ndim = x.ndim
    boundary = steps[0].boundary
    total = tuple(sum(s.depth[a] for s in steps) for a in range(ndim))
    extras = steps[0].extra if len(steps) == 1 else ()
    x, depth = _axis_plan(x, total)
    extras = tuple(e.rechunk(x.chunks) for e in extras)
    label = "-".join(s.name for s in steps)
    token = tokenize(x.name, [s.token for s in steps], depth, boundary, [e.name for e in extras])
    name = f"{label}-{token}"
    dtype = steps[-1].dtype
    kwargs = dict(
        steps=tuple(steps),
        depth=depth,
        boundary=boundary,
        nblocks=x.numblocks,
    )
    if not any(depth):
        return da.map_blocks(
            _run_group,
            x,
            *extras,
            name=name,
            dtype=dtype,
            meta=_meta(ndim, dtype),
            **kwargs,
        )
    depth_map = dict(enumerate(depth))
    bmap = {a: boundary[a] for a in range(ndim)}
    ov = [da.overlap.overlap(a, depth=depth_map, boundary=bmap) for a in (x, *extras)]
    return da.map_blocks(
        _run_group,
        *ov,
        name=name,
        chunks=x.chunks,
        dtype=dtype,
        meta=_meta(ndim, dtype),
        **kwargs,
    )


def apply(image: Any, step: Step) -> da.Array:
    """Run one step over ``image`` with one halo exchange; lazy dask array out."""
    return apply_chain(image, [step], plan="per-step")


def _group_cost(chunk: Sequence[int], steps: Sequence[Step], multi: Sequence[bool]) -> float:
    ndim = len(chunk)
    total = [sum(s.depth[a] for s in steps) if multi[a] else 0 for a in range(ndim)]
    pad = list(total)
    work = (
        COPY_COST * math.prod(c + 2 * p for c, p in zip(chunk, pad, strict=True))
        if any(total)
        else 0.0
    )
    for s in steps:
        work += s.cost * math.prod(c + 2 * p for c, p in zip(chunk, pad, strict=True))
        pad = [max(p - (s.depth[a] if multi[a] else 0), 0) for a, p in enumerate(pad)]
    return work + TASK_COST


def _fusable(a: Step, b: Step) -> bool:
    return a.boundary == b.boundary and not a.extra and not b.extra


def plan_chain(
    chunks: Sequence[Sequence[int]], steps: Sequence[Step], plan: str = "auto"
) -> list[list[Step]]:
    """Group consecutive steps into halo exchanges.

    Parameters
    ----------
    chunks : sequence of sequences of int
        The dask chunks of the input.
    steps : sequence of Step
        The chain, in order.
    plan : {"auto", "fused", "per-step"}
        ``"per-step"`` exchanges halos before every step with depth;
        ``"fused"`` fuses every run of compatible steps into one exchange;
        ``"auto"`` picks the grouping with the least estimated work on the
        typical chunk (dynamic programming over the chain's split points).

    Returns
    -------
    list of list of Step
        The groups, in order.
    """
    if plan not in ("auto", "fused", "per-step"):
        raise InvalidParameterError(
            f"plan must be one of 'auto', 'fused', 'per-step'; got {plan!r}."
        )
    steps = list(steps)
    if not steps:
        return []
    if plan == "per-step":
        # steps with no depth still ride along with their predecessor: no exchange to save
        groups: list[list[Step]] = []
        for s in steps:
            if groups and not any(s.depth) and _fusable(groups[-1][-1], s):
                groups[-1].append(s)
            else:
                groups.append([s])
        return groups
    if plan == "fused":
        groups = [[steps[0]]]
        for s in steps[1:]:
            if _fusable(groups[-1][-1], s):
                groups[-1].append(s)
            else:
                groups.append([s])
        return groups
    chunk = [max(c) for c in chunks]
    multi = [len(c) > 1 for c in chunks]
    n = len(steps)
    best = [0.0] + [math.inf] * n
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            group = steps[i:j]
            if i < j - 1 and not _fusable(steps[j - 2], steps[j - 1]):
                break
            cost = best[i] + _group_cost(chunk, group, multi)
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups = []
    j = n
    while j > 0:
        groups.append(steps[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def apply_chain(image: Any, steps: Sequence[Step], *, plan: str = "auto") -> da.Array:
    """Run a chain of local steps over ``image``, lazily, with the chosen plan.

    Every plan gives the same array, identical to running the steps one after the
    other with scipy on the whole in-memory array; plans differ only in speed.
    """
    x = as_dask(image)
    for group in plan_chain(x.chunks, steps, plan):
        x = _apply_group(x, group)
    return x


def map_images(
    func: Callable[..., np.ndarray],
    image: da.Array,
    *,
    image_axes: int,
    dtype: Any,
    name: str,
    token: Any,
) -> da.Array:
    """Apply ``func`` to blocks that hold whole images along the last ``image_axes`` axes.

    The image axes are rechunked to one chunk each, so ``func`` sees complete images
    (for per-image thresholds and other whole-image point operations).
    """
    x = as_dask(image)
    lead = x.ndim - image_axes
    x = x.rechunk(x.chunks[:lead] + tuple((s,) for s in x.shape[lead:]))
    return da.map_blocks(
        func,
        x,
        name=f"{name}-{tokenize(x.name, token)}",
        dtype=dtype,
        meta=_meta(x.ndim, dtype),
    )


@dataclass(frozen=True)
class Spec:
    """What a step builder may know of its input before any pixel is read."""

    ndim: int
    dtype: np.dtype
    #: The input's shape, when known (``None`` where a planner builds steps without it).
    shape: tuple[int, ...] | None = None


def local_operation(builder: Callable[..., Step]) -> Callable[..., da.Array]:
    """Turn a step builder ``builder(spec, *args, **kwargs) -> Step`` into a public operation.

    The public function takes ``image`` (numpy or dask) in place of ``spec`` and
    returns the lazy dask array of :func:`apply`; the builder stays reachable as
    ``operation.step`` so the workflow runner can plan chains of steps.
    """
    import inspect

    @functools.wraps(builder)
    def operation(image, *args, **kwargs):
        x = as_dask(image)
        return apply(x, builder(Spec(x.ndim, x.dtype, x.shape), *args, **kwargs))

    sig = inspect.signature(builder)
    params = list(sig.parameters.values())
    params[0] = params[0].replace(name="image", annotation="ArrayLike")
    operation.__signature__ = sig.replace(parameters=params, return_annotation="dask.array.Array")
    operation.step = builder
    return operation
