"""One-pass per-region measurements over chunked label images.

Every measurement here is computed from per-block partial statistics (one task per
block for all requested properties, see :mod:`batchimg._regions`) merged across
blocks by label, and equals scikit-image's ``regionprops_table`` or the
scipy.ndimage function of the same name on the whole in-memory array: integer
results exactly, float results up to the rounding of a different summation order.
"""

from .._regions import DEFAULT_PROPERTIES, PROPERTIES
from ..label import label  # re-exported: batchimg.measure.label is scipy's place for it
from ._filter import filter_regions, filter_regions_image, relabel, remove_small_objects
from ._regionprops import (
    regionprops_columns,
    regionprops_delayed,
    regionprops_image,
    regionprops_table,
)
from ._scipy import (
    center_of_mass,
    find_objects,
    maximum,
    mean,
    minimum,
    standard_deviation,
    sum_labels,
    variance,
)

__all__ = [
    "DEFAULT_PROPERTIES",
    "PROPERTIES",
    "center_of_mass",
    "filter_regions",
    "filter_regions_image",
    "find_objects",
    "label",
    "maximum",
    "mean",
    "minimum",
    "regionprops_columns",
    "regionprops_delayed",
    "regionprops_image",
    "regionprops_table",
    "relabel",
    "remove_small_objects",
    "standard_deviation",
    "sum_labels",
    "variance",
]
