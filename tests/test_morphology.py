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
from batchimg.errors import (
    InputRuntimeError,
    InputTypeError,
    InvalidParameterError,
    ParameterIndexError,
    ParameterRuntimeError,
    ParameterTypeError,
)

BINARY = ["binary_erosion", "binary_dilation", "binary_opening", "binary_closing"]
GREY = [
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "white_tophat",
    "black_tophat",
    "morphological_gradient",
    "morphological_laplace",
]


def _bool_image(shape, seed=0, p=0.6):
    return np.random.default_rng(seed).random(shape) < p


# --------------------------------------------------------------------------------------
# errors: scipy's exception types, house messages


@pytest.mark.parametrize(
    ("kwargs", "cls", "match"),
    [
        (dict(iterations=1.5), ParameterTypeError, r"iterations must be an integer; got 1\.5\."),
        (dict(iterations="2"), ParameterTypeError, r"iterations must be an integer; got '2'\."),
        (dict(structure=np.ones(3)), ParameterRuntimeError, r"structure must have 2 dim.*\(3,\)"),
        (dict(structure=np.ones((0, 3))), ParameterRuntimeError, r"structure must not be empty"),
        (dict(structure=np.ones(9, complex)), ParameterTypeError, r"structure must be a real"),
        (dict(structure=np.ones((3, 3)), origin=2), ParameterIndexError, r"origin must .* got 2\."),
        (dict(structure=np.ones((2, 2)), origin=(1, 0)), ParameterIndexError, r"\(1, 0\)"),
        (dict(origin=(0, 0, 0)), ParameterRuntimeError, r"origin must be one value or one per"),
        (dict(origin=("a", 0)), ParameterTypeError, r"origin must hold integers"),
        (dict(border_value="x"), ParameterTypeError, r"border_value must be an integer .*'x'\."),
        (dict(border_value=2.0), ParameterTypeError, r"border_value must be an integer .*2\.0\."),
        (dict(axes=(0, 0)), InvalidParameterError, r"axes must not repeat an axis"),
        (dict(output=np.zeros((6, 5), bool)), ParameterRuntimeError, r"output must have the in"),
        (dict(output=np.zeros((6, 6), complex)), ParameterTypeError, r"output must have a real"),
        (dict(output=np.zeros((6, 6), np.float16)), ParameterRuntimeError, r"got float16\."),
        (dict(output=[1, 2]), ParameterTypeError, r"output must be None, a dtype or a numpy arr"),
        (dict(output="no-such-dtype"), ParameterTypeError, r"output must be None, a dtype"),
    ],
)
def test_binary_parameter_errors(kwargs, cls, match):
    with pytest.raises(cls, match=match):
        M.binary_erosion(_bool_image((6, 6)), **kwargs)


def test_binary_errors_are_catchable_as_scipys():
    image = _bool_image((6, 6))
    with pytest.raises(TypeError, match="iterations must be an integer"):
        M.binary_opening(image, iterations=0.5)
    with pytest.raises(RuntimeError, match="structure must have 2 dimensions"):
        M.binary_opening(image, np.ones(3))
    # scipy's dilations index the structure's shape by origin first: IndexError there
    with pytest.raises(IndexError, match="structure must have 2 dimensions"):
        M.binary_closing(image, np.ones(3))
    with pytest.raises(RuntimeError, match="structure must have 2 dimensions"):
        M.binary_dilation(image, np.ones((3, 3, 3)))
    with pytest.raises(IndexError, match="origin must satisfy"):
        M.binary_dilation(image, origin=5)
    with pytest.raises(TypeError, match="must be real; got dtype complex128"):
        M.binary_hit_or_miss(image.astype(complex))


def test_image_dtype_errors():
    with pytest.raises(InputTypeError, match=r"input must be real; got dtype complex128\. scipy"):
        M.binary_dilation(np.ones((4, 4), complex))
    with pytest.raises(InputRuntimeError, match=r"got dtype float16\. Hint: convert"):
        M.binary_dilation(np.ones((4, 4), np.float16))
    with pytest.raises(InputRuntimeError, match=r"input must be a numeric array; got dtype obj"):
        M.binary_erosion(np.array([1, None], object))
    with pytest.raises(InputTypeError, match=r"got dtype complex64"):
        M.white_tophat(np.ones((4, 4), np.complex64), size=3)
    with pytest.raises(InputRuntimeError, match=r"got dtype float16"):
        M.grey_erosion(np.ones((4, 4), np.float16), size=3)


