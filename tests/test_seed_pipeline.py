"""The seed pipeline, end to end through the library, equals the scipy script exactly."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
from helpers import assert_same, shared_image

from batchimg import filters, measure, morphology
from batchimg._overlap import Spec, apply_chain


def _scipy_seed(image, structure):
    filtered = ndi.gaussian_filter(image, sigma=3)
    grad = ndi.gaussian_gradient_magnitude(filtered, sigma=3)
    opened = ndi.binary_opening(grad > 10, structure=structure)
    labels, n = ndi.label(opened)
    sizes = ndi.sum_labels(np.ones_like(labels), labels, np.arange(1, n + 1))
    keep = np.concatenate([[False], sizes > 10])
    kept, m = ndi.label(keep[labels])
    centroids = ndi.center_of_mass(kept, kept, np.arange(1, m + 1))
    return filtered, grad, opened, kept, m, centroids


def test_ascent_seed_pipeline_with_100x100_chunks():
    image = shared_image("ascent")
    structure = np.ones((3, 3))
    filtered, grad, opened, kept, m, centroids = _scipy_seed(image, structure)

    x = da.from_array(image, chunks=100)
    f = filters.gaussian_filter(x, sigma=3)
    g = filters.gaussian_gradient_magnitude(f, sigma=3)
    o = morphology.binary_opening(g > 10, structure=structure)
    labels, n = measure.label(o)
    k = measure.filter_regions(labels, "area > 10")
    table = pd.DataFrame(measure.regionprops_table(k, properties=["label", "centroid"]))

    assert_same(f, filtered)
    assert_same(g, grad)
    assert_same(o, opened)
    assert_same(k, kept)
    assert len(table) == m
    valid = np.isfinite(np.asarray(centroids)).all(axis=1).sum()
    assert table[["centroid-0", "centroid-1"]].notna().all(axis=1).sum() == valid
    np.testing.assert_allclose(table[["centroid-0", "centroid-1"]], centroids, rtol=1e-10)


@pytest.mark.parametrize("plan", ["per-step", "fused", "auto"])
def test_3d_seed_chain_with_64_cubed_chunks(plan):
    rng = np.random.default_rng(1234)
    blobs = ndi.gaussian_filter(rng.random((80, 136, 72)), 4) > 0.5
    volume = (blobs * 200).astype(np.uint8)
    structure = np.ones((3, 3, 3))
    filtered = ndi.gaussian_filter(volume, sigma=3)
    grad = ndi.gaussian_gradient_magnitude(filtered, sigma=3)
    opened = ndi.binary_opening(grad > 10, structure=structure)
    labels, n = ndi.label(opened)
    assert n > 100  # the test image has plenty of regions across chunk borders

    x = da.from_array(volume, chunks=64)
    spec = Spec(x.ndim, x.dtype, x.shape)
    steps = [
        filters.gaussian_filter.step(spec, sigma=3),
        filters.gaussian_gradient_magnitude.step(spec, sigma=3),
    ]
    g = apply_chain(x, steps, plan=plan)
    o = morphology.binary_opening(g > 10, structure=structure)
    lab, count = measure.label(o)
    with dask.config.set(scheduler="threads"):
        got_g, got_o, got_lab, got_n = dask.compute(g, o, lab, count)
    assert_same(got_g, grad)
    assert_same(got_o, opened)
    assert_same(got_lab, labels)
    assert int(got_n) == n
