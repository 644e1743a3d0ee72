"""Oracle cases for batchimg.filters."""

import numpy as np
import scipy.ndimage as ndi
from oracle import OpCase

from batchimg import filters

_rng = np.random.default_rng(1234)
#: non-separable footprints (2-D and 3-D), so the footprint path really runs
FOOTPRINT = {
    2: np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0]], bool),
    3: np.array([[[1, 0], [0, 1], [1, 1]], [[0, 1], [1, 1], [0, 0]]], bool),
}
#: random weights with even sizes on some axes
WEIGHTS = {2: _rng.standard_normal((4, 3)), 3: _rng.standard_normal((2, 3, 4))}


def _spread(values):
    """A user function of a window (generic_filter): its range."""
    return values.max() - values.min()


def _difference_line(iline, oline):
    """A user function of a whole line (generic_filter1d): a centred difference."""
    oline[...] = iline[2:] - 2 * iline[1:-1] + 0.5 * iline[:-2]


def _sobel_derivative(input, axis, output, mode, cval):
    """A user derivative (generic_gradient_magnitude / generic_laplace)."""
    return ndi.sobel(input, axis, output, mode, cval)


def _vectorized(module):
    """``vectorized_filter`` with the grid's mode (its ``cval`` only goes with 'constant')."""

    def call(image, mode="reflect", cval=None, **params):
        cval = cval if mode == "constant" else None
        return module.vectorized_filter(image, np.median, mode=mode, cval=cval, **params)

    return call


def _unsharp_oracle(image, sigma=1.0, amount=1.0, mode="reflect", cval=0.0, truncate=4.0):
    """The scipy lecture notes' sharpening, on the float64 image."""
    blurred = image.astype(np.float64)
    smooth = ndi.gaussian_filter(blurred, sigma, mode=mode, cval=cval, truncate=truncate)
    return blurred + amount * (blurred - smooth)


