"""batchimg preview: one image or one plane, computed from a thin slab."""

import imageio.v3 as iio
import numpy as np
import pytest
import zarr

from batchimg.errors import InvalidParameterError
from batchimg.workflow import Workflow, run
from batchimg.workflow.demo import blobs
from batchimg.workflow.preview import preview, preview_arrays

LOCAL = Workflow(
    "local",
    [{"gaussian_filter": {"sigma": 1.5}}, {"median_filter": {"size": 3}},
     {"threshold": {"value": 100}}, {"binary_opening": {"structure": {"shape": [3, 3, 3]}}}],
    save=["gaussian_filter", "median_filter", "binary_opening"],
)  # fmt: skip


@pytest.mark.parametrize("plane", [0, 5, 11, 19])
def test_preview_plane_equals_full_run(tmp_path, plane):
    vol = blobs((20, 24, 28), n=3)
    run(LOCAL, vol, tmp_path / "out", chunks=(5, 12, 14))
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    arrays = preview_arrays(LOCAL, vol, plane=plane)
    np.testing.assert_array_equal(arrays["input"], vol[plane])
    for name in LOCAL.save:
        np.testing.assert_array_equal(arrays[name], group[f"{name}/0"][plane], err_msg=name)


def test_preview_reads_only_the_slab():
    import dask.array as da

    read = []

    def reader(block, block_id=None):
        read.append(block_id[0])
        return block

    vol = da.from_array(blobs((40, 16, 16), n=3), chunks=(1, 16, 16))
    vol = vol.map_blocks(reader, dtype=np.uint8, meta=np.empty((0, 0, 0), np.uint8))
    arrays = preview_arrays(LOCAL, vol, plane=20)
    # reach along axis 0: gaussian int(4 * 1.5 + 0.5) = 6, median 1, opening 2 -> 11..29
    assert sorted(set(read)) == list(range(11, 30))
    assert arrays["binary_opening"].shape == (16, 16)


def test_preview_png_of_a_collection_image(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        iio.imwrite(folder / f"b{i}.png", blobs((32, 32), seed=i))
    wf = Workflow("seg", [{"threshold": {"method": "otsu"}}, {"label": {}}], measure=["area"])
    out = preview(wf, folder, tmp_path / "p.png", image=1)
    assert iio.imread(out).ndim == 3
    with pytest.raises(InvalidParameterError, match=r"image must be in \[0, 1\]; got 5"):
        preview(wf, folder, tmp_path / "p.png", image=5)
