"""``result.zarr``: an OME-Zarr 0.5 image of the input, with its labels, saved steps and table.

Layout (Zarr v3)::

    result.zarr/              the input, a multiscale image: arrays 0, 1, ... (levels)
      labels/                 OME labels group: {"labels": ["labels"]}
        labels/               the label image: multiscale image-label, same levels
      <step>/                 each saved step, a multiscale image of its own
      tables/regions/         the region table, an AnnData group (anndata.read_zarr)

Every array has ``dimension_names`` equal to its axes' names; the axes carry their
types and units and every level its scale (physical pixel sizes from the input,
times the level's downsampling). A collection's arrays have a leading ``image`` axis
(custom type; slot *i* is the *i*-th file of the listing). Levels beyond 0 are made
after the run block by block from the level above (labels by taking every other
pixel, so no label value is invented; grey images by the mean of each 2x2(x2)
window), with the same bounded memory as the run. The multiscales metadata is
written with ome-zarr-py.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .plan import INPUT, Output, Plan

#: The label image's name in ``labels/``.
LABELS = "labels"
#: Path of the label image's full-resolution array inside result.zarr.
LABELS_PATH = "labels/labels/0"
#: How many label colours the ``image-label`` metadata lists.
MAX_COLORS = 255
#: A level is added while the largest spatial axis of the last one is above this.
PYRAMID_ABOVE = 512
#: An axis shorter than this is not downsampled.
PYRAMID_MIN_AXIS = 64
_SPATIAL_UNITS = {
    "angstrom",
    "nanometer",
    "micrometer",
    "millimeter",
    "centimeter",
    "meter",
    "picometer",
    "femtometer",
    "kilometer",
    "inch",
    "foot",
}


def compressors() -> list:
    """The compressors of every array a run writes (result.zarr and its scratch caches).

    Blosc LZ4 with byte shuffle: measured twice as fast as zstd level 3 per image
    (labels and step images of 512x512), which matters when writes sit on the
    critical path of thousands of small tasks; label images still compress well.
    """
    from zarr.codecs import BloscCodec

    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]


#: Runtime settings of the arrays a run writes: every chunk is written as it comes
#: (zarr otherwise compares each chunk with the fill value first, to skip empty ones:
#: a third of the cost of writing a chunk of images and labels).
WRITE_CONFIG = {"write_empty_chunks": True}


def create_array(group, name: str, shape, chunks, dtype, dimension_names=None, attrs=None):
    """Create a compressed array ``name`` in ``group``, chunked as given."""
    arr = group.create_array(
        name,
        shape=tuple(int(s) for s in shape),
        chunks=tuple(max(1, int(c)) for c in chunks),
        dtype=np.dtype(dtype),
        compressors=compressors(),
        fill_value=0,
        config=WRITE_CONFIG,
        dimension_names=None if dimension_names is None else list(dimension_names),
    )
    if attrs:
        arr.attrs.update(attrs)
    return arr


def label_colors(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Distinct RGBA colours for labels ``1..min(n, MAX_COLORS)`` (seeded, shuffled hues)."""
    import colorsys

    k = min(int(n), MAX_COLORS)
    rng = np.random.default_rng(seed)
    hues = rng.permutation(max(k, 1))[:k] / max(k, 1)
    out = []
    for i in range(k):
        r, g, b = colorsys.hsv_to_rgb(float(hues[i]), 0.8, 0.95)
        out.append({"label-value": i + 1, "rgba": [int(255 * r), int(255 * g), int(255 * b), 255]})
    return out


@dataclass(frozen=True)
class Layer:
    """One multiscale image of result.zarr: the input, the labels or a saved step."""

    name: str
    group: str  # path of its group in result.zarr ("" for the root)
    output: str  # the plan output it holds
    axes: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    is_labels: bool
    levels: tuple[tuple[int, ...], ...] = field(default=())  # per level: factor per axis

    @property
    def path0(self) -> str:
        """Path of the full-resolution array."""
        return f"{self.group}/0" if self.group else "0"


def _axes_of(plan: Plan, out: Output) -> tuple[str, ...]:
    lead = ("image",) if plan.kind == "collection" else ()
    return lead + tuple(out.axes)


