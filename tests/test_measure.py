"""batchimg.measure's regionprops_table, filters and remove_small_objects against scikit-image."""

from __future__ import annotations

import functools
import warnings
from unittest import mock

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import skimage.measure
import skimage.morphology
from helpers import assert_same, chunkings, random_image
from hypothesis import given, settings
from hypothesis import strategies as st

from batchimg import _regions, measure
from batchimg._regions import stats as _stats
from batchimg.errors import InputError, InputTypeError, InvalidParameterError

SHAPES = {"2d": (23, 31), "3d": (9, 12, 14)}
CASES = [(dim, name) for dim, shape in SHAPES.items() for name in chunkings(shape)]

#: float columns that are scikit-image's bit for bit (label images, unit spacing)
EXACT = {
    "area",
    "area_bbox",
    "extent",
    "equivalent_diameter_area",
    "centroid",
    "centroid_local",
    "moments",
    "perimeter",
    "perimeter_crofton",
    "intensity_min",
    "intensity_max",
    "area_convex",
    "area_filled",
    "solidity",
    "feret_diameter_max",
    "intensity_median",
}
#: float columns bounded relative to the raw moment of the same order (that column)
SCALED = {
    "moments_central": "moments",
    "moments_weighted": "moments_weighted",
    "moments_weighted_central": "moments_weighted",
}
RTOL = 1e-9


def sums_props(ndim, intensity=True):
    return tuple(
        p
        for p, spec in _regions.SPECS.items()
        if spec.road == "sums"
        and p != "intensity_sum"
        and (intensity or not spec.intensity)
        and not (spec.only2d and ndim != 2)
    )


def object_props(intensity=True):
    return tuple(
        p
        for p, spec in _regions.SPECS.items()
        if spec.road == "object" and (intensity or not spec.intensity)
    )


def make_labels(shape, seed=1234, *, values=None, dtype=np.int32, fraction=0.45):
    """scipy.ndimage.label of a smoothed random mask, optionally with sparse label values."""
    rng = np.random.default_rng(seed)
    noise = ndi.uniform_filter(rng.random(shape), 3)
    lab, n = ndi.label(noise > np.quantile(noise, 1 - fraction))
    if values is not None:
        lut = np.zeros(n + 1, np.int64)
        lut[1:] = (
            np.resize(np.asarray(values), n)
            + np.repeat(np.arange(n // len(values) + 1), len(values))[:n]
        )
        lab = lut[lab]
    return lab.astype(dtype)


def skimage_table(lab, img=None, properties=("label", "bbox"), **kw):
    with warnings.catch_warnings():
        # skimage divides by a zero total intensity for the weighted centroid of a dark region
        warnings.simplefilter("ignore", RuntimeWarning)
        return skimage.measure.regionprops_table(lab, img, properties=properties, **kw)


def _base(column: str) -> str:
    return column.split("-")[0]


def assert_table(got: dict, want: dict, *, exact=EXACT) -> None:
    """Equal columns, dtypes and integer values; floats exact or within the stated bounds."""
    assert isinstance(got, dict)
    assert list(got) == list(want)
    for col, w in want.items():
        g = got[col]
        assert g.dtype == w.dtype, (col, g.dtype, w.dtype)
        assert len(g) == len(w), col
        prop = _base(col)
        if w.dtype == object:
            for a, b in zip(g, w, strict=True):
                if isinstance(b, tuple):
                    assert a == b, col
                else:
                    np.testing.assert_array_equal(a, b, err_msg=col, strict=True)
        elif w.dtype.kind in "iub" or prop in exact:
            np.testing.assert_array_equal(g, w, err_msg=col)
        elif prop in SCALED:
            scale = np.abs(want[col.replace(prop, SCALED[prop], 1)])
            assert np.all(np.abs(g - w) <= RTOL * scale + 1e-12), col
        else:
            atol = 1e-6 if prop.startswith("axis_") else 1e-12
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=atol, err_msg=col)


def _dask(x, chunks):
    return da.from_array(x, chunks=chunks)


# ---------------------------------------------------------------------------
# the two roads, across chunkings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("dim", "chunking"), CASES)
def test_sums_road_matches_skimage_across_chunkings(dim, chunking):
    shape = SHAPES[dim]
    lab = make_labels(shape)
    img = random_image(shape, np.float64) / 100.0
    chunks = chunkings(shape)[chunking]
    props = sums_props(len(shape))
    got = measure.regionprops_table(_dask(lab, chunks), _dask(img, chunks), props)
    assert_table(got, skimage_table(lab, img, props))


# scikit-image warns when the convex hull of a flat 3-D region fails, and divides by
# its zero area for the solidity (and so do we: the values are scikit-image's)
@pytest.mark.filterwarnings("ignore:Failed to get convex hull image:UserWarning")
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(("dim", "chunking"), CASES)
def test_object_road_matches_skimage_exactly(dim, chunking):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=5)
    img = random_image(shape, np.uint16, seed=2)
    chunks = chunkings(shape)[chunking]
    # scikit-image's 3-D Feret diameter fails on flat regions (marching cubes)
    props = ("label", *(p for p in object_props() if dim == "2d" or p != "feret_diameter_max"))

    def spread(mask, intensity):
        return float(np.ptp(intensity[mask]))

    def corners(mask):
        return np.asarray(mask.shape) * 2

    def ragged(mask):
        return [1] * mask.shape[0]

    extra = (spread, corners, ragged)
    got = measure.regionprops_table(
        _dask(lab, chunks), _dask(img, chunks), props, extra_properties=extra
    )
    assert_table(got, skimage_table(lab, img, props, extra_properties=extra))


