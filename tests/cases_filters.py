"""Oracle cases for batchimg.filters."""

import scipy.ndimage as ndi
from oracle import OpCase

from batchimg import filters

CASES = [
    OpCase(
        name="filters.gaussian_filter",
        op=filters.gaussian_filter,
        oracle=ndi.gaussian_filter,
        params=[dict(sigma=1.5), lambda n: dict(sigma=(0.7, 2.0, 1.0)[:n], order=1)],
        reach=6,
    ),
]
