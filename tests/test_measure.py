"""batchimg.measure against scikit-image's regionprops_table and scipy.ndimage."""

from __future__ import annotations

import warnings

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
from batchimg._regions import stats as _reduce
from batchimg.errors import InputError, InvalidParameterError

SKIMAGE_PROPS = (
    "label",
    "area",
    "bbox",
    "centroid",
    "centroid_weighted",
    "intensity_mean",
    "intensity_min",
    "intensity_max",
    "intensity_std",
    "equivalent_diameter_area",
    "extent",
)
ALL_PROPS = SKIMAGE_PROPS + ("intensity_sum",)
SHAPES = {"2d": (23, 31), "3d": (9, 12, 14)}
RTOL = 1e-10


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


def skimage_table(lab, img=None, properties=SKIMAGE_PROPS, spacing=None):
    kw = {} if spacing is None else {"spacing": spacing}
    with warnings.catch_warnings():
        # skimage divides by a zero total intensity for centroid_weighted of a dark region
        warnings.simplefilter("ignore", RuntimeWarning)
        return pd.DataFrame(
            skimage.measure.regionprops_table(lab, img, properties=properties, **kw)
        )


def assert_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert dict(got.dtypes) == dict(want.dtypes), (got.dtypes, want.dtypes)
    assert len(got) == len(want)
    for col in want.columns:
        if want[col].dtype.kind in "iu":
            np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy(), err_msg=col)
        else:
            np.testing.assert_allclose(
                got[col].to_numpy(), want[col].to_numpy(), rtol=RTOL, atol=1e-12, err_msg=col
            )


# ---------------------------------------------------------------------------
# regionprops_table: properties x chunkings x dims, dtypes, sparse labels
# ---------------------------------------------------------------------------

CASES = [(dim, name) for dim, shape in SHAPES.items() for name in chunkings(shape)]


@pytest.mark.parametrize(("dim", "chunking"), CASES)
def test_regionprops_matches_skimage_across_chunkings(dim, chunking):
    shape = SHAPES[dim]
    lab = make_labels(shape)
    img = random_image(shape, np.float64)
    chunks = chunkings(shape)[chunking]
    got = measure.regionprops_table(
        da.from_array(lab, chunks=chunks), da.from_array(img, chunks=chunks), properties=ALL_PROPS
    )
    want = skimage_table(lab, img)
    want["intensity_sum"] = ndi.sum_labels(img, lab, want["label"].to_numpy())
    assert_table(got, want)


@pytest.mark.parametrize("lab_dtype", [np.int32, np.int64, np.uint16])
@pytest.mark.parametrize("img_dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("dim", ["2d", "3d"])
def test_regionprops_dtypes_and_sparse_labels(lab_dtype, img_dtype, dim):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=7, values=[5, 1000, 60000], dtype=lab_dtype)
    img = random_image(shape, img_dtype, seed=3)
    chunks = chunkings(shape)["uneven"]
    got = measure.regionprops_table(
        da.from_array(lab, chunks=chunks), da.from_array(img, chunks=chunks), properties=ALL_PROPS
    )
    # we accumulate in float64 like scipy; skimage accumulates float32 in float32
    want = skimage_table(lab, img.astype(np.float64))
    want["intensity_sum"] = ndi.sum_labels(img, lab, want["label"].to_numpy())
    assert_table(got, want)
    assert set(np.unique(lab[lab > 0]) % 1000) >= {5}


def test_regionprops_very_sparse_labels_use_hashing():
    lab = make_labels((40, 50), values=[5, 70_000, 2**40])  # range far wider than the block
    lab = lab.astype(np.int64)
    img = random_image(lab.shape, np.uint16)
    got = measure.regionprops_table(
        da.from_array(lab, chunks=(13, 17)), img, properties=SKIMAGE_PROPS
    )
    assert_table(got, skimage_table(lab, img.astype(np.float64)))