def test_integer_intensity_gives_skimage_bits_for_weighted_centroids():
    lab = make_labels(SHAPES["2d"], seed=3)
    img = random_image(SHAPES["2d"], np.uint8, seed=4)
    props = ("centroid_weighted", "centroid_weighted_local", "moments_weighted", "intensity_mean")
    got = measure.regionprops_table(_dask(lab, (7, 9)), _dask(img, (7, 9)), props)
    exact = EXACT | {"centroid_weighted", "centroid_weighted_local", "intensity_mean"}
    assert_table(got, skimage_table(lab, img, props), exact=exact | {"moments_weighted"})


@pytest.mark.parametrize("lab_dtype", [np.int32, np.int64, np.uint16])
@pytest.mark.parametrize("img_dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtypes_and_sparse_labels(lab_dtype, img_dtype):
    shape = SHAPES["2d"]
    lab = make_labels(shape, seed=7, values=[5, 1000, 60000], dtype=lab_dtype)
    img = random_image(shape, img_dtype, seed=3)
    props = ("label", "bbox", "centroid_weighted", "intensity_mean", "intensity_std", "moments")
    got = measure.regionprops_table(_dask(lab, (9, 11)), _dask(img, (9, 11)), props)
    # we accumulate in float64 like scipy; skimage accumulates float32 in float32
    assert_table(got, skimage_table(lab, img.astype(np.float64), props))
    assert set(np.unique(lab[lab > 0]) % 1000) >= {5}


def test_very_sparse_labels_use_hashing():
    lab = make_labels((40, 50), values=[5, 70_000, 2**40]).astype(np.int64)
    props = ("label", "area", "bbox", "moments", "moments_central", "euler_number")
    assert_table(
        measure.regionprops_table(_dask(lab, (13, 17)), None, props),
        skimage_table(lab, None, props),
    )


@pytest.mark.parametrize("dim", ["2d", "3d"])
def test_multichannel_intensity(dim):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=8)
    img = np.stack([random_image(shape, np.float64, seed=s) / 100.0 for s in range(3)], axis=-1)
    props = (
        "label",
        "intensity_mean",
        "intensity_max",
        "intensity_std",
        "centroid_weighted",
        "moments_weighted",
        "moments_weighted_central",
        "intensity_median",
        "image_intensity",
    )

    def brightest(mask, intensity):
        return float(intensity[mask].max())

    got = measure.regionprops_table(
        _dask(lab, 5), _dask(img, (5,) * len(shape) + (3,)), props, extra_properties=[brightest]
    )
    want = skimage_table(lab, img, props, extra_properties=[brightest])
    assert "intensity_mean-2" in want and "centroid_weighted-1-2" in want
    assert_table(got, want)


@pytest.mark.filterwarnings("ignore:Failed to get convex hull image:UserWarning")
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
@pytest.mark.parametrize(
    ("dim", "spacing"), [("2d", (0.5, 2.0)), ("2d", 0.5), ("3d", (0.5, 2.0, 3.0))]
)
def test_spacing(dim, spacing):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=11)
    img = random_image(shape, np.float64) / 100.0
    props = [
        p
        for p in sums_props(len(shape)) + ("coords_scaled", "solidity")
        if np.ndim(spacing) == 0 or p not in ("perimeter", "perimeter_crofton")
        if "hu" not in p
    ]
    got = measure.regionprops_table(_dask(lab, 6), _dask(img, 6), props, spacing=spacing)
    # with spacing, scikit-image multiplies coordinates before summing: last bits differ
    assert_table(got, skimage_table(lab, img, props, spacing=spacing), exact={"area", "area_bbox"})


def test_separator_aliases_defaults_and_any_iterable():
    lab = make_labels((20, 20))
    want = skimage_table(lab)
    assert_table(measure.regionprops_table(lab), want)
    got = measure.regionprops_table(lab, properties=("label", "area", "bbox"), separator="+")
    assert "bbox+3" in got
    assert_table(got, skimage_table(lab, None, ("label", "area", "bbox"), separator="+"))
    aliases = ("bbox_area", "local_centroid", "ConvexArea", "Label")
    assert_table(measure.regionprops_table(lab, None, aliases), skimage_table(lab, None, aliases))
    keys = {"label": 0, "moments_hu": 0}.keys()
    assert_table(measure.regionprops_table(lab, None, keys), skimage_table(lab, None, list(keys)))


