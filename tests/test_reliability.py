"""Faults injected into runs: bad inputs, crashes, dead workers, resume, locks and safety.

Each test injects one fault and checks that nothing was lost (results equal a clean
run), nothing duplicated (one row per region) and nothing incomplete looks complete.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import tifffile
import zarr
from click.testing import CliRunner
from helpers import dask_cluster

import batchimg.io
from batchimg.cli import main
from batchimg.errors import InputError, InvalidParameterError, WorkflowError
from batchimg.workflow import info, open_result, parse_workflow, run
from batchimg.workflow.demo import blobs

LABELS_PATH = "labels/labels/0"

BIN = Path(sys.executable).parent
BATCHIMG = str(BIN / "batchimg")

SEED = """name: seed
steps:
  - gaussian_filter: {sigma: 1}
  - gaussian_gradient_magnitude: {sigma: 1}
  - threshold: {value: 4}
  - binary_opening: {structure: {shape: [3, 3]}}
  - label: {}
  - filter_regions: {where: "area > 5"}
measure: [area, centroid, intensity_mean]
save: [gaussian_filter]
"""
# slow enough per image (a wide median filter) that a run can be killed midway
SLOW = SEED.replace("steps:\n", "steps:\n  - median_filter: {size: 9}\n").replace(
    "gaussian_filter: {sigma: 1}", "gaussian_filter: {sigma: 1, from: input}", 1
)


def _images(folder, n=4, shape=(40, 48), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        iio.imwrite(folder / f"img{i:02d}.png", blobs(shape, seed=seed + i))
    return folder


def _cli(*args, cwd=None, check=True, timeout=120):
    proc = subprocess.run(
        [BATCHIMG, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _assert_same_results(a, b):
    """Labels, saved steps and measurements of two output folders are identical."""
    ga = zarr.open_group(Path(a) / "result.zarr", mode="r")
    gb = zarr.open_group(Path(b) / "result.zarr", mode="r")
    for path in (LABELS_PATH, "gaussian_filter/0"):
        np.testing.assert_array_equal(ga[path][:], gb[path][:])
    ta = pd.read_csv(Path(a) / "measurements.csv")
    tb = pd.read_csv(Path(b) / "measurements.csv")
    pd.testing.assert_frame_equal(ta, tb)
    assert not ta.duplicated(["image", "label"]).any()
    assert (Path(a) / "_COMPLETE").exists() and (Path(b) / "_COMPLETE").exists()
    assert not [p for p in Path(a).iterdir() if p.name.startswith((".partial", ".lock"))]


def _records(out):
    return list(Path(out).glob(".partial-*/manifest/chunk-*.json"))


def _wait_for_records(out, k, proc, deadline=60):
    end = time.monotonic() + deadline
    while len(_records(out)) < k:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < end, "no manifest records appeared"
        time.sleep(0.005)


# ---------------------------------------------------------------------------
# bad inputs


def _bad_collection(folder):
    """Good gray PNGs among every kind of bad file; return {file name: expected step}."""
    _images(folder, n=5, shape=(40, 48), seed=20)
    img = blobs((40, 48), seed=1)
    iio.imwrite(folder / "tmp.png", img)
    data = (folder / "tmp.png").read_bytes()
    (folder / "tmp.png").unlink()
    (folder / "b_truncated.png").write_bytes(data[: len(data) // 2])
    iio.imwrite(folder / "tmp.jpg", img)
    data = (folder / "tmp.jpg").read_bytes()
    (folder / "tmp.jpg").unlink()
    (folder / "b_truncated.jpg").write_bytes(data[: len(data) // 2])
    tifffile.imwrite(folder / "tmp.tif", img)
    data = (folder / "tmp.tif").read_bytes()
    (folder / "tmp.tif").unlink()
    (folder / "b_truncated.tif").write_bytes(data[: len(data) // 2])
    (folder / "b_corrupt.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 2)
    (folder / "b_empty.png").write_bytes(b"")
    (folder / "b_text.png").write_text("not an image\n")
    iio.imwrite(folder / "b_shape.png", blobs((30, 48), seed=2))
    iio.imwrite(folder / "b_rgb.png", np.stack([img] * 3, axis=-1))
    return {
        "b_truncated.png": ("read", "InputError"),
        "b_truncated.jpg": ("read", "InputError"),
        "b_truncated.tif": ("read", "InputError"),
        "b_corrupt.tif": ("open", "InputError"),
        "b_empty.png": ("open", "InputError"),
        "b_text.png": ("open", "InputError"),
        "b_shape.png": ("open", "InputError"),
        "b_rgb.png": ("open", "InputError"),
    }


def test_every_kind_of_bad_file_is_left_out_and_listed(tmp_path, monkeypatch):
    folder = tmp_path / "images"
    expected = _bad_collection(folder)
    iio.imwrite(folder / "b_vanishes.png", blobs((40, 48), seed=3))
    iio.imwrite(folder / "b_changed.png", blobs((40, 48), seed=4))
    expected["b_vanishes.png"] = ("read", "InputNotFoundError")
    expected["b_changed.png"] = ("read", "InputError")
    real = batchimg.io.read_image

    def reader(path, **kw):
        name = os.path.basename(path)
        if name == "b_vanishes.png" and os.path.exists(path):
            os.remove(path)  # gone between listing and reading
        image = real(path, **kw)
        return image[:-1] if name == "b_changed.png" else image  # changed after open

    monkeypatch.setattr(batchimg.io, "read_image", reader)
    wf = parse_workflow(SEED)
    result = run(wf, folder, tmp_path / "out", chunks=3, retries=1)
    errors = pd.read_csv(tmp_path / "out" / "errors.csv", keep_default_na=False)
    assert list(errors.columns) == ["path", "step", "exception", "message"]
    got = {os.path.basename(p): (s, e) for p, s, e in errors[["path", "step", "exception"]].values}
    assert got == expected
    assert errors["path"].is_unique and all(errors["message"].str.len() > 0)
    assert len(result.failed) == len(expected) and result.n_inputs == len(expected) + 5
    assert "decoded to shape (39, 48)" in errors.set_index("path").loc[
        str(folder / "b_changed.png"), "message"]  # fmt: skip
    # the good files give exactly what a clean run on them alone gives
    good = tmp_path / "good"
    _images(good, n=5, shape=(40, 48), seed=20)
    run(wf, good, tmp_path / "clean", chunks=3)
    table = result.table
    clean = pd.read_csv(tmp_path / "clean" / "measurements.csv")
    assert set(table["image"].map(os.path.basename)) <= {f"img{i:02d}.png" for i in range(5)}
    assert table["label"].tolist() == clean["label"].tolist()
    assert table["global_label"].tolist() == clean["global_label"].tolist()
    np.testing.assert_array_equal(table["area"], clean["area"])
    # slots follow the listing; a failed file's slots stay at the fill value 0
    labels = zarr.open_array(tmp_path / "out" / "result.zarr" / LABELS_PATH, mode="r")[:]
    clean_labels = zarr.open_array(tmp_path / "clean" / "result.zarr" / LABELS_PATH, mode="r")[:]
    names = sorted(os.listdir(folder) + ["b_vanishes.png"])
    names = [n for n in sorted(set(names), key=batchimg.io.natural_sort_key)]
    for slot, name in enumerate(names):
        if name in expected:
            assert not labels[slot].any()
        else:
            np.testing.assert_array_equal(labels[slot], clean_labels[int(name[3:5])])
    d = info(tmp_path / "out")
    assert d["state"] == "complete" and d["failed_inputs"] == len(expected)


def test_open_images_stays_strict_and_collects_on_request(tmp_path):
    folder = tmp_path / "images"
    expected = _bad_collection(folder)
    with pytest.raises(InputError, match=r"could not be read as an image"):
        batchimg.io.open_images(folder)
    stack = batchimg.io.open_images(folder, on_error="collect")
    assert len(stack) == 5 + 3  # the good PNGs and the three truncated files (good headers)
    left_out = {os.path.basename(p): type(e).__name__ for _, p, e in stack.failed}
    assert left_out == {k: v[1] for k, v in expected.items() if v[0] == "open"}
    with pytest.raises(InvalidParameterError, match=r"on_error must be 'raise' or 'collect'"):
        batchimg.io.open_images(folder, on_error="skip")


def test_cli_exit_3_with_a_summary_line_and_max_failures_exit_1(tmp_path):
    folder = _images(tmp_path / "images", n=3)
    (folder / "img01.png").write_bytes(b"")
    wf = tmp_path / "wf.yaml"
    wf.write_text(SEED)
    proc = _cli("run", wf, "-i", folder, "-o", tmp_path / "out", "--quiet", check=False)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("batchimg: finished, but 1 of 3 inputs failed (first: ")
    assert "errors.csv" in proc.stderr
    assert "complete (1 inputs failed" in _cli("info", tmp_path / "out").stdout
    runner = CliRunner()
    args = ["run", str(wf), "-i", str(folder), "-o", str(tmp_path / "o2"), "-q"]
    result = runner.invoke(main, [*args, "--max-failures", "0"])
    assert result.exit_code == 1
    assert "Error: more than max_failures=0 inputs failed" in result.output
    assert (tmp_path / "o2" / "_FAILED").exists() and (tmp_path / "o2" / "errors.csv").exists()
    assert not (tmp_path / "o2" / "_COMPLETE").exists()
    result = runner.invoke(main, ["info", str(tmp_path / "o2")])
    assert "failed (InputError: more than max_failures=0" in result.output
    result = runner.invoke(main, [*args, "--max-failures", "1"])
    assert result.exit_code == 3
    assert info(tmp_path / "o2")["state"] == "complete"
    assert not (tmp_path / "o2" / "_FAILED").exists()


def test_max_failures_aborts_during_the_run(tmp_path):
    folder = _images(tmp_path / "images", n=8)
    for i in (1, 2, 5):
        data = (folder / f"img{i:02d}.png").read_bytes()
        (folder / f"img{i:02d}.png").write_bytes(data[: len(data) // 2])  # header fine
    wf = parse_workflow(SEED)
    with pytest.raises(InputError, match=r"more than max_failures=1 inputs failed \(2 so far"):
        run(wf, folder, tmp_path / "out", chunks=1, max_failures=1, retries=0, workers=1)
    d = info(tmp_path / "out")
    assert d["state"] == "failed" and d["failed_inputs"] == 2
    with pytest.raises(InputError, match=r"is failed: the run failed \(InputError: more than"):
        open_result(tmp_path / "out")


def test_every_input_failing_is_an_error(tmp_path):
    folder = _images(tmp_path / "images", n=2)
    for p in folder.iterdir():
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"every input failed \(2 of 2\)"):
        run(parse_workflow(SEED), folder, tmp_path / "out", retries=0)
    assert info(tmp_path / "out")["state"] == "failed"


def test_a_transient_read_error_is_retried(tmp_path, monkeypatch):
    folder = _images(tmp_path / "images", n=3)
    real = batchimg.io.read_image
    calls = []

    def flaky(path, **kw):
        calls.append(path)
        if path.endswith("img01.png") and calls.count(path) == 1:
            raise OSError("Stale file handle")
        return real(path, **kw)

    monkeypatch.setattr(batchimg.io, "read_image", flaky)
    wf = parse_workflow(SEED)
    result = run(wf, folder, tmp_path / "out", chunks=2)
    assert result.failed == () and not (tmp_path / "out" / "errors.csv").exists()
    monkeypatch.undo()
    run(wf, folder, tmp_path / "clean", chunks=2)
    _assert_same_results(tmp_path / "out", tmp_path / "clean")
    calls.clear()
    monkeypatch.setattr(batchimg.io, "read_image", flaky)
    result = run(wf, folder, tmp_path / "once", chunks=2, retries=0)
    assert [(os.path.basename(f["path"]), f["exception"]) for f in result.failed] == [
        ("img01.png", "OSError")
    ]


def test_raw_volume_mismatch_fails_before_any_output(tmp_path):
    raw = tmp_path / "vol.raw"
    np.zeros((8, 16, 16), np.uint8).tofile(raw)
    wf = parse_workflow(SEED.replace("[3, 3]", "[3, 3, 3]"))
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"has 2048 bytes, but shape \(8, 16, 16\) of uint16"):
        run(wf, raw, out, raw_shape=(8, 16, 16), raw_dtype="uint16")
    with pytest.raises(InputError, match=r"has 2048 bytes, but shape \(9, 16, 16\) of uint8"):
        run(wf, raw, out, raw_shape=(9, 16, 16), raw_dtype="uint8")
    assert not out.exists()


# ---------------------------------------------------------------------------
# interrupted runs and resume


class _Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


def _crash_after(monkeypatch, k):
    real = batchimg.io.read_image
    calls = []

    def reader(path, **kw):
        calls.append(path)
        if len(calls) > k:
            raise _Crash("killed")
        return real(path, **kw)

    monkeypatch.setattr(batchimg.io, "read_image", reader)


def test_resume_after_a_crash_equals_a_clean_run(tmp_path, monkeypatch, caplog):
    folder = _images(tmp_path / "images", n=7)
    wf = parse_workflow(SEED)
    out = tmp_path / "out"
    _crash_after(monkeypatch, 3)
    with pytest.raises(_Crash, match="killed"):
        run(wf, folder, out, chunks=2, workers=1)
    monkeypatch.undo()
    done = len(_records(out))  # 3 reads finish one or two tasks (of 2, 2, 2 and 1 files)
    assert 1 <= done <= 2 and info(out)["state"] == "failed"
    with pytest.raises(InputError, match="is failed"):
        open_result(out)
    with pytest.warns(UserWarning, match="its files may be partial"):
        open_result(out, allow_incomplete=True)
    caplog.set_level("INFO", logger="batchimg")
    run(wf, folder, out, resume=True, chunks=3)
    assert f"resuming: {done} of 4 task(s) already done" in caplog.messages
    assert any("resuming with the interrupted run's chunks 2" in s for s in caplog.messages)
    run(wf, folder, tmp_path / "clean", chunks=2)
    _assert_same_results(out, tmp_path / "clean")
    assert open_result(out).state == "complete"
    caplog.clear()
    stamp = (out / "_COMPLETE").stat().st_mtime_ns
    again = run(wf, folder, out, resume=True)  # a complete run: nothing to do, and it says so
    assert any("already complete; nothing to do" in s for s in caplog.messages)
    assert again.resumed == "complete" and again.n_regions == len(again.table)
    assert (out / "_COMPLETE").stat().st_mtime_ns == stamp
    caplog.clear()
    run(wf, folder, tmp_path / "new", resume=True)  # nothing to resume: a new run
    assert any("nothing to resume" in s for s in caplog.messages)


def test_resume_refuses_a_changed_workflow_or_changed_inputs(tmp_path, monkeypatch):
    folder = _images(tmp_path / "images", n=5)
    wf = parse_workflow(SEED)
    out = tmp_path / "out"
    _crash_after(monkeypatch, 2)
    with pytest.raises(_Crash, match="killed"):
        run(wf, folder, out, chunks=1, workers=1)
    monkeypatch.undo()
    other = parse_workflow(SEED.replace("{value: 4}", "{value: 5}"))
    with pytest.raises(
        InputError, match=r"the workflow changed: step 3 'threshold': \{\"value\": 4\} -> "
    ):
        run(other, folder, out, resume=True)
    with pytest.raises(InputError, match=r"the table changed: 'measurements.csv' -> 'm.parquet'"):
        run(wf, folder, out, resume=True, table="m.parquet")
    # same size and modification time, other content: only --verify sees it
    slot = int(next(iter(json.loads(_records(out)[0].read_text())["hashes"])))
    path = folder / f"img{slot:02d}.png"  # processed before the crash
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(InputError, match=rf"content of 1 input file\(s\) changed .*{path.name}"):
        run(wf, folder, out, resume=True, verify=True)
    iio.imwrite(folder / "img04.png", blobs((40, 50), seed=3))
    iio.imwrite(folder / "img09.png", blobs((40, 48), seed=3))
    with pytest.raises(InputError, match=r"1 file\(s\) added \('img09.png'\); 1 file\(s\) changed"):
        run(wf, folder, out, resume=True)
    assert info(out)["state"] == "failed"  # refused resumes leave the folder as it was
    assert len(_records(out)) == 2


def _slow_run(tmp_path, folder, out, *extra):
    wf = tmp_path / "slow.yaml"
    wf.write_text(SLOW)
    cmd = [BATCHIMG, "run", str(wf), "-i", str(folder), "-o", str(out), *map(str, extra)]
    return cmd


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 6])
def test_sigkill_then_resume_equals_a_clean_run(tmp_path, k):
    folder = _images(tmp_path / "images", n=16, shape=(128, 128))
    out = tmp_path / "out"
    cmd = _slow_run(tmp_path, folder, out, "--chunks", "1", "--workers", "1", "--quiet")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_records(out, k, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    done = len(_records(out))
    assert k <= done < 16 and not (out / "_COMPLETE").exists()
    result = CliRunner().invoke(main, ["info", str(out)])
    assert "incomplete (no _COMPLETE marker" in result.output and "--resume" in result.output
    with pytest.raises(InputError, match="is incomplete"):
        open_result(out)
    resumed = subprocess.run(cmd[:-1] + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "taking over the stale lock of process" in resumed.stderr
    skipped = int(resumed.stderr.split("resuming: ")[1].split(" of 16 task(s)")[0])
    assert skipped >= done  # the run may record one more between counting and the kill
    run(parse_workflow(SLOW), folder, tmp_path / "clean", chunks=1)
    _assert_same_results(out, tmp_path / "clean")


@pytest.mark.slow
def test_sigkill_during_a_volume_run_then_resume(tmp_path):
    vol = blobs((48, 96, 96), n=6)
    raw = tmp_path / "vol.raw"
    vol.tofile(raw)
    out = tmp_path / "out"
    wf = tmp_path / "slow.yaml"
    wf.write_text(SLOW.replace("[3, 3]", "[3, 3, 3]").replace("size: 9", "size: 5"))
    cmd = [BATCHIMG, "run", str(wf), "-i", str(raw), "-o", str(out), "--raw-shape", "48,96,96",
           "--raw-dtype", "uint8", "--chunks", "16,48,48", "--workers", "1", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 60
        while not list(out.glob(".partial-*/work/stage*/pass1-*.npz")):
            assert proc.poll() is None and time.monotonic() < end, "no block was recorded"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert info(out)["state"] == "incomplete"
    recorded = len(list(out.glob(".partial-*/work/stage*/pass1-*.npz")))
    resumed = subprocess.run(cmd[:-1] + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    skipped = int(resumed.stderr.split("resuming: ")[1].split(" of 12 block")[0])
    assert 0 < recorded <= skipped
    clean = tmp_path / "clean"
    _cli(*cmd[1:6], clean, *cmd[7:])
    ga = zarr.open_group(out / "result.zarr", mode="r")
    gb = zarr.open_group(clean / "result.zarr", mode="r")
    for path in (LABELS_PATH, "gaussian_filter/0"):
        np.testing.assert_array_equal(ga[path][:], gb[path][:])
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "measurements.csv"), pd.read_csv(clean / "measurements.csv")
    )


def test_a_second_run_on_the_same_folder_refuses_and_a_stale_lock_is_taken(tmp_path, caplog):
    folder = _images(tmp_path / "images", n=2)
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {"pid": sleeper.pid, "host": socket.gethostname(), "started": "2026-01-01T00:00"}
        (out / ".lock").write_text(json.dumps(lock))
        wf = parse_workflow(SEED)
        with pytest.raises(
            InputError, match=rf"in use by another run: process {sleeper.pid} on .*2026-01-01"
        ):
            run(wf, folder, out)
        assert "locked by process" in CliRunner().invoke(main, ["info", str(out)]).output
    finally:
        sleeper.kill()
        sleeper.wait()
    caplog.set_level("INFO", logger="batchimg")
    run(wf, folder, out)  # the holder is dead now
    assert any(f"taking over the stale lock of process {sleeper.pid}" in s for s in caplog.messages)
    assert info(out)["state"] == "complete" and not (out / ".lock").exists()


# ---------------------------------------------------------------------------
# dead workers


@pytest.mark.slow
def test_a_worker_killed_mid_run_changes_nothing(tmp_path):
    folder = _images(tmp_path / "images", n=16, shape=(128, 128))
    proc = None
    with dask_cluster(2) as (address, procs):
        try:
            out = tmp_path / "out"
            cmd = _slow_run(tmp_path, folder, out, "--scheduler", address, "--chunks", "1", "-q")
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            _wait_for_records(out, 2, proc)
            os.kill(procs[1].pid, signal.SIGKILL)  # one worker dies mid-run
            procs[1].wait(timeout=10)
            _, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            assert len(_records(out)) == 0  # bookkeeping is gone from a finished folder
            run(parse_workflow(SLOW), folder, tmp_path / "clean", chunks=1)
            _assert_same_results(out, tmp_path / "clean")
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------
# safe by default


def test_yaml_python_tags_are_refused(tmp_path):
    text = "name: x\nsteps: !!python/object/apply:os.system ['echo hacked']\n"
    with pytest.raises(WorkflowError, match="not valid YAML"):
        parse_workflow(text)


def test_remote_inputs_are_refused_unless_allowed(tmp_path):
    wf = tmp_path / "wf.yaml"
    wf.write_text(SEED)
    for url in ("s3://bucket/images/*.png", "http://example.org/a.png"):
        result = CliRunner().invoke(main, ["run", str(wf), "-i", url, "-o", str(tmp_path / "o")])
        assert result.exit_code == 1
        assert f"Error: input must be a local path; got the URL {url!r}." in result.output
        assert "--allow-remote" in result.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(InputError, match="output must be a local folder"):
        run(parse_workflow(SEED), _images(tmp_path / "i", n=1), "s3://bucket/out")
    # opted in, the URL goes to the readers, which read Zarr stores only from URLs
    with pytest.raises(InputError, match="input must be a Zarr store to be read from a URL"):
        run(parse_workflow(SEED), "s3://bucket/a.png", tmp_path / "o", allow_remote=True)


def test_names_from_input_paths_never_leave_the_output_folder(tmp_path, monkeypatch):
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    iio.imwrite(tmp_path / "x.png", blobs((40, 48), seed=1))
    odd = 'odd ,name "q" \';$(rm -rf x)\n..png'
    iio.imwrite(tmp_path / odd, blobs((40, 48), seed=2))
    (tmp_path / "..bad;name.png").write_text("not an image")
    monkeypatch.chdir(deep)
    before = {p for p in tmp_path.rglob("*")}
    sources = ["../../x.png", f"../../{odd}", "../../..bad;name.png"]
    result = run(parse_workflow(SEED), sources, "out", chunks=1)
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(deep / "out" in p.parents or p == deep / "out" for p in created)
    errors = pd.read_csv(deep / "out" / "errors.csv")
    assert errors["path"].tolist() == [str(tmp_path / "..bad;name.png")]  # made absolute
    assert set(result.table["image"]) <= {str(tmp_path / "x.png"), str(tmp_path / odd)}
    table = pd.read_csv(deep / "out" / "measurements.csv")
    assert set(table["image"]) == set(result.table["image"])