def test_mask_errors():
    image = _bool_image((6, 6))
    with pytest.raises(InputRuntimeError, match=r"mask must have the input's shape \(6, 6\); got"):
        M.binary_erosion(image, mask=np.ones((6, 5), bool))
    with pytest.raises(InputRuntimeError, match=r"mask must have the input's shape .*\(6,\)"):
        M.binary_closing(image, mask=np.ones(6, bool))
    with pytest.raises(InputRuntimeError, match=r"mask must have a bool, integer.*complex"):
        M.binary_opening(image, mask=np.ones((6, 6), complex))


@pytest.mark.parametrize(
    ("kwargs", "cls", "match"),
    [
        (dict(), InvalidParameterError, r"size, footprint or structure must be given; got none"),
        (dict(size=-1), InvalidParameterError, r"size must be whole numbers >= 0; got -1\."),
        (dict(size=2.5), InvalidParameterError, r"size must be whole numbers >= 0; got 2\.5\."),
        (dict(size=(3, 3, 3)), ParameterRuntimeError, r"size must be one value or one per axis"),
        (dict(footprint=np.zeros((3, 3))), InvalidParameterError, r"footprint must hold at le"),
        (dict(footprint=np.ones(3)), ParameterRuntimeError, r"footprint must have 2 dimensions"),
        (dict(footprint=np.ones(9, complex)), ParameterTypeError, r"footprint must be a real"),
        (dict(structure=np.ones(3)), ParameterRuntimeError, r"structure must have 2 dimensions"),
        (dict(structure=np.ones(9, complex)), ParameterTypeError, r"structure must be a real"),
        (dict(size=3, origin=(0, 2)), InvalidParameterError, r"origin must satisfy .*\(0, 2\)"),
        (dict(size=3, mode="reflekt"), ParameterRuntimeError, r"Did you mean 'reflect'\?"),
        (dict(size=3, cval="x"), ParameterTypeError, r"cval must be a real number; got 'x'\."),
        (dict(size=3, output=np.complex64), ParameterRuntimeError, r"output must have a real"),
        (dict(size=3, output=np.zeros((6, 7))), ParameterRuntimeError, r"output must have the"),
        (
            dict(footprint=np.eye(3), mode=("reflect", "wrap")),
            ParameterRuntimeError,
            r"mode must be one name for a non-flat or non-rectangular footprint",
        ),
        (
            dict(footprint=np.ones((3, 3)), structure=np.ones((3, 2))),
            InvalidParameterError,
            r"footprint and structure must have the same shape; got \(3, 3\) and \(3, 2\)\.",
        ),
    ],
)
def test_grey_parameter_errors(kwargs, cls, match):
    with pytest.raises(cls, match=match):
        M.grey_erosion(random_image((6, 6), "uint8"), **kwargs)


def test_structure_helpers_errors():
    with pytest.raises(ParameterTypeError, match=r"rank must be an integer; got 1\.5\."):
        M.generate_binary_structure(1.5, 1)
    with pytest.raises(ParameterTypeError, match=r"connectivity must be a number; got 'x'\."):
        M.generate_binary_structure(2, "x")
    with pytest.raises(ParameterTypeError, match=r"iterations must be an integer; got 2\.0\."):
        M.iterate_structure(np.ones((3, 3)), 2.0)
    with pytest.raises(InvalidParameterError, match=r"structure must not be empty"):
        M.iterate_structure(np.ones((0, 3)), 2)
    with pytest.raises(ParameterRuntimeError, match=r"origin must be one value or one per axis"):
        M.iterate_structure(np.ones((3, 3)), 2, origin=(1, 2, 3))


def test_local_step_refuses_iterations_below_one():
    from batchimg._overlap import Spec

    with pytest.raises(InvalidParameterError, match=r"iterations must be >= 1 for a local step"):
        M.binary_erosion.step(Spec(2, np.dtype(bool), (6, 6)), iterations=0)