def test_no_regions_gives_empty_columns_with_skimage_dtypes():
    lab = np.zeros((10, 12), np.int32)
    img = np.ones((10, 12))

    def twice(mask):
        return np.ones(2)

    props = ("label", "area", "bbox", "moments", "moments_central", "image", "intensity_mean")
    got = measure.regionprops_table(_dask(lab, 5), img, props, extra_properties=[twice])
    want = skimage_table(lab, img, props, extra_properties=[twice])
    assert len(got["label"]) == 0
    assert_table(got, want)


def test_regionprops_columns_and_image_equal_the_table():
    lab = make_labels(SHAPES["2d"], seed=12)
    img = random_image(SHAPES["2d"], np.uint16)
    props = ("label", "perimeter", "moments", "moments_central", "solidity", "intensity_std")
    table = measure.regionprops_table(_dask(lab, 7), _dask(img, 7), props)
    cols = measure.regionprops_columns(lab, img, props)
    assert list(cols) == list(table)
    for k in table:
        np.testing.assert_array_equal(cols[k], table[k], err_msg=k)
    frame = measure.regionprops_image(lab, img, props)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(table)


def test_stack_matches_skimage_per_image():
    rng = np.random.default_rng(5)
    stack = np.stack([make_labels((15, 18), seed=s) for s in range(5)])
    img = rng.random(stack.shape)
    props = ("label", "area", "moments", "moments_central", "perimeter", "solidity")
    got = measure.regionprops_table(_dask(stack, (2, 7, 10)), img, properties=props, stack=True)
    parts = []
    for i in range(len(stack)):
        t = pd.DataFrame(skimage_table(stack[i], img[i], props))
        t.insert(0, "image", np.full(len(t), i, np.int64))
        t.insert(2, "image_label", np.arange(1, len(t) + 1, dtype=np.int64))
        parts.append(t)
    want = pd.concat(parts, ignore_index=True)
    assert_table(got, {c: want[c].to_numpy() for c in want.columns})


def test_stack_labels_carry_the_per_image_number():
    """label(stack, axes=(1, 2)) numbers on across images; image_label is scipy's per image."""
    rng = np.random.default_rng(9)
    stack = rng.random((4, 16, 19)) > 0.6
    labels, _ = measure.label(da.from_array(stack, chunks=(1, 8, 10)), axes=(1, 2))
    got = pd.DataFrame(measure.regionprops_table(labels, properties=["label", "area"], stack=True))
    for i, image in enumerate(stack):
        own, k = ndi.label(image)
        rows = got[got["image"] == i]
        assert rows["image_label"].tolist() == list(range(1, k + 1))
        areas = ndi.sum_labels(np.ones_like(own), own, np.arange(1, k + 1))
        np.testing.assert_array_equal(rows["area"], areas)


def test_negative_and_bool_labels_are_regions():
    lab = np.array([[-3, -3, 0], [0, 2, 2]])
    got = measure.regionprops_table(_dask(lab, 1), properties=["label", "area", "perimeter"])
    assert got["label"].tolist() == [-3, 2] and got["area"].tolist() == [2.0, 2.0]
    got = measure.regionprops_table(lab > 0, properties=["label", "area"])
    assert got["label"].tolist() == [1] and got["area"].tolist() == [2.0]


def test_zero_total_intensity_gives_nan_weighted_centroid():
    lab = np.array([[1, 1, 0, 2]])
    img = np.array([[0.0, 0.0, 0.0, 1.0]])
    got = measure.regionprops_table(lab, img, properties=["centroid_weighted"])
    assert np.isnan(got["centroid_weighted-0"][0]) and got["centroid_weighted-1"][1] == 3.0


# ---------------------------------------------------------------------------
# exactness of the mask moments and local counts for any chunking
# ---------------------------------------------------------------------------


@st.composite
def labelled(draw, max_side=12):
    ndim = draw(st.integers(2, 3))
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(ndim))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < draw(st.floats(0.1, 0.8))
    lab = ndi.label(mask, ndi.generate_binary_structure(ndim, draw(st.integers(1, ndim))))[0]
    chunks = []
    for s in shape:
        cuts = sorted(draw(st.sets(st.integers(1, s - 1), max_size=3)) if s > 1 else set())
        edges = [0, *cuts, s]
        chunks.append(tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=True)))
    img = rng.random(shape)
    return lab, img, tuple(chunks)


