"""label and the label-based morphology equal scipy / scikit-image exactly."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from helpers import assert_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.segmentation import clear_border as sk_clear_border

from batchimg import label as L
from batchimg.errors import (
    InputRuntimeError,
    InputTypeError,
    InvalidParameterError,
    ParameterIndexError,
    ParameterRuntimeError,
    ParameterTypeError,
)

SHAPES = {1: (57,), 2: (31, 27), 3: (11, 12, 13)}


def _chunkings(shape):
    yield "single", shape
    yield "even", tuple(max(s // 2, 1) for s in shape)
    yield "uneven", tuple(max((s * 2) // 5, 1) for s in shape)
    yield "thin", (1,) + tuple(max(s // 4, 1) for s in shape[1:])
    if len(shape) <= 2:
        yield "one-pixel", (1,) * len(shape)


def _structures(ndim):
    for conn in range(1, ndim + 1):
        yield f"conn{conn}", ndi.generate_binary_structure(ndim, conn)
    if ndim >= 2:
        # a custom symmetric structure: one diagonal only
        s = np.zeros((3,) * ndim, bool)
        s[(1,) * ndim] = True
        corner = (0,) * ndim
        s[corner] = s[(2,) * ndim] = True
        s[(1,) * (ndim - 1) + (0,)] = s[(1,) * (ndim - 1) + (2,)] = True
        yield "diagonal", s


CASES = [
    pytest.param(ndim, sname, s, cname, chunks, id=f"{ndim}d-{sname}-{cname}")
    for ndim in (1, 2, 3)
    for sname, s in _structures(ndim)
    for cname, chunks in _chunkings(SHAPES[ndim])
]


def _mask(shape, density=0.45, seed=1234):
    return np.random.default_rng(seed).random(shape) < density


@pytest.mark.parametrize(("ndim", "sname", "structure", "cname", "chunks"), CASES)
def test_label_equals_scipy(ndim, sname, structure, cname, chunks):
    image = _mask(SHAPES[ndim])
    expected, n = ndi.label(image, structure)
    labels, count = L.label(da.from_array(image, chunks=chunks), structure)
    assert_same(labels, expected)
    assert int(count.compute()) == n


@pytest.mark.parametrize(
    ("ndim", "sname", "structure", "cname", "chunks"),
    [c for c in CASES if c.values[3] == "uneven" or (c.values[3] == "thin" and c.values[0] < 3)],
)
def test_fill_holes_and_propagation_equal_scipy(ndim, sname, structure, cname, chunks):
    image = _mask(SHAPES[ndim], 0.6)
    x = da.from_array(image, chunks=chunks)
    assert_same(L.binary_fill_holes(x, structure), ndi.binary_fill_holes(image, structure))
    seeds = _mask(SHAPES[ndim], 0.03, seed=5)
    for border_value in (0, 1):
        expected = ndi.binary_propagation(seeds, structure, mask=image, border_value=border_value)
        actual = L.binary_propagation(
            da.from_array(seeds, chunks=chunks), structure, mask=x, border_value=border_value
        )
        assert_same(actual, expected)
    assert_same(
        L.reconstruct_by_propagation(x, structure),
        ndi.binary_propagation(ndi.binary_erosion(image, structure), structure, mask=image),
    )


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("buffer_size", [0, 2])
def test_clear_border_equals_skimage(ndim, buffer_size):
    image = _mask(SHAPES[ndim], 0.5)
    labels, _ = ndi.label(image)
    # one label value split in two separate pieces: only the piece at the border goes
    labels[labels == 3] = 1
    for cname, chunks in _chunkings(SHAPES[ndim]):
        if cname not in ("uneven", "thin"):
            continue
        for source in (labels, image):
            actual = L.clear_border(da.from_array(source, chunks=chunks), buffer_size=buffer_size)
            assert_same(actual, sk_clear_border(source, buffer_size=buffer_size))


def test_propagation_without_mask_fills_the_seeded_array():
    seeds = np.zeros((9, 9), bool)
    seeds[4, 4] = True
    assert_same(L.binary_propagation(da.from_array(seeds, chunks=3)), ndi.binary_propagation(seeds))


def test_stack_labels_image_by_image():
    stack = _mask((5, 20, 24))
    s2 = ndi.generate_binary_structure(2, 2)
    embedded = np.zeros((3, 3, 3), bool)
    embedded[1] = s2
    expected, n = ndi.label(stack, embedded)
    labels, count = L.label(da.from_array(stack, chunks=(2, 7, 9)), s2, axes=(1, 2))
    assert_same(labels, expected)
    assert int(count.compute()) == n
    # each image's own labels, shifted by the count of the images before it
    offset = 0
    got = labels.compute()
    for image, plane in zip(stack, got, strict=True):
        own, k = ndi.label(image, s2)
        np.testing.assert_array_equal(np.where(plane > 0, plane - offset, 0), own)
        offset += k


def test_empty_and_full_images():
    for image in (np.zeros((10, 12), bool), np.ones((10, 12), bool)):
        expected, n = ndi.label(image)
        labels, count = L.label(da.from_array(image, chunks=4))
        assert_same(labels, expected)
        assert int(count.compute()) == n


def test_label_dtype_follows_scipy():
    assert L.label_dtype((100, 100)) == np.int32
    assert L.label_dtype((2**16, 2**15)) == np.intp
    big = da.zeros((2**16, 2**15), dtype=bool, chunks=2**14)
    labels, _ = L.label(big)
    assert labels.dtype == np.intp


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_label_hypothesis(data):
    ndim = data.draw(st.integers(1, 3), label="ndim")
    shape = tuple(data.draw(st.lists(st.integers(1, 14), min_size=ndim, max_size=ndim)))
    chunks = tuple(
        tuple(data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=6))) for _ in shape
    )
    chunks = tuple(_fit(c, s) for c, s in zip(chunks, shape, strict=True))
    density = data.draw(st.floats(0.05, 0.95))
    seed = data.draw(st.integers(0, 2**16))
    half = np.random.default_rng(seed).random((3,) * ndim) < 0.5
    structure = half | half[(slice(None, None, -1),) * ndim]
    structure[(1,) * ndim] = True
    image = _mask(shape, density, seed)
    expected, n = ndi.label(image, structure)
    labels, count = L.label(da.from_array(image, chunks=chunks), structure)
    assert_same(labels, expected)
    assert int(count.compute()) == n


def _fit(sizes, total):
    out, acc = [], 0
    for s in sizes * (total + 1):
        if acc >= total:
            break
        s = min(s, total - acc)
        out.append(s)
        acc += s
    return tuple(out)


def test_label_is_lazy_and_named_deterministically():
    calls = []

    def source(block):
        calls.append(1)
        return block

    image = da.from_array(_mask((20, 20)), chunks=5).map_blocks(
        source, dtype=bool, meta=np.empty((0, 0), bool)
    )
    labels, n = L.label(image)
    labels2, _ = L.label(image)
    assert calls == []
    assert labels.name == labels2.name


def _output(key, names) -> bool:
    name = key[0] if isinstance(key, tuple) else key
    return name in names or str(name).startswith("finalize")  # the results themselves


def test_no_block_is_held_from_the_first_pass_to_the_last():
    """Labelling a lazy pipeline computes each upstream block once per pass, holding none.

    Keeping the local labels (or the input blocks) until the resolve would hold a block
    per block of the whole image; each output block is labelled again instead.
    """
    from dask.callbacks import Callback

    calls = []

    def smooth(block):
        calls.append(1)
        return ndi.uniform_filter(block, 1)

    image = da.from_array(np.random.default_rng(0).random((40, 40)), chunks=10)
    mask = image.map_blocks(smooth, dtype=float, meta=np.empty((0, 0))) > 0.5
    labels, n = L.label(mask)
    held, peak = {}, [0]

    class Watch(Callback):
        def _posttask(self, key, result, dsk, state, id):
            held.update(
                {
                    k: getattr(v, "nbytes", 0)
                    for k, v in state["cache"].items()
                    if not _output(k, {labels.name, n.name})
                }
            )
            for k in list(held):
                if k not in state["cache"]:
                    del held[k]
            peak[0] = max(peak[0], sum(held.values()))

    with Watch():
        out, count = dask.compute(labels, n, scheduler="sync")
    assert len(calls) == 2 * image.npartitions  # the first pass, and each output block
    np.testing.assert_array_equal(out, ndi.label(ndi.uniform_filter(image.compute(), 1) > 0.5)[0])
    # besides the outputs, at most a few blocks at a time (the whole image's labels would
    # be 40 x 40 x 4 = 6400 bytes, its input 40 x 40 x 8 = 12800)
    assert peak[0] <= 4 * 10 * 10 * 8


def test_graph_grows_linearly_with_blocks():
    def tasks(nblocks):
        x = da.zeros((8 * nblocks,) * 3, dtype=bool, chunks=8)
        labels, _ = L.label(x, np.ones((3, 3, 3), bool))
        return len(labels.__dask_graph__()) / x.npartitions

    # full connectivity: 13 neighbour directions, so at most ~13 + 6 tasks per block
    assert tasks(2) < 20 and tasks(4) < 20


@pytest.mark.parametrize(
    ("call", "cls", "match"),
    [
        (lambda: L.label(np.ones((4, 4)), np.ones((3, 3, 3))), ParameterRuntimeError, "2 dimen"),
        (lambda: L.label(np.ones((4, 4)), np.ones((5, 5))), InvalidParameterError, r"\(3, 3\)"),
        (
            lambda: L.label(np.ones((4, 4)), [[1, 1, 0], [0, 1, 0], [0, 0, 0]]),
            InvalidParameterError,
            "symmetric",
        ),
        (lambda: L.label(np.ones((4, 4), complex)), InputTypeError, "must be real"),
        (lambda: L.label(np.ones((4, 4)), output=np.ones((4, 3))), InvalidParameterError, "shape"),
        (lambda: L.label(np.ones((4, 4)), output=[1]), ParameterTypeError, "output must be"),
        (lambda: L.label(np.ones((4, 4)), axes=(0, 0)), InvalidParameterError, "must not repeat"),
        (
            lambda: L.binary_propagation(np.ones((4, 4)), mask=np.ones((4, 5))),
            InputRuntimeError,
            r"mask must have the input's shape \(4, 4\)",
        ),
        (
            lambda: L.binary_propagation(np.ones((4, 4)), np.ones((3, 3)), origin=2),
            ParameterIndexError,
            "origin must satisfy",
        ),
        (
            lambda: L.binary_fill_holes(np.ones((4, 4)), np.ones(3)),
            ParameterIndexError,  # scipy's dilation indexes the structure's shape first
            "structure must have 2 dimensions",
        ),
        (
            lambda: L.binary_propagation(np.ones((4, 4)), np.ones((3, 3, 3))),
            ParameterRuntimeError,
            "structure must have 2 dimensions",
        ),
        (
            lambda: L.binary_fill_holes(np.ones((4, 4)), output=np.ones((4, 4), complex)),
            ParameterTypeError,
            "output must have a real dtype",
        ),
        (lambda: L.clear_border(np.ones((4, 4)), buffer_size=-1), InvalidParameterError, ">= 0"),
        (
            lambda: L.reconstruct_by_propagation(np.ones((4, 4)), iterations=0),
            InvalidParameterError,
            "iterations",
        ),
    ],
)
def test_errors(call, cls, match):
    with pytest.raises(cls, match=match):
        call()


def test_label_overflowing_output_dtype_raises_when_computed():
    image = np.zeros((1, 600), bool)
    image[0, ::2] = True  # 300 labels
    labels, n = L.label(da.from_array(image, chunks=(1, 50)), output=np.int8)
    assert labels.dtype == np.int8
    with pytest.raises(InputRuntimeError, match=r"output dtype int8 must hold every label"):
        labels.compute()
    with pytest.raises(RuntimeError, match="insufficient bit-depth"):
        ndi.label(image, output=np.int8)


@pytest.mark.parametrize("output", [np.int16, "uint8", np.float32, "array-int64", "array-uint16"])
def test_label_output_as_scipy(output):
    image = _mask((19, 23), 0.4, seed=3)
    x = da.from_array(image, chunks=(5, 7))
    if isinstance(output, str) and output.startswith("array"):
        dtype = output.split("-")[1]
        want = np.zeros(image.shape, dtype)
        n_want = ndi.label(image, output=want)
        got = np.full(image.shape, 3, dtype)
        n_got = L.label(x, output=got)
        assert isinstance(n_got, int) and n_got == n_want
        assert_same(got, want)
    else:
        want, n_want = ndi.label(image, None, output)
        got, n_got = L.label(x, None, output)
        assert_same(got, want)
        assert int(n_got.compute()) == n_want


def test_label_input_keyword_zero_d_and_empty():
    image = _mask((9, 8), 0.5, seed=4)
    got, n = L.label(input=da.from_array(image, chunks=4), structure=np.ones((3, 3)))
    want, m = ndi.label(input=image, structure=np.ones((3, 3)))
    assert_same(got, want)
    assert int(n.compute()) == m
    for value in (np.array(0.0), np.array(3.0), np.zeros((0, 4)), np.zeros((3, 0), bool)):
        got, n = L.label(value)
        want, m = ndi.label(value)
        assert_same(got, want)
        assert int(n.compute()) == m


# --------------------------------------------------------------------------------------
# propagation and hole filling with scipy's full signatures


def _structure_for(kind, ndim, rng):
    if kind == "conn":
        return ndi.generate_binary_structure(ndim, int(rng.integers(1, ndim + 1)))
    if kind == "symmetric":
        half = rng.random((3,) * ndim) < 0.5
        s = half | half[(slice(None, None, -1),) * ndim]
        s[(1,) * ndim] = True
        return s
    if kind == "asymmetric":
        s = rng.random((3,) * ndim) < 0.6
        s[(1,) * ndim] = True
        return s
    return rng.random((2, 3, 4)[:ndim]) < 0.7  # not 3 wide: one task


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_propagation_and_fill_holes_property(data):
    ndim = data.draw(st.integers(1, 3), label="ndim")
    # at least 4 along every axis: scipy's own repeated pass is undefined on arrays
    # smaller than the structure (it reads and writes past them)
    shape = tuple(data.draw(st.lists(st.integers(4, 12), min_size=ndim, max_size=ndim)))
    chunks = tuple(
        _fit(tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))), n)
        for n in shape
    )
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    kind = data.draw(st.sampled_from(["conn", "symmetric", "asymmetric", "wide"]))
    structure = _structure_for(kind, ndim, rng)
    origin = (0,) * ndim
    if kind in ("asymmetric", "wide") and data.draw(st.booleans()):
        origin = tuple(int(rng.integers(-(n // 2), (n - 1) // 2 + 1)) for n in structure.shape)
    # a True centre (with the origin) keeps the repetition monotone: with a False one
    # scipy's loop need not end
    structure[tuple(n // 2 + o for n, o in zip(structure.shape, origin, strict=True))] = True
    image = _mask(shape, data.draw(st.floats(0.2, 0.8)), seed)
    seeds = _mask(shape, 0.05, seed + 1)
    bv = data.draw(st.integers(0, 1))
    x = da.from_array(image, chunks=chunks)
    want = ndi.binary_propagation(seeds, structure, image, None, bv, origin)
    got = L.binary_propagation(da.from_array(seeds, chunks=chunks), structure, x, None, bv, origin)
    assert_same(got, want)
    assert_same(
        L.binary_fill_holes(x, structure, None, origin),
        ndi.binary_fill_holes(image, structure, None, origin),
    )


def test_propagation_and_fill_holes_with_axes_and_output():
    stack = _mask((4, 13, 11), 0.6, seed=6)
    seeds = _mask((4, 13, 11), 0.05, seed=7)
    s2 = ndi.generate_binary_structure(2, 2)
    x = da.from_array(stack, chunks=(3, 5, 4))
    for axes in [(1, 2), (2, 1), (0, 2)]:
        want = ndi.binary_fill_holes(stack, s2, axes=axes)
        assert_same(L.binary_fill_holes(x, s2, axes=axes), want)
        want = ndi.binary_propagation(seeds, s2, stack, axes=axes)
        assert_same(L.binary_propagation(da.from_array(seeds, chunks=4), s2, x, axes=axes), want)
    out = np.zeros(stack.shape, np.uint8)
    assert L.binary_fill_holes(x, output=out) is None
    assert_same(out, ndi.binary_fill_holes(stack).astype(np.uint8))
    out = np.zeros(stack.shape, bool)
    assert L.binary_propagation(seeds, mask=x, output=out) is out
    assert_same(out, ndi.binary_propagation(seeds, mask=stack))


def test_propagation_on_arrays_smaller_than_the_structure_repeats_one_pass():
    image = _mask((2, 7), 0.6, seed=8)
    seeds = _mask((2, 7), 0.2, seed=9)
    structure = np.ones((5, 1), bool)
    want = seeds.copy()
    while True:  # the documented meaning: one pass repeated until nothing changes
        new = ndi.binary_dilation(want, structure, 1, image)
        if np.array_equal(new, want):
            break
        want = new
    assert_same(L.binary_propagation(da.from_array(seeds, chunks=1), structure, image), want)


def test_propagation_of_zero_d_input():
    for value in (False, True):
        assert_same(L.binary_propagation(np.array(value)), ndi.binary_propagation(np.array(value)))


# --------------------------------------------------------------------------------------
# watershed_ift


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_watershed_ift_property(data):
    ndim = data.draw(st.integers(1, 3), label="ndim")
    shape = tuple(data.draw(st.lists(st.integers(1, 12), min_size=ndim, max_size=ndim)))
    chunks = tuple(
        _fit(tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))), n)
        for n in shape
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    dtype = data.draw(st.sampled_from([np.uint8, np.uint16]))
    image = rng.integers(0, data.draw(st.sampled_from([3, 255])), shape).astype(dtype)
    markers = np.where(rng.random(shape) < 0.08, rng.integers(-2, 5, shape), 0)
    markers = markers.astype(data.draw(st.sampled_from([np.int8, np.int32, np.int64])))
    structure = ndi.generate_binary_structure(ndim, data.draw(st.integers(1, ndim)))
    want = ndi.watershed_ift(image, markers, structure)
    got = L.watershed_ift(da.from_array(image, chunks=chunks), markers, structure)
    assert_same(got, want)


def test_watershed_ift_output():
    image = (np.arange(99).reshape(9, 11) * 7 % 13).astype(np.uint8)
    markers = np.zeros(image.shape, np.int16)
    markers[1, 1], markers[7, 9] = 1, 2
    want = np.zeros(image.shape, np.int32)
    ndi.watershed_ift(image, markers, output=want)
    out = np.zeros(image.shape, np.int32)
    assert L.watershed_ift(da.from_array(image, chunks=4), markers, output=out) is out
    assert_same(out, want)
    assert_same(
        L.watershed_ift(image, markers, None, np.int64),
        ndi.watershed_ift(image, markers, None, np.int64),
    )


@pytest.mark.parametrize(
    ("kwargs", "cls", "match"),
    [
        (dict(input=np.zeros((4, 4))), InputTypeError, r"input must be uint8 or uint16; got"),
        (dict(structure=np.ones((3,))), ParameterRuntimeError, r"structure must have 2 dim"),
        (dict(structure=np.ones((5, 5))), ParameterRuntimeError, r"structure must have shape"),
        (dict(markers=np.zeros((4, 5), int)), InputRuntimeError, r"markers must have the input"),
        (dict(markers=np.zeros((4, 4), np.uint8)), InputRuntimeError, r"signed integer dtype"),
        (dict(output=np.zeros((4, 4), np.uint8)), ParameterRuntimeError, r"output must have a"),
        (dict(output=np.zeros((4, 5), np.int8)), ParameterRuntimeError, r"output must have the"),
    ],
)
def test_watershed_ift_errors(kwargs, cls, match):
    kw = dict(input=np.zeros((4, 4), np.uint8), markers=np.zeros((4, 4), np.int32))
    kw.update(kwargs)
    with pytest.raises(cls, match=match):
        L.watershed_ift(**kw)


def _same_components(a, na, b, nb, mask):
    """The two labellings split ``mask`` into the same components (numbers aside)."""
    if na != nb or not np.array_equal(a != 0, b != 0):
        return False
    pairs = set(zip(a[mask].tolist(), b[mask].tolist(), strict=True))
    return len(pairs) == na == len({p[1] for p in pairs})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mask_components_are_scipys_components_for_every_structure_and_layout(data):
    # the blocks' local labels: scipy's components, whatever their numbers, for
    # cc3d's structures (every rank in 2-D and 3-D, planes side by side), the others
    # (scipy's road) and arrays of any memory layout and dtype
    ndim = data.draw(st.integers(1, 4), label="ndim")
    side = st.integers(1, 40 if ndim <= 2 else 12)
    shape = tuple(data.draw(st.lists(side, min_size=ndim, max_size=ndim), label="shape"))
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < data.draw(st.sampled_from([0.2, 0.5, 0.8]), label="p")
    layout = data.draw(st.sampled_from(["C", "F", "strided", "reversed", "values"]))
    if layout == "F":
        mask = np.asfortranarray(mask)
    elif layout == "strided":
        mask = np.repeat(mask, 2, axis=0)[::2]
    elif layout == "reversed":
        mask = mask[::-1]
    elif layout == "values":  # any nonzero value is foreground, as in scipy
        mask = mask * rng.integers(1, 4, shape).astype(np.uint16)
    kind = data.draw(st.sampled_from(["rank", "planes", "random"]), label="structure")
    if kind == "rank":
        s = ndi.generate_binary_structure(ndim, data.draw(st.integers(1, ndim)))
    elif kind == "planes" and ndim >= 3:
        s = np.zeros((3,) * ndim, bool)
        s[1] = ndi.generate_binary_structure(ndim - 1, data.draw(st.integers(1, ndim - 1)))
    else:
        s = rng.random((3,) * ndim) < 0.5
        s = s | np.flip(s)
        s[(1,) * ndim] = True
    expected, n = ndi.label(mask, s)
    got, m = L.mask_components(mask, s)
    assert got.dtype == np.int32
    assert _same_components(expected, n, got, m, mask != 0)


def _read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


#: Masks that cc3d 4.1 mislabels unless given contiguous, writable 0/1 bytes: an
#: 8-connected bool image (background pixels labelled), a strided column (pixels
#: dropped), a read-only block (refused)
_CC3D_TRAPS = [
    (_read_only(np.eye(4, dtype=bool)[None]), ndi.generate_binary_structure(3, 3)),
    (
        np.array(
            [
                [0, 1, 0, 1, 1, 0, 0, 1, 1],
                [1, 0, 1, 1, 0, 1, 0, 0, 1],
                [0, 0, 1, 1, 1, 0, 0, 1, 0],
                [0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 1, 1, 1, 1, 0],
                [0, 0, 0, 1, 0, 1, 1, 0, 1],
                [1, 0, 1, 1, 0, 1, 0, 1, 1],
                [0, 0, 0, 0, 0, 0, 1, 0, 1],
                [0, 0, 0, 1, 1, 1, 0, 0, 0],
                [1, 0, 0, 0, 1, 1, 0, 1, 0],
                [0, 0, 0, 1, 1, 1, 1, 1, 0],
            ],
            bool,
        ),  # fmt: skip
        np.ones((3, 3), bool),
    ),
    (
        np.repeat(np.array([0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0], bool), 2)[::2, None, None],
        ndi.generate_binary_structure(3, 1),
    ),
]


@pytest.mark.parametrize("mask, structure", _CC3D_TRAPS)
def test_mask_components_get_past_cc3ds_traps(mask, structure):
    expected, n = ndi.label(mask, structure)
    got, m = L.mask_components(mask, structure)
    assert _same_components(expected, n, got, m, mask)