def test_size_and_footprint_warn_as_scipy_does():
    image = random_image((6, 6), "uint8")
    with pytest.warns(UserWarning, match="ignoring size because footprint is set"):
        got = M.grey_opening(image, size=3, footprint=np.ones((2, 2)))
    with pytest.warns(UserWarning, match="ignoring size because footprint is set"):
        want = ndi.grey_opening(image, size=3, footprint=np.ones((2, 2)))
    assert_same(got, want)


# --------------------------------------------------------------------------------------
# structuring elements


@pytest.mark.parametrize(
    ("rank", "conn"), [(-1, 1), (0, 1), (1, 0), (1, 1), (2, 1), (2, 1.5), (2, 2), (3, 2), (3, 5)]
)
def test_generate_binary_structure_is_scipys(rank, conn):
    assert_same(M.generate_binary_structure(rank, conn), ndi.generate_binary_structure(rank, conn))


def test_iterate_structure_is_scipys():
    s = np.array([[0, 1], [1, 1]], bool)
    assert_same(M.iterate_structure(s, 3), ndi.iterate_structure(s, 3))
    # below 2 iterations scipy returns a copy in the structure's own dtype
    assert_same(M.iterate_structure(s.astype(float), 1), ndi.iterate_structure(s.astype(float), 1))
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


