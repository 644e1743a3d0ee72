"""batchimg.filters beyond the oracle grid: scipy's calling convention and errors, output=,
complex input, axes=, NaN, laziness, graph names, properties."""

from __future__ import annotations

import inspect
import pickle

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from helpers import assert_same, chunkings, random_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchimg import _networks, errors, filters
from batchimg._overlap import Spec

MODES = ("reflect", "constant", "nearest", "mirror", "wrap")
SCIPY_NAMES = [n for n in filters.__all__ if n != "unsharp_mask"]


def _image(shape=(9, 11), dtype="float64", seed=1234):
    return random_image(shape, dtype, seed)


def _nan_image(shape, fraction, seed=1234, dtype="float64"):
    """Small integers (many ties, as in real images) with NaN at ``fraction`` of the pixels."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 6, shape).astype(dtype)
    image[rng.random(shape) < fraction] = np.nan
    return image


# ---------------------------------------------------------------------------
# scipy's calling convention


@pytest.mark.parametrize("name", SCIPY_NAMES)
def test_signature_is_scipys(name):
    """Same names, order, kinds and defaults; the step builder takes the Spec first."""
    ours = inspect.signature(getattr(filters, name)).parameters.values()
    theirs = inspect.signature(getattr(ndi, name)).parameters.values()
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
    step = getattr(filters, name, None).__dict__.get("step")
    if step is not None:
        assert next(iter(inspect.signature(step).parameters)) == "spec"


def test_every_scipy_filter_is_offered():
    from scipy.ndimage import _filters

    assert set(_filters.__all__) == set(SCIPY_NAMES)


def test_positional_and_keyword_arguments_as_in_scipy():
    image = _image(dtype="uint8")
    x = da.from_array(image, chunks=4)
    assert_same(
        filters.gaussian_filter(x, 1.5, 0, np.float32, "wrap", 0.0, 3.0),
        ndi.gaussian_filter(image, 1.5, 0, np.float32, "wrap", 0.0, 3.0),
    )
    assert_same(
        filters.uniform_filter(input=x, size=3, output="float64"),
        ndi.uniform_filter(input=image, size=3, output="float64"),
    )
    assert_same(
        filters.rank_filter(x, -2, None, [[1, 0], [1, 1]], None, "nearest"),
        ndi.rank_filter(image, -2, None, [[1, 0], [1, 1]], None, "nearest"),
    )
    with pytest.raises(TypeError, match="positional argument"):
        filters.gaussian_filter(x, 1, 0, None, "reflect", 0.0, 4.0, 3)  # radius is keyword-only
    with pytest.raises(TypeError, match="missing a required argument: 'sigma'"):
        filters.gaussian_filter(x)


# ---------------------------------------------------------------------------
# output=


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("gaussian_filter", (1.0,)),
        ("gaussian_gradient_magnitude", (1.0,)),
        ("uniform_filter", (3,)),
        ("median_filter", (3,)),
        ("minimum_filter1d", (3,)),
        ("correlate1d", ([1.0, -2.0, 0.5],)),
        ("sobel", ()),
        ("generic_filter", (np.ptp, 3)),
    ],
)
def test_output_dtype_and_array(name, args):
    image = _image(dtype="uint8")
    x = da.from_array(image, chunks=(4, 5))
    for dtype in (np.float32, "int16", np.dtype("float64")):
        expected = getattr(ndi, name)(image, *args, output=dtype)
        assert_same(getattr(filters, name)(x, *args, output=dtype), expected)
    target = np.zeros(image.shape, np.float32)
    result = getattr(filters, name)(x, *args, output=target)
    assert result is target  # scipy returns the array it filled
    assert_same(target, getattr(ndi, name)(image, *args, output=np.float32))


def test_output_may_be_the_input_itself():
    image = np.arange(120.0).reshape(10, 12) % 7
    expected = ndi.minimum_filter(image, 3)
    filters.minimum_filter(da.from_array(image, chunks=4), 3, output=image)
    assert_same(image, expected)


def test_output_to_a_writable_array_that_is_not_numpy():
    class Target:
        """A minimal writable array (what Zarr or HDF5 datasets offer)."""

        def __init__(self, shape, dtype):
            self.data = np.zeros(shape, dtype)
            self.shape, self.dtype, self.ndim = shape, np.dtype(dtype), len(shape)

        def __setitem__(self, key, value):
            self.data[key] = value

    image = _image()
    target = Target(image.shape, np.float64)
    assert filters.uniform_filter(da.from_array(image, chunks=4), 4, output=target) is target
    assert_same(target.data, ndi.uniform_filter(image, 4))


def test_complex_results_follow_scipys_output_rules():
    image = _image()
    weights = np.array([[1, 2j], [0.5, -1]])
    x = da.from_array(image, chunks=4)
    with pytest.warns(UserWarning, match="promoting specified output dtype to complex"):
        actual = filters.correlate(x, weights, output=np.float32)
    assert_same(actual, ndi.correlate(image, weights, output=np.complex64))
    with pytest.raises(RuntimeError, match="output must have complex dtype"):
        ndi.correlate(image, weights, output=np.zeros(image.shape))
    with pytest.raises(errors.ParameterRuntimeError, match="output must have complex dtype"):
        filters.correlate(x, weights, output=np.zeros(image.shape))


# ---------------------------------------------------------------------------
# errors: scipy's builtin class, batchimg's message


def _x():
    return da.from_array(_image(), chunks=4)


ERRORS = [
    # (call on (module, image), batchimg class, message)
    (lambda f, x: f.gaussian_filter(x, (1, 2, 3)), errors.ParameterRuntimeError,
     r"sigma must be a number or have one value per axis \(2\) \(sequence argument must have "
     r"length equal to input rank\); got \(1, 2, 3\)\."),
    (lambda f, x: f.gaussian_filter(x, 1, axes=(0, 0)), errors.InvalidParameterError,
     r"axes must be unique; got \(0, 0\)\."),
    (lambda f, x: f.uniform_filter(x, 3, axes=(1.5,)), errors.ParameterTypeError,
     r"axes must hold integers \('float' object cannot be interpreted as an integer\)"),
    (lambda f, x: f.median_filter(x, 3, axes=(-3,)), errors.InvalidParameterError,
     r"axes must be in range for an array of 2 dimensions \(specified axis -3 is out of range\)"),
    (lambda f, x: f.laplace(x, axes=object()), errors.InvalidParameterError,
     r"axes must be an integer, iterable of integers, or None; got <object"),
    (lambda f, x: f.sobel(x, axis=2), errors.ParameterIndexError,
     r"axis must be in \[-2, 2\) for an array of 2 dimensions; got 2\."),
    (lambda f, x: f.correlate1d(x, [1, 2], axis=1.5), errors.ParameterTypeError,
     r"axis must be an integer; got 1\.5\."),
    (lambda f, x: f.gaussian_filter(x, 1, mode="reflekt"), errors.ParameterRuntimeError,
     r"mode must be one of 'reflect', .* \(boundary mode not supported\); got 'reflekt'\. "
     r"Did you mean 'reflect'\?"),
    (lambda f, x: f.correlate(x, np.ones((3, 3)), mode=("reflect", "wrap")),
     errors.ParameterRuntimeError, r"A sequence of modes is not supported"),
    (lambda f, x: f.uniform_filter(x, 3, origin=2), errors.InvalidParameterError,
     r"origin must lie in \[-\(size // 2\), \(size - 1\) // 2\] = \[-1, 1\] for a window of 3 "
     r"\(invalid origin\); got 2\."),
    (lambda f, x: f.correlate(x, np.ones(3)), errors.ParameterRuntimeError,
     r"weights must have one dimension per filtered axis: weights\.ndim \(1\) must match "
     r"len\(axes\) \(2\)"),
    (lambda f, x: f.median_filter(x, footprint=np.ones((3, 3, 3))), errors.ParameterRuntimeError,
     r"footprint\.ndim \(3\) must match len\(axes\) \(2\)"),
    (lambda f, x: f.generic_filter(x, np.ptp, footprint=np.ones((1, 0))),
     errors.ParameterRuntimeError, r"footprint must have no empty dimension: footprint\.ndim "
     r"\(2\) must match len\(axes\) \(2\) once empty dimensions are dropped; got shape \(1, 0\)"),
    (lambda f, x: f.generic_filter(x, np.ptp, 1.0), errors.ParameterTypeError,
     r"scipy\.ndimage\.generic_filter; scipy says: 'float' object cannot be interpreted"),
    (lambda f, x: f.correlate1d(x, np.ones((2, 2))), errors.ParameterRuntimeError,
     r"weights must be a non-empty 1-D array \(no filter weights given\); got shape \(2, 2\)\."),
    (lambda f, x: f.gaussian_filter1d(x, 1, radius=-1), errors.InvalidParameterError,
     r"radius must be a nonnegative integer .*; got -1\."),
    (lambda f, x: f.minimum_filter1d(x, 0), errors.ParameterRuntimeError,
     r"size must be >= 1 \(incorrect filter size\); got 0\."),
    (lambda f, x: f.maximum_filter(x, footprint=np.zeros((2, 2))), errors.InvalidParameterError,
     r"footprint must select at least one pixel \(All-zero footprint is not supported\)"),
    (lambda f, x: f.minimum_filter(x), errors.ParameterRuntimeError,
     r"size or footprint must be given \(no footprint provided\); got neither\."),
    (lambda f, x: f.median_filter(x), errors.ParameterRuntimeError,
     r"size or footprint must be given \(no footprint or filter size provided\)"),
    (lambda f, x: f.generic_filter(x, np.sum), errors.ParameterRuntimeError,
     r"size or footprint must be given \(no footprint or filter size provided\)"),
    (lambda f, x: f.percentile_filter(x, 101, size=3), errors.ParameterRuntimeError,
     r"percentile must be in \[-100, 100\] \(invalid percentile\); got 101\."),
    (lambda f, x: f.rank_filter(x, 9, size=3), errors.ParameterRuntimeError,
     r"rank must be in \[-9, 8\] for a window of 9 pixels \(rank not within filter footprint "
     r"size\); got 9\."),
    (lambda f, x: f.rank_filter(x, 0.5, size=3), errors.ParameterTypeError,
     r"rank must be an integer; got 0\.5\."),
    (lambda f, x: f.generic_filter(x, 5, size=3), errors.InvalidParameterError,
     r"function must be callable or a LowLevelCallable \(invalid callable given\); got 5\."),
    (lambda f, x: f.generic_filter1d(x, np.sum, 0), errors.ParameterRuntimeError,
     r"filter_size must be >= 1 \(invalid filter size\); got 0\."),
    (lambda f, x: f.generic_filter(x, np.sum, 3, output="U"), errors.ParameterRuntimeError,
     r"output must have numeric dtype; got 'U'\."),
    (lambda f, x: f.generic_filter(x, np.sum, 3, output="foo"), errors.ParameterTypeError,
     r"output must be a dtype or an array; got 'foo', which names no dtype\."),
    (lambda f, x: f.generic_laplace(x, 5), errors.ParameterTypeError,
     r"the derivative must be callable; got 5\."),
    (lambda f, x: f.gaussian_filter(x, 1, output=np.zeros((2, 2))), errors.ParameterRuntimeError,
     r"output must have the input's shape \(9, 11\) \(output shape not correct\); got an array "
     r"of shape \(2, 2\)\."),
    # scipy's own words, in batchimg's wrapping, where the check is scipy's
    (lambda f, x: f.gaussian_filter(x, 1, order=-1), errors.InvalidParameterError,
     r"the arguments must be valid for scipy\.ndimage\.gaussian_filter; scipy says: order must "
     r"be non-negative\."),
    (lambda f, x: f.uniform_filter1d(x, "3"), errors.ParameterTypeError,
     r"the arguments must be valid for scipy\.ndimage\.uniform_filter1d; scipy says: '<' not "
     r"supported"),
    (lambda f, x: f.uniform_filter1d(x, 3, axis=5), errors.ParameterIndexError,
     r"scipy\.ndimage\.uniform_filter1d; scipy says: axis 5 is out of bounds"),
    (lambda f, x: f.uniform_filter1d(x, 0), errors.ParameterRuntimeError,
     r"scipy\.ndimage\.uniform_filter1d; scipy says: incorrect filter size\."),
]  # fmt: skip


@pytest.mark.parametrize(("call", "cls", "match"), ERRORS)
def test_errors_are_scipys_builtin_with_batchimg_messages(call, cls, match):
    image = _image()
    theirs = _scipy_error(lambda: call(ndi, image))
    with pytest.raises(cls, match=match) as ours:
        call(filters, da.from_array(image, chunks=4))
    _assert_catchable_as(ours.value, theirs)


def _scipy_error(call):
    """The exception scipy raises for ``call`` (the test fails if scipy accepts it)."""
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - any class: the test compares them
        return exc
    raise AssertionError("scipy accepts this call")


BUILTINS = (RuntimeError, TypeError, IndexError, ValueError)


def _assert_catchable_as(ours, theirs):
    """``except`` clauses written for scipy's error catch ours (ours is also a BatchimgError)."""
    for builtin in BUILTINS:
        if isinstance(theirs, builtin):
            assert isinstance(ours, builtin), (type(theirs), type(ours))
    assert isinstance(ours, errors.BatchimgError)


