"""What the run report reads: sampled images and planes, projections, the table in parts.

Every read here is bounded whatever the size of the input, so the report of a
100 GB volume costs about what the report of a small one does:

- a shown image or plane comes from the finest pyramid level of ``result.zarr``
  whose shown sides are at most :data:`MAX_SIDE` and whose read decodes at most
  :data:`READ_BUDGET` values (the whole chunks it touches, :func:`read_cost`);
  when no level that fits is that cheap, the coarsest that fits; a centre crop
  of the coarsest level when none fits. result.zarr's last level is at most 512
  values a side (:data:`batchimg.workflow.omezarr.PYRAMID_ABOVE`), so the cost
  never grows with the input: it is set by the block shape and these constants;
- a detail is a :data:`DETAIL`-sided centre crop of the finest level within
  :data:`READ_BUDGET`;
- a maximum projection reads the finest level of at most :data:`PROJECTION_VOXELS`
  spatial values (the coarsest level when none is), one chunk-thick slab at a time;
- the table is read a part of :data:`TABLE_ROWS` rows at a time and only the
  columns it needs; the histograms keep a uniform sample of at most :data:`SAMPLE`
  values per property (exact below that; count, min, max and mean always exact);
- ``errors.csv`` is read up to :data:`MAX_ERRORS` rows (and counted to its end).

A collection's chunk holds one task's images whole, so reading one image reads
at most one task's chunk at the chosen level.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The largest side of a shown picture, in array values (bigger planes come from a
#: pyramid level; result.zarr's levels go down to at most 512 values a side).
MAX_SIDE = 1024
#: The side of the full-resolution detail shown when a plane is bigger than MAX_SIDE.
DETAIL = 512
#: The most values one plane or detail of one layer may read (whole chunks counted):
#: a finer level that costs more is passed over for a coarser one.
READ_BUDGET = 1 << 25
#: The most spatial values a maximum projection reads (it takes the finest level
#: that has at most this many).
PROJECTION_VOXELS = 1 << 25
#: Rows per part when the table is streamed.
TABLE_ROWS = 65536
#: Values kept per property for its histogram (a uniform sample beyond).
SAMPLE = 50_000
#: Rows of the table shown.
FIRST_ROWS = 10
#: Rows of errors.csv shown.
MAX_ERRORS = 200
#: Columns that identify a region or where it is, not what it is like.
ID_COLUMNS = frozenset({"image", "label", "global_label", "t", "c"})
POSITION_PREFIXES = ("centroid", "bbox", "coords", "slice", "moments", "inertia_tensor")
SPATIAL = "zyx"


# ---------------------------------------------------------------------------
# result.zarr's multiscale images


@dataclass(frozen=True)
class Pyramid:
    """One multiscale image of result.zarr: the input, the labels or a saved step.

    ``levels`` are the array paths, finest first; ``shapes`` and ``scales`` are
    per level and per axis (``scales`` from the OME metadata: physical size of a
    value, so the level's downsampling is its scale over level 0's).
    """

    name: str
    axes: tuple[str, ...]
    levels: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    scales: tuple[tuple[float, ...], ...]
    chunks: tuple[tuple[int, ...], ...]
    dtype: np.dtype
    is_labels: bool

    def spatial(self) -> tuple[str, ...]:
        """The spatial axis names, in order."""
        return tuple(a for a in self.axes if a in SPATIAL)

    def size(self, level: int, axis: str) -> int:
        """The length of ``axis`` at ``level``."""
        return self.shapes[level][self.axes.index(axis)]

    def factor(self, level: int, axis: str) -> int:
        """How many level-0 values one value of ``level`` spans along ``axis``."""
        i = self.axes.index(axis)
        return max(1, round(self.shapes[0][i] / self.shapes[level][i]))


def pyramid(group: Any, path: str, name: str, is_labels: bool) -> Pyramid:
    """Describe the multiscale image at ``path`` of ``group`` (metadata only)."""
    node = group[path] if path else group
    ms = dict(node.attrs).get("ome", {}).get("multiscales") or [{}]
    datasets = ms[0].get("datasets") or [{"path": "0"}]
    levels, shapes, scales, chunks = [], [], [], []
    axes: tuple[str, ...] = ()
    dtype = None
    for d in datasets:
        p = f"{path}/{d['path']}" if path else d["path"]
        try:
            arr = group[p]
        except KeyError:  # a level the metadata lists but the store lacks
            break
        axes = tuple(arr.metadata.dimension_names or ())
        dtype = arr.dtype
        levels.append(p)
        shapes.append(tuple(arr.shape))
        chunks.append(tuple(arr.chunks))
        scale = [1.0] * arr.ndim
        for t in d.get("coordinateTransformations", []):
            if t.get("type") == "scale":
                scale = [float(s) for s in t["scale"]]
        scales.append(tuple(scale))
    if not levels:
        raise KeyError(path or "0")
    if len(axes) != len(shapes[0]):
        axes = tuple(f"dim_{i}" for i in range(len(shapes[0])))
    return Pyramid(
        name,
        axes,
        tuple(levels),
        tuple(shapes),
        tuple(scales),
        tuple(chunks),
        np.dtype(dtype),
        is_labels,
    )


def pyramids(group: Any) -> dict[str, Pyramid]:
    """The input (``"input"``), the labels (``"labels"``) and every saved step of result.zarr."""
    meta = dict(group.attrs).get("batchimg", {})
    out = {"input": pyramid(group, "", "input", False)}
    labels = meta.get("labels")
    if labels:
        out["labels"] = pyramid(group, labels, "labels", True)
    for name in meta.get("saved") or []:
        try:
            out[name] = pyramid(group, name, name, False)
        except KeyError:
            continue
    return out


# ---------------------------------------------------------------------------
# views: what one picture shows, and reading it


@dataclass(frozen=True)
class View:
    """One 2-D picture of a pyramid: a plane or a maximum projection, maybe a crop.

    Parameters
    ----------
    level : int
        The pyramid level read.
    rows, cols : str
        The axes shown down and across.
    fixed : dict
        Axis -> index at ``level`` for every other axis that is not projected
        (``image``, ``t``, ``c``, the plane's own axis); axes not named are read at 0.
    project : str or None
        The axis of a maximum projection.
    crop : dict
        Shown axis -> slice at ``level`` (the whole axis when absent).
    caption : str
        What it is, in words.
    """

    level: int
    rows: str
    cols: str
    fixed: dict = field(default_factory=dict)
    project: str | None = None
    crop: dict = field(default_factory=dict)
    caption: str = ""


def _centre(n: int, side: int) -> slice:
    start = max((n - side) // 2, 0)
    return slice(start, min(start + side, n))


def _at_level(p: Pyramid, level: int, fixed0: dict) -> dict:
    return {a: (i // p.factor(level, a) if a in SPATIAL else i) for a, i in fixed0.items()}


def read_cost(p: Pyramid, view: View) -> int:
    """How many values reading ``view`` decodes: the whole chunks it touches, counted.

    Examples
    --------
    >>> p = Pyramid("x", ("y", "x"), ("0",), ((100, 100),), ((1.0, 1.0),), ((30, 30),),
    ...             np.dtype("u1"), False)
    >>> read_cost(p, View(0, "y", "x", crop={"y": slice(25, 35), "x": slice(0, 10)}))
    1800
    """
    total = 1
    idx = _index(p, view, 0)
    for i, c, n in zip(idx, p.chunks[view.level], p.shapes[view.level], strict=True):
        if isinstance(i, slice):
            start, stop, _ = i.indices(n)
            total *= ((stop - 1) // c - start // c + 1) * c if stop > start else 0
        else:
            total *= c
    return total


def plane_view(p: Pyramid, rows: str, cols: str, fixed0: dict, caption: str = "") -> View:
    """The plane ``fixed0`` (axis -> level-0 index) showing ``rows`` x ``cols``, whole.

    From the finest level where it fits in :data:`MAX_SIDE` a side and costs at
    most :data:`READ_BUDGET` values (:func:`read_cost`); the coarsest level that
    fits when none is that cheap; a centre crop of the coarsest level when no
    level fits.
    """
    fits = [k for k in range(len(p.levels)) if all(p.size(k, a) <= MAX_SIDE for a in (rows, cols))]
    for k in fits:
        view = View(k, rows, cols, _at_level(p, k, fixed0), None, {}, caption)
        if read_cost(p, view) <= READ_BUDGET:
            return view
    if fits:
        return View(fits[-1], rows, cols, _at_level(p, fits[-1], fixed0), None, {}, caption)
    k = len(p.levels) - 1
    crop = {a: _centre(p.size(k, a), MAX_SIDE) for a in (rows, cols)}
    return View(k, rows, cols, _at_level(p, k, fixed0), None, crop, caption)


def detail_view(
    p: Pyramid, rows: str, cols: str, fixed0: dict, than: int, caption: str = ""
) -> View | None:
    """A :data:`DETAIL`-sided centre crop of the plane, finer than level ``than``.

    From the finest level that costs at most :data:`READ_BUDGET` values; None when
    no level finer than ``than`` is that cheap.
    """
    for k in range(than):
        crop = {a: _centre(p.size(k, a), DETAIL) for a in (rows, cols)}
        view = View(k, rows, cols, _at_level(p, k, fixed0), None, crop, caption)
        if read_cost(p, view) <= READ_BUDGET:
            return view
    return None


def projection_view(
    p: Pyramid, axis: str, rows: str, cols: str, fixed0: dict, caption: str = ""
) -> View:
    """The maximum projection along ``axis``.

    From the finest level of at most :data:`PROJECTION_VOXELS` spatial values (the
    coarsest when none is), cropped to :data:`MAX_SIDE` a side.
    """
    spatial = p.spatial()
    level = len(p.levels) - 1
    for k in range(len(p.levels)):
        if math.prod(p.size(k, a) for a in spatial) <= PROJECTION_VOXELS:
            level = k
            break
    crop = {a: _centre(p.size(level, a), MAX_SIDE) for a in (rows, cols)}
    crop = {a: c for a, c in crop.items() if p.size(level, a) > MAX_SIDE}
    return View(level, rows, cols, _at_level(p, level, fixed0), axis, crop, caption)


def _index(p: Pyramid, view: View, channel: int) -> tuple:
    idx = []
    for a, n in zip(p.axes, p.shapes[view.level], strict=True):
        if a in (view.rows, view.cols):
            idx.append(view.crop.get(a, slice(None)))
        elif a == view.project:
            idx.append(slice(None))
        elif a in view.fixed:
            idx.append(min(int(view.fixed[a]), n - 1))
        elif a == "c":
            idx.append(min(channel, n - 1))
        else:
            idx.append(0)
    return tuple(idx)


def read_view(group: Any, p: Pyramid, view: View, channel: int = 0) -> np.ndarray:
    """Read ``view`` of ``p`` as a 2-D array (rows, cols): only the chunks it needs.

    A projection streams along its axis one chunk-thick slab at a time and keeps
    the running maximum.
    """
    arr = group[p.levels[view.level]]
    idx = _index(p, view, channel)
    kept = [a for a, i in zip(p.axes, idx, strict=True) if isinstance(i, slice)]
    if view.project is None:
        out = _read_by_chunk_rows(arr, idx)
    else:
        ax = p.axes.index(view.project)
        n, step = arr.shape[ax], arr.chunks[ax]
        out = None
        for start in range(0, n, step):
            part = list(idx)
            part[ax] = slice(start, min(start + step, n))
            block = _read_by_chunk_rows(arr, tuple(part), kept.index(view.project))
            out = block if out is None else np.maximum(out, block)
        kept.remove(view.project)
    if kept != [view.rows, view.cols]:
        out = out.T
    return out


def _read_by_chunk_rows(arr: Any, idx: tuple, project: int | None = None) -> np.ndarray:
    """``arr[idx]``, one row of chunks at a time along its first axis across several.

    zarr decodes every chunk a read touches at once: a plane across a volume of
    128^3 int32 chunks would hold 64 of them (512 MiB); a row of them is 8. With
    ``project``, each row's maximum along that axis (of the result) is taken before
    the rows are joined, so the slab itself is never whole in memory either.
    """

    def finish(a: np.ndarray) -> np.ndarray:
        return a if project is None else a.max(axis=project)

    kept = [axis for axis, i in enumerate(idx) if isinstance(i, slice)]
    for at, axis in enumerate(kept):
        start, stop, _ = idx[axis].indices(arr.shape[axis])
        c = arr.chunks[axis]
        cuts = [start, *range((start // c + 1) * c, stop, c), stop]
        if at != project and len(cuts) > 2:  # the first kept axis across several chunks
            break
    else:
        return finish(np.asarray(arr[idx]))
    if project is not None and project < at:
        at -= 1  # its place once the projected axis is gone
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        part = list(idx)
        part[axis] = slice(a, b)
        parts.append(finish(np.asarray(arr[tuple(part)])))
    return np.concatenate(parts, axis=at)


# ---------------------------------------------------------------------------
# collections: which images to show


def sample_slots(
    n: int, counts: Sequence[int] | None, failed: Sequence[int] = ()
) -> list[tuple[str, int]]:
    """The images a collection's report shows: ``(roles, slot)``, in slot order.

    The first and the last image that did not fail and, with ``counts`` (regions
    per slot), the ones with the fewest and the most regions (the first such slot
    on ties). An image picked twice shows once, with both roles.

    Examples
    --------
    >>> sample_slots(5, [3, 0, 7, 2, 7])
    [('first', 0), ('fewest regions', 1), ('most regions', 2), ('last', 4)]
    >>> sample_slots(3, [1, 1, 1], failed=[0])
    [('first, fewest regions, most regions', 1), ('last', 2)]
    """
    bad = set(int(f) for f in failed)
    ok = [i for i in range(n) if i not in bad]
    if not ok:
        return []
    picks: dict[int, list[str]] = {}
    picks.setdefault(ok[0], []).append("first")
    if counts is not None:
        c = np.asarray(counts)[ok]
        picks.setdefault(ok[int(np.argmin(c))], []).append("fewest regions")
        picks.setdefault(ok[int(np.argmax(c))], []).append("most regions")
    picks.setdefault(ok[-1], []).append("last")
    return [(", ".join(picks[s]), s) for s in sorted(picks)]


# ---------------------------------------------------------------------------
# the table, a part at a time


def table_columns(path: str) -> tuple[list[str], list[str]]:
    """The table's columns and, of them, the numeric ones (reads the header only)."""
    if path.lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        numeric = [
            f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        ]
        return list(schema.names), numeric
    import pandas as pd

    head = pd.read_csv(path, nrows=FIRST_ROWS)
    numeric = [c for c in head.columns if head[c].dtype.kind in "iuf"]
    return list(head.columns), numeric


def property_columns(numeric: Sequence[str]) -> list[str]:
    """The numeric columns worth a histogram: not identifiers, not positions.

    Examples
    --------
    >>> property_columns(["label", "area", "centroid-0", "bbox-1", "intensity_mean", "c"])
    ['area', 'intensity_mean']
    """
    return [c for c in numeric if c not in ID_COLUMNS and not c.startswith(POSITION_PREFIXES)]


def table_parts(path: str, columns: Sequence[str], rows: int | None = None) -> Iterator[Any]:
    """The table's ``columns`` as DataFrames of at most ``rows`` (:data:`TABLE_ROWS`) rows."""
    rows = TABLE_ROWS if rows is None else rows
    if path.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=rows, columns=list(columns)):
            yield batch.to_pandas()
        return
    import pandas as pd

    from ..io.tables import csv_read_options

    with pd.read_csv(path, usecols=list(columns), chunksize=rows, **csv_read_options()) as reader:
        yield from reader


