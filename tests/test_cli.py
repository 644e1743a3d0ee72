"""The batchimg command, through its real entry point (subprocess) and click's CliRunner."""

import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import zarr
from click.testing import CliRunner
from helpers import dask_cluster, python_lines

from batchimg.cli import main
from batchimg.workflow.demo import blobs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
BATCHIMG = str(BIN / "batchimg")
WORKFLOWS = ROOT / "workflows"


def _run(*args, check=True):
    proc = subprocess.run([BATCHIMG, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        iio.imwrite(folder / f"b{i}.png", blobs((40, 48), seed=i))
    return folder


def test_seed_pipeline_on_ascent_matches_scipy(tmp_path):
    if not (DATA / "ascent.npy").exists():
        pytest.skip(f"{DATA / 'ascent.npy'} is absent (shared test data not checked out)")
    image = np.load(DATA / "ascent.npy").astype(np.uint8)
    iio.imwrite(tmp_path / "ascent.png", image)
    out = tmp_path / "out"
    _run("run", WORKFLOWS / "ascent_edges.yaml", "--input", tmp_path / "ascent.png",
         "--output", out, "--quiet")  # fmt: skip
    # the seed script, with scipy
    g = ndi.gaussian_filter(image, 3)
    m = ndi.gaussian_gradient_magnitude(g, 3)
    mask = ndi.binary_opening(m > 10, np.ones((3, 3)))
    lab, n = ndi.label(mask)
    keep = np.flatnonzero(np.bincount(lab.ravel()) > 10)
    expected, count = ndi.label(np.isin(lab, keep[keep > 0]))
    group = zarr.open_group(out / "result.zarr", mode="r")
    np.testing.assert_array_equal(group["labels/labels/0"][0], expected)
    np.testing.assert_array_equal(group["gaussian_filter/0"][0], g)
    table = pd.read_csv(out / "measurements.csv")
    assert len(table) == count
    np.testing.assert_array_equal(table["area"], np.bincount(expected.ravel())[1:])
    info = _run("info", out).stdout
    assert "complete" in info and f"{count} rows" in info and "ascent-edges" in info


def test_errors_are_one_line_and_exit_1(tmp_path, images):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - gausian_filter: {sigma: 2}\n")
    proc = _run("validate", bad, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"Error: {bad}, step 1 'gausian_filter': unknown operation; "
        "did you mean 'gaussian_filter'?\n"
    )
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(bad), "-i", str(images), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and not (tmp_path / "o").exists()
    result = runner.invoke(main, ["validate", str(bad), "--debug"])
    assert result.exit_code == 1 and "WorkflowError" in repr(result.exception)
    result = runner.invoke(main, ["validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_usage_errors_exit_2():
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["nope"])
    assert result.exit_code == 2


def test_validate_with_input_checks_sigma_axes(tmp_path, images):
    wf = tmp_path / "w.yaml"
    wf.write_text("name: w\nsteps:\n  - gaussian_filter: {sigma: [1, 2, 3]}\n")
    result = CliRunner().invoke(main, ["validate", str(wf)])
    assert result.exit_code == 0 and "valid" in result.output
    result = CliRunner().invoke(main, ["validate", str(wf), "--input", str(images)])
    assert result.exit_code == 1
    assert "step 1 'gaussian_filter': sigma must" in result.output


def test_ops_lists_every_operation_with_parameters():
    result = CliRunner().invoke(main, ["ops"])
    assert result.exit_code == 0
    assert "gaussian_filter(sigma, order=0, mode='reflect'" in result.output
    assert "filter_regions(where='area > 10'" in result.output
    assert "Gaussian filter, equal to" in result.output


def test_the_command_freezes_the_collector_as_it_ends_and_a_call_from_python_does_not():
    # the console script (standalone mode) ends its process: its teardown need not
    # walk every object; called from Python, the caller's collector is left alone
    code = (
        "import gc\nfrom batchimg.cli import main\n"
        "main(['ops'], standalone_mode=False)\nprint('called', gc.get_freeze_count())\n"
        "try:\n    main(['ops'])\nexcept SystemExit as e:\n"
        "    print('standalone', e.code, gc.get_freeze_count() > 0)\n"
    )
    out = python_lines(code)
    assert "called 0" in out
    assert out[-1] == "standalone 0 True"


def test_run_volume_parquet_save_and_info(tmp_path):
    vol = blobs((12, 24, 24), n=3)
    raw = tmp_path / "vol.raw"
    vol.tofile(raw)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "run", str(WORKFLOWS / "volume_3d.yaml"), "-i", str(raw), "-o", str(out),
        "--raw-shape", "12,24,24", "--raw-dtype", "uint8", "--chunks", "6,12,12",
        "--table-format", "parquet", "--save", "threshold",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "blocks: (6, 12, 12) (8 blocks)" in result.output
    group = zarr.open_group(out / "result.zarr", mode="r")
    g = ndi.gaussian_filter(vol, 3)
    np.testing.assert_array_equal(
        group["threshold/0"][:], ndi.gaussian_gradient_magnitude(g, 3) > 10
    )
    assert (out / "measurements.parquet").exists()
    result = CliRunner().invoke(main, ["info", str(out)])
    assert (
        "complete" in result.output
        and "array threshold/0: shape (12, 24, 24) bool" in result.output
    )
    (out / "_COMPLETE").unlink()
    result = CliRunner().invoke(main, ["info", str(out)])
    assert "INCOMPLETE" in result.output


@pytest.mark.slow
def test_run_on_a_distributed_cluster(tmp_path, images):
    with dask_cluster(2) as (address, _):
        out = tmp_path / "out"
        _run("run", WORKFLOWS / "segmentation.yaml", "-i", images, "-o", out,
             "--scheduler", address, "--chunks", "1", "--quiet")  # fmt: skip
        local = tmp_path / "local"
        _run("run", WORKFLOWS / "segmentation.yaml", "-i", images, "-o", local, "--quiet")
        a = zarr.open_group(out / "result.zarr", mode="r")["labels/labels/0"][:]
        b = zarr.open_group(local / "result.zarr", mode="r")["labels/labels/0"][:]
        np.testing.assert_array_equal(a, b)
        pd.testing.assert_frame_equal(
            pd.read_csv(out / "measurements.csv"), pd.read_csv(local / "measurements.csv")
        )


@pytest.mark.slow
def test_demo(tmp_path):
    proc = _run("demo", "--output", tmp_path / "demo", "--quiet")
    for name in ("ascent-edges", "segmentation", "denoising", "cleanup", "volume-3d"):
        assert (tmp_path / "demo" / name / "_COMPLETE").exists()
        assert name in proc.stdout