VECTORIZED_ERRORS = [
    (dict(function="eggplant", size=2), r"`function` must be a callable; got 'eggplant'\."),
    (dict(), r"Either `size` or `footprint` must be provided; got neither\."),
    (dict(size=2, footprint=np.ones((2, 2))), r"Either `size` or `footprint` may be provided, "
     r"not both; got size=2 and a footprint\."),
    (dict(size=(1, -1)), r"All elements of `size` must be positive integers; got \(1, -1\)\."),
    (dict(size=(1, 2), axes=(0, 1, 2)), r"The length of `axes` may not exceed the "
     r"dimensionality of `input` \(2\); got axes=\(0, 1, 2\)\."),
    (dict(size=(1,)), r"`axes` must be compatible with the dimensionality of the window; got a "
     r"window of 1 dimensions, axes=None and an image of 2\."),
    (dict(size=2, origin=(1, 1.5)), r"All elements of `origin` must be integers; got \(1, 1\.5\)"),
    (dict(size=2, origin=(1, 2, 3)), r"`origin` must be an integer or tuple of integers with "
     r"length equal to the number of axes \(2\); got \(1, 2, 3\)\."),
    (dict(size=2, mode="coconut"), r"`mode` must be one of reflect, .*; got 'coconut'\."),
    (dict(size=2, mode="valid", origin=1), r"`mode='valid'` is incompatible with use of "
     r"`origin`; got origin=1\."),
    (dict(size=2, mode="valid", cval=1), r"Use of `cval` is compatible only with "
     r"`mode='constant'`; got mode='valid'\."),
    (dict(size=2, mode="constant", cval="a duck"), r"scipy says: `cval` must include only"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "match"), VECTORIZED_ERRORS)