# scikit-image warns when the convex hull of a flat 3-D region fails, and divides by
# its zero area for the solidity (and so do we: the values are scikit-image's)
@pytest.mark.filterwarnings("ignore:Failed to get convex hull image:UserWarning")
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
@settings(deadline=None, max_examples=30)
@given(labelled())
def test_hypothesis_chunking_never_changes_the_mask_properties(case):
    lab, img, chunks = case
    props = (
        "label",
        "moments",
        "moments_central",
        "euler_number",
        "centroid_local",
        "bbox",
        "solidity",
    ) + (("perimeter", "perimeter_crofton") if lab.ndim == 2 else ())
    got = measure.regionprops_table(_dask(lab, chunks), None, props)
    one = measure.regionprops_table(lab, None, props)
    for k in one:  # bit for bit whatever the chunking
        np.testing.assert_array_equal(got[k], one[k], err_msg=k, strict=True)
    assert_table(got, skimage_table(lab, None, props))
    props = ("label", "intensity_mean", "intensity_std", "centroid_weighted", "moments_weighted")
    assert_table(
        measure.regionprops_table(_dask(lab, chunks), _dask(img, chunks), props),
        skimage_table(lab, img, props),
    )


# ---------------------------------------------------------------------------
# one pass, laziness, graph hygiene, limits
# ---------------------------------------------------------------------------


def _count_calls(monkeypatch, name):
    calls = []
    original = getattr(_stats, name)

    def counting(*args, **kwargs):
        calls.append(np.shape(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(_stats, name, counting)
    return calls


def test_one_statistics_task_per_block_for_every_sums_property(monkeypatch):
    calls = _count_calls(monkeypatch, "block_stats")
    lab = da.from_array(make_labels((24, 30)), chunks=(8, 10))
    img = da.from_array(random_image((24, 30), np.float32), chunks=(8, 10))
    delayed = measure.regionprops_delayed(lab, img, sums_props(2) + ("solidity", "image"))
    assert calls == []  # building the graph computes nothing
    frame = delayed.compute()
    assert len(calls) == lab.npartitions == 9
    assert isinstance(frame, pd.DataFrame) and "solidity" in frame


def test_graph_is_deterministic_and_small():
    lab = da.from_array(make_labels((24, 30)), chunks=(8, 10))
    a = measure.regionprops_delayed(lab, properties=("label", "area", "perimeter", "image"))
    b = measure.regionprops_delayed(lab, properties=("label", "area", "perimeter", "image"))
    assert a.key == b.key
    names = [str(k[0] if isinstance(k, tuple) else k).split("-")[0] for k in dict(a.dask)]
    assert names.count("block_stats") == 9  # one task per block
    assert names.count("pieces") == 9
    ours = ("block_stats", "pieces", "merge", "join", "plan", "collect", "_frame")
    assert sum(n in ours for n in names) <= 9 + 9 + 2 + 6 + 3  # and small trees
    # (the rest is dask's halo exchange for the perimeter, and reading the array)


def test_sums_and_an_image_compute_together_in_one_pass(monkeypatch):
    calls = _count_calls(monkeypatch, "block_stats")
    lab = da.from_array(make_labels((24, 30)), chunks=(12, 15))
    table, mask = dask.compute(measure.regionprops_delayed(lab), lab > 0)
    assert len(calls) == 4 and len(table) > 0 and mask.shape == lab.shape


def test_large_blocks_are_measured_in_slabs(monkeypatch):
    monkeypatch.setattr(_stats, "SLAB", 40)  # several slabs per block
    monkeypatch.setattr(_stats, "SPARSE", 0.0)  # even for sparse blocks
    for shape in SHAPES.values():
        lab = make_labels(shape, seed=31, values=[3, 90_000])
        img = random_image(shape, np.float64)
        props = sums_props(len(shape))
        assert_table(measure.regionprops_table(lab, img, props), skimage_table(lab, img, props))


def test_batch_sizes_and_merge_fan_in_never_change_a_bit(monkeypatch):
    # many regions in many blocks: the merged table's rows are measured, and moments
    # shifted, in batches; tiny batches give the same bits. Runs summed in batches
    # and another merge tree give the same bits for the mask's properties (float
    # sums of intensities may round otherwise: within the stated bounds)
    shape = (14, 40, 44)
    lab = make_labels(shape, seed=7, fraction=0.3)
    img = random_image(shape, np.float64)
    props = sums_props(3)
    chunks = (5, 9, 11)

    def table():
        return measure.regionprops_table(_dask(lab, chunks), _dask(img, chunks), props)

    def same(got, want, columns):
        assert list(got) == list(want)
        for k in columns:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k, strict=True)

    want = table()
    assert len(want["label"]) > 40
    monkeypatch.setattr(_regions.props, "TABLE_BATCH", 7)
    monkeypatch.setattr(_regions.moments, "SHIFT_BATCH", 3)
    same(table(), want, want)
    monkeypatch.setattr(_regions.moments, "RUN_BATCH", 5)
    monkeypatch.setattr(
        _stats, "stats_delayed", functools.partial(_stats.stats_delayed, split_every=2)
    )
    monkeypatch.setattr(_regions, "stats_delayed", _stats.stats_delayed)
    got = table()
    mask = measure.regionprops_table(_dask(lab, chunks), None, sums_props(3, intensity=False))
    same(got, want, mask)
    assert_table(got, skimage_table(lab, img, props))


def test_moment_shifts_equal_the_moments_about_the_new_point():
    # moments of random weighted points about a, moved by t, against the direct sums
    # about a - t; an integer move of integer moments is exact, rows with t = 0 are
    # their own values, and the input is left as it was
    rng = np.random.default_rng(5)
    rows, k = 50, 4
    pts = [rng.integers(-6, 7, (rng.integers(1, 9), 3)) for _ in range(rows)]
    w = [rng.random(len(p)) for p in pts]
    a = rng.integers(-3, 4, (rows, 3))

    def about(c, weighted):
        out = np.zeros((rows, k, k, k))
        for r in range(rows):
            d = pts[r] - c[r]
            for i, j, m in np.ndindex(k, k, k):
                term = d[:, 0] ** i * d[:, 1] ** j * d[:, 2] ** m
                out[r, i, j, m] = np.sum(term * w[r]) if weighted else np.sum(term)
        return out

    for t, weighted in (
        (rng.integers(-2, 3, (rows, 3)), False),
        (rng.random((rows, 3)) - 0.5, True),
    ):
        t[::4] = 0
        mom = about(a, weighted)
        before = mom.copy()
        got = _regions.moments.shift(mom, t.astype(np.float64))
        np.testing.assert_array_equal(mom, before)
        np.testing.assert_array_equal(got[::4], mom[::4])
        want = about(a - t, weighted)
        if weighted:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "index_dtype", [np.uint8, np.uint16, np.int32, np.uint32, np.int64, np.intp]
)
@pytest.mark.parametrize("lut_dtype", [bool, np.uint32, np.int64, np.float64])
def test_take_lut_equals_numpy_indexing(monkeypatch, index_dtype, lut_dtype):
    # slab by slab (sizes below, at and above a slab, 1-D to 3-D, a strided view, a
    # mask, negative indices) the lookup is numpy's, values, dtype, shape and errors
    monkeypatch.setattr(_regions.fore, "TAKE_SLAB", 64)
    rng = np.random.default_rng(11)
    lut = rng.integers(0, 200, 90).astype(lut_dtype)
    hi = min(len(lut), np.iinfo(index_dtype).max + 1)
    for shape in [(5,), (64,), (65,), (7, 33), (3, 10, 13), (0, 4)]:
        index = rng.integers(0, hi, shape).astype(index_dtype)
        for idx in (index, index[..., ::2]):
            got = _regions.take_lut(lut, idx)
            assert got.dtype == lut.dtype and got.shape == idx.shape
            np.testing.assert_array_equal(got, lut[idx])
    negative = rng.integers(-len(lut), len(lut), (9, 20))
    np.testing.assert_array_equal(_regions.take_lut(lut, negative.astype(np.int32)), lut[negative])
    mask = rng.random(len(lut)) > 0.5
    np.testing.assert_array_equal(_regions.take_lut(lut, mask), lut[mask])
    bad = np.full((10, 10), len(lut), index_dtype)
    with pytest.raises(IndexError, match="out of bounds"):
        lut[bad]
    with pytest.raises(IndexError, match="out of bounds"):
        _regions.take_lut(lut, bad)


