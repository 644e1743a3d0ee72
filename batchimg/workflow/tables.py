"""The region table of a run: written a part at a time, typed by the plan's schema.

The engines leave the table's rows in Parquet parts (a collection task's rows, or a
volume's table); :func:`write_tables` streams them, one part in memory at a time,
into the table file (CSV or Parquet, atomically) and into ``result.zarr``'s AnnData
table, adding ``global_label`` (the labels numbered on across the collection's
images, or a volume's time points and channels, in order). Every part -- the empty
ones too -- carries the plan's column types, so an empty table has the right types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .plan import Plan

#: Columns a collection part carries for the global numbering, dropped when written.
SLOT, SUB = "_slot", "_sub"


def arrow_schema(plan: Plan):
    """The table's Arrow schema, from the plan's columns and dtypes."""
    import pyarrow as pa

    fields = []
    for name, dtype in plan.table:
        if name == "image" and dtype == np.dtype(object):
            fields.append(pa.field(name, pa.string()))
        else:
            fields.append(pa.field(name, pa.from_numpy_dtype(dtype)))
    return pa.schema(fields)


def _frames(plan: Plan, engine: Any) -> Iterator[tuple[Any, Any]]:
    """The table's parts as pandas DataFrames with every column, in row order.

    Each comes with the slots of its rows (a collection's file indices, else None).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(plan)
    offsets = {}
    if engine.keys and plan.kind == "collection":
        starts = np.concatenate(([0], np.cumsum(engine.counts)))[:-1]
        offsets = {key: int(s) for key, s in zip(engine.keys, starts, strict=True)}
    yielded = False
    for path in engine.parts:
        with pq.ParquetFile(path) as f:  # lighter than read_table's dataset road
            t = f.read(use_threads=False)
        slots = None
        if plan.kind == "collection":
            slots = t.column(SLOT).to_numpy()
            subs = t.column(SUB).to_numpy()
            base = np.array(
                [offsets[(int(a), int(b))] for a, b in zip(slots, subs, strict=True)], np.int64
            )
            glob = t.column("label").to_numpy().astype(np.int64) + base
            t = t.drop_columns([SLOT, SUB]).append_column("global_label", pa.array(glob))
        t = t.select(schema.names).cast(schema)
        yielded = True
        yield t.to_pandas(), slots
    if not yielded:
        yield schema.empty_table().to_pandas(), np.zeros(0, np.int64)


def write_tables(
    plan: Plan, engine: Any, path: str, group: Any = None, images: Sequence[str] | None = None
) -> int:
    """Write the table file at ``path`` and, given result.zarr's ``group``, its AnnData table.

    Returns the number of rows.
    """
    from ..io import write_table_parts
    from .regiontable import TableWriter, physical_units

    writer = None
    if group is not None:
        import pyarrow.parquet as pq

        rows = sum(pq.read_metadata(p).num_rows for p in engine.parts)
        images = images if plan.kind == "collection" else None
        writer = TableWriter(group, plan, rows, images, physical_units(plan))

    def frames():
        for frame, slots in _frames(plan, engine):
            if writer is not None:
                writer.append(frame, slots)
            yield frame

    _, rows = write_table_parts(frames(), path, schema=arrow_schema(plan))
    if writer is not None:
        writer.close()
    return rows


__all__ = ["SLOT", "SUB", "arrow_schema", "write_tables"]
