"""How a run splits its input: images per task (collections), block shape (volumes).

Budgets come from what dask sees of the machine: ``dask.system.CPU_COUNT`` (CPU
affinity and cgroup quotas, as a Slurm job sets them) and distributed's
``memory_limit`` (cgroup and rlimit limits), so a job never plans for more than it
was given.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from .plan import Plan, block_bytes_per_voxel, volume_halo

#: Bytes per collection task that the default image grouping aims at, counting 8 bytes
#: per pixel (8 images of 512x512 a task: fewer, larger Zarr chunks and manifest records).
COLLECTION_TASK_BYTES = 16 * 2**20
#: The most bytes the volume blocks in flight may take together.
VOLUME_BLOCKS_BYTES = 512 * 2**20
#: Overlapped voxels beyond which a block is larger than its halo needs, when a smaller
#: block has the same halo overhead (a chain without halo: 4 Mi voxels, not 8).
BIG_BLOCK = 1 << 22


@functools.cache
def cores() -> int:
    """The CPUs this process may use (affinity and cgroup quota included)."""
    from dask.system import CPU_COUNT

    return max(int(CPU_COUNT), 1)


@functools.cache
def memory_limit() -> int:
    """The memory this process may use: the least of RAM, cgroup and rlimit limits."""
    try:
        from distributed.system import memory_limit as limit

        return int(limit())
    except Exception:  # distributed missing or the platform unsupported
        return 4 * 2**30


def memory_budget() -> int:
    """Bytes the blocks in flight may take: a quarter of what is free, at most 512 MiB."""
    try:
        import psutil

        available = min(psutil.virtual_memory().available, memory_limit())
    except Exception:  # psutil missing
        available = memory_limit()
    return int(min(max(available // 4, 64 * 2**20), VOLUME_BLOCKS_BYTES))


def parse_chunks(chunks: Any) -> int | tuple[int, ...] | None:
    """Normalise the chunks option: None/'auto', an int, ``'32,128,128'`` or a tuple.

    Raises
    ------
    InvalidParameterError
        For anything else, or a size below 1.

    Examples
    --------
    >>> parse_chunks("32,128,128"), parse_chunks(8), parse_chunks("auto")
    ((32, 128, 128), 8, None)
    """
    if chunks is None or chunks == "auto":
        return None
    if isinstance(chunks, str):
        try:
            parts = tuple(int(c) for c in chunks.split(","))
        except ValueError:
            raise InvalidParameterError(
                "chunks must be an integer or comma-separated integers like '32,128,128'; "
                f"got {chunks!r}."
            ) from None
        chunks = parts[0] if len(parts) == 1 else parts
    if isinstance(chunks, list):
        chunks = tuple(chunks)
    if isinstance(chunks, bool) or not isinstance(chunks, int | tuple):
        raise InvalidParameterError(f"chunks must be an integer or a tuple; got {chunks!r}.")
    values = (chunks,) if isinstance(chunks, int) else chunks
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise InvalidParameterError(
            f"chunks must be whole numbers >= 1; got {chunks!r}. Hint: --chunks 32,256,256."
        )
    return chunks


def images_per_task(n_images: int, image_nbytes: int, chunks: Any) -> int:
    """Images per collection task: ``chunks`` when given, else about 16 MiB (8 B/pixel)."""
    if chunks is not None:
        if not isinstance(chunks, int):
            raise InvalidParameterError(
                f"chunks must be a number of images per task for an image collection; got "
                f"{chunks!r}."
            )
        return max(1, min(chunks, n_images))
    per = max(1, COLLECTION_TASK_BYTES // max(image_nbytes * 8, 1))
    # at least four tasks (when there are images enough), so the last round keeps
    # every core busy
    return int(max(1, min(per, -(-n_images // 4))))


def volume_block(plan: Plan, chunks: Any) -> tuple[int, ...]:
    """The block shape of a volume's spatial axes: ``chunks`` when given, else chosen.

    The automatic shape has the least halo overhead that fits the memory budget (see
    :func:`auto_block`); every stage's halo counts.
    """
    shape = tuple(plan.image.spatial_shape)
    if chunks is None:
        return auto_block(shape, volume_halo(plan), block_bytes_per_voxel(plan))
    values = (chunks,) * len(shape) if isinstance(chunks, int) else tuple(chunks)
    if len(values) != len(shape):
        raise InvalidParameterError(
            f"chunks must have one size per spatial axis of the volume {shape}; got {chunks!r}."
        )
    return tuple(min(c, n) for c, n in zip(values, shape, strict=True))


def auto_block(
    shape: Sequence[int], halo: Sequence[int], bytes_per_voxel: float, budget: int | None = None
) -> tuple[int, ...]:
    """The block shape with the least halo overhead that fits the memory budget.

    Every block in flight (one per core) holds its overlapped input and the chain's
    intermediates, ``bytes_per_voxel`` bytes per overlapped voxel; the block shape
    minimises the overlapped voxels per core voxel (an axis that is one block needs no
    halo) among power-of-two sizes (or whole axes) whose overlapped block fits
    ``budget / cores``, keeping at least two blocks per core when the volume has
    that many; among equal overheads it takes a block of at most :data:`BIG_BLOCK`
    voxels when there is one, then the fewest blocks.

    Examples
    --------
    >>> block = auto_block((64, 1024, 1024), (6, 6, 6), 24.0, budget=512 * 2**20)
    >>> len(block), all(b <= n for b, n in zip(block, (64, 1024, 1024)))
    (3, True)
    """
    ndim = len(shape)
    budget = memory_budget() if budget is None else budget
    n_cores = cores()
    per_block = budget / n_cores / bytes_per_voxel
    total = math.prod(shape)
    min_blocks = min(2 * n_cores, max(1, total // 2**18))
    options = []
    for n in shape:
        sizes = {n}
        c = 16
        while c < n:
            sizes.add(c)
            c *= 2
        options.append(sorted(sizes))
    best, best_key = None, None
    for cand in itertools.product(*options):
        nblocks = math.prod(-(-n // c) for n, c in zip(shape, cand, strict=True))
        ext = [c + 2 * h if c < n else c for n, c, h in zip(shape, cand, halo, strict=True)]
        if math.prod(ext) > per_block and math.prod(cand) > 16**ndim:
            continue
        # overhead of the halo; among equal overheads blocks of at most BIG_BLOCK voxels
        # (a larger one saves no halo and only holds more), then fewer tasks, then long
        # contiguous rows
        over = math.prod(ext) / math.prod(cand)
        big = math.prod(ext) > BIG_BLOCK
        key = (nblocks < min_blocks, round(over, 2), big, nblocks, tuple(-c for c in cand[::-1]))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return tuple(best) if best is not None else tuple(min(16, n) for n in shape)


def block_grid(shape: Sequence[int], block: Sequence[int]):
    """Every block of ``shape``: ``(index, tuple of slices)`` in raster order."""
    ranges = [range(0, n, b) for n, b in zip(shape, block, strict=True)]
    for idx, starts in zip(
        itertools.product(*(range(len(r)) for r in ranges)),
        itertools.product(*ranges),
        strict=True,
    ):
        yield (
            idx,
            tuple(slice(s, min(s + b, n)) for s, b, n in zip(starts, block, shape, strict=True)),
        )


def dtype_nbytes(shape: Sequence[int], dtype: Any) -> int:
    """Bytes of an array of ``shape`` and ``dtype``."""
    return math.prod(shape) * np.dtype(dtype).itemsize


__all__ = [
    "auto_block",
    "block_grid",
    "cores",
    "images_per_task",
    "memory_budget",
    "memory_limit",
    "parse_chunks",
    "volume_block",
]