def test_vectorized_filter_errors_keep_scipys_words(kwargs, match):
    image = _image((10, 10))
    kwargs = dict({"function": np.mean}, **kwargs)
    theirs = _scipy_error(lambda: ndi.vectorized_filter(image, **kwargs))
    assert isinstance(theirs, ValueError)
    with pytest.raises(errors.InvalidParameterError, match=match) as ours:
        filters.vectorized_filter(da.from_array(image, chunks=3), **kwargs)
    _assert_catchable_as(ours.value, theirs)


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x: f.median_filter(x, 3),
        lambda f, x: f.minimum_filter1d(x, 3),
        lambda f, x: f.generic_filter(x, np.sum, 3),
        lambda f, x: f.rank_filter(x, 1, 3),
    ],
)
def test_complex_input_is_refused_where_scipy_refuses_it(call):
    image = _image() + 1j
    with pytest.raises(TypeError, match="Complex type not supported"):
        call(ndi, image)
    with pytest.raises(errors.InputTypeError, match=r"image must be real-valued for \w+ "):
        call(filters, image)


def test_unsupported_dtypes_are_refused_as_scipy_refuses_them():
    image = _image().astype(np.float16)
    with pytest.raises(RuntimeError, match="not supported"):
        ndi.gaussian_filter(image, 1)
    with pytest.raises(
        errors.InputRuntimeError,
        match=r"image dtype must be one scipy\.ndimage\.gaussian_filter supports; scipy says: "
        r"array type dtype\('float16'\) not supported",
    ):
        filters.gaussian_filter(image, 1)
    with pytest.raises(errors.InputTypeError, match=r"real-valued for unsharp_mask"):
        filters.unsharp_mask(image + 1j)


def test_what_scipy_accepts_is_accepted():
    """scipy skips axes whose sigma or size is at most 1e-15 or 1, and takes empty axes."""
    image = _image()
    x = da.from_array(image, chunks=4)
    for call in [
        lambda f, a: f.gaussian_filter(a, -1.0),
        lambda f, a: f.uniform_filter(a, 0),
        lambda f, a: f.minimum_filter(a, size=(1, 0)),
        lambda f, a: f.gaussian_laplace(a, 1.0, axes=()),
        lambda f, a: f.uniform_filter(a, 2.0),
        lambda f, a: f.gaussian_filter1d(a, -0.1),
    ]:
        assert_same(call(filters, x), call(ndi, image))
    with pytest.warns(UserWarning, match="ignoring size because footprint is set"):
        actual = filters.median_filter(x, 3, np.ones((2, 2)))
    with pytest.warns(UserWarning, match="ignoring size because footprint is set"):
        expected = ndi.median_filter(image, 3, np.ones((2, 2)))
    assert_same(actual, expected)


# ---------------------------------------------------------------------------
# complex input and axes=


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("gaussian_filter", (1.5,)),
        ("gaussian_filter1d", (1.0,)),
        ("uniform_filter", (3,)),
        ("uniform_filter1d", (4,)),
        ("correlate", (np.array([[1, 2j], [0.5, -1]]),)),
        ("convolve1d", ([1j, 2, -1],)),
        ("sobel", ()),
        ("prewitt", ()),
        ("laplace", ()),
        ("gaussian_laplace", (1.5,)),
    ],
)
def test_complex_input_follows_scipy(name, args):
    image = _image() + 1j * _image(seed=5)
    expected = getattr(ndi, name)(image, *args, mode="wrap")
    actual = getattr(filters, name)(da.from_array(image, chunks=(4, 3)), *args, mode="wrap")
    assert_same(actual, expected)


FOOTPRINT = np.array([[1, 0, 1], [0, 1, 1]], bool)


def _with_third_axis(params):
    """The same window with a third axis: length 1 for kernels, 2 for sizes."""
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, np.ndarray):
            out[key] = value[..., None]
        elif key == "origin":
            out[key] = (*value, 0)
        elif key == "size":
            out[key] = (*value, 2)
    return out