@pytest.mark.parametrize("dim", ["2d", "3d"])
def test_regionprops_spacing(dim):
    shape = SHAPES[dim]
    spacing = (0.5, 2.0, 3.0)[-len(shape) :]
    lab = make_labels(shape, seed=11)
    img = random_image(shape, np.float64)
    got = measure.regionprops_table(
        da.from_array(lab, chunks=chunkings(shape)["even"]),
        img,
        properties=SKIMAGE_PROPS,
        spacing=spacing,
    )
    assert_table(got, skimage_table(lab, img, spacing=spacing))


@pytest.mark.parametrize("dim", ["2d", "3d"])
def test_large_blocks_are_measured_in_slabs(monkeypatch, dim):
    monkeypatch.setattr(_reduce, "SLAB", 40)  # force the cache-sized slab path
    monkeypatch.setattr(_reduce, "TABLE_FACTOR", 0)  # and the per-pixel fallback
    monkeypatch.setattr(_reduce, "_SLACK", 0)
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=31, values=[3, 90_000])
    img = random_image(shape, np.float64)
    got = measure.regionprops_table(lab, img, properties=ALL_PROPS)
    want = skimage_table(lab, img)
    want["intensity_sum"] = ndi.sum_labels(img, lab, want["label"].to_numpy())
    assert_table(got, want)
    kept = measure.filter_regions(da.from_array(lab, chunks=5), "area > 2").compute()
    assert_same(kept, ndi.label(np.isin(lab, want["label"][want["area"] > 2]))[0].astype(np.int32))


def test_regionprops_default_properties_and_numpy_input():
    lab = make_labels((20, 20))
    got = measure.regionprops_table(lab)
    assert_table(got, skimage_table(lab, properties=("label", "area", "centroid")))


def test_regionprops_no_regions_gives_empty_table_with_dtypes():
    lab = np.zeros((10, 12), np.int32)
    img = np.ones((10, 12))
    got = measure.regionprops_table(da.from_array(lab, chunks=5), img, properties=SKIMAGE_PROPS)
    want = skimage_table(lab, img)
    assert len(got) == 0
    assert_table(got, want)


def test_regionprops_stack_matches_skimage_per_image():
    rng = np.random.default_rng(5)
    stack = np.stack([make_labels((15, 18), seed=s) for s in range(5)])
    img = rng.random(stack.shape)
    got = measure.regionprops_table(
        da.from_array(stack, chunks=(2, 7, 10)), img, properties=SKIMAGE_PROPS, stack=True
    )
    parts = []
    for i in range(len(stack)):
        t = skimage_table(stack[i], img[i])
        t.insert(0, "image", np.full(len(t), i, np.int64))
        t.insert(2, "image_label", np.arange(1, len(t) + 1, dtype=np.int64))
        parts.append(t)
    assert_table(got, pd.concat(parts, ignore_index=True))


def test_stack_labels_carry_the_per_image_number():
    """label(stack, axes=(1, 2)) numbers on across images; image_label is scipy's per image."""
    rng = np.random.default_rng(9)
    stack = rng.random((4, 16, 19)) > 0.6
    labels, _ = measure.label(da.from_array(stack, chunks=(1, 8, 10)), axes=(1, 2))
    got = measure.regionprops_table(labels, properties=["label", "area"], stack=True)
    for i, image in enumerate(stack):
        own, k = ndi.label(image)
        rows = got[got["image"] == i]
        assert rows["image_label"].tolist() == list(range(1, k + 1))
        areas = ndi.sum_labels(np.ones_like(own), own, np.arange(1, k + 1))
        np.testing.assert_array_equal(rows["area"], areas)


def test_regionprops_handles_negative_and_bool_labels():
    lab = np.array([[-3, -3, 0], [0, 2, 2]])
    got = measure.regionprops_table(da.from_array(lab, chunks=1), properties=["label", "area"])
    assert got["label"].tolist() == [-3, 2]
    got = measure.regionprops_table(lab > 0, properties=["label", "area"])
    assert got["label"].tolist() == [1] and got["area"].tolist() == [2.0]


def test_regionprops_zero_total_intensity_gives_nan_weighted_centroid():
    lab = np.array([[1, 1, 0, 2]])
    img = np.array([[0.0, 0.0, 0.0, 1.0]])
    got = measure.regionprops_table(lab, img, properties=["centroid_weighted"])
    assert np.isnan(got["centroid_weighted-0"][0]) and got["centroid_weighted-1"][1] == 3.0


