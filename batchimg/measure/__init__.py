"""Per-region measurements over chunked label images: scipy.ndimage's and scikit-image's.

- scipy.ndimage's measurement functions with scipy 1.17's signatures
  (``sum_labels``, ``mean``, ``variance``, ``minimum_position``, ``center_of_mass``,
  ``median``, ``histogram``, ``labeled_comprehension``, ``value_indices``,
  ``find_objects`` ...): one pass of per-block partial sums, or, for those that need
  every value of a region, the region's pixels gathered in raster order;
- scikit-image's ``regionprops_table`` with every property (one pass of partial sums,
  or per object from its bounding-box crop), ``remove_small_objects``;
- ``filter_regions`` / ``relabel``: keep regions by their measurements, renumbered.

Each function's docstring states what it equals on the whole in-memory array and how
exact it is.
"""

from .._regions import CROP_LIMIT, DEFAULT_PROPERTIES, PROPERTIES
from ..label import label  # re-exported: batchimg.measure.label is scipy's place for it
from ._filter import (
    filter_mapping_delayed,
    filter_regions,
    filter_regions_image,
    relabel,
    remove_small_objects,
)
from ._gather import histogram, labeled_comprehension, median, value_indices
from ._regionprops import (
    regionprops_columns,
    regionprops_delayed,
    regionprops_image,
    regionprops_table,
)
from ._scipy import (
    center_of_mass,
    extrema,
    find_objects,
    maximum,
    maximum_position,
    mean,
    minimum,
    minimum_position,
    standard_deviation,
    sum,  # noqa: A004 - scipy's name
    sum_labels,
    variance,
)

__all__ = [
    "CROP_LIMIT",
    "DEFAULT_PROPERTIES",
    "PROPERTIES",
    "center_of_mass",
    "extrema",
    "filter_mapping_delayed",
    "filter_regions",
    "filter_regions_image",
    "find_objects",
    "histogram",
    "label",
    "labeled_comprehension",
    "maximum",
    "maximum_position",
    "mean",
    "median",
    "minimum",
    "minimum_position",
    "regionprops_columns",
    "regionprops_delayed",
    "regionprops_image",
    "regionprops_table",
    "relabel",
    "remove_small_objects",
    "standard_deviation",
    "sum",
    "sum_labels",
    "value_indices",
    "variance",
]
