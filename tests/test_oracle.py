"""Every public local operation equals its oracle, bit for bit, across the grid."""

from __future__ import annotations

import importlib
import inspect
import itertools

import dask.array as da
import numpy as np
import pytest
from helpers import assert_same, chunkings
from oracle import ALL_MODES, image_for

import batchimg

CASE_MODULES = ["cases_filters", "cases_morphology", "cases_point"]


def _load_cases():
    cases = []
    for name in CASE_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        cases.extend(mod.CASES)
    return cases


CASES = _load_cases()


def _grid():
    for case in CASES:
        for ndim in case.ndims:
            for pi, _ in enumerate(case.params_for(ndim)):
                modes = ALL_MODES if case.modes else (None,)
                for mi, mode in enumerate(modes):
                    for ci, chunk_name in enumerate(
                        ("single", "even", "uneven", "thin", "one-pixel-row")
                    ):
                        # dtypes cycle through the grid so every dtype meets every mode
                        dtype = case.dtypes[(pi + mi + ci + ndim) % len(case.dtypes)]
                        yield pytest.param(
                            case,
                            ndim,
                            pi,
                            mode,
                            chunk_name,
                            dtype,
                            id=f"{case.name}-{ndim}d-p{pi}-{mode}-{chunk_name}-{dtype}",
                        )


def _run(case, image, chunks, params, mode):
    kw = dict(params)
    if mode is not None:
        kw.update(mode=mode, cval=7)
    expected = case.oracle(image, **kw)
    actual = case.op(da.from_array(image, chunks=chunks), **kw)
    return actual, expected


@pytest.mark.parametrize(("case", "ndim", "pi", "mode", "chunk_name", "dtype"), list(_grid()))
def test_oracle_grid(case, ndim, pi, mode, chunk_name, dtype):
    image = image_for(dtype, ndim)
    params = case.params_for(ndim)[pi]
    names = chunkings(image.shape, case.reach)
    chunks = names.get(chunk_name) or names.get("one-pixel")
    actual, expected = _run(case, image, chunks, params, mode)
    assert isinstance(actual, da.Array)
    assert_same(actual, expected)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_oracle_every_dtype(case):
    for ndim, dtype in itertools.product(case.ndims, case.dtypes):
        image = image_for(dtype, ndim, seed=99)
        for params in case.params_for(ndim):
            chunks = chunkings(image.shape, case.reach)["uneven"]
            actual, expected = _run(case, image, chunks, params, None)
            assert_same(actual, expected)


@pytest.mark.parametrize("case", [c for c in CASES if c.stack], ids=lambda c: c.name)
def test_stack_is_image_by_image(case):
    """With axes on the image axes, a stack equals scipy run on each image in a loop."""
    dtype = case.dtypes[0]
    stack = image_for(dtype, 3, seed=7)
    for params in case.params_for(2):
        kw = dict(params, axes=(1, 2))
        expected = np.stack([np.asarray(case.oracle(img, **params)) for img in stack])
        actual = case.op(da.from_array(stack, chunks=(2, 5, 4)), **kw)
        assert_same(actual, expected)


PUBLIC_MODULES = ["filters", "morphology", "point"]
NON_LOCAL = {
    # operations tested in their own modules (global or label-based)
    "morphology.binary_fill_holes",
    "morphology.binary_propagation",
    "morphology.clear_border",
    "morphology.reconstruct_by_propagation",
    "morphology.generate_binary_structure",
    "morphology.iterate_structure",
}


def test_every_public_operation_is_in_the_table():
    covered = {c.name for c in CASES}
    missing = []
    for modname in PUBLIC_MODULES:
        mod = getattr(batchimg, modname, None)
        if mod is None:
            continue
        for name in mod.__all__:
            qual = f"{modname}.{name}"
            if inspect.isfunction(getattr(mod, name)) and qual not in covered | NON_LOCAL:
                missing.append(qual)
    assert not missing, f"public operations with no oracle case: {missing}"
