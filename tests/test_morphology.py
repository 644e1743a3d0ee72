"""batchimg.morphology: errors, masks, iterations, wide structures and property tests."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from helpers import assert_same, random_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchimg import morphology as M
from batchimg.errors import InputError, InvalidParameterError

BINARY = ["binary_erosion", "binary_dilation", "binary_opening", "binary_closing"]
GREY = [
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "white_tophat",
    "black_tophat",
    "morphological_gradient",
]


def _bool_image(shape, seed=0, p=0.6):
    return np.random.default_rng(seed).random(shape) < p


# --------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("name", BINARY)
def test_iterations_below_one_points_at_propagation(name):
    image = _bool_image((6, 6))
    with pytest.raises(InvalidParameterError, match=r"iterations must be >= 1; got 0\..*"):
        getattr(M, name)(image, iterations=0)
    with pytest.raises(InvalidParameterError, match="binary_propagation"):
        getattr(M, name)(image, iterations=-1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(iterations=1.5), r"iterations must be an integer; got 1\.5\."),
        (dict(iterations=True), r"iterations must be an integer; got True\."),
        (dict(structure=np.ones(3)), r"structure must have 2 dimensions .* shape \(3,\)"),
        (dict(structure=np.full((3, 3), 2)), r"structure must contain only 0 and 1"),
        (dict(structure=np.ones((3, 3)), origin=2), r"origin must satisfy .* got 2\."),
        (dict(structure=np.ones((2, 2)), origin=(1, 0)), r"origin must satisfy .*\(1, 0\)"),
        (dict(border_value=2), r"border_value must be 0 or 1 .*; got 2\."),
        (dict(brute_force="yes"), r"brute_force must be True or False; got 'yes'\."),
        (dict(axes=(0, 0)), r"axes must not repeat an axis"),
    ],
)
def test_binary_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        M.binary_erosion(_bool_image((6, 6)), **kwargs)


def test_binary_image_dtype_errors():
    with pytest.raises(InvalidParameterError, match=r"image must have a bool, integer.*complex128"):
        M.binary_dilation(np.ones((4, 4), complex))
    with pytest.raises(InvalidParameterError, match=r"got dtype float16\. Hint: convert"):
        M.binary_dilation(np.ones((4, 4), np.float16))


def test_mask_errors():
    image = _bool_image((6, 6))
    with pytest.raises(InputError, match=r"mask must have the image's shape \(6, 6\); got shape"):
        M.binary_erosion(image, mask=np.ones((6, 5), bool))
    with pytest.raises(InputError, match=r"mask must have the image's shape .*\(6,\)"):
        M.binary_closing(image, mask=np.ones(6, bool))
    with pytest.raises(InvalidParameterError, match=r"mask must have a bool, integer.*complex"):
        M.binary_opening(image, mask=np.ones((6, 6), complex))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(), r"size, footprint or structure must be given; got none of them\."),
        (dict(size=0), r"size must be >= 1"),
        (dict(size=(3, 3, 3)), r"size must be a number or have one value per axis \(2\)"),
        (dict(footprint=np.zeros((3, 3))), r"footprint must hold at least one True"),
        (dict(footprint=np.ones(3)), r"footprint must have 2 dimensions"),
        (dict(size=3, origin=(0, 2)), r"origin must satisfy .*\(0, 2\)"),
        (dict(size=3, mode="reflekt"), r"mode must be one of .* Did you mean 'reflect'\?"),
        (dict(size=3, cval="x"), r"cval must be a number; got 'x'\."),
        (
            dict(footprint=np.eye(3), mode=("reflect", "wrap")),
            r"mode must be one name for a non-flat or non-rectangular footprint",
        ),
        (
            dict(footprint=np.ones((3, 3)), structure=np.ones((3, 2))),
            r"footprint and structure must have the same shape; got \(3, 3\) and \(3, 2\)\.",
        ),
    ],
)
def test_grey_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        M.grey_opening(random_image((6, 6), "uint8"), **kwargs)


def test_grey_image_dtype_errors():
    with pytest.raises(InvalidParameterError, match=r"got dtype complex64"):
        M.white_tophat(np.ones((4, 4), np.complex64), size=3)


def test_structure_helpers_errors():
    with pytest.raises(InvalidParameterError, match=r"rank must be >= 0; got -1\."):
        M.generate_binary_structure(-1, 1)
    with pytest.raises(InvalidParameterError, match=r"connectivity must be an integer"):
        M.generate_binary_structure(2, 1.5)
    with pytest.raises(InvalidParameterError, match=r"iterations must be >= 1; got 0\."):
        M.iterate_structure(np.ones((3, 3)), 0)
    with pytest.raises(InvalidParameterError, match=r"structure must not be empty"):
        M.iterate_structure(np.ones((0, 3)), 2)


# --------------------------------------------------------------------------------------
# structuring elements


@pytest.mark.parametrize(("rank", "conn"), [(0, 1), (1, 1), (2, 1), (2, 2), (3, 2), (3, 5)])
def test_generate_binary_structure_is_scipys(rank, conn):
    assert_same(M.generate_binary_structure(rank, conn), ndi.generate_binary_structure(rank, conn))


def test_iterate_structure_is_scipys():
    s = np.array([[0, 1], [1, 1]], bool)
    assert_same(M.iterate_structure(s, 3), ndi.iterate_structure(s, 3))
    got, origin = M.iterate_structure(s, 2, origin=(0, -1))
    want, want_origin = ndi.iterate_structure(s, 2, origin=(0, -1))
    assert_same(got, want)
    assert list(origin) == list(want_origin)


# --------------------------------------------------------------------------------------
# masks, iterations, wide structures, non-binary input


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("chunks", [(13, 11), (4, 5), (2, 3), (1, 11)])
@pytest.mark.parametrize("iterations", [1, 3])
def test_mask_matches_scipy(name, chunks, iterations):
    image = _bool_image((13, 11), seed=1)
    mask = _bool_image((13, 11), seed=2, p=0.7)
    kw = dict(iterations=iterations, border_value=int(name == "binary_erosion"))
    want = getattr(ndi, name)(image, mask=mask, **kw)
    # the mask may be numpy or dask, chunked unlike the image
    for m in (mask, da.from_array(mask, chunks=(5, 2))):
        got = getattr(M, name)(da.from_array(image, chunks=chunks), mask=m, **kw)
        assert_same(got, want)


def test_mask_with_axes_and_nonbinary_mask():
    image = _bool_image((3, 9, 8), seed=3)
    mask = np.random.default_rng(4).integers(0, 3, (3, 9, 8)).astype(np.uint8)
    want = np.stack(
        [ndi.binary_dilation(i, mask=m, iterations=2) for i, m in zip(image, mask, strict=True)]
    )
    got = M.binary_dilation(
        da.from_array(image, chunks=(2, 4, 3)), mask=mask, iterations=2, axes=(1, 2)
    )
    assert_same(got, want)


@pytest.mark.parametrize("name", BINARY)
def test_many_iterations_with_thin_chunks(name):
    image = _bool_image((17, 15), seed=5, p=0.5)
    structure = ndi.generate_binary_structure(2, 2)
    want = getattr(ndi, name)(image, structure, iterations=5, border_value=1)
    got = getattr(M, name)(
        da.from_array(image, chunks=(2, 3)), structure, iterations=5, border_value=1
    )
    assert_same(got, want)


@pytest.mark.parametrize("name", BINARY + GREY)
def test_structure_wider_than_chunks_and_axis(name):
    # 9 rows of structure on a 5-row axis; 5 columns on 2-column chunks
    fp = np.ones((9, 5), bool)
    fp[0, 0] = fp[8, 4] = False
    if name in BINARY:
        image = _bool_image((5, 14), seed=6, p=0.8)
        kw = dict(structure=fp, origin=(1, -2))
    else:
        image = random_image((5, 14), "int32", seed=6)
        kw = dict(footprint=fp, origin=(1, -2), mode="wrap")
    want = getattr(ndi, name)(image, **kw)
    got = getattr(M, name)(da.from_array(image, chunks=(2, 2)), **kw)
    assert_same(got, want)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["int16", "float32", "float64"])
def test_nonbinary_input_reads_nonzero_as_true(name, dtype):
    rng = np.random.default_rng(7)
    image = rng.choice(np.array([0, 0, 0, 1, -1, 2.5, 7], dtype=dtype), size=(12, 10))
    if dtype.startswith("float"):
        image[rng.random(image.shape) < 0.1] = np.nan  # NaN counts as True, as in scipy
    want = getattr(ndi, name)(image, iterations=2)
    got = getattr(M, name)(da.from_array(image, chunks=(5, 3)), iterations=2)
    assert_same(got, want)
    assert_same(got, getattr(ndi, name)(image != 0, iterations=2))


@pytest.mark.parametrize("name", GREY)
def test_grey_per_axis_modes(name):
    image = random_image((12, 10), "float32", seed=8)
    kw = dict(size=(3, 4), mode=("wrap", "nearest"), cval=2.0, origin=(0, -1))
    got = getattr(M, name)(da.from_array(image, chunks=(5, 3)), **kw)
    assert_same(got, getattr(ndi, name)(image, **kw))


def test_graph_is_lazy_and_deterministic():
    image = da.from_array(_bool_image((20, 20)), chunks=5)
    a = M.binary_closing(image, iterations=2)
    b = M.binary_closing(image, iterations=2)
    c = M.binary_closing(image, iterations=3)
    assert a.name == b.name != c.name
    assert a.dtype == bool
    g = M.grey_opening(image.astype(np.uint8), size=3)
    assert g.name == M.grey_opening(image.astype(np.uint8), size=3).name
    assert g.dtype == np.uint8


# --------------------------------------------------------------------------------------
# property tests


@st.composite
def _chunked(draw, dtype):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = []
    for s in shape:
        cuts = sorted(draw(st.sets(st.integers(1, s - 1), max_size=3)) if s > 1 else set())
        edges = [0, *cuts, s]
        chunks.append(tuple(b - a for a, b in zip(edges, edges[1:], strict=False)))
    seed = draw(st.integers(0, 2**16))
    if dtype == "bool":
        image = _bool_image(shape, seed=seed, p=draw(st.sampled_from([0.3, 0.7])))
    else:
        image = random_image(shape, dtype, seed)
    return image, tuple(chunks)


@st.composite
def _structure(draw, ndim):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    symmetric = draw(st.booleans())
    flat = np.random.default_rng(draw(st.integers(0, 2**16))).random(shape) < 0.6
    if symmetric:
        flat = flat | flat[(slice(None, None, -1),) * ndim]
    flat[tuple(s // 2 for s in shape)] = True
    origin = tuple(draw(st.integers(-(s // 2), (s - 1) // 2)) for s in shape)
    return flat, origin


_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scipy_binary(name, image, **kw):
    """scipy's answer; one pass repeated where its iterated path is undefined.

    scipy's iterated binary erosion reads and writes past the array when the
    structure is larger than the array along an axis (wrong answers, sometimes heap
    corruption); there the oracle is the documented meaning, one pass repeated.
    """
    structure = kw.get("structure")
    it = kw.get("iterations", 1)
    if (
        structure is None
        or it == 1
        or all(s <= n for s, n in zip(np.shape(structure), image.shape, strict=True))
    ):
        return getattr(ndi, name)(image, **kw)
    passes = {
        "binary_erosion": ["binary_erosion"],
        "binary_dilation": ["binary_dilation"],
        "binary_opening": ["binary_erosion", "binary_dilation"],
        "binary_closing": ["binary_dilation", "binary_erosion"],
    }[name]
    out = image
    for op in passes:
        for _ in range(it):
            out = getattr(ndi, op)(out, **dict(kw, iterations=1))
    return out


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shape", [(1,), (9,), (2, 2), (16, 13), (3, 7, 6)])
def test_box_structures_every_side_border_and_iteration(name, shape):
    # centred odd boxes take a separable path (shifted and/or per axis): same bits
    ndim = len(shape)
    rng = np.random.default_rng(sum(shape))
    image = rng.random(shape) < 0.55
    for sides in [(1, 3, 5)[:ndim], (3,) * ndim, (5, 1, 3)[:ndim], (7, 3, 1)[:ndim]]:
        for iterations in (1, 2):
            for border_value in (0, 1):
                kw = dict(
                    structure=np.ones(sides, bool),
                    iterations=iterations,
                    border_value=border_value,
                )
                want = _scipy_binary(name, image, **kw)
                for chunks in (shape, tuple(max(1, s // 2) for s in shape)):
                    got = getattr(M, name)(da.from_array(image, chunks=chunks), **kw)
                    assert_same(got, want)


@pytest.mark.parametrize("name", BINARY)
def test_iterations_with_structure_larger_than_the_image(name):
    # a non-box structure larger than the array, iterated: one pass repeated
    image = _bool_image((5, 6, 7), seed=3, p=0.3)
    structure = np.ones((1, 7, 2), bool)
    structure[0, 0, 0] = False
    kw = dict(structure=structure, iterations=3)
    want = _scipy_binary(name, image, **kw)
    got = getattr(M, name)(da.from_array(image, chunks=(2, 3, 4)), **kw)
    assert_same(got, want)


@_SETTINGS
@given(data=st.data())
def test_binary_property(data):
    image, chunks = data.draw(_chunked("bool"))
    structure, origin = data.draw(_structure(image.ndim))
    name = data.draw(st.sampled_from(BINARY))
    kw = dict(
        structure=structure,
        origin=origin,
        iterations=data.draw(st.integers(1, 3)),
        border_value=data.draw(st.integers(0, 1)),
    )
    if data.draw(st.booleans()):
        kw["mask"] = _bool_image(image.shape, seed=9, p=0.8)
    got = getattr(M, name)(da.from_array(image, chunks=chunks), **kw)
    assert_same(got, _scipy_binary(name, image, **kw))


@_SETTINGS
@given(data=st.data())
def test_grey_property(data):
    image, chunks = data.draw(_chunked(data.draw(st.sampled_from(["uint8", "int32", "float64"]))))
    footprint, origin = data.draw(_structure(image.ndim))
    name = data.draw(st.sampled_from(GREY))
    kw = dict(
        footprint=footprint,
        origin=origin,
        mode=data.draw(st.sampled_from(["reflect", "constant", "nearest", "mirror", "wrap"])),
        cval=3,
    )
    if data.draw(st.booleans()):
        kw["structure"] = (footprint * 2).astype(np.int16)
    got = getattr(M, name)(da.from_array(image, chunks=chunks), **kw)
    assert_same(got, _scipy_binary(name, image, **kw))