@pytest.mark.parametrize("axes", [(2, 0), (0, 2), (1, 0), (2, 1, 0)])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("laplace", {}),
        ("uniform_filter", dict(size=(4, 3), origin=(1, -1))),
        ("median_filter", dict(size=(4, 3))),
        ("minimum_filter", dict(footprint=FOOTPRINT, origin=(0, 1))),
        ("maximum_filter", dict(size=(2, 5), origin=(0, -2))),
        ("percentile_filter", dict(percentile=30, footprint=FOOTPRINT)),
        ("rank_filter", dict(rank=-2, size=(3, 4))),
        ("correlate", dict(weights=np.arange(6.0).reshape(2, 3) - 2)),
        ("convolve", dict(weights=np.arange(6.0).reshape(2, 3) - 2, origin=(-1, 0))),
        ("generic_filter", dict(function=np.ptp, footprint=FOOTPRINT)),
        ("gaussian_filter", dict(sigma=(1.0, 2.0), order=(1, 0))),
        ("gaussian_laplace", dict(sigma=(1.0, 2.0))),
        ("gaussian_gradient_magnitude", dict(sigma=1.5)),
    ],
)
def test_axes_have_scipys_meaning(name, params, axes):
    """scipy maps sizes, footprints, origins and sigmas to axes by its own (mixed) rules."""
    image = _image((7, 9, 8))
    if len(axes) == 3:
        params = _with_third_axis(params)
        if "sigma" in params and not np.isscalar(params["sigma"]):
            params["sigma"] = (*params["sigma"], 0.5)
            params.pop("order", None)
    x = da.from_array(image, chunks=(3, 4, 3))
    try:
        expected = getattr(ndi, name)(image, **params, mode="wrap", axes=axes)
    except ValueError as exc:
        assert "origin" in str(exc)  # scipy's mixed mapping puts the origin out of range
        with pytest.raises(errors.InvalidParameterError, match="origin must lie in"):
            getattr(filters, name)(x, **params, mode="wrap", axes=axes)
        return
    assert_same(getattr(filters, name)(x, **params, mode="wrap", axes=axes), expected)


def test_gaussian_gradient_magnitude_axes_smooth_every_axis_as_scipy_does():
    """scipy 1.17's gaussian_gradient_magnitude(axes=) still smooths the other axes."""
    stack = _image((4, 12, 10))
    expected = ndi.gaussian_gradient_magnitude(stack, 2.0, mode="wrap", axes=(1, 2))
    looped = np.stack([ndi.gaussian_gradient_magnitude(s, 2.0, mode="wrap") for s in stack])
    assert not np.array_equal(expected, looped)
    actual = filters.gaussian_gradient_magnitude(
        da.from_array(stack, chunks=(1, 5, 4)), 2.0, mode="wrap", axes=(1, 2)
    )
    assert_same(actual, expected)


@pytest.mark.parametrize("name", ["gaussian_gradient_magnitude", "gaussian_laplace"])
@pytest.mark.parametrize("axes", [None, (2, 0, 1), (1, 0, 2)])
@pytest.mark.parametrize("mode", ["mirror", ("wrap", "reflect", "nearest"), "wrap"])
def test_gaussian_derivatives_every_axis_order_and_mixed_modes(name, axes, mode):
    """Mixing wrap with other modes keeps whole axes: scipy uses one mode per derivative."""
    image = _image((7, 9, 8))
    expected = getattr(ndi, name)(image, (1.0, 1.5, 0.7), mode=mode, axes=axes)
    x = da.from_array(image, chunks=(3, 4, 3))
    actual = getattr(filters, name)(x, (1.0, 1.5, 0.7), mode=mode, axes=axes)
    assert_same(actual, expected)
    whole = isinstance(mode, tuple)
    assert (actual.chunks == tuple((n,) for n in image.shape)) == whole


# ---------------------------------------------------------------------------
# NaN: scipy's answer for any chunking


NAN_CALLS = [
    ("minimum_filter", dict(size=4)),
    ("maximum_filter", dict(size=(3, 5), origin=(1, -2))),
    ("minimum_filter1d", dict(size=5, axis=0)),
    ("maximum_filter1d", dict(size=3, origin=-1)),
    ("rank_filter", dict(rank=0, size=3)),
    ("rank_filter", dict(rank=-1, footprint=np.ones((2, 3)))),
    ("median_filter", dict(size=(3, 4))),
    ("percentile_filter", dict(percentile=70, footprint=FOOTPRINT)),
    ("minimum_filter", dict(footprint=FOOTPRINT)),
]


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
@pytest.mark.parametrize(("name", "params"), NAN_CALLS, ids=[c[0] for c in NAN_CALLS])
def test_nan_images_give_scipys_answer_for_every_chunking(name, params, mode):
    image = _nan_image((23, 19), 0.4)
    expected = getattr(ndi, name)(image, **params, mode=mode)
    for chunks in chunkings(image.shape, 3).values():
        actual = getattr(filters, name)(da.from_array(image, chunks=chunks), **params, mode=mode)
        assert_same(actual, expected)


@pytest.mark.parametrize("name", ["median_filter", "rank_filter", "percentile_filter"])
def test_nan_in_1d_rank_filters(name):
    """scipy's 1-D rank path is a running double heap: NaN travels along the line."""
    image = _nan_image((80,), 0.3)
    args = {"median_filter": (), "rank_filter": (2,), "percentile_filter": (40,)}[name]
    expected = getattr(ndi, name)(image, *args, size=5)
    # the same values through scipy's N-D path differ: the 1-D answer depends on history
    assert not np.array_equal(expected, getattr(ndi, name)(image[None], *args, size=(1, 5))[0])
    for chunks in [(7,), (1,), (80,), (30, 50)]:
        x = da.from_array(image, chunks=chunks)
        assert_same(getattr(filters, name)(x, *args, size=5), expected)


def test_nan_cval_reaches_integer_images_too():
    image = _image((20, 17), "int32")
    kw = dict(size=3, mode="constant", cval=np.nan, output=np.float64)
    expected = ndi.minimum_filter(image, **kw)
    actual = filters.minimum_filter(da.from_array(image, chunks=(4, 5)), **kw)
    assert_same(actual, expected)
    assert actual.chunks == ((4,) * 5, (17,))  # each pass keeps only its own axis whole