def test_a_region_larger_than_the_crop_limit_is_named():
    lab = np.zeros((6, 8), np.int32)
    lab[1:5, 1:7] = 4
    lab[0, 0] = 1
    with pytest.raises(InputError, match=r"region 4 has a bounding box of 24 pixels \(shape"):
        measure.regionprops_table(_dask(lab, 3), properties=["solidity"], crop_limit=10)
    with pytest.raises(InputError, match=r"region 4 .* more than crop_limit=10"):
        measure.regionprops_columns(lab, properties=["image"], crop_limit=10)
    # the one-pass properties have no such limit
    assert measure.regionprops_table(lab, properties=["area"], crop_limit=10)["area"][1] == 24


# ---------------------------------------------------------------------------
# filter_regions, remove_small_objects, relabel
# ---------------------------------------------------------------------------

WHERES = [
    "area > 10",
    "area >= 5 and extent < 0.6",
    "not (area < 4) or bbox-0 == 0",
    "10 < area",
    "centroid-1 > 12.5 and equivalent_diameter_area <= 6",
    "(intensity_mean > 0.5 or intensity_max >= 0.95) and area != 1",
    "perimeter > 8 and euler_number == 1",
    "moments_central-2-0 > 20 or eccentricity < 0.5",
    "solidity > 0.8",
    "area > 1e9",
    "area > -inf",
]


def _kept_oracle(lab, img, where):
    # the oracle evaluates the condition with pandas on skimage's table
    props = (
        "label",
        "area",
        "bbox",
        "extent",
        "centroid",
        "equivalent_diameter_area",
        "intensity_mean",
        "intensity_max",
        "perimeter",
        "euler_number",
        "moments_central",
        "eccentricity",
        "solidity",
    )
    t = pd.DataFrame(skimage_table(lab, img, props))
    expr = where
    for col in ("bbox-0", "centroid-1", "moments_central-2-0"):
        expr = expr.replace(col, f"`{col}`")
    kept = t.query(expr.replace("-inf", "-1e308"))["label"].to_numpy()
    return ndi.label(np.isin(lab, kept))[0]