def first_rows(path: str, n: int = FIRST_ROWS):
    """The first ``n`` rows of the table, every column."""
    if path.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=n):
            return batch.to_pandas()
        return f.schema_arrow.empty_table().to_pandas()
    import pandas as pd

    from ..io.tables import csv_read_options

    return pd.read_csv(path, nrows=n, **csv_read_options())


class Sample:
    """Exact count, minimum, maximum and mean of a stream of values, and a uniform sample.

    The sample keeps the values with the :data:`SAMPLE` smallest random keys (seeded):
    every value has the same chance to be kept, whatever the parts' sizes.
    """

    def __init__(self, k: int | None = None, seed: int = 0) -> None:
        self.k = SAMPLE if k is None else k
        self.rng = np.random.default_rng(seed)
        self.keys = np.empty(0)
        self.values = np.empty(0)
        self.n = 0
        self.missing = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, values: np.ndarray) -> None:
        """Take the next part of the stream."""
        v = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(v)
        self.missing += int(v.size - finite.sum())
        v = v[finite]
        if not v.size:
            return
        self.n += v.size
        self.total += float(v.sum())
        self.min = min(self.min, float(v.min()))
        self.max = max(self.max, float(v.max()))
        keys = np.concatenate([self.keys, self.rng.random(v.size)])
        vals = np.concatenate([self.values, v])
        if keys.size > self.k:
            keep = np.argpartition(keys, self.k)[: self.k]
            keys, vals = keys[keep], vals[keep]
        self.keys, self.values = keys, vals

    @property
    def exact(self) -> bool:
        """Whether the sample holds every value."""
        return self.n <= self.k

    @property
    def mean(self) -> float:
        """The exact mean (NaN without values)."""
        return self.total / self.n if self.n else math.nan


