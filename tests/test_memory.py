"""Memory is set by the block size, not by the volume's size, on every road.

Each road -- fixed thresholds, thresholds computed over the volume (a histogram
pass first), non-local morphology (propagation, holes), filters after ``label``
(a stored label image read again), the run report, and the Python API's lazy
``regionprops_table`` -- runs in a child process on two raw volumes, V and 4V
voxels, with the same fixed blocks and workers; the peak RSS of the process tree
may not grow with the volume beyond a small allowance for the per-region summaries
(a few thousand regions).
"""

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import scipy.ndimage as ndi

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from batchimg.cli import main; main()"]

ROADS = {
    "fixed threshold (the 3-D seed workflow)": "volume_3d.yaml",
    "otsu threshold over the volume": "name: otsu\nsteps:\n  - threshold: {method: otsu}\n"
    "  - binary_opening: {}\n  - label: {}\nmeasure: [area, centroid, intensity_mean]\n",
    "smoothing, then otsu over the volume": "name: s\nsteps:\n  - gaussian_filter: {sigma: 1}\n"
    "  - threshold: {method: otsu}\n  - label: {}\nmeasure: [area]\n",
    "erosion + propagation (cleanup.yaml)": "cleanup.yaml",
    "holes filled": "name: h\nsteps:\n  - threshold: {value: 128}\n  - binary_fill_holes: {}\n"
    "  - label: {}\nmeasure: [area]\n",
    "filters after label": "name: f\nsteps:\n  - threshold: {value: 128}\n  - label: {}\n"
    "  - clear_border: {}\n  - filter_regions: {where: 'area > 20'}\nmeasure: [area, bbox]\n",
}
API = """
import sys, numpy as np
from batchimg import io, measure
x = io.open_raw(sys.argv[1], shape=tuple(map(int, sys.argv[2].split(","))), dtype="uint8",
                chunks=(32, 128, 128))
labels, n = measure.label(x > 128)
t = measure.regionprops_table(labels, x, properties=["label", "area", "intensity_mean"])
assert len(t["label"]) == int(n.compute())  # scikit-image's dict of columns
"""


def _peak_rss(args: list[str], timeout: float) -> int:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            total = 0
            try:
                procs = [ps, *ps.children(recursive=True)]
            except psutil.Error:
                procs = []
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, total)
            time.sleep(0.01)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        stop.set()
        t.join()
    assert proc.returncode == 0, err[-3000:]
    return peak


def _volume(path: Path, shape) -> None:
    # soft blobs (coarse seeded noise, zoomed): a few thousand regions, so the test
    # measures the memory that follows the voxels, not the per-region tables
    rng = np.random.default_rng(1234)
    coarse = rng.integers(0, 256, tuple(s // 8 + 2 for s in shape), dtype=np.uint8)
    vol = ndi.zoom(coarse, 8, order=1, output=np.uint8, grid_mode=True, mode="nearest")
    vol[tuple(slice(0, s) for s in shape)].tofile(path)


SMALL, BIG = (32, 512, 512), (128, 512, 512)


@pytest.fixture(scope="module")
def volumes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("volumes")
    out = {}
    for shape in (SMALL, BIG):
        raw = folder / f"vol-{shape[0]}.raw"
        _volume(raw, shape)
        out[shape] = raw
    return out


def _assert_flat(peaks: dict, road: str) -> None:
    small, big = peaks[SMALL], peaks[BIG]
    # flat within 15%, plus 24 MiB for the per-region summaries of the extra regions
    assert big <= 1.15 * small + 24 * 2**20, (
        f"{road}: peak grew from {small / 2**20:.0f} MiB at V to {big / 2**20:.0f} MiB at 4V"
    )
    assert big < 2**30


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("road", list(ROADS))
def test_every_volume_road_has_a_flat_peak(tmp_path, volumes, road):
    text = ROADS[road]
    if text.endswith(".yaml"):
        workflow = ROOT / "workflows" / text
    else:
        workflow = tmp_path / "wf.yaml"
        workflow.write_text(text)
    peaks = {}
    for shape, raw in volumes.items():
        peaks[shape] = _peak_rss(
            [*CLI, "run", str(workflow), "--input", str(raw), "--raw-shape",
             ",".join(map(str, shape)), "--raw-dtype", "uint8", "--chunks", "32,128,128",
             "--workers", "2", "--quiet", "--no-report", "--output",
             str(tmp_path / f"out-{shape[0]}")],
            timeout=280,
        )  # fmt: skip
    _assert_flat(peaks, road)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_report_keeps_the_peak_flat(tmp_path, volumes):
    # the report reads planes and projections of the volume and its labels, a row of
    # chunks at a time, from the pyramid level its budget allows
    peaks = {}
    for shape, raw in volumes.items():
        peaks[shape] = _peak_rss(
            [*CLI, "run", str(ROOT / "workflows" / "volume_3d.yaml"), "--input", str(raw),
             "--raw-shape", ",".join(map(str, shape)), "--raw-dtype", "uint8", "--chunks",
             "32,128,128", "--workers", "2", "--quiet", "--output",
             str(tmp_path / f"out-{shape[0]}")],
            timeout=280,
        )  # fmt: skip
        assert (tmp_path / f"out-{shape[0]}" / "report.html").exists()
    _assert_flat(peaks, "volume_3d.yaml with its report")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_python_api_stays_lazy_and_bounded(volumes):
    peaks = {}
    for shape, raw in volumes.items():
        peaks[shape] = _peak_rss(
            [sys.executable, "-c", API, str(raw), ",".join(map(str, shape))], timeout=280
        )
    _assert_flat(peaks, "regionprops_table(label(x > 128))")