@pytest.mark.parametrize("where", WHERES)
@pytest.mark.parametrize("chunking", ["single", "uneven", "thin"])
def test_filter_regions_equals_label_of_kept_mask(where, chunking):
    shape = SHAPES["2d"]
    lab = make_labels(shape, seed=21)
    img = np.random.default_rng(2).random(shape)
    chunks = chunkings(shape)[chunking]
    want = _kept_oracle(lab, img, where)
    assert_same(measure.filter_regions(_dask(lab, chunks), where, _dask(img, chunks)), want)
    if chunking == "single":
        assert_same(measure.filter_regions_image(lab, where, img), want)


@pytest.mark.parametrize(
    "dtype, spread",
    [("uint8", 1), ("uint16", 1), ("int32", 1), ("int32", 1000), ("uint64", 1), ("uint64", 1000)],
)
def test_keeping_labels_in_memory_equals_remove_small_objects(dtype, spread):
    # spread 1: labels 1..n (counted by one bincount); 1000: values beyond the image size
    lab = (make_labels((60, 70), seed=5).astype(np.int64) * spread).astype(dtype)
    for max_size in (0, 3, 20, 10_000):
        got = measure.filter_regions_image(lab, f"area > {max_size}", renumber=False)
        assert_same(got, skimage.morphology.remove_small_objects(lab, max_size=max_size))


def test_filter_regions_3d_structure_and_sparse_labels():
    rng = np.random.default_rng(4)
    mask = ndi.uniform_filter(rng.random((10, 12, 14)), 3) > 0.52
    structure = np.ones((3, 3, 3), bool)
    lab = ndi.label(mask, structure)[0]
    sparse = np.where(lab > 0, lab * 70_001 + 5, 0).astype(np.int64)
    got = measure.filter_regions(da.from_array(sparse, chunks=(4, 5, 6)), "area >= 6")
    keep = np.isin(lab, np.flatnonzero(np.bincount(lab.ravel()) >= 6)) & (lab > 0)
    assert_same(got, ndi.label(keep, structure)[0].astype(np.int64))


def test_filter_regions_is_lazy(monkeypatch):
    calls = _count_calls(monkeypatch, "block_stats")
    out = measure.filter_regions(da.from_array(make_labels((20, 20)), chunks=10), "area > 3")
    assert calls == [] and out.dtype == np.int32 and out.chunks == ((10, 10), (10, 10))
    out.compute()
    assert len(calls) == 4


_OBJECTS = np.array([[0, 0, 0, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 1]], bool)


@pytest.mark.parametrize(
    ("image", "kwargs"),
    [
        (_OBJECTS, {"max_size": 5}),
        (_OBJECTS, {"max_size": 6, "connectivity": 2}),
        (_OBJECTS, {"max_size": 0}),
        (
            np.array([[2, 2, 2, 0, 1], [2, 2, 2, 0, 1], [2, 0, 0, 0, 0], [0, 0, 3, 3, 3]]),
            {"max_size": 2},
        ),
        (make_labels((23, 31), seed=13), {"max_size": 8}),
        (make_labels((23, 31), seed=13) > 0, {"max_size": 8, "connectivity": 2}),
    ],
)
@pytest.mark.parametrize("chunks", [2, 5])
def test_remove_small_objects_equals_skimage(image, kwargs, chunks):
    got = measure.remove_small_objects(da.from_array(image, chunks=chunks), **kwargs)
    assert_same(got, skimage.morphology.remove_small_objects(image, **kwargs))


def test_remove_small_objects_deprecated_min_size_warns_like_skimage():
    with pytest.warns(FutureWarning, match=r"Parameter `min_size` is deprecated"):
        got = measure.remove_small_objects(_OBJECTS, min_size=6)
    assert_same(got, _OBJECTS & ~np.isin(ndi.label(_OBJECTS)[0], [1, 3]))
    with (
        pytest.warns(FutureWarning, match=r"`min_size` is deprecated"),
        pytest.raises(InvalidParameterError, match=r"avoid conflicting values"),
    ):
        measure.remove_small_objects(_OBJECTS, 3, max_size=3)
    labels = _OBJECTS.astype(np.int64)
    with pytest.warns(UserWarning, match=r"Only one label was provided .* boolean array\?"):
        measure.remove_small_objects(labels, max_size=5).compute()


def test_remove_small_objects_fills_out_like_skimage():
    out = np.zeros(_OBJECTS.shape, np.int32)
    with pytest.warns(UserWarning, match=r"Only one label was provided"):
        got = measure.remove_small_objects(_OBJECTS, max_size=5, out=out)
    assert got is out
    with pytest.warns(UserWarning, match=r"Only one label was provided"):
        want = skimage.morphology.remove_small_objects(
            _OBJECTS, max_size=5, out=np.zeros(_OBJECTS.shape, np.int32)
        )
    np.testing.assert_array_equal(out, want)


