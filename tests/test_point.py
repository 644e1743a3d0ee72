"""batchimg.point: whole-input thresholds and rescaling against their oracles, errors."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from helpers import assert_same, random_image
from skimage.color import rgb2gray
from skimage.exposure import rescale_intensity
from skimage.filters import threshold_otsu
from skimage.util import invert

from batchimg import point
from batchimg.errors import InvalidParameterError
from batchimg.point import _global_threshold

DTYPES = ("uint8", "uint16", "int32", "int64", "uint64", "float32", "float64")
CHUNKS = ((23, 19), (5, 4), (1, 19), (7, 3))


def _oracle_threshold(image, method, q=None):
    if method == "otsu":
        return threshold_otsu(image)
    if method == "mean":
        return np.mean(image)
    return np.percentile(image, q)


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_threshold_values_are_exact(dtype):
    image = random_image((23, 19), dtype, seed=11)
    for chunks in CHUNKS:
        x = da.from_array(image, chunks=chunks)
        for method, q in [
            ("otsu", None),
            ("percentile", 0),
            ("percentile", 12.3),
            ("percentile", 50),
            ("percentile", 99.99),
            ("percentile", 100),
        ]:
            got = _global_threshold(x, method, q).compute()
            want = _oracle_threshold(image, method, q)
            assert got == want and np.asarray(got).dtype == np.asarray(want).dtype, (method, q)
        got = _global_threshold(x, "mean", None).compute()
        want = np.mean(image)
        if dtype.startswith("float"):
            # the float mean is accumulated in float64: within a few ulps of np.mean
            np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps)
        else:
            assert got == want


@pytest.mark.parametrize("method", ["otsu", "mean", "percentile"])
def test_threshold_float_mean_differs_only_at_the_threshold(method):
    image = random_image((23, 19), "float32", seed=12)
    got = point.threshold(
        da.from_array(image, chunks=(5, 4)),
        method=method,
        percentile=40 if method == "percentile" else None,
    ).compute()
    t = _oracle_threshold(image, method, 40)
    differ = got != (image > t)
    assert not differ.any() or np.all(np.abs(image[differ] - t) <= 4 * np.spacing(t))


def test_percentile_with_many_ties_and_a_narrow_bin():
    rng = np.random.default_rng(13)
    image = rng.choice(np.array([0.0, 1e-300, 1.0, 1.0 + 2**-52, 1e300]), size=(30, 20))
    for q in (1, 33.3, 50, 66.6, 99):
        got = _global_threshold(da.from_array(image, chunks=(7, 6)), "percentile", q)
        assert got.compute() == np.percentile(image, q)


def test_nan_image_thresholds_like_numpy():
    image = random_image((10, 10), "float64", seed=14)
    image[3, 4] = np.nan
    x = da.from_array(image, chunks=4)
    assert_same(
        point.threshold(x, method="percentile", percentile=50), image > np.percentile(image, 50)
    )
    with pytest.raises(ValueError, match="not finite"):
        point.threshold(x, method="otsu").compute()


@pytest.mark.parametrize("method", ["otsu", "mean", "percentile"])
def test_constant_image(method):
    image = np.full((6, 7), 5, np.uint8)
    q = 50 if method == "percentile" else None
    got = point.threshold(da.from_array(image, chunks=3), method=method, percentile=q)
    assert_same(got, image > _oracle_threshold(image, method, 50))


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float32", "float64"])
@pytest.mark.parametrize("method", ["otsu", "mean", "percentile"])
def test_per_image_threshold_is_image_by_image(dtype, method):
    stack = random_image((4, 12, 10), dtype, seed=15)
    q = 70 if method == "percentile" else None
    want = np.stack([img > _oracle_threshold(img, method, 70) for img in stack])
    x = da.from_array(stack, chunks=(3, 5, 4))
    assert_same(point.threshold(x, method=method, percentile=q, per_image=True), want)
    # images along axis 1: axes=(0, 2)
    moved = np.moveaxis(stack, 0, 1).copy()
    got = point.threshold(
        da.from_array(moved, chunks=(5, 2, 4)),
        method=method,
        percentile=q,
        per_image=True,
        axes=(0, 2),
    )
    assert_same(got, np.moveaxis(want, 0, 1))


def test_threshold_is_lazy_and_deterministic():
    def boom(block):
        raise AssertionError("computed while building the graph")

    x = da.from_array(np.zeros((8, 8), np.uint8), chunks=4).map_blocks(boom, dtype=np.uint8)
    for method in ("otsu", "mean", "percentile"):
        a = point.threshold(x, method=method, percentile=5 if method == "percentile" else None)
        assert a.dtype == bool and a.shape == (8, 8)
    y = da.from_array(random_image((8, 8), "uint8"), chunks=4)
    assert point.threshold(y, method="otsu").name == point.threshold(y, method="otsu").name
    assert point.rescale(y).name == point.rescale(y).name


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((), {}, r"threshold needs exactly one of value and method; got value=None"),
        ((3,), dict(method="otsu"), r"exactly one of value and method; got value=3"),
        ((), dict(method="otsus"), r"method must be one of .* Did you mean 'otsu'\?"),
        ((), dict(method="percentile"), r"percentile must be given for method='percentile'"),
        ((), dict(method="percentile", percentile=101), r"percentile must be <= 100; got 101"),
        ((), dict(method="percentile", percentile=-1), r"percentile must be >= 0; got -1"),
        ((), dict(method="mean", percentile=5), r"percentile applies only to method="),
        ((), dict(method="mean", axes=(0, 1)), r"axes applies only with per_image=True"),
        ((5,), dict(per_image=True), r"per_image=True needs a method"),
        ((), dict(method="mean", per_image=1), r"per_image must be True or False; got 1\."),
        (("x",), {}, r"value must be a number; got 'x'\."),
    ],
)
def test_threshold_errors(args, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        point.threshold(np.zeros((4, 4), np.uint8), *args, **kwargs)


def test_threshold_dtype_errors():
    with pytest.raises(InvalidParameterError, match=r"image must be an integer or float array"):
        point.threshold(np.zeros((4, 4), bool), method="otsu")
    with pytest.raises(InvalidParameterError, match=r"got dtype complex128"):
        point.threshold(np.zeros((4, 4), complex), 0.5)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int32", "float32", "float64"])
@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(out_range="uint8"),
        dict(in_range="image", out_range=(-1, 1)),
        dict(in_range="uint12", out_range="float"),
        dict(out_range="image", in_range=(0, 200)),
    ],
)
def test_rescale_matches_skimage_across_chunkings(dtype, kw):
    image = random_image((23, 19), dtype, seed=16)
    want = rescale_intensity(image, **kw)
    for chunks in CHUNKS:
        assert_same(point.rescale(da.from_array(image, chunks=chunks), **kw), want)


def test_rescale_dtype_casts_at_the_end():
    image = random_image((9, 8), "uint16", seed=17)
    got = point.rescale(da.from_array(image, chunks=4), out_range=(0, 255), dtype="uint8")
    assert_same(got, rescale_intensity(image, out_range=(0, 255)).astype(np.uint8))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(in_range="imag"), r"in_range must be 'image', 'dtype', a dtype name"),
        (dict(out_range=(0, 1, 2)), r"out_range must be .* got \(0, 1, 2\)\."),
        (dict(out_range=("a", 1)), r"out_range must be a number; got 'a'\."),
        (dict(dtype="complex64"), r"dtype must be a bool, integer or float dtype"),
    ],
)
def test_rescale_errors(kw, match):
    with pytest.raises(InvalidParameterError, match=match):
        point.rescale(np.zeros((3, 3), np.uint8), **kw)


def test_astype_clip_saturates():
    image = np.array([[-300.5, -5.0, 0.4], [100.0, 255.9, 1e6]])
    got = point.astype(da.from_array(image, chunks=1), "uint8", clip=True)
    assert_same(got, np.clip(image, 0, 255).astype(np.uint8))
    ints = np.array([-70000, -5, 40000], np.int32)
    assert_same(
        point.astype(ints, "int16", clip=True), np.clip(ints, -32768, 32767).astype("int16")
    )
    assert_same(point.astype(ints, "uint8"), ints.astype("uint8"))
    assert_same(
        point.astype(np.array([1e300]), "float32", clip=True),
        np.array([np.finfo(np.float32).max], np.float32),
    )


def test_astype_errors():
    with pytest.raises(InvalidParameterError, match=r"dtype must be a bool, integer or float"):
        point.astype(np.zeros(3), "U4")
    with pytest.raises(InvalidParameterError, match=r"dtype must be .*; got None\."):
        point.astype(np.zeros(3), None)
    with pytest.raises(InvalidParameterError, match=r"clip must be True or False; got 'no'"):
        point.astype(np.zeros(3), "uint8", clip="no")


@pytest.mark.parametrize("dtype", ["bool", "uint16", "int8", "float32"])
def test_invert_signed_float(dtype):
    image = random_image((7, 6), dtype, seed=18)
    x = da.from_array(image, chunks=3)
    assert_same(point.invert(x, signed_float=True), invert(image, signed_float=True))
    with pytest.raises(InvalidParameterError, match=r"signed_float must be True or False"):
        point.invert(x, signed_float=None)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
def test_rgb_to_gray_within_3_ulp_and_chunked_channels(dtype):
    img = random_image((23, 19), dtype, seed=19)
    rgb = np.stack([img, img[::-1], img[:, ::-1]], axis=-1)
    want = rgb2gray(rgb)
    got = point.rgb_to_gray(da.from_array(rgb, chunks=(5, 4, 1)))
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_max_ulp(got.compute(), want, maxulp=3)
    # one chunk is exact
    assert_same(point.rgb_to_gray(rgb), want)


def test_rgb_to_gray_errors():
    with pytest.raises(InvalidParameterError, match=r"3 channels on its last axis .*\(4, 4, 4\)"):
        point.rgb_to_gray(np.zeros((4, 4, 4)))
    with pytest.raises(InvalidParameterError, match=r"got dtype complex128"):
        point.rgb_to_gray(np.zeros((4, 3), complex))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16"])
@pytest.mark.parametrize("method", ["otsu", "percentile"])
def test_a_whole_input_threshold_over_blocks_is_the_whole_arrays_for_every_small_dtype(
    dtype, method
):
    # the engines' bounded passes (value counts for 8/16-bit images) over
    # blocks of odd sizes, strided ones included, give the whole array's threshold
    from skimage.filters import threshold_otsu

    from batchimg.point import GlobalThreshold

    rng = np.random.default_rng(5)
    info = np.iinfo(dtype)
    image = rng.integers(info.min, info.max, (7, 9, 11), endpoint=True).astype(dtype)
    blocks = [image[:, :, :5], image[:3, :, 5:], image[3:, :, 5:]]
    g = GlobalThreshold(method, 37.5 if method == "percentile" else None, image.dtype)
    while (f := g.block_function()) is not None:
        g.merge([f(b) for b in blocks])
    expected = threshold_otsu(image) if method == "otsu" else np.percentile(image, 37.5)
    assert g.value == expected