def _levels(layer_shape: Sequence[int], axes: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """Downsampling factors per axis for every level (level 0: all ones)."""
    factors = [1] * len(axes)
    levels = [tuple(factors)]
    spatial = [i for i, a in enumerate(axes) if a in "zyx"]
    while True:
        sizes = [math.ceil(layer_shape[i] / factors[i]) for i in spatial]
        if not sizes or max(sizes) <= PYRAMID_ABOVE:
            break
        for i, s in zip(spatial, sizes, strict=True):
            if s >= PYRAMID_MIN_AXIS:
                factors[i] *= 2
        levels.append(tuple(factors))
    return tuple(levels)


class ResultZarr:
    """The result.zarr a run writes (see the module docstring).

    Parameters
    ----------
    path : str
        Where result.zarr goes (inside the run's staging folder).
    plan : Plan
        The compiled plan.
    n_images : int or None
        The number of files of a collection.
    chunks : tuple of int
        The chunk shape of one image's spatial axes (volumes: the block shape);
        for collections the images per chunk along the image axis.
    attrs : dict
        What to record under ``attributes["batchimg"]``.
    """

    def __init__(
        self,
        path: str,
        plan: Plan,
        n_images: int | None,
        chunks: Sequence[int],
        images_per_chunk: int = 1,
        attrs: dict | None = None,
    ) -> None:
        self.path = path
        self.plan = plan
        self.layers: dict[str, Layer] = {}
        lead = (n_images,) if plan.kind == "collection" else ()
        lead_chunks = (images_per_chunk,) if plan.kind == "collection" else ()
        wanted = [(INPUT, "", INPUT, False)]
        if plan.labels is not None:
            wanted.append((LABELS, f"labels/{LABELS}", plan.labels, True))
        for name in plan.saved:
            wanted.append((name, name, name, plan.outputs[name].kind == "labels"))
        for name, group, output, is_labels in wanted:
            out = plan.outputs[output]
            axes = _axes_of(plan, out)
            shape = lead + out.shape
            batch_chunks = tuple(1 for _ in out.batch)
            if plan.kind == "collection":
                batch_chunks = tuple(out.batch_shape)
                spatial = tuple(out.spatial_shape)
            else:
                spatial = tuple(chunks)
            ch = lead_chunks + batch_chunks + spatial
            self.layers[name] = Layer(
                name, group, output, axes, shape, ch, out.dtype, is_labels, _levels(shape, axes)
            )
        self.attrs = attrs or {}
        self._group = None

    # ------------------------------------------------------------------ creation

    def create(self) -> None:
        """Create the group, the full-resolution arrays and the metadata of every layer."""
        import zarr

        root = zarr.open_group(self.path, mode="w", zarr_format=3)
        root.attrs.update({"batchimg": self.attrs})
        for layer in self.layers.values():
            group = root.require_group(layer.group) if layer.group else root
            create_array(group, "0", layer.shape, layer.chunks, layer.dtype, layer.axes)
        self._group = root
        # the OME metadata is written when the levels are known (finish); its writer
        # takes a second to import, so that happens meanwhile
        prefetch_ome_writer()

    def open(self) -> None:
        """Open an existing result.zarr (to resume)."""
        import zarr

        self._group = zarr.open_group(self.path, mode="r+")

    def array(self, output: str):
        """The full-resolution zarr array that holds plan output ``output``."""
        for layer in self.layers.values():
            if layer.output == output:
                return self._group[layer.path0]
        raise KeyError(output)

    def array_path(self, output: str) -> str:
        """The filesystem path of the full-resolution array of ``output``."""
        for layer in self.layers.values():
            if layer.output == output:
                return os.path.join(self.path, *layer.path0.split("/"))
        raise KeyError(output)

    def holds(self, output: str) -> bool:
        """Whether result.zarr stores plan output ``output``."""
        return any(layer.output == output for layer in self.layers.values())

    def layer_of(self, output: str) -> Layer:
        """The layer that stores ``output``."""
        for layer in self.layers.values():
            if layer.output == output:
                return layer
        raise KeyError(output)

    @property
    def group(self):
        """result.zarr's root group (open)."""
        return self._group

    @property
    def arrays(self) -> dict[str, tuple[int, ...]]:
        """Full-resolution array paths -> shapes."""
        return {layer.path0: layer.shape for layer in self.layers.values()}

    # ------------------------------------------------------------------ metadata

    def _axes_meta(self, layer: Layer) -> list[dict[str, str]]:
        image = self.plan.image
        unit = image.unit if image.unit in _SPATIAL_UNITS else None
        out = []
        for a in layer.axes:
            if a in "zyx":
                d = {"name": a, "type": "space"}
                if unit:
                    d["unit"] = unit
            elif a == "t":
                d = {"name": "t", "type": "time"}
            elif a == "c":
                d = {"name": "c", "type": "channel"}
            else:
                d = {"name": a}
            out.append(d)
        return out

    def _scale(self, layer: Layer, factors: Sequence[int]) -> list[float]:
        image = self.plan.image
        spatial = dict(zip(image.spatial_axes, image.scale, strict=True))
        return [
            float(spatial.get(a, 1.0)) * f if a in "zyx" else 1.0
            for a, f in zip(layer.axes, factors, strict=True)
        ]

    def _write_metadata(self, layer: Layer, n_levels: int, n_labels: int | None = None) -> None:
        write_label_metadata, write_multiscales_metadata, FormatV05 = _ome_writer()

        group = self._group[layer.group] if layer.group else self._group
        datasets = [
            {
                "path": str(k),
                "coordinateTransformations": [
                    {"type": "scale", "scale": self._scale(layer, layer.levels[k])}
                ],
            }
            for k in range(n_levels)
        ]
        write_multiscales_metadata(
            group, datasets, fmt=FormatV05(), axes=self._axes_meta(layer), name=layer.name
        )
        if n_labels is not None and layer.is_labels and layer.group.startswith("labels/"):
            # written once, at the end: ome-zarr-py appends the name to the labels list
            parent = self._group["labels"]
            write_label_metadata(
                parent,
                layer.name,
                colors=label_colors(n_labels),
                fmt=FormatV05(),
                source={"image": "../../"},
            )
            ome = dict(parent.attrs.get("ome", {}))
            parent.attrs["ome"] = {"version": "0.5", **ome}  # the labels group's own version

    # ------------------------------------------------------------------ pyramid

    def pyramid_tasks(self) -> list:
        """Delayed tasks that write every level beyond 0, level by level (a list per level)."""
        import dask

        rounds: list[list] = []
        for layer in self.layers.values():
            group_path = (
                os.path.join(self.path, *layer.group.split("/")) if layer.group else self.path
            )
            for k in range(1, len(layer.levels)):
                src_f, dst_f = layer.levels[k - 1], layer.levels[k]
                step = tuple(d // s for d, s in zip(dst_f, src_f, strict=True))
                src = self._group[f"{layer.group}/{k - 1}" if layer.group else str(k - 1)]
                shape = tuple(-(-n // s) for n, s in zip(src.shape, step, strict=True))
                group = self._group[layer.group] if layer.group else self._group
                create_array(group, str(k), shape, layer.chunks, layer.dtype, layer.axes)
                tasks = []
                for region in _regions(shape, layer.chunks):
                    tasks.append(
                        dask.delayed(_downsample_block, pure=False)(
                            os.path.join(group_path, str(k - 1)),
                            os.path.join(group_path, str(k)),
                            region,
                            step,
                            layer.is_labels or layer.dtype == bool,
                        )
                    )
                while len(rounds) < k:
                    rounds.append([])
                rounds[k - 1].extend(tasks)
        return rounds

    def finish(self, n_labels: int) -> None:
        """Write the multiscales metadata of every layer with all its levels."""
        for layer in self.layers.values():
            self._write_metadata(layer, len(layer.levels), n_labels)


def prefetch_ome_writer() -> None:
    """Import ome-zarr-py's writer in a background thread (it costs about a second)."""
    import threading

    threading.Thread(target=_ome_writer, name="batchimg-import-ome", daemon=True).start()


@functools.cache
def _ome_writer():
    """ome-zarr-py's metadata writers (its module warns of its own deprecations on import)."""
    import warnings

    with warnings.catch_warnings():
        # ome_zarr.writer builds a deprecated Scaler as a default argument at import time
        warnings.simplefilter("ignore", DeprecationWarning)
        from ome_zarr.format import FormatV05
        from ome_zarr.writer import write_label_metadata, write_multiscales_metadata
    return write_label_metadata, write_multiscales_metadata, FormatV05


def _regions(shape: Sequence[int], chunks: Sequence[int]):
    import itertools

    ranges = [range(0, n, c) for n, c in zip(shape, chunks, strict=True)]
    for starts in itertools.product(*ranges):
        yield tuple(slice(s, min(s + c, n)) for s, c, n in zip(starts, chunks, shape, strict=True))


def open_array(path: str, mode: str = "r"):
    """Open an array of result.zarr; for writing (``mode`` not ``"r"``), with WRITE_CONFIG.

    The settings are applied with ``Array.with_config``: ``zarr.open_array``'s own
    ``config=`` does not reach the opened array (zarr 3.1), which then checks every
    chunk against the fill value before writing it (three times the cost of the write).
    """
    import zarr

    arr = zarr.open_array(path, mode=mode)
    with_config = getattr(arr, "with_config", None)  # zarr >= 3.1
    return arr if mode == "r" or with_config is None else with_config(WRITE_CONFIG)


@functools.lru_cache(maxsize=64)
def _open(path: str, mode: str):
    return open_array(path, mode)


#: The most values of the level above that one piece of a level's chunk reads.
PYRAMID_PIECE = 1 << 22


def _downsample_block(src_path: str, dst_path: str, region: tuple, step: tuple, nearest: bool):
    """Write one chunk of a level from the level above it, a chunk of that level at a time.

    The chunk covers ``step`` times its extent of the level above (8 chunks of it for
    a 2x2x2 step). When that level's chunks are multiples of ``step`` (the windows
    never straddle two of its chunks), each of its chunks is read (decoded once) and
    downsampled on its own; else the region is read in slabs along the first axis of
    at most :data:`PYRAMID_PIECE` values. Either way a task holds about one chunk of
    the level above, not the whole region.
    """
    src = _open(src_path, "r")
    big = tuple(
        slice(r.start * s, min(r.stop * s, n))
        for r, s, n in zip(region, step, src.shape, strict=True)
    )
    size = tuple(r.stop - r.start for r in region)
    if all(c % s == 0 for c, s in zip(src.chunks, step, strict=True)):
        pieces = _chunk_pieces(big, src.chunks)
    else:
        rest = math.prod(b.stop - b.start for b in big[1:])
        rows = max(1, PYRAMID_PIECE // max(1, rest * step[0])) * step[0]
        pieces = [
            (slice(z, min(z + rows, big[0].stop)), *big[1:])
            for z in range(big[0].start, big[0].stop, rows)
        ]
    out = np.empty(size, src.dtype)
    for piece in pieces:
        block = src[piece]
        down = (
            block[tuple(slice(None, None, s) for s in step)] if nearest else _mean_down(block, step)
        )
        at = tuple(
            slice(p.start // s - r.start, p.start // s - r.start + d)
            for p, s, r, d in zip(piece, step, region, down.shape, strict=True)
        )
        out[at] = down
        del block, down
    _open(dst_path, "r+")[region] = out
    return None


def _window_sums(a: np.ndarray, axis: int, s: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``s`` consecutive values along ``axis`` (the last partial), and their counts.

    Summed in ``dtype`` as ``s`` strided views added together (several times faster
    than ``np.add.reduceat``, the same sums); the counts have the sums' shape along
    ``axis`` and 1 elsewhere (they broadcast).
    """
    n = a.shape[axis]
    full, m = n // s, -(-n // s)

    def along(sl):
        return a[(slice(None),) * axis + (sl,)]

    shape = list(a.shape)
    shape[axis] = m
    out = np.empty(shape, dtype)
    if full:
        head = out[(slice(None),) * axis + (slice(0, full),)]
        if s == 1:
            np.copyto(head, along(slice(0, full)))
        else:
            np.add(along(slice(0, full * s, s)), along(slice(1, full * s, s)), out=head,
                   dtype=dtype)  # fmt: skip
        for k in range(2, s):
            head += along(slice(k, full * s, s))
    if m > full:
        tail = along(slice(full * s, n)).sum(axis=axis, keepdims=True, dtype=dtype)
        out[(slice(None),) * axis + (slice(full, m),)] = tail
    counts = np.full(m, s, np.float64)
    counts[-1] = n - (m - 1) * s
    cshape = [1] * a.ndim
    cshape[axis] = m
    return out, counts.reshape(cshape)


def _chunk_pieces(region: tuple, chunks: Sequence[int]) -> list[tuple]:
    """``region`` cut along the chunk grid: one piece per chunk it meets."""
    import itertools

    cuts = []
    for r, c in zip(region, chunks, strict=True):
        edges = list(range((r.start // c + 1) * c, r.stop, c))
        starts = [r.start, *edges]
        stops = [*edges, r.stop]
        cuts.append([slice(a, b) for a, b in zip(starts, stops, strict=True)])
    return list(itertools.product(*cuts))


def _mean_down(block: np.ndarray, step: Sequence[int]) -> np.ndarray:
    """The mean of every ``step`` window (edge windows partial), in the block's dtype.

    8- and 16-bit integers are summed exactly in int32 (half the memory of float64,
    the larger part of a level's cost) and divided once by each window's count.
    """
    if block.dtype.kind in "iu" and block.dtype.itemsize <= 2 and math.prod(step) <= 1 << 15:
        sums = block
        count = np.ones((1,) * block.ndim)
        for axis, s in enumerate(step):
            if s > 1:
                sums, counts = _window_sums(sums, axis, s, np.int32)
                count = count * counts
        info = np.iinfo(block.dtype)
        return np.clip(np.rint(sums / count), info.min, info.max).astype(block.dtype)
    out = block
    for axis, s in enumerate(step):
        if s > 1:
            sums, counts = _window_sums(out, axis, s, np.float64)
            out = sums / counts
    if block.dtype.kind in "iu":
        info = np.iinfo(block.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(block.dtype)


__all__ = [
    "LABELS",
    "LABELS_PATH",
    "Layer",
    "ResultZarr",
    "compressors",
    "create_array",
    "label_colors",
    "open_array",
]
