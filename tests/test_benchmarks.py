"""The benchmark runs end to end at tiny sizes, and batchimg agrees with the anchors.

No timing is asserted: the figures of a quick run mean nothing.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_quick_benchmark(tmp_path):
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--repeat",
            "1",
            "--out",
            str(out),
            "--data",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=460,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for section in (
        "## Collection",
        "## Volume",
        "## Scaling",
        "## Cluster: the collection",
        "## Cluster: the volume",
        "## Every bundled workflow",
        "## Every 3-D workflow",
    ):
        assert text.count(section) == 1, section
    summary = json.loads(out.with_suffix(".json").read_text())
    coll = summary["counts_collection"]
    assert coll["batchimg"][0] > 0
    assert coll["batchimg"] == coll["scipy_loop"] == coll["thread_pool"]
    vol = summary["counts_volume"]
    assert vol["batchimg"][0] > 0
    assert vol["batchimg"] == vol["scipy"]
    for what in ("collection", "volume"):  # every cluster case ran and agreed with local
        for tag in ("fresh", "warm", "preload"):
            assert summary[f"cluster_{what}_{tag}_vs_local"] > 0
    # every bundled workflow ran against its anchor (and agreed: run.py stops otherwise)
    bundled = {p.name for p in (ROOT / "workflows").glob("*.yaml")}
    assert (
        set(summary["workflows_collection_vs_pool"]) | set(summary["workflows_volume_vs_scipy"])
        == bundled
    )