# ---------------------------------------------------------------------------
# one pass, laziness, graph hygiene
# ---------------------------------------------------------------------------


def test_block_statistics_run_once_per_block_for_all_properties(monkeypatch):
    calls = []
    original = _reduce.block_stats

    def counting(*args, **kwargs):
        calls.append(np.shape(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(_reduce, "block_stats", counting)
    lab = da.from_array(make_labels((24, 30)), chunks=(8, 10))
    img = da.from_array(random_image((24, 30), np.float32), chunks=(8, 10))
    delayed = measure.regionprops_delayed(lab, img, properties=ALL_PROPS)
    assert calls == []  # building the graph computes nothing
    delayed.compute()
    assert len(calls) == lab.npartitions == 9


def test_regionprops_graph_is_deterministic_and_small():
    lab = da.from_array(make_labels((24, 30)), chunks=(8, 10))
    a = measure.regionprops_delayed(lab, properties=ALL_PROPS[:4] + ("extent",))
    b = measure.regionprops_delayed(lab, properties=ALL_PROPS[:4] + ("extent",))
    assert a.key == b.key
    # one statistics task per block plus a small tree of merges and the frame
    stats = [k for k in dict(a.dask) if str(k).startswith("block_stats")]
    assert len(stats) == lab.npartitions


def test_regionprops_and_an_image_compute_together_in_one_pass(monkeypatch):
    calls = []
    original = _reduce.block_stats
    monkeypatch.setattr(_reduce, "block_stats", lambda *a: calls.append(1) or original(*a))
    lab = da.from_array(make_labels((24, 30)), chunks=(12, 15))
    table, mask = dask.compute(measure.regionprops_delayed(lab), lab > 0)
    assert len(calls) == 4 and len(table) > 0 and mask.shape == lab.shape


# ---------------------------------------------------------------------------
# scipy.ndimage-compatible statistics
# ---------------------------------------------------------------------------

SCIPY_FUNCS = [
    "sum_labels",
    "mean",
    "variance",
    "standard_deviation",
    "minimum",
    "maximum",
    "center_of_mass",
]


def _scipy(name, img, lab, index):
    # scipy warns for absent labels (0 / 0); those give NaN, as ours do
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if name == "center_of_mass" and index is not None and np.ndim(index) > 0:
            out = getattr(ndi, name)(img, lab, np.ravel(index).tolist())
            return np.array(out, np.float64).reshape(np.shape(index) + (img.ndim,))
        out = getattr(ndi, name)(img, lab, index)
    if name == "center_of_mass":
        return np.asarray(out, np.float64)
    return np.asarray(out)


def _check(got, want, exact):
    assert isinstance(got, da.Array)
    res = got.compute()
    assert res.shape == want.shape and got.shape == want.shape
    assert res.dtype == want.dtype == got.dtype, (res.dtype, want.dtype)
    if exact:
        np.testing.assert_array_equal(res, want)
    else:
        np.testing.assert_allclose(res, want, rtol=RTOL, atol=1e-12)


INDEXES = {
    "none": None,
    "scalar": 3,
    "absent-scalar": 99999,
    "list": [1, 3, 99999, 2],
    "array2d": np.array([[1, 2], [4, 1]]),
}


@pytest.mark.parametrize("func", SCIPY_FUNCS)
@pytest.mark.parametrize(
    ("dim", "chunking", "index"),
    [("2d", c, "list") for c in chunkings(SHAPES["2d"])]
    + [("2d", "uneven", i) for i in INDEXES if i != "list"]
    + [("3d", c, i) for c in ("uneven", "thin") for i in ("none", "array2d")],
)
def test_scipy_statistics_match(func, index, dim, chunking):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=2)
    img = random_image(shape, np.float64, seed=9)
    chunks = chunkings(shape)[chunking]
    idx = INDEXES[index]
    got = getattr(measure, func)(
        da.from_array(img, chunks=chunks), da.from_array(lab, chunks=chunks), idx
    )
    if index == "absent-scalar" and func in ("minimum", "maximum"):
        # scipy raises for an absent scalar label; we return 0, as for an absent label
        # in a list (documented)
        with pytest.raises(ValueError, match="zero-size array"):
            _scipy(func, img, lab, idx)
        assert float(got.compute()) == 0
        return
    _check(got, _scipy(func, img, lab, idx), exact=func in ("minimum", "maximum"))


@pytest.mark.parametrize("func", SCIPY_FUNCS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, bool])
@pytest.mark.parametrize("index", ["none", "scalar", "list"])
def test_scipy_statistics_dtypes(func, dtype, index):
    shape = SHAPES["2d"]
    lab = make_labels(shape, seed=4, dtype=np.uint16)
    img = random_image(shape, dtype, seed=1)
    idx = INDEXES[index]
    got = getattr(measure, func)(da.from_array(img, chunks=(7, 9)), lab, idx)
    want = _scipy(func, img, lab, idx)
    if dtype == np.float32 and func == "sum_labels" and index != "list":
        # scipy sums a float32 image in float32 for a scalar index; we sum in float64
        want = _scipy(func, img.astype(np.float64), lab, idx).astype(np.float32)
        np.testing.assert_allclose(got.compute(), want, rtol=1e-6)
        assert got.dtype == np.float32
        return
    if dtype == np.float32 and func not in ("sum_labels", "minimum", "maximum") and index != "list":
        # scipy accumulates a float32 image in float32 for a scalar index; we use float64
        want = _scipy(func, img.astype(np.float64), lab, idx)
    _check(
        got,
        want,
        exact=func in ("minimum", "maximum")
        or dtype != np.float32
        and func == "sum_labels"
        and index != "list",
    )


