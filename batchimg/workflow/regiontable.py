"""The region table inside result.zarr: an AnnData table annotating the label image.

``result.zarr/tables/regions`` follows anndata's on-disk format (encoding
``anndata`` 0.1.0, Zarr v3) and the SpatialData table convention, so that
``anndata.read_zarr("result.zarr/tables/regions")`` reads it without batchimg:

- ``X``: the numeric measurements, float64, one row per region (``var`` names them:
  ``area``, ``centroid-0``...);
- ``obs``: the region's identity: ``region`` (categorical, the labels element
  ``labels``), ``label`` (its value in the label image), ``global_label``, and for a
  collection ``image`` (categorical: the file) and ``image_index`` (its slot along the
  label image's ``image`` axis), for a volume with time points or channels ``t`` and
  ``c``;
- ``uns["spatialdata_attrs"]``: ``{"region": "labels", "region_key": "region",
  "instance_key": "label"}``; ``uns["batchimg"]`` records the units of the physical
  measurements.

It is written as the table file is, a part of rows at a time: the arrays are made at
their final size (the parts' row counts are known from their metadata) and filled a
whole chunk of rows at a time, so memory holds at most one chunk of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .plan import Plan

#: Rows per chunk of the table's arrays.
ROWS_PER_CHUNK = 65536
#: Columns that identify a region (obs); the others are measurements (X).
IDENTITY = ("image", "t", "c", "label", "global_label")
_ANNDATA = {"encoding-type": "anndata", "encoding-version": "0.1.0"}
_ARRAY = {"encoding-type": "array", "encoding-version": "0.2.0"}
_STRINGS = {"encoding-type": "string-array", "encoding-version": "0.2.0"}
_DICT = {"encoding-type": "dict", "encoding-version": "0.1.0"}
_CATEGORICAL = {"encoding-type": "categorical", "encoding-version": "0.2.0", "ordered": False}


def _dataframe(index: str, columns: Sequence[str]) -> dict:
    return {
        "encoding-type": "dataframe",
        "encoding-version": "0.2.0",
        "_index": index,
        "column-order": list(columns),
    }


class TableWriter:
    """Write the AnnData region table a part at a time (see the module docstring).

    Parameters
    ----------
    group : zarr.Group
        result.zarr's root group.
    plan : Plan
        The plan (its table's columns and dtypes).
    rows : int
        The table's number of rows (the arrays are made at that size).
    images : sequence of str, optional
        A collection's files, in slot order (the ``image`` categories).
    units : dict, optional
        Measurement column -> unit, recorded in ``uns``.
    """

    def __init__(
        self,
        group: Any,
        plan: Plan,
        rows: int,
        images: Sequence[str] | None = None,
        units: dict | None = None,
    ) -> None:
        columns = [c for c, _ in plan.table]
        self.total = int(rows)
        self.buffer: list[tuple[Any, Any]] = []
        self.buffered = 0
        self.obs_columns = ["region", *(c for c in IDENTITY if c in columns)]
        if images is not None:
            self.obs_columns.append("image_index")
        self.var = [c for c in columns if c not in IDENTITY]
        self.dtypes = dict(plan.table)
        self.images = list(images) if images is not None else None
        self.rows = 0
        # every node is made with its attributes (one metadata write each) and its
        # arrays are kept: each Zarr call is a round trip (2-4 ms on a local disk)
        root = group.require_group("tables")
        root.attrs.update({"tables": ["regions"]})
        g = root.create_group("regions", overwrite=True, attributes=_ANNDATA)
        n = len(self.var)
        total = self.total
        chunk = (ROWS_PER_CHUNK,)
        self.arrays: dict[str, Any] = {}
        self.arrays["X"] = g.create_array(
            "X", shape=(total, n), chunks=(ROWS_PER_CHUNK, max(n, 1)), dtype="f8",
            attributes=_ARRAY,
        )  # fmt: skip
        obs = g.create_group("obs", attributes=_dataframe("_index", self.obs_columns))
        self.arrays["_index"] = obs.create_array(
            "_index", shape=(total,), chunks=chunk, dtype=str, attributes=_STRINGS
        )
        for name in self.obs_columns:
            if name == "region":
                self.arrays[name] = self._categorical(obs, name, ["labels"], total)
            elif name == "image":
                self.arrays[name] = self._categorical(obs, name, self.images or [], total)
            else:
                dtype = np.int64 if name == "image_index" else self.dtypes[name]
                self.arrays[name] = obs.create_array(
                    name, shape=(total,), chunks=chunk, dtype=dtype, attributes=_ARRAY
                )
        var = g.create_group("var", attributes=_dataframe("_index", []))
        self._strings(var, "_index", self.var)
        for name in ("layers", "obsm", "obsp", "varm", "varp"):
            g.create_group(name, attributes=_DICT)
        uns = g.create_group("uns", attributes=_DICT)
        sd = uns.create_group("spatialdata_attrs", attributes=_DICT)
        for key, value in (
            ("region", "labels"),
            ("region_key", "region"),
            ("instance_key", "label"),
        ):
            self._scalar(sd, key, value)
        meta = uns.create_group("batchimg", attributes=_DICT)
        units_group = meta.create_group("units", attributes=_DICT)
        for key, value in (units or {}).items():
            self._scalar(units_group, key, value)

    @staticmethod
    def _strings(group: Any, name: str, values: Sequence[str]) -> None:
        a = group.create_array(
            name, shape=(len(values),), chunks=(ROWS_PER_CHUNK,), dtype=str, attributes=_STRINGS
        )
        if len(values):
            a[:] = np.asarray(values, dtype=object)

    @staticmethod
    def _scalar(group: Any, name: str, value: str) -> None:
        a = group.create_array(
            name,
            shape=(),
            dtype=str,
            attributes={"encoding-type": "string", "encoding-version": "0.2.0"},
        )
        a[()] = value

    def _categorical(self, group: Any, name: str, categories: Sequence[str], total: int) -> Any:
        """Make a categorical column; return its codes array."""
        g = group.create_group(name, attributes=_CATEGORICAL)
        self._strings(g, "categories", categories)
        return g.create_array(
            "codes", shape=(total,), chunks=(ROWS_PER_CHUNK,), dtype=np.int32, attributes=_ARRAY
        )

    def append(self, frame: Any, slots: np.ndarray | None = None) -> None:
        """Add the rows of one part (a DataFrame with the table's columns)."""
        if len(frame) == 0:
            return
        columns = {c: frame[c].to_numpy() for c in [*self.var, *self.obs_columns]
                   if c in frame}  # fmt: skip
        self.buffer.append((columns, None if slots is None else np.asarray(slots)))
        self.buffered += len(frame)
        while self.buffered >= ROWS_PER_CHUNK:
            self._flush(ROWS_PER_CHUNK)

    def close(self) -> None:
        """Write the rows still buffered; check the table has the rows it was made for."""
        while self.buffered:
            self._flush(self.buffered)
        if self.rows != self.total:
            raise AssertionError(f"the region table got {self.rows} rows, not {self.total}")

    def _take(self, n: int) -> tuple[dict, Any]:
        """The next ``n`` buffered rows, as whole columns."""
        taken, slots, need = [], [], n
        while need:
            columns, sl = self.buffer[0]
            k = len(next(iter(columns.values())))
            if k <= need:
                self.buffer.pop(0)
                taken.append(columns)
                slots.append(sl)
                need -= k
            else:
                taken.append({c: v[:need] for c, v in columns.items()})
                slots.append(None if sl is None else sl[:need])
                self.buffer[0] = ({c: v[need:] for c, v in columns.items()},
                                  None if sl is None else sl[need:])  # fmt: skip
                need = 0
        self.buffered -= n
        merged = {c: np.concatenate([t[c] for t in taken]) for c in taken[0]}
        merged_slots = None if slots[0] is None else np.concatenate(slots)
        return merged, merged_slots

    def _flush(self, n: int) -> None:
        """Write the next ``n`` rows (a whole chunk, or the last rows) to every array."""
        columns, slots = self._take(n)
        lo, hi = self.rows, self.rows + n
        a = self.arrays
        if self.var:
            a["X"][lo:hi] = np.stack([columns[c].astype(np.float64) for c in self.var], axis=1)
        a["_index"][lo:hi] = np.asarray([str(i) for i in range(lo, hi)], dtype=object)
        for name in self.obs_columns:
            if name == "region":
                a[name][lo:hi] = np.zeros(n, np.int32)
            elif name == "image":
                a[name][lo:hi] = slots.astype(np.int32)
            elif name == "image_index":
                a[name][lo:hi] = slots.astype(np.int64)
            else:
                a[name][lo:hi] = columns[name]
        self.rows = hi


def physical_units(plan: Plan) -> dict[str, str]:
    """Measurement columns that carry the input's unit, and that unit (area: unit^ndim)."""
    unit = plan.image.unit
    if not unit:
        return {}
    n = len(plan.image.spatial_shape)
    out = {}
    for column, _ in plan.table:
        if column in ("area", "area_bbox", "area_convex", "area_filled"):
            out[column] = f"{unit}^{n}"
        elif column.startswith(
            (
                "centroid-",
                "centroid_weighted-",
                "equivalent_diameter",
                "perimeter",
                "axis_major",
                "axis_minor",
                "feret",
            )
        ):
            out[column] = unit
    return out


__all__ = ["IDENTITY", "TableWriter", "physical_units"]
