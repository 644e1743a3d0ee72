"""Small task graphs over the blocks of dask arrays, built directly (no ``dask.delayed`` calls).

Each measurement has one task per block and a tree of merges. Building them with
``dask.delayed`` on the arrays' ``to_delayed()`` blocks merges (and culls) the whole
array graph once per call, which costs O(blocks**2); here the tasks name the
arrays' block keys and one :class:`~dask.highlevelgraph.HighLevelGraph` holds them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from .._lazy import da
from .._overlap import block_offsets


def block_key(a: da.Array | None, idx: tuple[int, ...]) -> Any:
    """The key of block ``idx`` of ``a`` (extra trailing axes: their first block); None for None."""
    if a is None:
        return None
    return (a.name, *idx, *(0,) * (a.ndim - len(idx)))


def block_tasks(
    dsk: dict,
    name: str,
    func: Callable,
    arrays: Sequence[da.Array | None],
    chunks: tuple,
    extra: Callable[[tuple, tuple], dict] = lambda idx, off: {},
    tail: Sequence[Any] = (),
) -> dict[tuple[int, ...], Any]:
    """Add one task per block: ``func(*blocks, *tail, **extra(idx, offset))``; idx -> key."""
    keys = {}
    for idx, off in block_offsets(chunks):
        kw = extra(idx, off)
        f = functools.partial(func, **kw) if kw else func
        key = (name, *idx)
        dsk[key] = (f, *(block_key(a, idx) for a in arrays), *tail)
        keys[idx] = key
    return keys


def tree(dsk: dict, name: str, keys: Sequence[Any], func: Callable, split_every: int = 8) -> Any:
    """Add a tree of ``func(*children)`` over ``keys``; return the root's key."""
    return levels(dsk, name, keys, func, split_every, 1)[0]


def levels(
    dsk: dict, name: str, keys: Sequence[Any], func: Callable, split_every: int, until: int
) -> list:
    """Add levels of ``func(*children)`` over ``keys`` until at most ``until`` keys are left."""
    keys = list(keys)
    level = 0
    while len(keys) > until:
        new = []
        for i in range(0, len(keys), split_every):
            key = (f"{name}-level{level}", i)
            dsk[key] = (func, *keys[i : i + split_every])
            new.append(key)
        keys = new
        level += 1
    return keys


def delayed(dsk: dict, name: str, root: Any, dependencies: Sequence[Any]) -> Delayed:
    """A Delayed computing ``root`` of ``dsk``, over the collections it reads."""
    deps = [d for d in dependencies if d is not None]
    return Delayed(root, HighLevelGraph.from_collections(name, dsk, dependencies=deps), layer=name)


def name_of(prefix: str, *args: Any) -> str:
    """A deterministic graph name."""
    return f"{prefix}-{tokenize(*args)}"