def test_only_nan_capable_lines_are_kept_whole():
    """Float box minimum: one pass per axis, each with its line whole (a task holds one
    line of blocks); integers, footprints and N-D ranks: halos only."""
    floats = da.from_array(_image((24, 20)), chunks=(6, 5))
    ints = da.from_array(_image((24, 20), "uint16"), chunks=(6, 5))
    assert filters.minimum_filter(floats, 3).chunks == ((6,) * 4, (20,))
    assert filters.rank_filter(floats, -1, (3, 2)).chunks == ((6,) * 4, (20,))
    assert filters.maximum_filter1d(floats, 3, axis=0).chunks == ((24,), (5,) * 4)
    # the workflow's one step holds both axes whole: scipy's N-D call on each image
    step = filters.minimum_filter.step(Spec(2, np.dtype(float), (24, 20)), 3)
    assert step.depth == (2**40, 2**40)
    assert len(filters.minimum_filter(ints, 3).chunks[0]) == 4
    assert len(filters.minimum_filter(floats, footprint=FOOTPRINT).chunks[0]) == 4
    assert len(filters.median_filter(floats, 3).chunks[0]) == 4


@pytest.mark.parametrize("name", ["minimum_filter", "uniform_filter", "percentile_filter"])
def test_whole_line_passes_hold_one_line_of_blocks_per_task(name):
    """A 3-D float volume: no task computes more than one line of blocks."""
    from dask.callbacks import Callback

    image = _nan_image((16, 12, 10), 0.2)
    args = (100,) if name == "percentile_filter" else ()
    largest = []

    class Sizes(Callback):
        def _posttask(self, key, result, dsk, state, id):
            if not str(key).startswith(("finalize", "original-")):  # the result itself
                largest.append(getattr(result, "size", 0))

    with Sizes():
        actual = getattr(filters, name)(da.from_array(image, chunks=(4, 4, 5)), *args, 3)
        values = actual.compute(scheduler="sync")
    assert_same(values, getattr(ndi, name)(image, *args, 3))
    assert 0 < max(largest) <= 16 * 4 * 5 < image.size


@st.composite
def nan_images(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 14), min_size=ndim, max_size=ndim)))
    chunks = tuple(_split(draw, n) for n in shape)
    image = _nan_image(shape, draw(st.sampled_from([0.05, 0.3, 0.7])), draw(st.integers(0, 999)))
    return image.astype(draw(st.sampled_from(["float32", "float64"]))), chunks


def _split(draw, n):
    sizes, left = [], n
    while left:
        c = draw(st.integers(1, left))
        sizes.append(c)
        left -= c
    return tuple(sizes)


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(
    data=nan_images(),
    size=st.integers(1, 6),
    mode=st.sampled_from(MODES),
    name=st.sampled_from(["minimum_filter", "maximum_filter", "median_filter", "rank_filter"]),
)
def test_property_nan_order_filters(data, size, mode, name):
    image, chunks = data
    args = (-1,) if name == "rank_filter" else ()
    expected = getattr(ndi, name)(image, *args, size=size, mode=mode)
    actual = getattr(filters, name)(
        da.from_array(image, chunks=chunks), *args, size=size, mode=mode
    )
    assert_same(actual, expected)


# ---------------------------------------------------------------------------
# filters wider than a chunk and than the whole axis


WIDE = [
    ("uniform_filter", dict(size=(15, 30))),
    ("median_filter", dict(size=(15, 3))),
    ("maximum_filter", dict(size=(1, 40), origin=(0, 19))),
    ("rank_filter", dict(rank=3, footprint=np.tri(13, 2, dtype=bool))),
    ("correlate", dict(weights=np.linspace(-1, 1, 21).reshape(1, 21))),
    ("convolve", dict(weights=np.linspace(-1, 1, 24).reshape(12, 2), origin=(5, 0))),
    ("gaussian_laplace", dict(sigma=(4.0, 9.0))),
    ("gaussian_gradient_magnitude", dict(sigma=6.0)),
    ("uniform_filter1d", dict(size=25, axis=0)),
    ("correlate1d", dict(weights=np.linspace(-1, 1, 17))),
    ("generic_filter", dict(function=np.ptp, size=(11, 2))),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "params"), WIDE, ids=[w[0] for w in WIDE])
def test_filters_wider_than_chunks_and_axes(name, params, mode):
    image = _image((9, 11), "uint16")
    expected = getattr(ndi, name)(image, **params, mode=mode, cval=3)
    for chunks in [(2, 3), (1, 11), (9, 1), (4, 5)]:
        actual = getattr(filters, name)(
            da.from_array(image, chunks=chunks), **params, mode=mode, cval=3
        )
        assert_same(actual, expected)


def test_uniform_filter_on_floats_keeps_whole_lines():
    """scipy's running sum carries a NaN to the end of its line; so must we."""
    image = _image((12, 10))
    image[0, 0] = np.nan
    expected = ndi.uniform_filter(image, 3)
    assert np.isnan(expected[-1, 0])  # far beyond the window: the running sum at work
    actual = filters.uniform_filter(da.from_array(image, chunks=(3, 4)), 3)
    assert actual.chunks == ((3,) * 4, (10,))  # one pass per axis, each line whole
    assert_same(actual, expected)
    ints = da.from_array(_image((12, 10), "int32"), chunks=(3, 4))
    # integers sum exactly: their blocks only carry the window's halo ...
    assert len(filters.uniform_filter(ints, 3).chunks[0]) > 1
    # ... unless a float output makes the second pass sum floats, or cval is fractional
    assert filters.uniform_filter(ints, 3, output=float).chunks == ((3,) * 4, (10,))
    kw = dict(mode="constant", cval=0.5)
    assert filters.uniform_filter(ints, 3, **kw).chunks == ((3,) * 4, (10,))
    assert_same(filters.uniform_filter(ints, 3, **kw), ndi.uniform_filter(ints.compute(), 3, **kw))


# ---------------------------------------------------------------------------
# user functions


def test_generic_filter_extra_arguments_and_low_level_callables():
    image = _image((12, 10))
    x = da.from_array(image, chunks=(5, 4))

    def weighted(values, scale, *, shift):
        return values.max() * scale + shift

    kw = dict(size=(3, 2), extra_arguments=(2.0,), extra_keywords={"shift": 1.0})
    assert_same(
        filters.generic_filter(x, weighted, **kw), ndi.generic_filter(image, weighted, **kw)
    )

    def line(iline, oline, k):
        oline[...] = np.cumsum(iline)[k:] * 0 + iline[k:]  # uses the whole line

    kw = dict(filter_size=3, axis=0, extra_arguments=(2,))
    assert_same(filters.generic_filter1d(x, line, **kw), ndi.generic_filter1d(image, line, **kw))
    assert filters.generic_filter1d(x, line, **kw).chunks[0] == (12,)