def _symmetric_structures(ndim: int) -> list[np.ndarray]:
    rng = np.random.default_rng(ndim)
    out = [ndi.generate_binary_structure(ndim, c) for c in range(1, ndim)]  # crosses ...
    for _ in range(3):  # ... and random ones equal to their reflection, centre on or off
        r = rng.random((3,) * ndim) < 0.5
        out.append(r | np.flip(r))
    out[-1][(1,) * ndim] = False
    return out


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shape", [(1,), (9,), (2, 2), (16, 13), (1, 5), (3, 7, 6), (2, 1, 4)])
def test_small_symmetric_structures_every_border_and_iteration(name, shape):
    # centred 3x3(x3) structures equal to their reflection (the default cross) are
    # computed as one shifted logical operation per element: same bits
    ndim = len(shape)
    image = np.random.default_rng(sum(shape)).random(shape) < 0.55
    for structure in _symmetric_structures(ndim):
        for iterations in (1, 2, 3):
            for border_value in (0, 1):
                kw = dict(structure=structure, iterations=iterations, border_value=border_value)
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_grey_boxes_with_nan_equal_scipy_for_any_chunking(data):
    """scipy's running box minimum/maximum carries NaN along a line: the box axes stay whole."""
    # long lines: one NaN changes scipy's answer many windows away
    ndim = data.draw(st.integers(1, 2))
    shape = tuple(data.draw(st.lists(st.integers(20, 70), min_size=ndim, max_size=ndim)))
    chunks = tuple(data.draw(st.integers(3, 17)) for _ in shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    image = rng.random(shape).astype(data.draw(st.sampled_from(["float64", "float32"])))
    image[rng.random(shape) < data.draw(st.sampled_from([0.02, 0.2]))] = np.nan
    size = tuple(data.draw(st.lists(st.integers(1, 4), min_size=image.ndim, max_size=image.ndim)))
    kw = dict(
        mode=data.draw(st.sampled_from(["reflect", "constant", "nearest", "mirror", "wrap"])),
        cval=data.draw(st.sampled_from([0.0, np.nan])),
        origin=tuple(data.draw(st.integers(-(s // 2), (s - 1) // 2)) for s in size),
    )
    if data.draw(st.booleans()):
        kw["size"] = size
    else:
        kw["footprint"] = np.ones(size, bool)  # scipy runs an all-True footprint as a box
    name = data.draw(st.sampled_from(GREY))
    got = getattr(M, name)(da.from_array(image, chunks=chunks), **kw)
    assert_same(got, getattr(ndi, name)(image, **kw))


# --------------------------------------------------------------------------------------
# scipy's signatures: positional order, input=, output=, 0-d, axes


def _scipy_positional(name):
    import inspect

    ours = [p.name for p in inspect.signature(getattr(M, name)).parameters.values()]
    theirs = [p.name for p in inspect.signature(getattr(ndi, name)).parameters.values()]
    return ours, theirs


SCIPY_NAMES = [
    n
    for n in ndi._morphology.__all__
    if n not in ("generate_binary_structure", "iterate_structure")
]


@pytest.mark.parametrize("name", SCIPY_NAMES)
def test_signature_is_scipys(name):
    import inspect

    ours = inspect.signature(getattr(M, name)).parameters
    theirs = inspect.signature(getattr(ndi, name)).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


@pytest.mark.parametrize("name", BINARY)
def test_binary_positional_and_keyword_calls(name):
    image = _bool_image((9, 8), seed=11)
    mask = _bool_image((9, 8), seed=12, p=0.8)
    s = ndi.generate_binary_structure(2, 2)
    x = da.from_array(image, chunks=(4, 3))
    if name in ("binary_erosion", "binary_dilation"):
        args = (s, 2, mask, None, 1, (0, -1))
    else:
        args = (s, 2, None, (0, -1), mask, 1)
    assert_same(getattr(M, name)(x, *args), getattr(ndi, name)(image, *args))
    assert_same(
        getattr(M, name)(input=x, structure=s), getattr(ndi, name)(input=image, structure=s)
    )
    with pytest.raises(TypeError, match="multiple values for argument 'input'"):
        getattr(M, name)(x, input=x)
    with pytest.raises(TypeError, match="keyword-only|positional argument"):
        getattr(M, name)(x, s, 1, None, None, 0, 0, False, None)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["bool", "uint8", "float32"])
def test_binary_output_array_is_filled_and_returned(name, dtype):
    image = _bool_image((9, 8), seed=13)
    want = getattr(ndi, name)(image, iterations=2, output=np.zeros(image.shape, dtype))
    out = np.full(image.shape, 7, dtype)
    got = getattr(M, name)(da.from_array(image, chunks=(4, 5)), iterations=2, output=out)
    assert got is out
    assert_same(out, want)
    # a dtype is ignored, as scipy ignores it: bool out
    assert getattr(M, name)(image, output=np.float32).dtype == bool


def test_output_may_be_the_input():
    data = _bool_image((7, 9), seed=14)
    want = ndi.binary_erosion(data, iterations=3, border_value=1)
    got = M.binary_erosion(data, iterations=3, border_value=1, output=data)
    assert got is data
    assert_same(data, want)


@pytest.mark.parametrize("name", GREY)
@pytest.mark.parametrize("output", ["float32", "array-int16", "array-float64"])
def test_grey_output(name, output):
    image = random_image((11, 9), "uint8", seed=15)
    x = da.from_array(image, chunks=(4, 5))
    if output.startswith("array"):
        dtype = output.split("-")[1]
        want = np.zeros(image.shape, dtype)
        ret = getattr(ndi, name)(image, size=(3, 2), output=want)
        out = np.full(image.shape, 9, dtype)
        got = getattr(M, name)(x, size=(3, 2), output=out)
        assert got is out and ret is want
        assert_same(out, want)
    else:
        assert_same(
            getattr(M, name)(x, (3, 2), None, None, output),
            getattr(ndi, name)(image, (3, 2), None, None, output),
        )


def test_hit_or_miss_output_returns_none_as_scipy():
    image = _bool_image((9, 8), seed=16)
    s1 = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]])
    want = np.zeros(image.shape, np.uint8)
    assert ndi.binary_hit_or_miss(image, s1, output=want) is None
    out = np.ones(image.shape, np.uint8)
    assert M.binary_hit_or_miss(da.from_array(image, chunks=3), s1, output=out) is None
    assert_same(out, want)


@pytest.mark.parametrize("name", BINARY + GREY + ["binary_hit_or_miss"])
def test_zero_d_input_is_scipys(name):
    for value in (0, 1):
        image = np.array(value, dtype=np.uint8)
        kw = {} if name.startswith("binary") else dict(size=1)
        assert_same(getattr(M, name)(image, **kw), getattr(ndi, name)(image, **kw))
    if name in BINARY:
        image = np.array(True)
        assert_same(
            getattr(M, name)(image, iterations=-1), getattr(ndi, name)(image, iterations=-1)
        )


@pytest.mark.parametrize("name", BINARY + GREY + ["binary_hit_or_miss"])
@pytest.mark.parametrize("axes", [(2, 0), (1,), (0, 2, 1)])
def test_axes_have_scipys_meaning(name, axes):
    # scipy maps a structure's axes to the operated axes in increasing order, but
    # sizes, modes and origins to ``axes`` in the order given
    rng = np.random.default_rng(17)
    n = len(axes)
    fp = rng.random((3, 2, 4)[:n]) < 0.7
    fp[(0,) * n] = True
    # (two axes out of order with a nonzero origin crash scipy itself: its dilation moves
    # the origin by the evenness of the structure axis of the same index, not its own)
    origin = (1, 0, -1)[:n] if len(axes) != 2 else (0, 0)
    if name.startswith("binary"):
        image = _bool_image((7, 8, 9), seed=18)
        kw = dict(origin1=origin) if name == "binary_hit_or_miss" else dict(origin=origin)
        kw["structure1" if name == "binary_hit_or_miss" else "structure"] = fp
    else:
        image = random_image((7, 8, 9), "int32", seed=18)
        kw = dict(footprint=fp, origin=origin, mode="nearest")
        if name in ("grey_erosion", "grey_dilation"):
            kw = dict(size=(3, 2, 4)[:n], origin=origin, mode=("wrap", "reflect", "mirror")[:n])
    x = da.from_array(image, chunks=(3, 4, 2))
    try:
        want = getattr(ndi, name)(image, axes=axes, **kw)
    except (IndexError, ValueError) as exc:  # an origin outside the structure, as scipy pairs them
        with pytest.raises(type(exc), match="origin must satisfy"):
            getattr(M, name)(x, axes=axes, **kw)
        return
    assert_same(getattr(M, name)(x, axes=axes, **kw), want)


# --------------------------------------------------------------------------------------
# iterations < 1: repeat until nothing changes


def _structures_2d():
    return [
        None,
        ndi.generate_binary_structure(2, 2),
        np.array([[0, 1, 0], [1, 1, 1], [0, 1, 1]], bool),  # asymmetric: one task
        np.ones((5, 1), bool),  # wider than 3: one task
        np.array([[1, 0, 1], [1, 0, 1]], bool),  # False centre: not monotone
    ]


@pytest.mark.parametrize(
    ("name", "si"),
    # with a False centre scipy's repeated erosion need not converge (it loops forever)
    [
        (n, i)
        for n in BINARY
        for i in range(5)
        if i < 4 or n in ("binary_dilation", "binary_closing")
    ],
)
def test_iterations_below_one_equal_scipy(name, si):
    structure = _structures_2d()[si]
    image = _bool_image((12, 11), seed=19 + si, p=0.55)
    mask = _bool_image((12, 11), seed=29 + si, p=0.75)
    for kw in (dict(), dict(mask=mask), dict(mask=mask, border_value=1), dict(border_value=1)):
        want = getattr(ndi, name)(image, structure, iterations=0, **kw)
        got = getattr(M, name)(da.from_array(image, chunks=(5, 4)), structure, -1, **kw)
        assert_same(got, want)


@_SETTINGS
@given(data=st.data())
def test_iterations_below_one_property(data):
    image, chunks = data.draw(_chunked("bool"))
    name = data.draw(st.sampled_from(BINARY))
    conn = data.draw(st.integers(1, image.ndim))
    kw = dict(
        structure=ndi.generate_binary_structure(image.ndim, conn),
        iterations=data.draw(st.integers(-2, 0)),
        border_value=data.draw(st.integers(0, 1)),
    )
    if data.draw(st.booleans()):
        kw["mask"] = _bool_image(image.shape, seed=data.draw(st.integers(0, 99)), p=0.7)
    got = getattr(M, name)(da.from_array(image, chunks=chunks), **kw)
    assert_same(got, getattr(ndi, name)(image, **kw))


def test_iterations_below_one_is_lazy_and_not_one_task():
    image = da.from_array(_bool_image((40, 40), seed=20), chunks=10)
    out = M.binary_erosion(image, iterations=0)
    assert out.chunks == image.chunks
    # the component machinery: a task per block, no task holding the whole array
    assert not any(k[0].startswith("whole") for k in out.__dask_graph__() if isinstance(k, tuple))
