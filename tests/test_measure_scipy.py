"""batchimg.measure's scipy.ndimage measurement functions against scipy on the whole array."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from helpers import chunkings, random_image
from hypothesis import given, settings
from hypothesis import strategies as st

from batchimg import measure
from batchimg.errors import InputError, InputTypeError, InvalidParameterError

SHAPES = {"2d": (23, 31), "3d": (9, 12, 14)}
U = 2.0**-53

#: function -> how its values compare with scipy's: "exact" or "sum" (a float sum's bound)
FUNCS = {
    "sum_labels": "sum",
    "sum": "sum",
    "mean": "sum",
    "variance": "var",
    "standard_deviation": "var",
    "minimum": "exact",
    "maximum": "exact",
    "median": "exact",
    "minimum_position": "exact",
    "maximum_position": "exact",
    "center_of_mass": "sum",
    "extrema": "exact",
}
INDEXES = {
    "none": None,
    "background": 0,
    "scalar": 3,
    "absent-scalar": 99999,
    "list": [0, 1, 3, 99999, 2],
    "tuple": (2, 1),
    "array2d": np.array([[1, 2], [4, 0]]),
    "empty": [],
}


def make_labels(shape, seed=2):
    rng = np.random.default_rng(seed)
    noise = ndi.uniform_filter(rng.random(shape), 3)
    return ndi.label(noise > np.quantile(noise, 0.55))[0]


def scipy_result(name, img, lab, index):
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # scipy warns on 0 / 0 for an absent label; ours gives the same NaN silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return getattr(ndi, name)(img, lab, index)


def computed(x):
    (out,) = dask.compute(x)
    return out


def assert_same_structure(got, want, kind, n=None, scale=None):
    """Same Python structure and dtype as scipy's result; values exact or within the bound."""
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, tuple | list):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same_structure(g, w, kind, n, scale)
        return
    g, w = np.asarray(got), np.asarray(want)
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    if kind == "exact" or w.dtype.kind not in "fc":
        np.testing.assert_array_equal(g, w)
    elif kind == "sum":
        # both are summations of the same terms: within (n - 1) u sum|x| of the exact sum
        bound = 2 * (n - 1) * U * scale + 1e-300
        assert np.all((np.abs(g - w) <= bound) | (np.isnan(g) & np.isnan(w))), (g, w)
    elif kind == "f32":
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=0, equal_nan=True)
    else:
        np.testing.assert_allclose(g, w, rtol=4 * n * U, atol=0, equal_nan=True)


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    ("dim", "chunking", "index"),
    [("2d", c, "list") for c in chunkings(SHAPES["2d"])]
    + [("2d", "uneven", i) for i in INDEXES if i != "list"]
    + [("3d", c, i) for c in ("uneven", "thin") for i in ("none", "array2d", "background")],
)
@pytest.mark.parametrize("dtype", [np.float64, np.int16])
def test_functions_match_scipy(func, dim, chunking, index, dtype):
    shape = SHAPES[dim]
    lab = make_labels(shape)
    img = random_image(shape, dtype, seed=9)
    chunks = chunkings(shape)[chunking]
    idx = INDEXES[index]
    try:
        want = scipy_result(func, img, lab, idx)
    except ValueError:
        # scipy cannot reduce an empty region (a scalar label that is absent)
        with pytest.raises(ValueError, match=r"of no pixels: the region is empty"):
            computed(getattr(measure, func)(da.from_array(img, chunks=chunks), lab, idx))
        return
    got = getattr(measure, func)(
        da.from_array(img, chunks=chunks), da.from_array(lab, chunks=chunks), idx
    )
    if func != "extrema":
        assert isinstance(got, da.Array)
        if np.size(want):  # (numpy.array([]) has no trailing axis of coordinates)
            assert got.shape == np.shape(np.array(want))
    scale = float(np.sum(np.abs(img))) * max(shape)
    result = computed(got)
    if func in ("minimum_position", "maximum_position", "extrema") and np.ndim(idx) > 0:
        # scipy orders equal values of a sequence index by its (unstable) sort
        result, want = _tied(func, result, want, img, lab, idx)
    assert_same_structure(result, want, FUNCS[func], n=img.size, scale=scale)