@dataclass
class TableSummary:
    """What the report shows of the table (see :func:`summarize_table`)."""

    path: str
    columns: list[str]
    rows: int
    head: Any
    properties: dict[str, Sample]
    counts: dict[str, int] | None


def summarize_table(path: str, *, max_properties: int = 12) -> TableSummary:
    """Stream the table once: its first rows, the rows per image, each property's sample.

    Reads the header, then only the ``image`` column and up to ``max_properties``
    property columns, :data:`TABLE_ROWS` rows at a time.
    """
    columns, numeric = table_columns(path)
    props = property_columns(numeric)[:max_properties]
    wanted = (["image"] if "image" in columns else []) + props
    samples = {c: Sample(seed=i) for i, c in enumerate(props)}
    counts: dict[str, int] | None = {} if "image" in columns else None
    rows = 0
    if wanted:
        for part in table_parts(path, wanted):
            rows += len(part)
            for c, s in samples.items():
                s.add(part[c].to_numpy())
            if counts is not None:
                for key, value in part["image"].value_counts(sort=False).items():
                    counts[str(key)] = counts.get(str(key), 0) + int(value)
    else:
        for part in table_parts(path, columns[:1]):
            rows += len(part)
    return TableSummary(path, columns, rows, first_rows(path), samples, counts)


def read_errors(path: str, limit: int = MAX_ERRORS) -> tuple[list[dict], int, list[str]]:
    """The first ``limit`` rows of ``errors.csv``, how many it has, and every failed path.

    Examples
    --------
    >>> read_errors("no-such-errors.csv")
    ([], 0, [])
    """
    rows: list[dict] = []
    paths: list[str] = []
    if not os.path.isfile(path):
        return rows, 0, paths
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if len(rows) < limit:
                rows.append(row)
            paths.append(row.get("path", ""))
    return rows, len(paths), paths


__all__ = [
    "DETAIL",
    "FIRST_ROWS",
    "MAX_ERRORS",
    "MAX_SIDE",
    "PROJECTION_VOXELS",
    "READ_BUDGET",
    "SAMPLE",
    "TABLE_ROWS",
    "Pyramid",
    "Sample",
    "TableSummary",
    "View",
    "first_rows",
    "detail_view",
    "plane_view",
    "projection_view",
    "property_columns",
    "pyramid",
    "pyramids",
    "read_cost",
    "read_errors",
    "read_view",
    "sample_slots",
    "summarize_table",
    "table_columns",
    "table_parts",
]
