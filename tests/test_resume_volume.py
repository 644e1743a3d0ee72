"""A volume run interrupted at any stage resumes without redoing what it finished.

Every road is interrupted part-way (a block's task raises after some blocks are
done), then resumed: the outputs equal a clean run's, and the resumed run computes
fewer blocks than a whole run does (what was recorded is read back, not redone).
"""

import numpy as np
import pandas as pd
import pytest
import zarr

import batchimg.workflow.volume as volume
from batchimg.workflow import info, parse_workflow, run
from batchimg.workflow.demo import blobs

ROADS = {
    "fixed threshold": "name: a\nsteps:\n  - gaussian_filter: {sigma: 1}\n"
    "  - threshold: {value: 120}\n  - label: {}\n  - filter_regions: {where: 'area > 4'}\n"
    "measure: [area, intensity_mean]\nsave: [gaussian_filter]\n",
    "otsu over the volume": "name: b\nsteps:\n  - threshold: {method: otsu}\n"
    "  - binary_opening: {}\n  - label: {}\nmeasure: [area]\n",
    "smoothing then a percentile": "name: c\nsteps:\n  - gaussian_filter: {sigma: 1}\n"
    "  - threshold: {method: percentile, percentile: 70}\n  - label: {}\nmeasure: [area]\n",
    "mean threshold then propagation": "name: d\nsteps:\n  - threshold: {method: mean}\n"
    "  - reconstruct_by_propagation: {iterations: 1}\n  - label: {}\n"
    "  - remove_small_objects: {min_size: 5}\nmeasure: [area]\n",
    "holes and filters after label": "name: e\nsteps:\n  - threshold: {value: 120}\n"
    "  - binary_fill_holes: {}\n  - label: {}\n  - clear_border: {}\n"
    "  - filter_regions: {where: 'area > 3'}\nmeasure: [area, bbox]\n",
}


def _counting(monkeypatch, fail_after=None):
    calls = []
    real = volume.compute_region

    def counting(*args, **kwargs):
        calls.append(1)
        if fail_after is not None and len(calls) == fail_after:
            raise OSError("the machine went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(volume, "compute_region", counting)
    return calls


@pytest.mark.parametrize("road", list(ROADS))
def test_an_interrupted_volume_resumes_without_redoing_finished_blocks(tmp_path, monkeypatch, road):
    vol = blobs((12, 40, 44), n=3)
    raw = tmp_path / "vol.raw"
    vol.tofile(raw)
    wf = parse_workflow(ROADS[road])
    kw = dict(raw_shape=vol.shape, raw_dtype="uint8", chunks=(6, 20, 22), workers=1)
    calls = _counting(monkeypatch)
    run(wf, raw, tmp_path / "clean", **kw)
    full = len(calls)
    monkeypatch.undo()
    _counting(monkeypatch, fail_after=full // 2 + 1)
    with pytest.raises(OSError, match="the machine went away"):
        run(wf, raw, tmp_path / "out", **kw)
    assert info(tmp_path / "out")["state"] == "failed"
    monkeypatch.undo()
    calls = _counting(monkeypatch)
    run(wf, raw, tmp_path / "out", resume=True, **kw)
    # one worker: the interrupted run finished full // 2 blocks (the last one raised);
    # the resumed run does the rest, and at most the block in flight again
    done = full // 2
    assert len(calls) <= full - done + 1, (
        f"{road}: the resumed run computed {len(calls)} blocks; {done} of {full} were done"
    )
    a = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    b = zarr.open_group(tmp_path / "clean" / "result.zarr", mode="r")
    for path, arr in b.arrays():
        np.testing.assert_array_equal(a[path][:], arr[:], err_msg=path)
    np.testing.assert_array_equal(a["labels/labels/0"][:], b["labels/labels/0"][:])
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "measurements.csv"),
        pd.read_csv(tmp_path / "clean" / "measurements.csv"),
    )