def test_generic_derivatives_run_on_the_whole_array():
    image = _image((12, 10))
    calls = []

    def derivative(input, axis, output, mode, cval):
        calls.append(input.shape)
        return ndi.correlate1d(input, [-1, 0, 0, 1], axis, output, mode, cval)

    out = filters.generic_gradient_magnitude(da.from_array(image, chunks=(5, 4)), derivative)
    assert calls == []  # lazy
    assert_same(out, ndi.generic_gradient_magnitude(image, derivative))
    assert set(calls) == {(12, 10)}


@pytest.mark.parametrize("mode", ["valid", "reflect", "grid-mirror", "constant", "wrap"])
def test_vectorized_filter_modes_footprints_and_output(mode):
    image = _image((11, 9))
    x = da.from_array(image, chunks=(4, 3))
    for kw in [dict(size=(3, 4)), dict(footprint=FOOTPRINT), dict(size=2, axes=0)]:
        expected = ndi.vectorized_filter(image, np.median, mode=mode, **kw)
        assert_same(filters.vectorized_filter(x, np.median, mode=mode, **kw), expected)
    target = np.zeros(expected.shape)
    assert filters.vectorized_filter(x, np.median, mode=mode, output=target, size=2, axes=0) is (
        target
    )
    assert_same(target, expected)


# ---------------------------------------------------------------------------
# laziness and graph hygiene

CALLS = {
    "gaussian_filter1d": lambda x: filters.gaussian_filter1d(x, 1.0),
    "gaussian_gradient_magnitude": lambda x: filters.gaussian_gradient_magnitude(x, 1.0),
    "gaussian_laplace": lambda x: filters.gaussian_laplace(x, 1.0),
    "laplace": lambda x: filters.laplace(x),
    "sobel": lambda x: filters.sobel(x, 0),
    "prewitt": lambda x: filters.prewitt(x),
    "uniform_filter": lambda x: filters.uniform_filter(x, 4),
    "uniform_filter1d": lambda x: filters.uniform_filter1d(x, 4),
    "median_filter": lambda x: filters.median_filter(x, 3),
    "minimum_filter": lambda x: filters.minimum_filter(x, footprint=FOOTPRINT),
    "maximum_filter1d": lambda x: filters.maximum_filter1d(x, 3),
    "percentile_filter": lambda x: filters.percentile_filter(x, 20, size=3),
    "rank_filter": lambda x: filters.rank_filter(x, 1, size=3),
    "correlate": lambda x: filters.correlate(x, np.ones((2, 3))),
    "convolve1d": lambda x: filters.convolve1d(x, np.ones(3)),
    "generic_filter": lambda x: filters.generic_filter(x, np.ptp, 3),
    "vectorized_filter": lambda x: filters.vectorized_filter(x, np.mean, size=3),
    "unsharp_mask": lambda x: filters.unsharp_mask(x, 1.0, amount=2.0),
}


class _Exploding:
    """An array-like whose every read fails and is counted."""

    shape = (9, 11)
    dtype = np.dtype("float64")
    ndim = 2

    def __init__(self):
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        raise AssertionError("a pixel was read while building the graph")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_building_a_graph_reads_nothing(name):
    source = _Exploding()
    x = da.from_array(source, chunks=(4, 5), meta=np.empty((0, 0)))
    out = CALLS[name](x)
    assert isinstance(out, da.Array)
    assert source.reads == 0
    with pytest.raises(AssertionError, match="a pixel was read"):
        out.compute()
    assert source.reads > 0


@pytest.mark.parametrize("name", sorted(CALLS))
def test_graph_names_are_deterministic(name):
    image = _image()
    a = CALLS[name](da.from_array(image, chunks=4))
    b = CALLS[name](da.from_array(image, chunks=4))
    assert a.name == b.name
    assert a.name.startswith(name)
    other = CALLS[name](da.from_array(image + 1, chunks=4))
    assert other.name != a.name
    assert len(pickle.dumps(a.__dask_graph__())) < 200_000


def test_graph_names_follow_parameters():
    x = da.from_array(_image(), chunks=4)
    names = {
        filters.median_filter(x, 3).name,
        filters.median_filter(x, 3, mode="wrap").name,
        filters.median_filter(x, 3, cval=1.0, mode="constant").name,
        filters.median_filter(x, 3, origin=1).name,
        filters.median_filter(x, 3, axes=1).name,
        filters.median_filter(x, 3, output=np.float32).name,
        filters.percentile_filter(x, 50, size=3).name,
        filters.correlate(x, np.ones((3, 3))).name,
        filters.correlate(x, np.full((3, 3), 2.0)).name,
    }
    assert len(names) == 9


def test_step_builders_are_exposed_with_scipy_reach():
    spec = Spec(2, np.dtype("uint8"))
    # the larger side of each window: size 4 origin -2 reaches 0 back and 3 ahead
    assert filters.median_filter.step(spec, size=(4, 3), origin=(-2, 1)).depth == (3, 2)
    assert filters.convolve.step(spec, np.ones((2, 5)), origin=(-1, 2)).depth == (1, 4)
    assert filters.correlate1d.step(spec, np.ones(4), axis=0, origin=1).depth == (3, 0)
    assert filters.sobel.step(spec).depth == (1, 1)
    assert filters.gaussian_laplace.step(spec, 2.0, truncate=2.0).depth == (4, 4)
    assert filters.uniform_filter.step(spec, (1, 3)).depth == (0, 1)
    assert filters.unsharp_mask.step(spec).dtype == np.float64
    assert filters.gaussian_filter.step(spec, 1.0, output=np.float32).dtype == np.float32
    assert filters.correlate.step(spec, [[1j]]).dtype == np.complex64


# ---------------------------------------------------------------------------
# properties: random shapes, irregular chunkings and parameters