@pytest.mark.parametrize("func", SCIPY_FUNCS)
def test_scipy_statistics_without_labels(func):
    img = random_image((20, 25), np.float64)
    got = getattr(measure, func)(da.from_array(img, chunks=(6, 7)))
    _check(got, _scipy(func, img, None, None), exact=func in ("minimum", "maximum"))


def test_scipy_statistics_broadcast_labels_and_numpy_labels():
    img = random_image((6, 8), np.float64)
    lab = np.array([[1, 1, 2, 2, 0, 3, 3, 3]])
    got = measure.mean(da.from_array(img, chunks=3), lab, [1, 2, 3])
    np.testing.assert_allclose(got.compute(), ndi.mean(img, lab, [1, 2, 3]), rtol=RTOL)


def test_scipy_statistics_negative_labels_follow_scipy():
    img = random_image((6, 8), np.float64)
    lab = make_labels((6, 8), seed=3)
    lab[0, :3] = -2
    for idx in (None, -2, [-2, 1]):
        got = measure.sum_labels(da.from_array(img, chunks=4), lab, idx)
        np.testing.assert_allclose(got.compute(), ndi.sum_labels(img, lab, idx), rtol=RTOL)


def test_scipy_statistics_float_index_and_empty_index():
    img = random_image((6, 8), np.float64)
    lab = make_labels((6, 8), seed=3)
    np.testing.assert_allclose(
        measure.mean(img, lab, [1.0, 2.0]).compute(), ndi.mean(img, lab, [1, 2]), rtol=RTOL
    )
    assert measure.minimum(img, lab, []).compute().shape == (0,)
    assert measure.center_of_mass(img, lab, []).compute().shape == (0, 2)


@pytest.mark.parametrize(
    ("dim", "chunking", "max_label"),
    [(d, c, 0) for d, c in CASES] + [("2d", "uneven", 2), ("3d", "even", 50)],
)
def test_find_objects_matches_scipy(dim, chunking, max_label):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=8)
    lab[lab == 3] = 0  # a missing label gives None
    chunks = chunkings(shape)[chunking]
    assert measure.find_objects(da.from_array(lab, chunks=chunks), max_label) == ndi.find_objects(
        lab, max_label
    )