def _tied(func, got, want, img, lab, index):
    """Positions among ties: ours are the first (a maximum's last) occurrence in raster order."""
    if func == "extrema":
        lo, hi = _tied("minimum_position", got[2], want[2], img, lab, index)[0], None
        hi = _tied("maximum_position", got[3], want[3], img, lab, index)[0]
        return (got[0], got[1], lo, hi), (want[0], want[1], want[2], want[3])
    flat = np.ravel(index)
    out = []
    for g, w, label in zip(got, want, flat, strict=True):
        hits = np.argwhere(lab == label)
        if len(hits):
            vals = img[lab == label]
            best = vals.min() if func == "minimum_position" else vals.max()
            assert img[w] == best  # scipy's own answer is one of the ties
            ties = [tuple(np.int64(c) for c in h) for h in hits[vals == best]]
            assert g == (ties[0] if func == "minimum_position" else ties[-1])
            out.append(w)  # and ours the rule's: compare the rest as scipy's
        else:
            out.append(g)
    return out, want


@pytest.mark.parametrize("func", [f for f in FUNCS if f not in ("median",)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, bool])
@pytest.mark.parametrize("index", ["none", "scalar", "list"])
def test_dtypes(func, dtype, index):
    shape = SHAPES["2d"]
    lab = make_labels(shape, seed=4).astype(np.uint16)
    img = random_image(shape, dtype, seed=1)
    idx = INDEXES[index]
    want = scipy_result(func, img, lab, idx)
    got = computed(getattr(measure, func)(da.from_array(img, chunks=(7, 9)), lab, idx))
    if dtype == np.float32 and FUNCS[func] != "exact" and index != "list":
        # scipy sums a single float32 region in float32 (relative error ~1e-7), and so
        # returns float32 for the sum; ours sums in float64 and keeps scipy's dtype
        assert_same_structure(got, want, "f32")
        return
    # integer images: exact, but for the variance (ours is exact in double-double, within
    # 1 ulp of the true value; scipy's two-pass result is rounded its own way)
    kind = "exact" if dtype != np.float32 and FUNCS[func] != "var" else FUNCS[func]
    if func in ("minimum_position", "maximum_position", "extrema") and index == "list":
        got, want = _tied(func, got, want, img, lab, idx)
    assert_same_structure(got, want, kind, n=img.size, scale=float(np.abs(img).sum()) * 31)


def test_lecture_notes_sizes_with_the_background():
    """``ndi.sum(mask, label_im, range(nb_labels + 1))`` measures the background as label 0."""
    rng = np.random.default_rng(3)
    im = ndi.gaussian_filter(rng.random((64, 64)), 2)
    mask = im > im.mean()
    label_im, nb_labels = ndi.label(mask)
    index = range(nb_labels + 1)
    d_mask, d_lab = da.from_array(mask, chunks=17), da.from_array(label_im, chunks=17)
    sizes = measure.sum(d_mask, d_lab, index).compute()
    np.testing.assert_array_equal(sizes, ndi.sum(mask, label_im, index))
    assert sizes[0] == 0 and sizes.dtype == np.float64
    means = measure.mean(da.from_array(im, chunks=17), d_lab, index).compute()
    np.testing.assert_allclose(means, ndi.mean(im, label_im, index), rtol=64**2 * 2 * U)
    assert measure.find_objects(d_lab) == ndi.find_objects(label_im)
    # block mean: a label per 8x8 block, mean of each
    blocks = np.arange(64).reshape(8, 8).repeat(8, 0).repeat(8, 1)
    got = measure.mean(da.from_array(im, chunks=20), blocks, np.arange(64)).compute()
    np.testing.assert_allclose(got, ndi.mean(im, blocks, np.arange(64)), rtol=64 * 2 * U)
    # radial mean
    r = np.hypot(*np.ogrid[-32:32, -32:32]).astype(int)
    got = measure.mean(da.from_array(im, chunks=20), r, np.arange(r.max() + 1)).compute()
    np.testing.assert_allclose(got, ndi.mean(im, r, np.arange(r.max() + 1)), rtol=1e-13)


