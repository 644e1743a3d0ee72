"""Memory is bounded by the chunk size, not by the volume's size.

The 3-D seed workflow runs through the CLI in a child process on two raw volumes,
V and 4V voxels, with the same fixed chunks and workers; the peak RSS of the
process tree may grow by much less than one whole-array float64 intermediate of
the extra data would take.
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


@pytest.mark.timeout(120)
def test_volume_peak_memory_is_bounded(tmp_path):
    small, big = (32, 512, 512), (128, 512, 512)
    peaks = {}
    for shape in (small, big):
        raw = tmp_path / f"vol-{shape[0]}.raw"
        _volume(raw, shape)
        peaks[shape] = _peak_rss(
            [
                *CLI,
                "run",
                str(ROOT / "workflows" / "volume_3d.yaml"),
                "--input",
                str(raw),
                "--raw-shape",
                ",".join(map(str, shape)),
                "--raw-dtype",
                "uint8",
                "--chunks",
                "32,128,128",
                "--workers",
                "2",
                "--quiet",
                "--output",
                str(tmp_path / f"out-{shape[0]}"),
            ],
            timeout=100,
        )
    v = int(np.prod(small))
    grow = peaks[big] - peaks[small]
    # one float64 whole-array intermediate of the extra 3V voxels would be 24V bytes.
    # Measured growth is ~2.8 bytes per extra voxel (not yet explained, see
    # benchmarks/results.md); the bound is half of one float64 intermediate.
    assert grow < 12 * v, f"peak grew by {grow / 2**20:.1f} MiB from V to 4V ({peaks})"