def test_find_objects_empty_and_negative():
    assert measure.find_objects(np.zeros((3, 3), np.int32)) == []
    lab = np.array([[0, -1, 2]])
    assert measure.find_objects(lab) == ndi.find_objects(np.maximum(lab, 0))


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
    "area > 1e9",
    "area > -inf",
]


def _kept_oracle(lab, img, where):
    # the oracle evaluates the condition with pandas on skimage's table
    t = skimage_table(lab, img)
    expr = where.replace("bbox-0", "`bbox-0`").replace("centroid-1", "`centroid-1`")
    kept = t.query(expr.replace("-inf", "-1e308"))["label"].to_numpy()
    return ndi.label(np.isin(lab, kept))[0]


@pytest.mark.parametrize("where", WHERES)
@pytest.mark.parametrize("chunking", ["single", "uneven", "thin"])
def test_filter_regions_equals_label_of_kept_mask(where, chunking):
    shape = SHAPES["2d"]
    lab = make_labels(shape, seed=21)
    img = np.random.default_rng(2).random(shape)
    chunks = chunkings(shape)[chunking]
    got = measure.filter_regions(
        da.from_array(lab, chunks=chunks), where, da.from_array(img, chunks=chunks)
    )
    assert_same(got, _kept_oracle(lab, img, where))


def test_filter_regions_3d_structure_and_sparse_labels():
    rng = np.random.default_rng(4)
    mask = ndi.uniform_filter(rng.random((10, 12, 14)), 3) > 0.52
    structure = np.ones((3, 3, 3), bool)
    lab = ndi.label(mask, structure)[0]
    sparse = np.where(lab > 0, lab * 70_001 + 5, 0).astype(np.int64)
    got = measure.filter_regions(da.from_array(sparse, chunks=(4, 5, 6)), "area >= 6")
    keep = np.isin(lab, np.flatnonzero(np.bincount(lab.ravel()) >= 6))
    keep &= lab > 0
    assert_same(got, ndi.label(keep, structure)[0].astype(np.int64))


@pytest.mark.parametrize("min_size", [0, 1, 4, 9, 1000])
def test_remove_small_objects_keeps_skimage_pixels_but_renumbers(min_size):
    lab = make_labels(SHAPES["2d"], seed=13)
    got = measure.remove_small_objects(da.from_array(lab, chunks=(7, 8)), min_size).compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skimage: "Only one label was provided"
        sk = skimage.morphology.remove_small_objects(lab, max_size=max(min_size - 1, 0))
    if min_size == 0:
        sk = lab
    np.testing.assert_array_equal(got > 0, sk > 0)  # same pixels kept (area >= min_size)
    np.testing.assert_array_equal(got, ndi.label(sk > 0)[0])  # ours renumbers
    if min_size == 9:
        assert not np.array_equal(got, sk)  # skimage keeps the old label values


def test_remove_small_objects_keeps_exactly_min_size():
    lab = np.array([[1, 1, 0, 2, 2, 2]])
    assert measure.remove_small_objects(lab, 3).compute().tolist() == [[0, 0, 0, 1, 1, 1]]