def test_float_sums_are_within_the_stated_bound_of_the_exact_sum():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 50)) * 10.0 ** rng.integers(-3, 4, (40, 50))
    lab = rng.integers(0, 5, (40, 50))
    index = np.arange(5)
    got = measure.sum_labels(da.from_array(x, chunks=(7, 11)), lab, index).compute()
    want = ndi.sum_labels(x, lab, index)
    for i in index:
        vals = x[lab == i]
        exact = math.fsum(vals)
        bound = (len(vals) - 1) * U * np.abs(vals).sum()
        assert abs(got[i] - exact) <= bound and abs(want[i] - exact) <= bound
    # the bound is not idle: the orders differ in the last bits here
    assert not np.array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float64])
def test_variance_within_its_bound_of_the_exact_variance(dtype):
    img = random_image((30, 40), dtype, seed=11)
    if dtype == np.float64:
        img = img + 1e6  # a large mean: the formula must not cancel
    lab = make_labels((30, 40), seed=3)
    index = np.arange(1, lab.max() + 1)
    got = measure.variance(da.from_array(img, chunks=(7, 9)), lab, index).compute()
    for i, v in zip(index, got, strict=True):
        vals = [Fraction(float(x)) for x in img[lab == i]]
        n = len(vals)
        mean = sum(vals) / n
        exact = float(sum((x - mean) ** 2 for x in vals) / n)
        ulps = 1 if dtype != np.float64 else n + 8
        assert abs(v - exact) <= ulps * np.spacing(exact) + 1e-300, (i, v, exact)


def test_integer_images_give_scipy_bits():
    img = random_image((23, 31), np.uint16, seed=5)
    lab = make_labels((23, 31))
    index = np.arange(lab.max() + 1)
    d = da.from_array(img, chunks=(4, 6))
    for func in ("sum_labels", "mean", "center_of_mass"):
        got = computed(getattr(measure, func)(d, lab, index))
        assert_same_structure(got, scipy_result(func, img, lab, index), "exact")


def test_nan_follows_scipy():
    img = np.array([[1.0, np.nan, 3.0], [0.5, 2.0, 7.0]])
    lab = np.array([[1, 1, 2], [1, 2, 2]])
    d = da.from_array(img, chunks=1)
    for func in ("minimum", "maximum"):
        for index in (None, 1, [1, 2]):
            got = computed(getattr(measure, func)(d, lab, index))
            np.testing.assert_array_equal(got, getattr(ndi, func)(img, lab, index))


def test_position_ties_follow_scipy():
    img = np.array([[1, 0, 5], [0, 5, 1]])
    lab = np.ones_like(img)
    d = da.from_array(img, chunks=1)
    for func in ("minimum_position", "maximum_position"):
        for index in (None, 1, [1]):
            assert computed(getattr(measure, func)(d, lab, index)) == getattr(ndi, func)(
                img, lab, index
            )


def test_float_labels_compare_as_floats():
    a = np.arange(6.0)
    lab = np.array([0, 1.5, 1.5, -2.0, 0, 2.0])
    for index in (None, 1.5, [1.5, -2.0, 2.0, 7.0], -2.0):
        for func in ("sum", "maximum_position", "median"):
            got = computed(getattr(measure, func)(da.from_array(a, chunks=2), lab, index))
            assert_same_structure(got, getattr(ndi, func)(a, lab, index), "exact")


