"""Region statistics shared by :mod:`batchimg.measure`, :mod:`batchimg.label` and the engines.

- :mod:`.stats`: per-block partial statistics per label (:mod:`.fore`: the measured
  pixels and their runs; :mod:`.moments`: image moments; :mod:`.local`: local
  configurations; :mod:`.exact`: double-double arithmetic);
- :mod:`.tables`: statistics tables and their exact merge;
- :mod:`.props`: scikit-image's property names, the road each takes, their columns;
- :mod:`.objects`: the per-object road (a region's bounding-box crop);
- :mod:`.where`: the region-filter language (``"area > 10"``), parsed without ``eval``.

Everything here is private to batchimg; the names are public so that the library
modules can share them.
"""

from .fore import flat_nonzero, take_lut
from .objects import (
    CROP_LIMIT,
    check_crop,
    check_extra,
    crop_values,
    extra_columns,
    infer_dtype,
    object_column,
    object_properties,
)
from .props import (
    ALIASES,
    DEFAULT_PROPERTIES,
    PROPERTIES,
    SKIMAGE_DEFAULT,
    SPECS,
    ParameterNotImplemented,
    Values,
    canonical,
    column_dtype,
    columns_of,
    filter_columns,
    filter_mapping,
    filter_properties,
    frame,
    keep_mapping,
    needs_of,
    normalize_properties,
    normalize_spacing,
    one_pass,
    prop_values,
    rank_within,
    road_of,
    table_columns,
    value_shape,
    variance_from,
)
from .stats import (
    HALO,
    NEEDS,
    block_offsets,
    block_stats,
    compact,
    empty_table,
    field_shapes,
    halo_of,
    measure_block,
    sparse_stats,
    stats_delayed,
    tree_reduce,
)
from .tables import FIELD_OPS, apply_mapping, concat, group, merge
from .where import evaluate, parse_where, where_columns

__all__ = [
    "ALIASES",
    "CROP_LIMIT",
    "DEFAULT_PROPERTIES",
    "FIELD_OPS",
    "HALO",
    "NEEDS",
    "PROPERTIES",
    "SKIMAGE_DEFAULT",
    "SPECS",
    "ParameterNotImplemented",
    "Values",
    "apply_mapping",
    "block_offsets",
    "block_stats",
    "canonical",
    "check_crop",
    "check_extra",
    "column_dtype",
    "columns_of",
    "compact",
    "concat",
    "crop_values",
    "empty_table",
    "evaluate",
    "extra_columns",
    "field_shapes",
    "filter_columns",
    "filter_mapping",
    "filter_properties",
    "flat_nonzero",
    "frame",
    "group",
    "halo_of",
    "infer_dtype",
    "keep_mapping",
    "one_pass",
    "measure_block",
    "merge",
    "needs_of",
    "normalize_properties",
    "normalize_spacing",
    "object_column",
    "object_properties",
    "parse_where",
    "prop_values",
    "rank_within",
    "road_of",
    "sparse_stats",
    "stats_delayed",
    "table_columns",
    "take_lut",
    "tree_reduce",
    "value_shape",
    "variance_from",
    "where_columns",
]