def test_relabel_forms():
    lab = da.from_array(np.array([[0, 3, 7], [7, 3, 0]]), chunks=1)
    lut = np.array([0, 0, 0, 5, 0, 0, 0, 9])
    assert_same(measure.relabel(lab, lut), lut[lab.compute()])
    pair = (np.array([3, 7]), np.array([1, 2]))
    assert_same(
        measure.relabel(lab, pair, dtype=np.uint8), np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    )
    lazy = dask.delayed(lambda: pair)()
    assert_same(measure.relabel(lab, lazy), np.array([[0, 1, 2], [2, 1, 0]]))
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert_same(measure.relabel(lab, empty), np.zeros((2, 3), np.int64))


def test_parse_where_tree():
    assert _regions.parse_where("not area < 3 or (extent >= 0.5 and 2 > inertia_tensor-0-1)") == (
        "or",
        ("not", ("cmp", "area", "<", 3.0)),
        ("and", ("cmp", "extent", ">=", 0.5), ("cmp", "inertia_tensor-0-1", "<", 2.0)),
    )


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ("aera > 3", r"unknown column 'aera'\. Did you mean 'area'\?"),
        ("bbox-9 > 3", r"unknown column 'bbox-9'"),
        ("image > 3", r"unknown column 'image'"),
        ("area >", r"unexpected end, expected a column name or a number"),
        ("area > 3 and", r"unexpected end"),
        ("area 3", r"expected a comparison operator"),
        ("area > extent", r"one column name and one number"),
        ("3 > 4", r"one column name and one number"),
        ("(area > 3", r"expected '\)'"),
        ("area > 3)", r"expected 'and', 'or' or the end"),
        ("area > 3; import os", r"unexpected ';' at position 8"),
        ("__import__('os')", r"unexpected"),
        ("", r"non-empty condition"),
        (3, r"non-empty condition"),
        ("intensity_mean > 3", r"needs an intensity image"),
    ],
)
def test_filter_regions_rejects_bad_conditions(where, match):
    with pytest.raises(InvalidParameterError, match=match):
        measure.filter_regions(np.ones((3, 3), np.int32), where)


def _nothing():
    return 1


def _three(mask, intensity, extra):
    return 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"properties": ["aera"]}, InvalidParameterError, r"got 'aera'\. Did you mean 'area'\?"),
        ({"properties": []}, InvalidParameterError, r"non-empty sequence"),
        ({"properties": 3}, InvalidParameterError, r"non-empty sequence"),
        ({"properties": ["intensity_mean"]}, InvalidParameterError, r"needs an intensity image"),
        ({"spacing": (1.0, 0.0)}, InvalidParameterError, r"spacing must be positive"),
        ({"spacing": (1.0, 2.0, 3.0)}, InvalidParameterError, r"spacing must be a number or"),
        ({"spacing": "a"}, TypeError, r"spacing must hold real numbers"),
        ({"stack": "yes"}, InvalidParameterError, r"stack must be True or False"),
        ({"separator": 1}, InvalidParameterError, r"separator must be a string; got 1"),
        ({"crop_limit": 0}, InvalidParameterError, r"crop_limit must be a positive integer"),
        ({"extra_properties": 3}, InvalidParameterError, r"extra_properties must be a sequence"),
        ({"extra_properties": [3]}, InvalidParameterError, r"sequence of functions; got 3"),
        ({"extra_properties": [_nothing]}, InvalidParameterError, r"takes 0"),
        ({"extra_properties": [_three]}, InvalidParameterError, r"'_three' must take 1 or 2"),
        (
            {"extra_properties": [lambda m, i: 1]},
            InvalidParameterError,
            r"takes an intensity image",
        ),
        (
            {"properties": ["perimeter"], "spacing": (1.0, 2.0)},
            NotImplementedError,
            r"'perimeter' needs the same spacing on every axis",
        ),
        (
            {"properties": ["moments_hu"], "spacing": 2.0},
            NotImplementedError,
            r"'moments_hu' needs spacing 1 on every axis",
        ),
    ],
)
def test_regionprops_rejects_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        measure.regionprops_table(np.ones((3, 3), np.int32), **kwargs)


