"""Measurement tables: written atomically as CSV or Parquet, and read back."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from .._lazy import pd
from ..errors import InputError, InputNotFoundError, InvalidParameterError


def csv_read_options() -> dict[str, Any]:
    """Options for :func:`pandas.read_csv` that read every float back bit for bit.

    pandas 3 does so by default (and deprecates ``float_precision``); pandas 2's
    default parser can be one unit in the last place off, so it is asked for its
    round-trip parser.
    """
    return {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def write_table(df: pd.DataFrame | Mapping[str, Any], path: str | os.PathLike) -> str:
    """Write a table to CSV, or to Parquet when ``path`` ends in ``.parquet``, atomically.

    The table goes to a temporary file in the destination folder, is flushed to
    disk, and only then renamed over ``path`` (:func:`os.replace`), so an
    interrupted write never leaves a file at ``path`` that looks complete. The
    index is not written. Missing parent folders are created.

    Parameters
    ----------
    df : pandas.DataFrame or mapping of str to array-like
        The table; a mapping (such as ``skimage.measure.regionprops_table``'s
        output) is turned into a DataFrame first.
    path : str or os.PathLike
        The destination. ``.parquet`` (or ``.pq``) writes Parquet with pyarrow;
        anything else writes CSV (compressed when it ends in ``.gz``, ``.bz2``,
        ``.zip``, ``.xz`` or ``.zst``, as pandas infers).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    InvalidParameterError
        If ``df`` is not a DataFrame or a mapping of columns.

    See Also
    --------
    read_table, pandas.DataFrame.to_csv, pandas.DataFrame.to_parquet

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_table({"label": [1, 2], "area": [10, 4]}, f"{d}/cells.csv")
    ...     read_table(p)["area"].tolist()
    [10, 4]
    """
    if isinstance(df, Mapping):
        df = pd.DataFrame(df)
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterError(
            f"df must be a pandas DataFrame or a mapping of columns; got {type(df).__name__}."
        )
    return write_table_parts([df], path)[0]


#: CSV endings that can be written a part at a time (a gzip file may hold many members).
_APPENDABLE = (".csv", ".gz", ".tsv", ".txt")


def write_table_parts(
    parts: Iterable[pd.DataFrame], path: str | os.PathLike, schema: Any = None
) -> tuple[str, int]:
    """Write a table given as consecutive parts, holding one part in memory at a time.

    Atomic like :func:`write_table` (a temporary file, flushed, then renamed). CSV
    parts are appended under one header; Parquet parts become row groups of one
    file. The first part fixes the columns (an empty first part writes just them),
    or ``schema`` (a :class:`pyarrow.Schema`) does: every Parquet part then has its
    types, empty parts too. Compressed CSV other than gzip is written whole (the
    parts concatenated).

    Returns
    -------
    (str, int)
        The path written and the number of rows.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # the temporary name ends with the real one, so pandas infers the same compression
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(path))
    os.close(fd)
    rows = 0
    try:
        if _is_parquet(path):
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            try:
                for part in parts:
                    t = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, schema if schema is not None else t.schema)
                    writer.write_table(t.cast(writer.schema))
                    rows += len(part)
            finally:
                if writer is not None:
                    writer.close()
        elif path.lower().endswith(_APPENDABLE):
            for i, part in enumerate(parts):
                part.to_csv(tmp, index=False, header=i == 0, mode="w" if i == 0 else "a")
                rows += len(part)
        else:
            whole = pd.concat(list(parts), ignore_index=True)
            whole.to_csv(tmp, index=False)
            rows = len(whole)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path, rows


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (CSV, or Parquet for ``.parquet``).

    Floats read back from CSV equal those written, bit for bit (pandas writes the
    shortest repr that round-trips and parses it exactly).

    Parameters
    ----------
    path : str or os.PathLike
        The table file.

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    InputNotFoundError
        If ``path`` does not exist.
    InputError
        If the file cannot be parsed.

    See Also
    --------
    write_table, pandas.read_csv, pandas.read_parquet

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_table(pd.DataFrame({"x": [0.1, 0.2]}), f"{d}/t.parquet")
    ...     read_table(p)["x"].tolist()
    [0.1, 0.2]
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputNotFoundError(f"table {path!r} does not exist.")
    try:
        if _is_parquet(path):
            return pd.read_parquet(path, engine="pyarrow")
        return pd.read_csv(path, **csv_read_options())
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        kind = "Parquet" if _is_parquet(path) else "CSV"
        raise InputError(f"{path!r} could not be read as a {kind} table: {exc}") from exc


__all__ = ["csv_read_options", "read_table", "write_table", "write_table_parts"]
