"""batchimg.filters beyond the oracle grid: errors, laziness, graph names, properties."""

from __future__ import annotations

import pickle

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from helpers import assert_same, random_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchimg import filters
from batchimg.errors import InvalidParameterError

MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


def _image(shape=(9, 11), dtype="float64", seed=1234):
    return random_image(shape, dtype, seed)


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: filters.gaussian_gradient_magnitude(x, -1.0), r"sigma must be >= 0"),
        (lambda x: filters.gaussian_laplace(x, (1.0, 2.0, 3.0)), r"sigma must be a number or"),
        (lambda x: filters.gaussian_laplace(x, 1.0, radius=-1), r"radius must be >= 0"),
        (lambda x: filters.gaussian_laplace(x, 1.0, truncate=-1), r"truncate must be >= 0"),
        (lambda x: filters.laplace(x, mode="reflekt"), r"mode must be one of .*'reflect'\?"),
        (lambda x: filters.sobel(x, mode="wrapp"), r"mode must be one of"),
        (lambda x: filters.sobel(x, axis=2), r"axis must be an int in \[-2, 2\)"),
        (lambda x: filters.prewitt(x, axis=0, axes=1), r"axis must be one of the filtered"),
        (lambda x: filters.uniform_filter(x, 0), r"size must be >= 1"),
        (lambda x: filters.uniform_filter(x, 3, origin=2), r"origin must lie in"),
        (lambda x: filters.uniform_filter(x, (3, 3, 3)), r"size must be a number or have one"),
        (lambda x: filters.median_filter(x), r"size or footprint must be given"),
        (lambda x: filters.median_filter(x, 3, np.ones((3, 3))), r"must not both be given"),
        (lambda x: filters.median_filter(x, 3, mode=("wrap", "reflect")), r"single mode name"),
        (lambda x: filters.median_filter(x, (4, 3), origin=(2, 0)), r"origin must lie in"),
        (lambda x: filters.minimum_filter(x, footprint=np.zeros((2, 2))), r"at least one pixel"),
        (lambda x: filters.maximum_filter(x, footprint=np.ones(3)), r"footprint must have 2 dim"),
        (
            lambda x: filters.minimum_filter(
                x, footprint=[[1, 0], [1, 1]], mode=("wrap", "constant")
            ),
            r"single mode name for minimum_filter",
        ),
        (lambda x: filters.percentile_filter(x, 101, size=3), r"percentile must be in \[-100"),
        (lambda x: filters.percentile_filter(x, -100.5, size=3), r"percentile must be in"),
        (lambda x: filters.percentile_filter(x, "50", size=3), r"percentile must be a number"),
        (lambda x: filters.rank_filter(x, 9, size=3), r"rank must be in \[-9, 8\]"),
        (lambda x: filters.rank_filter(x, -10, size=3), r"rank must be in \[-9, 8\]"),
        (lambda x: filters.rank_filter(x, 1.5, size=3), r"rank must be an integer"),
        (
            lambda x: filters.rank_filter(x, 3, footprint=[[1, 0], [0, 1]]),
            r"rank must be in \[-2, 1\] for a window of 2 pixels",
        ),
        (lambda x: filters.correlate(x, np.ones((0, 3))), r"weights must not be empty"),
        (lambda x: filters.correlate(x, np.ones(3)), r"weights must have 2 dimensions"),
        (lambda x: filters.convolve(x, [["a", "b"]]), r"weights must be numeric"),
        (lambda x: filters.convolve(x, np.ones((2, 3)), origin=(1, 0)), r"origin must lie in"),
        (lambda x: filters.correlate(x, np.ones((3, 3)), mode=("reflect", "wrap")), r"single"),
        (lambda x: filters.unsharp_mask(x, -1), r"sigma must be >= 0"),
        (lambda x: filters.unsharp_mask(x, 1, amount="lots"), r"amount must be a number"),
        (lambda x: filters.unsharp_mask(x, 1, axes=(0, 0)), r"axes must not repeat"),
    ],
)
def test_bad_parameters_are_refused(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call(da.from_array(_image(), chunks=4))


@pytest.mark.parametrize(
    "name", ["median_filter", "minimum_filter", "maximum_filter", "unsharp_mask"]
)
def test_complex_input_is_refused_where_scipy_refuses_it(name):
    image = _image() + 1j
    with pytest.raises(TypeError, match="Complex type not supported"):
        ndi.median_filter(image, 3)  # scipy refuses complex rank filters too
    with pytest.raises(InvalidParameterError, match=rf"real-valued for {name}; got dtype"):
        getattr(filters, name)(image, 3)


def test_errors_are_value_errors():
    with pytest.raises(ValueError, match="percentile must be"):
        filters.percentile_filter(_image(), 200, size=3)


# ---------------------------------------------------------------------------
# scipy's dtypes and axes rules


def test_complex_weights_give_scipy_complex_dtype():
    image = _image(dtype="uint8")
    weights = np.array([[1, 2j], [0.5, -1]])
    for func in ("correlate", "convolve"):
        expected = getattr(ndi, func)(image, weights)
        assert_same(getattr(filters, func)(da.from_array(image, chunks=4), weights), expected)


@pytest.mark.parametrize("name", ["sobel", "laplace", "uniform_filter", "gaussian_laplace"])
def test_complex_input_follows_scipy(name):
    image = _image() + 1j * _image(seed=5)
    args = (1.5,) if name == "gaussian_laplace" else ()
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
    ],
)
def test_unsorted_axes_follow_scipy(name, params, axes):
    """scipy maps size, footprint and origin to axes by its own (mixed) rules."""
    image = _image((7, 9, 8))
    if len(axes) == 3:
        params = _with_third_axis(params)
    x = da.from_array(image, chunks=(3, 4, 3))
    try:
        expected = getattr(ndi, name)(image, **params, mode="wrap", axes=axes)
    except ValueError as exc:
        assert "origin" in str(exc)  # scipy's mixed mapping puts the origin out of range
        with pytest.raises(InvalidParameterError, match="origin must lie in"):
            getattr(filters, name)(x, **params, mode="wrap", axes=axes)
        return
    assert_same(getattr(filters, name)(x, **params, mode="wrap", axes=axes), expected)


