"""Region statistics shared by :mod:`batchimg.measure`, :mod:`batchimg.label` and the engines.

- :mod:`.stats`: per-block partial statistics per label and their exact merge;
- :mod:`.props`: scikit-image's property names, what they need, their columns;
- :mod:`.where`: the region-filter language (``"area > 10"``), parsed without ``eval``.

Everything here is private to batchimg; the names are public so that the library
modules can share them.
"""

from .props import (
    DEFAULT_PROPERTIES,
    PROPERTIES,
    column_dtype,
    columns_of,
    filter_mapping,
    filter_properties,
    frame,
    needs_of,
    normalize_properties,
    normalize_spacing,
    prop_values,
    rank_within,
    table_columns,
)
from .stats import (
    NEEDS,
    apply_mapping,
    block_offsets,
    block_stats,
    compact,
    concat,
    empty_table,
    group,
    merge,
    sparse_stats,
    stats_delayed,
    tree_reduce,
)
from .where import evaluate, parse_where, where_columns

__all__ = [
    "DEFAULT_PROPERTIES",
    "NEEDS",
    "PROPERTIES",
    "apply_mapping",
    "block_offsets",
    "block_stats",
    "column_dtype",
    "columns_of",
    "compact",
    "concat",
    "empty_table",
    "evaluate",
    "filter_mapping",
    "filter_properties",
    "frame",
    "group",
    "merge",
    "needs_of",
    "normalize_properties",
    "normalize_spacing",
    "parse_where",
    "prop_values",
    "rank_within",
    "sparse_stats",
    "stats_delayed",
    "table_columns",
    "tree_reduce",
    "where_columns",
]