CASES = [
    OpCase(
        name="filters.gaussian_filter",
        op=filters.gaussian_filter,
        oracle=ndi.gaussian_filter,
        params=[dict(sigma=1.5), lambda n: dict(sigma=(0.7, 2.0, 1.0)[:n], order=1)],
        reach=6,
    ),
    OpCase(
        name="filters.gaussian_filter1d",
        op=filters.gaussian_filter1d,
        oracle=ndi.gaussian_filter1d,
        params=[dict(sigma=1.2, axis=0, order=2, radius=3)],
        reach=3,
        ndims=(2,),  # the same scipy call as gaussian_filter, which runs 3-D
        stack=False,  # no axes=: axis= names the one axis
    ),
    OpCase(
        name="filters.gaussian_gradient_magnitude",
        op=filters.gaussian_gradient_magnitude,
        oracle=ndi.gaussian_gradient_magnitude,
        params=[
            dict(sigma=1.5),
            lambda n: dict(sigma=(0.7, 2.0, 1.0)[:n], radius=(1, 7, 2)[:n]),
        ],
        reach=7,
        stack=False,  # scipy's axes= smooths every axis (tests/test_filters.py)
    ),
    OpCase(
        name="filters.gaussian_laplace",
        op=filters.gaussian_laplace,
        oracle=ndi.gaussian_laplace,
        params=[lambda n: dict(sigma=(1.2, 0.6, 2.0)[:n], truncate=3.0)],
        reach=6,
    ),
    OpCase(
        name="filters.laplace",
        op=filters.laplace,
        oracle=ndi.laplace,
        params=[{}],
        reach=3,  # thin chunks of 2; one-pixel chunks test depth == chunk
        ndims=(2,),  # 3-D: tests/test_filters.py property tests (1-pixel chunks cost)
    ),
    OpCase(
        name="filters.sobel",
        op=filters.sobel,
        oracle=ndi.sobel,
        params=[dict(axis=-2)],
        reach=3,
        stack=False,  # scipy's sobel has no axes=
    ),
    OpCase(
        name="filters.prewitt",
        op=filters.prewitt,
        oracle=ndi.prewitt,
        params=[{}],
        reach=3,
        ndims=(2,),  # the same code path as sobel, which runs 3-D
        stack=False,  # scipy's prewitt has no axes=
    ),
    OpCase(
        name="filters.uniform_filter",
        op=filters.uniform_filter,
        oracle=ndi.uniform_filter,
        # even sizes with origins; then a window wider than the thin chunks
        params=[lambda n: dict(size=(4, 3, 2)[:n], origin=(1, -1, 0)[:n]), dict(size=7)],
        reach=3,
    ),
    OpCase(
        name="filters.uniform_filter1d",
        op=filters.uniform_filter1d,
        oracle=ndi.uniform_filter1d,
        params=[dict(size=4, axis=-1, origin=-1)],
        reach=3,
        ndims=(2,),  # one uniform_filter pass, which runs 3-D
        stack=False,  # no axes=: axis= names the one axis
    ),
    OpCase(
        name="filters.median_filter",
        op=filters.median_filter,
        oracle=ndi.median_filter,
        params=[
            lambda n: dict(size=(4, 3, 5)[:n], origin=(-2, 1, 0)[:n]),
            lambda n: dict(footprint=FOOTPRINT[n]),
        ],
        reach=4,
        ndims=(2,),  # 3-D: rank_filter here and the property tests in test_filters.py
    ),
    OpCase(
        name="filters.minimum_filter",
        op=filters.minimum_filter,
        oracle=ndi.minimum_filter,
        params=[lambda n: dict(footprint=FOOTPRINT[n], origin=(-1, 1, 0)[:n])],
        reach=3,
        ndims=(2,),  # maximum_filter runs 3-D
    ),
    OpCase(
        name="filters.maximum_filter",
        op=filters.maximum_filter,
        oracle=ndi.maximum_filter,
        # axis 1 is wider than the whole axis in 2-D (19) and 3-D (11)
        params=[lambda n: dict(size=(2, 25, 3)[:n], origin=(-1, 3, 1)[:n])],
        reach=15,
    ),
    OpCase(
        name="filters.minimum_filter1d",
        op=filters.minimum_filter1d,
        oracle=ndi.minimum_filter1d,
        params=[dict(size=5, axis=0, origin=2)],
        reach=4,
        ndims=(2,),
        stack=False,
    ),
    OpCase(
        name="filters.maximum_filter1d",
        op=filters.maximum_filter1d,
        oracle=ndi.maximum_filter1d,
        params=[dict(size=2)],
        reach=2,
        ndims=(2,),
        stack=False,
    ),
    OpCase(
        name="filters.percentile_filter",
        op=filters.percentile_filter,
        oracle=ndi.percentile_filter,
        params=[lambda n: dict(percentile=-30, footprint=FOOTPRINT[n], origin=(0, 1, 0)[:n])],
        reach=3,
        ndims=(2,),  # median_filter and rank_filter run 3-D
    ),
    OpCase(
        name="filters.rank_filter",
        op=filters.rank_filter,
        oracle=ndi.rank_filter,
        params=[dict(rank=-2, size=4)],
        reach=3,
    ),
    OpCase(
        name="filters.correlate",
        op=filters.correlate,
        oracle=ndi.correlate,
        params=[lambda n: dict(weights=WEIGHTS[n], origin=(-1, 1, 0)[:n])],
        reach=4,
    ),
    OpCase(
        name="filters.correlate1d",
        op=filters.correlate1d,
        oracle=ndi.correlate1d,
        params=[dict(weights=[0.5, -1.0, 2.0, 0.25], axis=0, origin=1)],
        reach=3,
        ndims=(2,),
        stack=False,
    ),
    OpCase(
        name="filters.convolve1d",
        op=filters.convolve1d,
        oracle=ndi.convolve1d,
        params=[dict(weights=[1.0, 2.0, -3.0, 0.5], origin=-1)],
        reach=3,
        ndims=(2,),
        stack=False,
    ),
    OpCase(
        name="filters.generic_filter",
        op=filters.generic_filter,
        oracle=ndi.generic_filter,
        params=[lambda n: dict(function=_spread, footprint=FOOTPRINT[n], origin=(1, 0, 0)[:n])],
        reach=3,
        ndims=(2,),
    ),
    OpCase(
        name="filters.generic_filter1d",
        op=filters.generic_filter1d,
        oracle=ndi.generic_filter1d,
        params=[dict(function=_difference_line, filter_size=3, axis=0)],
        reach=3,
        ndims=(2,),
        stack=False,
    ),
    OpCase(
        name="filters.generic_gradient_magnitude",
        op=filters.generic_gradient_magnitude,
        oracle=ndi.generic_gradient_magnitude,
        params=[dict(derivative=_sobel_derivative)],
        ndims=(2,),
        stack=False,  # the user derivative sees every axis
    ),
    OpCase(
        name="filters.generic_laplace",
        op=filters.generic_laplace,
        oracle=ndi.generic_laplace,
        params=[dict(derivative2=_sobel_derivative)],
        ndims=(2,),
        stack=False,
    ),
    OpCase(
        name="filters.vectorized_filter",
        op=_vectorized(filters),
        oracle=_vectorized(ndi),
        params=[lambda n: dict(size=(4, 3, 2)[:n], origin=(1, -1, 0)[:n])],
        reach=3,
        ndims=(2,),
        stack=False,  # its axes= names the window's axes, a different rule
    ),
    OpCase(
        name="filters.convolve",
        op=filters.convolve,
        oracle=ndi.convolve,
        params=[lambda n: dict(weights=WEIGHTS[n], origin=(-1, 0, 1)[:n])],
        reach=4,
        ndims=(2,),  # correlate runs 3-D
    ),
    OpCase(
        name="filters.unsharp_mask",
        op=filters.unsharp_mask,
        oracle=_unsharp_oracle,
        params=[dict(sigma=1.5, amount=3.0)],
        reach=6,
    ),
]