def test_filter_regions_is_lazy(monkeypatch):
    calls = []
    original = _reduce.block_stats
    monkeypatch.setattr(_reduce, "block_stats", lambda *a: calls.append(1) or original(*a))
    out = measure.filter_regions(da.from_array(make_labels((20, 20)), chunks=10), "area > 3")
    assert calls == [] and out.dtype == np.int32 and out.chunks == ((10, 10), (10, 10))
    out.compute()
    assert len(calls) == 4


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
    assert _regions.parse_where("not area < 3 or (extent >= 0.5 and 2 > bbox-1)") == (
        "or",
        ("not", ("cmp", "area", "<", 3.0)),
        ("and", ("cmp", "extent", ">=", 0.5), ("cmp", "bbox-1", "<", 2.0)),
    )


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ("aera > 3", r"unknown column 'aera'\. Did you mean 'area'\?"),
        ("bbox-9 > 3", r"unknown column 'bbox-9'"),
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


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"properties": ["aera"]}, InvalidParameterError, r"got 'aera'\. Did you mean 'area'\?"),
        ({"properties": []}, InvalidParameterError, r"non-empty sequence"),
        ({"properties": 3}, InvalidParameterError, r"non-empty sequence"),
        ({"properties": ["intensity_mean"]}, InvalidParameterError, r"needs an intensity image"),
        ({"spacing": (1.0, 0.0)}, InvalidParameterError, r"spacing must be positive"),
        (
            {"spacing": (1.0, 2.0, 3.0)},
            InvalidParameterError,
            r"spacing must be a number or have one",
        ),
        ({"stack": "yes"}, InvalidParameterError, r"stack must be True or False"),
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
    with pytest.raises(
        InputError, match=r"must have the label image's shape \(3, 3\); got shape \(3, 4\)"
    ):
        measure.regionprops_table(
            np.ones((3, 3), int), np.ones((3, 4)), properties=["intensity_max"]
        )
    with pytest.raises(
        InputError, match=r"intensity_image must be a real numeric array; got dtype complex128"
    ):
        measure.regionprops_table(np.ones((3, 3), int), np.ones((3, 3), complex))
    with pytest.raises(
        InvalidParameterError, match=r"stack=True needs a label image of at least 2"
    ):
        measure.regionprops_table(np.ones(3, int), stack=True)
    with pytest.raises(InputError, match=r"labels must be an integer"):
        measure.mean(np.ones((3, 3)), np.ones((3, 3)))
    with pytest.raises(
        InputError, match=r"labels must have the image's shape \(3, 3\) \(or broadcast"
    ):
        measure.mean(np.ones((3, 3)), np.ones((2, 2), int))
    with pytest.raises(
        InputError, match=r"image must be a real numeric array; got dtype complex128"
    ):
        measure.mean(np.ones((3, 3), complex), np.ones((3, 3), int))
    with pytest.raises(InvalidParameterError, match=r"index must hold whole numbers; got \[1.5\]"):
        measure.mean(np.ones((3, 3)), np.ones((3, 3), int), [1.5])
    with pytest.raises(
        InvalidParameterError, match=r"index must be None, a label or labels; got 'a'"
    ):
        measure.mean(np.ones((3, 3)), np.ones((3, 3), int), "a")
    with pytest.raises(InvalidParameterError, match=r"max_label must be >= 0; got -1"):
        measure.find_objects(np.ones((3, 3), int), -1)
    with pytest.raises(InvalidParameterError, match=r"min_size must be an integer; got 2.5"):
        measure.remove_small_objects(np.ones((3, 3), int), 2.5)
    with pytest.raises(InputError, match=r"label_image must be an integer"):
        measure.relabel(np.ones(3), np.arange(3))


# ---------------------------------------------------------------------------
# property-based
# ---------------------------------------------------------------------------


@st.composite
def labelled(draw):
    ndim = draw(st.integers(2, 3))
    shape = tuple(draw(st.integers(1, 12)) for _ in range(ndim))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < draw(st.floats(0.1, 0.7))
    lab = ndi.label(mask)[0]
    chunks = []
    for s in shape:
        cuts = sorted(draw(st.sets(st.integers(1, s - 1), max_size=3)) if s > 1 else set())
        edges = [0, *cuts, s]
        chunks.append(tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=True)))
    img = rng.random(shape)
    return lab, img, tuple(chunks)


@settings(deadline=None, max_examples=25)
@given(labelled())
def test_hypothesis_regionprops_and_filter(case):
    lab, img, chunks = case
    dlab, dimg = da.from_array(lab, chunks=chunks), da.from_array(img, chunks=chunks)
    assert_table(
        measure.regionprops_table(dlab, dimg, properties=SKIMAGE_PROPS), skimage_table(lab, img)
    )
    assert_same(
        measure.filter_regions(dlab, "area >= 2"),
        ndi.label(np.isin(lab, np.flatnonzero(np.bincount(lab.ravel()) >= 2)) & (lab > 0))[0],
    )
    index = np.arange(1, lab.max() + 1)
    np.testing.assert_allclose(
        measure.variance(dimg, dlab, index).compute(),
        _scipy("variance", img, lab, index),
        rtol=RTOL,
        atol=1e-12,
    )