def test_zero_dimensional_and_empty_inputs():
    for func in ("sum", "mean", "variance", "minimum", "maximum"):
        assert_same_structure(
            computed(getattr(measure, func)(np.ones(()))), getattr(ndi, func)(np.ones(())), "exact"
        )
    assert computed(measure.sum(np.zeros(0))) == 0
    assert computed(measure.sum(np.zeros((0, 4)), np.zeros((0, 4), bool))) == 0
    assert computed(measure.minimum(np.ones((3, 3)), np.ones((3, 3), int), [])).shape == (0,)


def test_median_of_an_absent_label_is_scipys_filler():
    img = np.array([4.0, 2.0, 9.0, 1.0, 5.0])
    lab = np.array([2, 2, 3, 0, 3])
    for index in ([2, 3, 7], [7], None, 3):
        got = computed(measure.median(da.from_array(img, chunks=2), lab, index))
        assert_same_structure(got, ndi.median(img, lab, index), "exact")


@pytest.mark.parametrize("index", [None, 1, [1, 2, 9], (2, 1)])
@pytest.mark.parametrize("pass_positions", [False, True])
def test_labeled_comprehension_sees_scipys_order(index, pass_positions):
    rng = np.random.default_rng(0)
    a = rng.random((15, 16))
    lab = ((a < 0.5).astype(int) + (a < 0.25)).astype(np.int64)

    def first_values(vals, pos=None):  # depends on the order of the values
        out = vals[0] * 10 + vals[-1]
        return out + (0 if pos is None else pos[0] / 1000)

    want = ndi.labeled_comprehension(a, lab, index, first_values, float, -1.0, pass_positions)
    got = measure.labeled_comprehension(
        da.from_array(a, chunks=(4, 5)),
        da.from_array(lab, chunks=(4, 5)),
        index,
        first_values,
        float,
        -1.0,
        pass_positions,
    )
    assert_same_structure(computed(got), want, "exact")
    whole = measure.labeled_comprehension(a, None, None, np.sum, float, 0)
    assert computed(whole) == ndi.labeled_comprehension(a, None, None, np.sum, float, 0)


def test_histogram_and_value_indices():
    rng = np.random.default_rng(1)
    a = rng.random((15, 16))
    lab = ((a < 0.5).astype(int) + (a < 0.25)).astype(np.int64)
    d, dl = da.from_array(a, chunks=(4, 5)), da.from_array(lab, chunks=(4, 5))
    for index in (None, 1, 9, [1, 2, 9]):
        got = computed(measure.histogram(d, 0, 1, 5, dl, index))
        want = ndi.histogram(a, 0, 1, 5, lab, index)
        if want is None or isinstance(want, np.ndarray) and want.dtype != object:
            np.testing.assert_array_equal(got, want)
        else:
            assert [None if w is None else w.tolist() for w in want] == [
                None if g is None else g.tolist() for g in got
            ]
    for ignore in (None, 0):
        got = measure.value_indices(dl, ignore_value=ignore)
        want = ndi.value_indices(lab, ignore_value=ignore)
        assert list(got) == list(want)
        for k in want:
            for g, w in zip(got[k], want[k], strict=True):
                np.testing.assert_array_equal(g, w, strict=True)


@pytest.mark.parametrize(
    ("dim", "chunking"), [(d, c) for d in SHAPES for c in chunkings(SHAPES[d])]
)
def test_find_objects_matches_scipy(dim, chunking):
    shape = SHAPES[dim]
    lab = make_labels(shape, seed=8)
    lab[lab == 3] = 0  # a missing label gives None
    chunks = chunkings(shape)[chunking]
    for max_label in (0, 2, 50):
        assert measure.find_objects(da.from_array(lab, chunks=chunks), max_label) == (
            ndi.find_objects(lab, max_label)
        )