def test_input_errors():
    with pytest.raises(
        InputError, match=r"label_image must be an integer \(or bool\) array; got dtype float64"
    ):
        measure.regionprops_table(np.ones((3, 3)))
    with pytest.raises(InputError, match=r"must have the label image's shape \(3, 3\) \(plus"):
        measure.regionprops_table(np.ones((3, 3), int), np.ones((3, 4)), ["intensity_max"])
    with pytest.raises(
        InputError, match=r"intensity_image must be a real numeric array; got dtype complex128"
    ):
        measure.regionprops_table(np.ones((3, 3), int), np.ones((3, 3), complex))
    with pytest.raises(InvalidParameterError, match=r"stack=True needs a label image of at least"):
        measure.regionprops_table(np.ones(3, int), stack=True)
    with pytest.raises(
        NotImplementedError, match=r"'eccentricity' is measured for 2-D images only"
    ):
        measure.regionprops_table(np.ones((3, 3, 3), int), properties=["eccentricity"])
    with pytest.raises(InputTypeError, match=r"ar must be a bool or integer array; got dtype"):
        measure.remove_small_objects(np.ones((3, 3)))
    with pytest.raises(InputError, match=r"ar must hold non-negative labels; got label -2"):
        measure.remove_small_objects(-2 * np.ones((3, 3), int), max_size=1).compute()
    with pytest.raises(InvalidParameterError, match=r"max_size must be an integer; got 2.5"):
        measure.remove_small_objects(np.ones((3, 3), int), max_size=2.5)
    with pytest.raises(InputError, match=r"label_image must be an integer"):
        measure.relabel(np.ones(3), np.arange(3))


def test_the_local_statistics_need_a_halo():
    lab = np.array([[1, 1, 0], [0, 2, 2]])
    with pytest.raises(InvalidParameterError, match=r"\['euler'\] need the neighbouring labels"):
        _regions.sparse_stats(
            lab, None, (0, 0), lab.shape, frozenset({"euler"}), np.flatnonzero(lab)
        )


@settings(max_examples=150, deadline=None)
@given(
    shape=st.lists(st.integers(0, 7), min_size=1, max_size=3).map(tuple),
    dtype=st.sampled_from([bool, np.uint8, np.int32, np.uint32, np.int64]),
    levels=st.integers(1, 5),
    sparse=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_block_found_from_its_runs_is_the_block_found_from_its_pixels(
    shape, dtype, levels, sparse, seed
):
    # every attribute of Fore.from_runs (and, through measure_block, every statistic
    # its runs give) equals the pixel road's: blocks with rows of one pixel, empty
    # ones, bool masks, negative and sparse label ranges (hashed, not counted)
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, levels + 1, shape)
    if dtype is bool:
        lab = lab > 0
    elif sparse and np.dtype(dtype).itemsize >= 4:
        lab = lab * (1 << 28)
    if np.dtype(dtype).kind == "i":
        lab = np.where(rng.random(shape) < 0.1, -lab, lab)
    lab = lab.astype(dtype)
    offset = tuple(range(3, 3 + lab.ndim))
    runs, pixels = _regions.fore.Fore.from_runs(lab, offset), _regions.fore.Fore(lab, offset)
    for name in ("labels", "counts", "nz", "inv", "starts", "run_label", "run_length"):
        got, want = getattr(runs, name), getattr(pixels, name)
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.dtype.kind == want.dtype.kind, name
    assert runs.n == pixels.n
    for got, want in zip(runs.bbox + runs.run_coords, pixels.bbox + pixels.run_coords, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(runs.first, pixels.first)
    gshape = tuple(s + o for s, o in zip(shape, offset, strict=True))
    for needs in (frozenset(), frozenset({"bbox", "first"}), _regions.fore.RUN_NEEDS):
        with mock.patch.dict(_stats.RUN_FRACTION, counts=0.0, boxes=0.0):  # the runs road
            got = _stats.measure_block(lab, None, offset, gshape, needs)
        want = _stats.measure_block(lab, None, offset, gshape, needs, nz=_regions.flat_nonzero(lab))
        assert got.keys() == want.keys()
        for k in got:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
            assert got[k].dtype == want[k].dtype, k


def test_the_runs_road_is_taken_where_it_is_the_faster_one(monkeypatch):
    # the measurement picks its road by the sampled foreground: a sparse image's pixels
    # are listed, a dense image's runs found; an intensity statistic needs the pixels
    calls = []
    real = _regions.fore.Fore.from_runs.__func__
    monkeypatch.setattr(
        _regions.fore.Fore,
        "from_runs",
        classmethod(lambda cls, lab, offset: calls.append(lab.shape) or real(cls, lab, offset)),
    )
    rng = np.random.default_rng(5)
    dense = ndi.label(ndi.gaussian_filter(rng.random((64, 64)), 2) > 0.5)[0]
    sparse = np.zeros((64, 64), np.int32)
    sparse[10:12, 20:23] = 1
    sparse[40, 5:9] = 2
    img = rng.random((64, 64))
    cases = [  # labels, needs, image, runs road
        (dense, frozenset(), None, True),
        (dense, frozenset({"bbox", "coords"}), None, True),
        (dense, frozenset({"bbox", "isum"}), img, False),
        (sparse, frozenset(), None, False),
        (sparse, frozenset({"bbox"}), None, False),
    ]
    for lab, needs, image, runs in cases:
        calls.clear()
        got = _stats.measure_block(lab, image, (0, 0), lab.shape, needs)
        assert bool(calls) == runs, (needs, runs)
        want = _stats.measure_block(lab, image, (0, 0), lab.shape, needs, nz=np.flatnonzero(lab))
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