@pytest.mark.parametrize("name", ["gaussian_gradient_magnitude", "gaussian_laplace"])
@pytest.mark.parametrize("axes", [None, (2, 0, 1), (1, 0, 2)])
@pytest.mark.parametrize("mode", ["mirror", ("wrap", "reflect", "nearest"), "wrap"])
def test_gaussian_derivatives_every_axis_order_and_mixed_modes(name, axes, mode):
    """Mixing wrap with other modes keeps whole axes: scipy uses one mode per derivative."""
    image = _image((7, 9, 8))
    expected = getattr(ndi, name)(image, (1.0, 1.5, 0.7), mode=mode, axes=axes)
    actual = getattr(filters, name)(
        da.from_array(image, chunks=(3, 4, 3)), (1.0, 1.5, 0.7), mode=mode, axes=axes
    )
    assert_same(actual, expected)


@pytest.mark.parametrize("name", ["gaussian_gradient_magnitude", "gaussian_laplace"])
def test_gaussian_derivatives_on_a_stack_never_mix_images(name):
    stack = _image((4, 12, 10))
    expected = np.stack([getattr(ndi, name)(img, 3.0, mode="wrap") for img in stack])
    actual = getattr(filters, name)(
        da.from_array(stack, chunks=(1, 5, 4)), 3.0, mode="wrap", axes=(1, 2)
    )
    assert_same(actual, expected)
    scipy_axes = getattr(ndi, name)(stack, 3.0, mode="wrap", axes=(1, 2))
    # scipy 1.17's gaussian_gradient_magnitude(axes=) still smooths across the images
    assert np.array_equal(scipy_axes, expected) == (name == "gaussian_laplace")


@pytest.mark.parametrize("name", ["sobel", "prewitt"])
@pytest.mark.parametrize("axis", [1, 2, -1])
def test_edge_filters_on_a_stack(name, axis):
    stack = _image((3, 10, 9), "int32")
    image_axis = axis - 1 if axis > 0 else axis
    expected = np.stack(
        [getattr(ndi, name)(img, axis=image_axis, mode=("wrap", "mirror")) for img in stack]
    )
    actual = getattr(filters, name)(
        da.from_array(stack, chunks=(2, 3, 4)), axis, mode=("wrap", "mirror"), axes=(1, 2)
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
    ("unsharp_mask", dict(sigma=(5.0, 2.0), amount=2.0)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "params"), WIDE, ids=[w[0] for w in WIDE])
def test_filters_wider_than_chunks_and_axes(name, params, mode):
    image = _image((9, 11), "uint16")
    if name == "unsharp_mask":
        f = image.astype(np.float64)
        smooth = ndi.gaussian_filter(f, params["sigma"], mode=mode, cval=3)
        expected = f + params["amount"] * (f - smooth)
    else:
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
    assert actual.chunks == ((12,), (10,))
    assert_same(actual, expected)
    # integers sum exactly: their blocks only carry the window's halo
    ints = filters.uniform_filter(da.from_array(_image((12, 10), "int32"), chunks=(3, 4)), 3)
    assert len(ints.chunks[0]) > 1


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
    assert_same(filters.unsharp_mask(face, 1, amount=30), _lecture(face, 1, 30))


