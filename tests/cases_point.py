"""Oracle cases for batchimg.point (point operations: no modes, no stacks)."""

import dask.array as da
import numpy as np
from oracle import ALL_DTYPES, OpCase
from skimage.color import rgb2gray
from skimage.exposure import rescale_intensity
from skimage.filters import threshold_mean, threshold_otsu
from skimage.util import invert

from batchimg import point

INT_DTYPES = ("uint8", "uint16", "int32")


def threshold_oracle(image, value=None, method=None, percentile=None):
    """``image > t`` for the threshold scikit-image or numpy computes on the whole array."""
    if method is None:
        return image > value
    if method == "otsu":
        return image > threshold_otsu(image)
    if method == "mean":
        return image > threshold_mean(image)
    return image > np.percentile(image, percentile)


def astype_oracle(image, dtype, clip=False):
    if clip:
        info = np.iinfo(dtype)
        image = np.clip(image.astype(np.float64), info.min, info.max)
    return image.astype(dtype)


def _rgb(image):
    """Three channels, last, from one image (numpy or dask)."""
    stack = np.stack if isinstance(image, np.ndarray) else da.stack
    return stack([image, image[::-1], image[:, ::-1]], axis=-1)


CASES = [
    OpCase(
        name="point.threshold",
        op=point.threshold,
        oracle=threshold_oracle,
        params=[
            dict(value=100),
            dict(method="otsu"),
            dict(method="percentile", percentile=37.5),
            dict(method="percentile", percentile=100),
        ],
        modes=False,
        stack=False,
    ),
    # the mean threshold is exact for integer images only (see batchimg.point)
    OpCase(
        name="point.threshold",
        op=point.threshold,
        oracle=threshold_oracle,
        params=[dict(method="mean")],
        modes=False,
        dtypes=INT_DTYPES,
        stack=False,
    ),
    OpCase(
        name="point.rescale",
        op=point.rescale,
        oracle=rescale_intensity,
        params=[
            dict(),
            dict(out_range="uint8"),
            dict(in_range=(50, 150), out_range=(0, 1)),
            dict(in_range="dtype", out_range="image"),
        ],
        modes=False,
        stack=False,
    ),
    OpCase(
        name="point.astype",
        op=point.astype,
        oracle=astype_oracle,
        params=[dict(dtype="uint8", clip=True), dict(dtype="int16"), dict(dtype="float32")],
        modes=False,
        stack=False,
    ),
    OpCase(
        name="point.invert",
        op=point.invert,
        oracle=invert,
        params=[dict()],
        modes=False,
        dtypes=("bool", *ALL_DTYPES),
        stack=False,
    ),
    # BLAS rounds rgb2gray's dot product differently with the array's size, so chunked
    # results may differ by a few ulps (test_point.py bounds them); the table checks
    # the plumbing exactly after rounding both sides to float32.
    OpCase(
        name="point.rgb_to_gray",
        op=lambda image: point.rgb_to_gray(_rgb(image)).astype(np.float32),
        oracle=lambda image: rgb2gray(_rgb(image)).astype(np.float32),
        params=[dict()],
        modes=False,
        dtypes=("uint8", "uint16", "int32", "float64"),
        stack=False,
    ),
]