@st.composite
def chunked_images(draw, max_ndim=3, dtypes=("float64", "uint8", "int32", "float32")):
    ndim = draw(st.integers(1, max_ndim))
    shape = tuple(draw(st.lists(st.integers(1, 12), min_size=ndim, max_size=ndim)))
    chunks = tuple(_split(draw, n) for n in shape)
    dtype = draw(st.sampled_from(dtypes))
    image = random_image(shape, dtype, seed=draw(st.integers(0, 2**16)))
    return image, chunks


@PROPERTY
@given(
    data=chunked_images(),
    size=st.integers(1, 8),
    mode=st.sampled_from(MODES),
    shift=st.integers(-4, 4),
)
def test_property_uniform_and_rank_filters(data, size, mode, shift):
    image, chunks = data
    origin = max(-(size // 2), min(shift, (size - 1) // 2))
    x = da.from_array(image, chunks=chunks)
    for name, args in [
        ("uniform_filter", (size,)),
        ("median_filter", (size,)),
        ("maximum_filter", (size,)),
        ("rank_filter", (-1 if size == 1 else 1, size)),
        ("percentile_filter", (70, size)),
        ("uniform_filter1d", (size,)),
        ("minimum_filter1d", (size,)),
    ]:
        expected = _scipy_window(name, image, args, mode=mode, cval=2, origin=origin)
        actual = getattr(filters, name)(x, *args, mode=mode, cval=2, origin=origin)
        assert_same(actual, expected)


def _scipy_window(name, image, args, **kw):
    """scipy's answer; for a 1-pixel 1-D rank filter (undefined in scipy), its N-D path's."""
    if image.shape == (1,) and name in ("median_filter", "rank_filter", "percentile_filter"):
        *lead, size = args
        kw["origin"] = (0, kw["origin"])
        return getattr(ndi, name)(image[None], *lead, (1, size), **kw)[0]
    return getattr(ndi, name)(image, *args, **kw)


def test_short_1d_blocks_of_a_long_line_extend_it_as_scipy_does():
    """scipy's 1-D rank path extends a line shorter than the window wrongly; a short
    block of a long line must not meet that."""
    image = _image((40,), "int32")
    for mode in MODES:
        expected = ndi.median_filter(image, 7, mode=mode, origin=2)
        for chunks in [(1, 39), (3, 34, 3), (40,)]:
            x = da.from_array(image, chunks=chunks)
            assert_same(filters.median_filter(x, 7, mode=mode, origin=2), expected)
    short = image[:3]  # a whole line that short keeps scipy's own answer
    assert_same(
        filters.median_filter(short, 5, mode="mirror"), ndi.median_filter(short, 5, mode="mirror")
    )


def test_1d_rank_filters_of_one_pixel_give_scipys_defined_answer():
    """scipy 1.17's 1-D rank path returns uninitialised memory for a window with a
    positive origin reaching past a 1-pixel line; we give its N-D path's answer."""
    image = np.array([106.28651105])
    for name, args in [
        ("median_filter", (5,)),
        ("rank_filter", (1, 5)),
        ("percentile_filter", (70, 5)),
    ]:
        actual = getattr(filters, name)(da.from_array(image, chunks=1), *args, origin=1)
        expected = getattr(ndi, name)(image[None], *args[:-1], (1, 5), origin=(0, 1))[0]
        assert_same(actual, expected)
        assert actual.compute()[0] == image[0]


@PROPERTY
@given(
    data=chunked_images(),
    sigma=st.floats(0, 4, allow_nan=False),
    mode=st.sampled_from(MODES),
)
def test_property_gaussian_derivatives_and_unsharp(data, sigma, mode):
    image, chunks = data
    x = da.from_array(image, chunks=chunks)
    for name in ("gaussian_gradient_magnitude", "gaussian_laplace", "gaussian_filter"):
        expected = getattr(ndi, name)(image, sigma, mode=mode, cval=2)
        assert_same(getattr(filters, name)(x, sigma, mode=mode, cval=2), expected)
    # gaussian_filter1d divides by sigma squared (scipy raises ZeroDivisionError at 0)
    sigma = sigma if sigma > 1e-3 else 0.5
    assert_same(
        filters.gaussian_filter1d(x, sigma, 0, 1, mode=mode, cval=2),
        ndi.gaussian_filter1d(image, sigma, 0, 1, mode=mode, cval=2),
    )
    f = image.astype(np.float64)
    expected = f + 1.5 * (f - ndi.gaussian_filter(f, sigma, mode=mode, cval=2))
    assert_same(filters.unsharp_mask(x, sigma, amount=1.5, mode=mode, cval=2), expected)


@PROPERTY
@given(data=chunked_images(), mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_property_edges_and_correlation(data, mode, seed):
    image, chunks = data
    x = da.from_array(image, chunks=chunks)
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(tuple(rng.integers(1, 6, size=image.ndim)))
    fp = rng.random(weights.shape) > 0.4
    fp.flat[0] = True
    for name, args in [("sobel", (0,)), ("prewitt", (-1,)), ("laplace", ())]:
        assert_same(
            getattr(filters, name)(x, *args, mode=mode, cval=2),
            getattr(ndi, name)(image, *args, mode=mode, cval=2),
        )
    for name in ("correlate", "convolve"):
        assert_same(
            getattr(filters, name)(x, weights, mode=mode, cval=2),
            getattr(ndi, name)(image, weights, mode=mode, cval=2),
        )
    for name in ("correlate1d", "convolve1d"):
        assert_same(
            getattr(filters, name)(x, weights.ravel()[:5], mode=mode, cval=2),
            getattr(ndi, name)(image, weights.ravel()[:5], mode=mode, cval=2),
        )
    assert_same(
        filters.minimum_filter(x, footprint=fp, mode=mode, cval=2),
        ndi.minimum_filter(image, footprint=fp, mode=mode, cval=2),
    )


def test_unsharp_mask_lecture_notes_recipe():
    """The scipy lecture notes: blur with sigma 3, then sharpen with sigma 1, alpha 30."""
    face = random_image((24, 20), "uint8", seed=3)
    f = face.astype(np.float64)
    blurred_f = ndi.gaussian_filter(f, 3)
    filter_blurred_f = ndi.gaussian_filter(blurred_f, 1)
    sharpened = blurred_f + 30 * (blurred_f - filter_blurred_f)
    chunked = da.from_array(f, chunks=(7, 6))
    actual = filters.unsharp_mask(filters.gaussian_filter(chunked, 3), sigma=1, amount=30)
    assert_same(actual, sharpened)
    # uint8 input is converted before the arithmetic, so nothing wraps
    b = face.astype(np.float64)
    assert_same(filters.unsharp_mask(face, 1, amount=30), b + 30 * (b - ndi.gaussian_filter(b, 1)))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: filters.unsharp_mask(x, -1), r"sigma must be >= 0"),
        (lambda x: filters.unsharp_mask(x, 1, amount="lots"), r"amount must be a number"),
        (lambda x: filters.unsharp_mask(x, 1, axes=(0, 0)), r"axes must not repeat"),
    ],
)
def test_unsharp_mask_refuses_bad_parameters(call, match):
    with pytest.raises(errors.InvalidParameterError, match=match):
        call(_x())


MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-constant", "grid-mirror"]


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int64"])
@pytest.mark.parametrize("shape", [(2, 2), (3, 8), (37, 45)])
def test_3x3_median_of_integers_every_mode_and_chunking(dtype, shape):
    # a 3x3 median of integers runs as a sorting network: scipy's values
    info = np.iinfo(dtype)
    image = (
        np.random.default_rng(sum(shape))
        .integers(max(info.min, -300), min(info.max, 300) + 1, shape)
        .astype(dtype)
    )
    for mode in MODES:
        for cval in (0, 7, 2.5):
            for kw in (dict(size=3), dict(footprint=np.ones((3, 3), bool))):
                want = ndi.median_filter(image, mode=mode, cval=cval, **kw)
                for chunks in (shape, (max(1, shape[0] // 2), max(2, shape[1] // 3))):
                    x = da.from_array(image, chunks=chunks)
                    got = filters.median_filter(x, mode=mode, cval=cval, **kw)
                    assert_same(got, want)


def test_3x3x3_median_network_is_the_median_of_every_input_of_0s_and_1s():
    # a network of minima and maxima gives the median of every input if it does for
    # every input of 0s and 1s: all 2**27 of those, 64 to a word, after the shared sorts
    # along axes 0 and 1 that median27 runs before the network
    words = 1 << 15  # a run of 2**21 inputs at a time
    low = [np.uint64(int("".join("1" if (n >> i) & 1 else "0" for n in range(63, -1, -1)), 2))
           for i in range(6)]  # fmt: skip
    ones = np.uint64(2**64 - 1)
    popcount = np.array([bin(n).count("1") for n in range(256)], np.uint8)
    for start in range(0, 1 << 21, words):
        w = np.arange(start, start + words, dtype=np.uint64)
        v = [np.full(words, low[i]) if i < 6 else np.where((w >> np.uint64(i - 6)) & 1, ones, 0)
             for i in range(27)]  # fmt: skip
        v = [x.astype(np.uint64) for x in v]
        for a, b, c in [(i, i + 9, i + 18) for i in range(9)] + [
            (9 * r + t, 9 * r + 3 + t, 9 * r + 6 + t) for r in range(3) for t in range(3)
        ]:
            for p, q in ((a, b), (b, c), (a, b)):
                v[p], v[q] = v[p] & v[q], v[p] | v[q]
        for a, b, keep in _networks.MEDIAN27:  # an output it does not keep is never read
            v[a], v[b] = v[a] & v[b] if keep & 1 else None, v[a] | v[b] if keep & 2 else None
        n = np.arange(start * 64, (start + words) * 64, dtype=np.uint32)
        count = popcount[n.view(np.uint8)].reshape(-1, 4).sum(axis=1)
        want = np.packbits(count >= 14, bitorder="little").view(np.uint64)
        assert np.array_equal(v[_networks.MEDIAN27_WIRE], want)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int64"])
@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 5, 8), (11, 13, 9)])
def test_3x3x3_median_of_integers_every_mode_and_chunking(dtype, shape):
    # a 3x3x3 median of integers runs as a network of minima and maxima: scipy's values,
    # ties included (few distinct values), slab by slab along the first axis
    info = np.iinfo(dtype)
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(max(info.min, -300), min(info.max, 300) + 1, shape).astype(dtype)
    image[: shape[0] // 2] //= 100
    for mode in MODES:
        for cval in (0, 7, 2.5) if "constant" in mode else (0,):
            for kw in (dict(size=3), dict(footprint=np.ones((3, 3, 3), bool))):
                want = ndi.median_filter(image, mode=mode, cval=cval, **kw)
                for chunks in (shape, tuple(max(2, n // 3) for n in shape)):
                    x = da.from_array(image, chunks=chunks)
                    got = filters.median_filter(x, mode=mode, cval=cval, **kw)
                    assert_same(got, want)


def test_gaussian_passes_run_on_less_once_their_halo_is_spent(monkeypatch):
    # a Gaussian's 1-D passes drop their axis's halo before the next pass: the second
    # pass of a block sees the first axis cut to the block's own rows; scipy's values
    shapes = []
    real = ndi.gaussian_filter1d

    def recording(input, *args, **kwargs):
        shapes.append(np.shape(input))
        return real(input, *args, **kwargs)

    image = random_image((40, 36), "float64", seed=3)
    want = ndi.gaussian_filter(image, 2.0)
    want_gm = ndi.gaussian_gradient_magnitude(image, 2.0)
    monkeypatch.setattr(ndi, "gaussian_filter1d", recording)
    x = da.from_array(image, chunks=(20, 18))
    assert_same(filters.gaussian_filter(x, 2.0), want)
    # radius 8: a corner block is 28 x 26 with its halo, 20 rows once axis 0 is done
    assert sorted(set(shapes)) == [(20, 26), (28, 26)]
    shapes.clear()
    assert_same(filters.gaussian_gradient_magnitude(x, 2.0), want_gm)
    assert sorted(set(shapes)) == [(20, 26), (28, 26)]


@pytest.mark.parametrize("sigma", [(0, 0, 1.5), (0, 1.5, 1.5), (1.0, 0, 2.0)])
def test_gradient_magnitude_of_derivatives_that_share_their_passes(sigma):
    # with sigma 0 on some axes two derivatives run the same passes (scipy skips an axis
    # whose sigma is 0, order or not): the one that ran first must not alter the other
    image = random_image((9, 11, 10), "uint8", seed=5)
    for dtype in (None, np.float64):
        want = ndi.gaussian_gradient_magnitude(image, sigma, output=dtype)
        x = da.from_array(image, chunks=(5, 6, 4))
        assert_same(filters.gaussian_gradient_magnitude(x, sigma, output=dtype), want)