def _lecture(image, sigma, amount):
    b = image.astype(np.float64)
    return b + amount * (b - ndi.gaussian_filter(b, sigma))


# ---------------------------------------------------------------------------
# laziness and graph hygiene

CALLS = {
    "gaussian_gradient_magnitude": lambda x: filters.gaussian_gradient_magnitude(x, 1.0),
    "gaussian_laplace": lambda x: filters.gaussian_laplace(x, 1.0),
    "laplace": lambda x: filters.laplace(x),
    "sobel": lambda x: filters.sobel(x, 0),
    "prewitt": lambda x: filters.prewitt(x),
    "uniform_filter": lambda x: filters.uniform_filter(x, 4),
    "median_filter": lambda x: filters.median_filter(x, 3),
    "minimum_filter": lambda x: filters.minimum_filter(x, footprint=FOOTPRINT),
    "maximum_filter": lambda x: filters.maximum_filter(x, size=(2, 3)),
    "percentile_filter": lambda x: filters.percentile_filter(x, 20, size=3),
    "rank_filter": lambda x: filters.rank_filter(x, 1, size=3),
    "correlate": lambda x: filters.correlate(x, np.ones((2, 3))),
    "convolve": lambda x: filters.convolve(x, np.ones((3, 2))),
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
        filters.percentile_filter(x, 50, size=3).name,
        filters.correlate(x, np.ones((3, 3))).name,
        filters.correlate(x, np.full((3, 3), 2.0)).name,
    }
    assert len(names) == 8


def test_step_builders_are_exposed_with_scipy_reach():
    from batchimg._overlap import Spec

    spec = Spec(2, np.dtype("uint8"))
    assert filters.median_filter.step(spec, size=(4, 3), origin=(-2, 1)).depth == (4, 2)
    assert filters.convolve.step(spec, np.ones((2, 5)), origin=(-1, 2)).depth == (2, 4)
    assert filters.sobel.step(spec).depth == (1, 1)
    assert filters.gaussian_laplace.step(spec, 2.0, truncate=2.0).depth == (4, 4)
    assert filters.uniform_filter.step(spec, (1, 3)).depth == (0, 1)
    assert filters.unsharp_mask.step(spec).dtype == np.float64


# ---------------------------------------------------------------------------
# properties: random shapes, irregular chunkings, parameters


@st.composite
def chunked_images(draw, max_ndim=3, dtypes=("float64", "uint8", "int32", "float32")):
    ndim = draw(st.integers(1, max_ndim))
    shape = tuple(draw(st.lists(st.integers(1, 12), min_size=ndim, max_size=ndim)))
    chunks = []
    for n in shape:
        sizes = []
        left = n
        while left:
            c = draw(st.integers(1, left))
            sizes.append(c)
            left -= c
        chunks.append(tuple(sizes))
    dtype = draw(st.sampled_from(dtypes))
    image = random_image(shape, dtype, seed=draw(st.integers(0, 2**16)))
    return image, tuple(chunks)


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
    ]:
        expected = _scipy_window(name, image, args, mode=mode, cval=2, origin=origin)
        actual = getattr(filters, name)(x, *args, mode=mode, cval=2, origin=origin)
        assert_same(actual, expected)


def _scipy_window(name, image, args, **kw):
    """scipy's answer; for 1-D rank-type filters, from its N-D path (see below)."""
    if image.ndim == 1 and name in ("median_filter", "rank_filter", "percentile_filter"):
        *lead, size = args
        kw["origin"] = (0, kw["origin"])
        return getattr(ndi, name)(image[None], *lead, (1, size), **kw)[0]
    return getattr(ndi, name)(image, *args, **kw)


def test_1d_rank_filters_give_scipys_defined_answer():
    """scipy 1.17's 1-D rank path returns uninitialised memory for a window with a
    positive origin reaching past a short line; we give its N-D path's (defined) answer."""
    image = np.array([106.28651105])
    for name, args in [
        ("median_filter", (4,)),
        ("rank_filter", (1, 4)),
        ("percentile_filter", (70, 4)),
    ]:
        actual = getattr(filters, name)(da.from_array(image, chunks=1), *args, origin=1)
        assert_same(actual, _scipy_window(name, image, args, origin=1))
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
    for name in ("gaussian_gradient_magnitude", "gaussian_laplace"):
        expected = getattr(ndi, name)(image, sigma, mode=mode, cval=2)
        assert_same(getattr(filters, name)(x, sigma, mode=mode, cval=2), expected)
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
    assert_same(
        filters.minimum_filter(x, footprint=fp, mode=mode, cval=2),
        ndi.minimum_filter(image, footprint=fp, mode=mode, cval=2),
    )