def test_results_are_lazy_and_deterministic(monkeypatch):
    from batchimg._regions import stats

    calls = []
    original = stats.block_stats
    monkeypatch.setattr(stats, "block_stats", lambda *a, **k: calls.append(1) or original(*a, **k))
    lab = da.from_array(make_labels((20, 20)), chunks=10)
    img = da.from_array(np.ones((20, 20)), chunks=10)
    a = measure.center_of_mass(img, lab, [1, 2])
    b = measure.center_of_mass(img, lab, [1, 2])
    assert calls == [] and a.name == b.name
    computed(a)
    assert len(calls) == 4


@st.composite
def cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    lab = rng.integers(-1, draw(st.integers(1, 6)), shape)
    img = rng.integers(0, 50, shape).astype(draw(st.sampled_from([np.int32, np.float64])))
    chunks = tuple(draw(st.integers(1, s)) for s in shape)
    index = draw(st.sampled_from([None, 0, 1, [0, 1, 2, 7]]))
    return lab, img, chunks, index


@settings(deadline=None, max_examples=40)
@given(cases())
def test_hypothesis_integer_valued_images_give_scipys_answers(case):
    lab, img, chunks, index = case
    for func in FUNCS:
        try:
            want = scipy_result(func, img, lab, index)
        except (ValueError, IndexError):
            continue  # scipy cannot reduce an empty region
        got = computed(getattr(measure, func)(da.from_array(img, chunks=chunks), lab, index))
        kind = "exact" if func not in ("variance", "standard_deviation") else "var"
        if func in ("minimum_position", "maximum_position", "extrema") and np.ndim(index):
            got, want = _tied(func, got, want, img, lab, index)
        assert_same_structure(got, want, kind, n=max(img.size, 1))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_errors():
    img = np.ones((3, 3))
    with pytest.raises(InputTypeError, match=r"input must be real; got dtype complex128"):
        measure.mean(np.ones((3, 3), complex), np.ones((3, 3), int))
    with pytest.raises(TypeError, match=r"input must be a real numeric array; got dtype"):
        measure.mean(np.array([["a"]]))
    with pytest.raises(
        InputError, match=r"labels must have the input's shape \(3, 3\) \(or broadcast"
    ):
        measure.mean(img, np.ones((2, 2), int))
    with pytest.raises(InputError, match=r"labels must be an integer \(or bool\) array"):
        measure.mean(img, np.ones((3, 3), complex))
    with pytest.raises(InvalidParameterError, match=r"index must be None, a label or labels"):
        measure.mean(img, np.ones((3, 3), int), "a")
    with pytest.raises(InvalidParameterError, match=r"index must hold finite labels"):
        measure.mean(img, np.ones((3, 3), int), [np.nan])
    with pytest.raises(ValueError, match=r"minimum of no pixels: the region is empty"):
        measure.minimum(img, np.zeros((3, 3), int), 1).compute()
    with pytest.raises(TypeError, match=r"input must be an integer array; got dtype float64"):
        measure.find_objects(img)
    with pytest.raises(InvalidParameterError, match=r"max_label must be an integer; got 2.5"):
        measure.find_objects(np.ones((3, 3), int), 2.5)
    with pytest.raises(ValueError, match=r"Parameter 'arr' must be an integer array"):
        measure.value_indices(img)
    with pytest.raises(ValueError, match=r"index without defined labels"):
        measure.labeled_comprehension(img, None, 1, np.sum, float, 0)
    with pytest.raises(InvalidParameterError, match=r"func must be callable; got 3"):
        measure.labeled_comprehension(img, np.ones((3, 3), int), 1, 3, float, 0)
    with pytest.raises(InvalidParameterError, match=r"Cannot convert index values"):
        measure.labeled_comprehension(img, np.ones((3, 3), int), [1.5], np.sum, float, 0)
    with pytest.raises(InvalidParameterError, match=r"bins must be a positive integer"):
        measure.histogram(img, 0, 1, "5")
