"""Distance transforms equal scipy's on chunks: values, feature ties, outputs, errors."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from helpers import assert_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchimg import morphology as M
from batchimg.errors import InvalidParameterError, ParameterRuntimeError

_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _image(draw, max_ndim=3):
    ndim = draw(st.integers(1, max_ndim))
    shape = tuple(draw(st.lists(st.integers(1, 10), min_size=ndim, max_size=ndim)))
    chunks = []
    for n in shape:
        cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=3))) if n > 1 else []
        edges = [0, *cuts, n]
        chunks.append(tuple(b - a for a, b in zip(edges, edges[1:], strict=False)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # dense foreground (long distances, far features) or sparse (many equal ties)
    image = rng.random(shape) < draw(st.sampled_from([0.3, 0.8, 0.97, 1.0]))
    return image, tuple(chunks)


def _same_all(got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)


@_SETTINGS
@given(data=st.data())
def test_edt_property(data):
    image, chunks = data.draw(_image())
    sampling = data.draw(
        st.none()
        | st.lists(
            st.sampled_from([0.5, 1.0, 1.3, 2.0]), min_size=image.ndim, max_size=image.ndim
        )  # fmt: skip
    )
    flags = data.draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    kw = dict(sampling=sampling, return_distances=flags[0], return_indices=flags[1])
    got = M.distance_transform_edt(da.from_array(image, chunks=chunks), **kw)
    _same_all(got, ndi.distance_transform_edt(image, **kw))


@_SETTINGS
@given(data=st.data())
def test_cdt_property(data):
    image, chunks = data.draw(_image())
    metric = data.draw(st.sampled_from(["chessboard", "taxicab", "cityblock", "manhattan", "s"]))
    if metric == "s":
        rng = np.random.default_rng(data.draw(st.integers(0, 99)))
        metric = (rng.random((3,) * image.ndim) < 0.6).astype(
            data.draw(st.sampled_from(["?", "u1"]))
        )
    flags = data.draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    kw = dict(metric=metric, return_distances=flags[0], return_indices=flags[1])
    got = M.distance_transform_cdt(da.from_array(image, chunks=chunks), **kw)
    _same_all(got, ndi.distance_transform_cdt(image, **kw))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bf_property(data):
    image, chunks = data.draw(_image(max_ndim=2))
    metric = data.draw(st.sampled_from(["euclidean", "taxicab", "chessboard", "Euclidean"]))
    sampling = (1.5,) * image.ndim if metric.lower() == "euclidean" else None
    kw = dict(metric=metric, sampling=sampling, return_indices=True)
    got = M.distance_transform_bf(da.from_array(image, chunks=chunks), **kw)
    _same_all(got, ndi.distance_transform_bf(image, **kw))


@pytest.mark.parametrize("name", ["edt", "cdt", "bf"])
def test_output_arrays_are_filled_as_scipy(name):
    image = np.arange(99).reshape(9, 11) % 7 > 0
    x = da.from_array(image, chunks=(4, 3))
    func, ours = (
        getattr(ndi, f"distance_transform_{name}"),
        getattr(M, f"distance_transform_{name}"),
    )
    dtype = {"edt": np.float64, "cdt": np.int32, "bf": np.float64}[name]
    want_dt, want_ft = func(image, return_indices=True)
    dt = np.zeros(image.shape, dtype)
    ft = np.indices(image.shape, dtype=np.int32)
    assert ours(x, distances=dt, return_indices=True, indices=ft) is None
    assert_same(dt, want_dt)
    assert_same(ft, want_ft)
    dt = np.zeros(image.shape, dtype)
    got_ft = ours(x, distances=dt, return_indices=True)
    assert_same(dt, want_dt)
    assert_same(got_ft, want_ft)
    ft = np.indices(image.shape, dtype=np.int32)
    got_dt = ours(x, return_indices=True, indices=ft)
    assert_same(got_dt, want_dt)
    assert_same(ft, want_ft)


def test_cdt_reads_features_through_the_callers_indices():
    image = np.arange(42).reshape(6, 7) % 5 > 0
    ft_want = np.indices(image.shape, dtype=np.int32)[::-1].copy()  # contents scipy looks up
    ft_want = np.ascontiguousarray(ft_want[:, ::-1])
    ft_got = ft_want.copy()
    ndi.distance_transform_cdt(image, return_indices=True, indices=ft_want)
    M.distance_transform_cdt(
        da.from_array(image, chunks=2), return_distances=False, return_indices=True, indices=ft_got
    )
    assert_same(ft_got, ft_want)


def test_zero_d_and_one_d():
    assert_same(M.distance_transform_edt(np.array(False)), ndi.distance_transform_edt(False))
    line = np.array([1, 1, 0, 1, 1, 1, 0, 1], bool)
    x = da.from_array(line, chunks=3)
    _same_all(
        M.distance_transform_edt(x, return_indices=True),
        ndi.distance_transform_edt(line, return_indices=True),
    )
    _same_all(
        M.distance_transform_cdt(x, return_indices=True),
        ndi.distance_transform_cdt(line, return_indices=True),
    )


def test_edt_on_chunks_holds_no_whole_array_task():
    image = da.from_array(np.random.default_rng(1).random((40, 30, 20)) < 0.9, chunks=10)
    dt = M.distance_transform_edt(image)
    assert dt.chunks == image.chunks
    graph = dict(dt.__dask_graph__())
    assert not any(str(k[0] if isinstance(k, tuple) else k).startswith("whole") for k in graph)
    assert M.distance_transform_edt(image).name == dt.name


@pytest.mark.parametrize(
    ("call", "cls", "match"),
    [
        (
            lambda x: M.distance_transform_edt(x, return_distances=False),
            ParameterRuntimeError,
            r"at least one of return_distances/return_indices must be True\.",
        ),
        (
            lambda x: M.distance_transform_edt(
                x, return_distances=False, return_indices=True, distances=np.zeros(x.shape)
            ),  # fmt: skip
            ParameterRuntimeError,
            r"return_distances must be True if distances is supplied",
        ),
        (
            lambda x: M.distance_transform_bf(x, indices=np.zeros((2,) + x.shape, np.int32)),
            ParameterRuntimeError,
            r"return_indices must be True if indices is supplied",
        ),
        (
            lambda x: M.distance_transform_edt(x, sampling=(1, 2, 3)),
            ParameterRuntimeError,
            r"sampling must be one value or one per axis \(2\)",
        ),
        (
            lambda x: M.distance_transform_edt(x, sampling=("a", 1)),
            InvalidParameterError,
            r"sampling must hold numbers",
        ),
        (
            lambda x: M.distance_transform_edt(x, distances=np.zeros(x.shape, np.float32)),
            ParameterRuntimeError,
            r"distances must have dtype float64; got float32\.",
        ),
        (
            lambda x: M.distance_transform_edt(
                x, return_indices=True, indices=np.zeros((2, 3, 3), np.int32)
            ),
            ParameterRuntimeError,
            r"indices must have shape \(2, 5, 6\); got \(2, 3, 3\)\.",
        ),
        (
            lambda x: M.distance_transform_cdt(x, metric="garbage"),
            InvalidParameterError,
            r"invalid metric provided: metric must be 'chessboard'",
        ),
        (
            lambda x: M.distance_transform_cdt(x, metric=np.ones((3, 4))),
            InvalidParameterError,
            r"metric must be 3 wide on every axis; got shape \(3, 4\)\.",
        ),
        (
            lambda x: M.distance_transform_cdt(x, metric=np.ones((3, 3, 3))),
            ParameterRuntimeError,
            r"metric must have 2 dimensions, as many as the input",
        ),
        (
            lambda x: M.distance_transform_cdt(x, distances=np.zeros(x.shape)),
            InvalidParameterError,
            r"distances must have dtype int32; got float64\.",
        ),
        (
            lambda x: M.distance_transform_bf(x, "hamming"),
            ParameterRuntimeError,
            r"metric must be one of 'euclidean', .* got 'hamming'\.",
        ),
        (
            lambda x: M.distance_transform_bf(x, 3),
            ParameterRuntimeError,
            r"metric must be a metric name; got 3\.",
        ),
        (
            lambda x: M.distance_transform_bf(x, "taxicab", distances=np.zeros(x.shape)),
            ParameterRuntimeError,
            r"distances must have dtype uint32; got float64\.",
        ),
    ],
)
def test_errors(call, cls, match):
    with pytest.raises(cls, match=match):
        call(np.ones((5, 6), bool))
