"""The two-pass volume engine equals scipy.ndimage.label + regionprops on the whole array."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import zarr
from skimage.measure import regionprops_table as sk_regionprops_table

from batchimg.label import label_measure_store

PROPS = ["label", "area", "bbox", "centroid", "centroid_weighted", "intensity_mean"]


def _volume(shape=(30, 41, 37), seed=1234):
    rng = np.random.default_rng(seed)
    intensity = ndi.gaussian_filter(rng.random(shape), 2)
    return intensity, intensity > 0.53


def _zarr(shape, chunks, dtype):
    return zarr.create_array(store={}, shape=shape, chunks=chunks, dtype=dtype)


@pytest.mark.parametrize("chunks", [(30, 41, 37), (13, 17, 11), (5, 41, 6)])
@pytest.mark.parametrize("where", [None, "area > 10", "area > 5 and intensity_mean > 0.54"])
def test_label_measure_store_equals_scipy(chunks, where):
    intensity, mask = _volume()
    structure = ndi.generate_binary_structure(3, 2)
    labels, n = ndi.label(mask, structure)
    table = pd.DataFrame(sk_regionprops_table(labels, intensity, properties=PROPS))
    if where is not None:
        keep = {"area > 10": table["area"] > 10}.get(where)
        if keep is None:
            keep = (table["area"] > 5) & (table["intensity_mean"] > 0.54)
        lut = np.zeros(n + 1, bool)
        lut[table["label"][keep]] = True
        labels, n = ndi.label(lut[labels], structure)
        table = pd.DataFrame(sk_regionprops_table(labels, intensity, properties=PROPS))
    out = _zarr(mask.shape, chunks, labels.dtype)
    cache = _zarr(mask.shape, chunks, bool)
    got, count = label_measure_store(
        da.from_array(mask, chunks=chunks),
        structure=structure,
        intensity=da.from_array(intensity, chunks=chunks),
        properties=PROPS,
        where=where,
        labels_out=out,
        mask_cache=cache,
    )
    assert count == n
    np.testing.assert_array_equal(out[...], labels)
    assert list(got.columns) == list(table.columns)
    for column in table.columns:
        np.testing.assert_allclose(got[column], table[column], rtol=1e-10, err_msg=column)


def test_upstream_runs_once_across_both_passes():
    intensity, _ = _volume()
    calls = []

    def upstream(block):
        calls.append(1)
        return block > 0.53

    x = da.from_array(intensity, chunks=(10, 21, 19))
    mask = x.map_blocks(upstream, dtype=bool, meta=np.empty((0, 0, 0), bool))
    out = _zarr(x.shape, (10, 21, 19), np.int32)
    cache = _zarr(x.shape, (10, 21, 19), bool)
    label_measure_store(mask, labels_out=out, mask_cache=cache)
    assert len(calls) == x.npartitions
    np.testing.assert_array_equal(out[...], ndi.label(intensity > 0.53)[0])


def test_empty_mask_gives_an_empty_table_with_columns():
    mask = np.zeros((8, 9, 10), bool)
    out = _zarr(mask.shape, (4, 4, 4), np.int32)
    table, n = label_measure_store(
        da.from_array(mask, chunks=4), properties=["label", "area", "centroid"], labels_out=out
    )
    assert n == 0
    assert list(table.columns) == ["label", "area", "centroid-0", "centroid-1", "centroid-2"]
    assert len(table) == 0
    assert not out[...].any()


def test_journal_resumes_without_redoing_recorded_blocks(tmp_path, monkeypatch):
    """An interrupted call, called again with its journal, skips what it recorded."""
    from batchimg.label import _store as volume

    intensity, _ = _volume()
    chunks = (10, 21, 19)
    calls = []
    fail_at = {"upstream": 5}

    def upstream(block):
        calls.append(1)
        if len(calls) == fail_at["upstream"]:
            raise OSError("disk went away")
        return block > 0.53

    def run():
        x = da.from_array(intensity, chunks=chunks)
        mask = x.map_blocks(upstream, dtype=bool, meta=np.empty((0, 0, 0), bool))
        saved = x.map_blocks(lambda b: b * 2, dtype=float, meta=np.empty((0, 0, 0)))
        return label_measure_store(
            mask,
            intensity=x,
            properties=PROPS,
            where="area > 10",
            labels_out=out,
            mask_cache=cache,
            also_store=[(saved, saved_out)],
            journal=str(tmp_path / "journal"),
        )

    out = zarr.create_array(store=str(tmp_path / "l.zarr"), shape=intensity.shape, chunks=chunks,
                            dtype=np.int32)  # fmt: skip
    cache = zarr.create_array(store=str(tmp_path / "c.zarr"), shape=intensity.shape,
                              chunks=chunks, dtype=bool)  # fmt: skip
    saved_out = zarr.create_array(store=str(tmp_path / "s.zarr"), shape=intensity.shape,
                                  chunks=chunks, dtype=float)  # fmt: skip
    with pytest.raises(OSError, match="disk went away"):
        run()
    recorded = len(list((tmp_path / "journal").glob("pass1-*.npz")))
    assert 0 < recorded < 12
    # pass 2 fails half-way through on the second call
    real = volume._label_pass2
    seen = []

    def flaky(*args, **kwargs):
        seen.append(1)
        if len(seen) == 6:
            raise OSError("disk went away again")
        return real(*args, **kwargs)

    monkeypatch.setattr(volume, "_label_pass2", flaky)
    calls.clear()
    fail_at["upstream"] = -1
    with pytest.raises(OSError, match="again"):
        run()
    assert len(calls) == 12 - recorded  # only the blocks pass 1 had not recorded
    monkeypatch.setattr(volume, "_label_pass2", real)
    calls.clear()
    table, n = run()
    assert calls == []  # pass 1 and the saved step are all recorded
    assert len(list((tmp_path / "journal").glob("pass2-*"))) == 12
    labels, k = ndi.label(intensity > 0.53)
    sizes = np.bincount(labels.ravel())
    keep = sizes > 10
    keep[0] = False
    expected, m = ndi.label(keep[labels])
    assert n == m and len(table) == m
    np.testing.assert_array_equal(out[...], expected)
    np.testing.assert_array_equal(saved_out[...], intensity * 2)
