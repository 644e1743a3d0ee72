"""The run facade: options, the CLI's one-line errors, dask's conventions, the output folder."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import dask
import imageio.v3 as iio
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import zarr
from click.testing import CliRunner
from helpers import dask_cluster, python_lines

from batchimg.cli import main
from batchimg.errors import InputError, InvalidParameterError, WorkflowError
from batchimg.workflow import check, info, open_result, parse_workflow, run
from batchimg.workflow.demo import blobs, bundled_workflow
from batchimg.workflow.scheduler import VOLUME_WORKER_MODULES, WORKER_MODULES, resolve

BATCHIMG = str(Path(sys.executable).parent / "batchimg")
SEG = """name: seg
steps:
  - threshold: {method: otsu}
  - binary_opening: {}
  - label: {}
measure: [area, centroid, intensity_mean]
"""


def _images(folder, n=3, shape=(32, 40)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        iio.imwrite(folder / f"img{i}.png", blobs(shape, seed=i))
    return folder


@pytest.fixture
def files(tmp_path):
    images = _images(tmp_path / "images")
    vol = blobs((12, 20, 24), n=3)
    raw = tmp_path / "vol.raw"
    vol.tofile(raw)
    wf = tmp_path / "seg.yaml"
    wf.write_text(SEG)
    sched = tmp_path / "scheduler.json"
    sched.write_text("{}")
    return {"images": images, "raw": raw, "wf": wf, "sched": sched, "tmp": tmp_path}


# ---------------------------------------------------------------------------
# every bad option is one line, and leaves nothing that looks complete

RAW = ["--raw-shape", "12,20,24", "--raw-dtype", "uint8"]
BAD_OPTIONS = [
    (
        ["-i", "{raw}", "--raw-shape", "128x1024x2048", "--raw-dtype", "uint8"],
        1,
        r"raw_shape must be comma-separated integers like 64,128,128; got '128x1024x2048'",
    ),
    (["-i", "{raw}", *RAW, "--chunks", "0,256,256"], 1, r"chunks must be whole numbers >= 1"),
    (["-i", "{raw}", *RAW, "--chunks", "8,8"], 1, r"chunks must have one size per spatial axis"),
    (["-i", "{images}", "--chunks", "2,2"], 1, r"chunks must be a number of images per task"),
    (["-i", "{images}", "--chunks", "many"], 1, r"chunks must be an integer or comma-separated"),
    (
        ["-i", "{images}", "--scheduler", "thread"],
        1,
        r"scheduler must be one of 'threads', 'processes', 'sync' .* Did you mean 'threads'\?",
    ),
    (
        ["-i", "{images}", "--scheduler", "{sched}"],
        1,
        r"got the file .*scheduler\.json.*pass a scheduler file with --scheduler-file",
    ),
    (
        ["-i", "{images}", "--scheduler-file", "{tmp}/none.json"],
        1,
        r"scheduler_file must be a scheduler file .* does not exist",
    ),
    (
        ["-i", "{images}", "--scheduler", "tcp://127.0.0.1:9", "--workers", "2"],
        1,
        r"workers sets local threads or processes; got workers=2 with the cluster",
    ),
    (["-i", "{raw}", "--raw-shape", "12,20,24", "--raw-dtype", "uint9"], 1, r"dtype must be"),
    (["-i", "{raw}", *RAW, "--raw-offset", "ten"], 1, r"raw_offset must be an integer"),
    (["-i", "{images}", "--table", "results.xlsx"], 1, r"table must end in \.csv"),
    (["-i", "{images}", "--table", "sub/m.csv"], 1, r"table must be a file name inside"),
    (
        ["-i", "{images}", "--table", "m.csv", "--table-format", "parquet"],
        1,
        r"table_format 'parquet' does not match the table's name 'm.csv'",
    ),
    (["-i", "{images}", "--verify"], 1, r"verify applies only with resume=True"),
    (["-i", "{images}", "--scale", "1,x"], 1, r"scale must be comma-separated numbers"),
    (["-i", "{tmp}/missing"], 1, r"does not exist"),
    (["-i", "{images}", "--table-format", "tsv"], 2, r"Invalid value for '--table-format'"),
    (["-i", "{images}", "--workers", "0"], 2, r"Invalid value for '--workers'"),
    (["-i", "{images}", "--max-failures", "-1"], 2, r"Invalid value for '--max-failures'"),
    (["-i", "{images}", "--retries", "x"], 2, r"Invalid value for '--retries'"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_OPTIONS)
def test_every_bad_option_is_one_error_line(files, args, code, message):
    args = [a.format(**files) for a in args]
    out = files["tmp"] / "out"
    result = CliRunner().invoke(main, ["run", str(files["wf"]), "-o", str(out), *args])
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert __import__("re").search(message, errors[0]), errors[0]
    if code == 1:
        assert "Traceback" not in result.output
        assert not result.output.strip().splitlines()[-1].startswith("  ")
    assert not (out / "_COMPLETE").exists()


def test_a_bad_option_through_the_real_entry_point_has_no_traceback(files):
    proc = subprocess.run(
        [
            BATCHIMG,
            "run",
            str(files["wf"]),
            "-i",
            str(files["raw"]),
            "-o",
            str(files["tmp"] / "o"),
            "--raw-shape",
            "12x20x24",
            "--raw-dtype",
            "uint8",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("Error: raw_shape must be")


# ---------------------------------------------------------------------------
# validate finds what needs no input, and with one what run would do

NO_INPUT = [
    ("  - gaussian_filter: {sigma: 1, mode: reflekt}", r"mode must be one of .* got 'reflekt'"),
    ("  - gaussian_filter: {sigma: -1}", r"sigma must be a number >= 0 or a list of numbers >= 0"),
    ("  - threshold: {value: 3, method: otsu}", r"threshold needs exactly one of value and method"),
    (
        "  - threshold: {value: 3}\n  - label: {}\n  - filter_regions: {where: 'area >> 10'}",
        r"step 3 'filter_regions': where must be a condition",
    ),
    (
        "  - threshold: {value: 3}\n  - label: {}\n  - filter_regions: {where: 'size > 10'}",
        r"where must name measurement columns; got unknown column 'size'",
    ),
    ("  - median_filter: {}", r"step 1 'median_filter': size or footprint must be given"),
    (
        "  - gaussian_filter: {sigma: [1, 2, 3, 4]}",
        r"sigma must .* \(checked without an input: no 2-D or 3-D input fits\)",
    ),
    ("  - threshold: {method: percentile}", r"percentile must be given"),
    ("  - threshold: {value: 1}\n  - label: {axes: [0, 1]}", r"label axes= is not a workflow"),
    (
        "  - threshold: {value: 1}\n  - binary_erosion: {iterations: 0}",
        r"step 2 'binary_erosion': iterations must be >= 1 for a local step; got 0\. scipy's",
    ),
    (
        "  - threshold: {value: 1}\n  - binary_fill_holes: {origin: 1}",
        r"unknown parameter 'origin'; binary_fill_holes takes structure, from, channel",
    ),
    (
        "  - threshold: {value: 1}\n  - label: {}\n"
        "  - remove_small_objects: {min_size: 5, max_size: 4}",
        r"step 3 'remove_small_objects': Both deprecated parameter `min_size` and new",
    ),
]


@pytest.mark.parametrize(("steps", "message"), NO_INPUT)
def test_validate_without_input_finds_every_mistake_that_needs_none(tmp_path, steps, message):
    text = "name: t\nsteps:\n" + steps + "\n"
    with pytest.raises(WorkflowError, match=message):
        check(parse_workflow(text))
    path = tmp_path / "w.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and result.output.count("Error:") == 1


def test_deprecated_min_size_is_the_max_size_it_equals_with_a_warning(caplog):
    text = "name: t\nsteps:\n  - threshold: {value: 1}\n  - label: {}\n  - remove_small_objects: "
    plan = check(parse_workflow(text + "{min_size: 20}"))
    assert plan.steps[2].params["where"] == "area > 19"
    assert any("min_size is deprecated (scikit-image 0.26); max_size: 19" in m
               for m in caplog.messages)  # fmt: skip
    assert check(parse_workflow(text + "{}")).steps[2].params["where"] == "area > 64"


def test_validate_with_input_reports_bad_files_and_the_plan(files, caplog):
    (files["images"] / "broken.png").write_bytes(b"")
    caplog.set_level("INFO", logger="batchimg")
    plan = check(parse_workflow(SEG), files["images"])
    assert plan.kind == "collection" and [s.road for s in plan.steps] == [
        "per-image",
        "local",
        "components",
    ]
    assert any("broken.png' would be left out" in m for m in caplog.messages)
    result = CliRunner().invoke(
        main, ["validate", str(files["wf"]), "-i", str(files["raw"]), *RAW, "-v"]
    )
    assert result.exit_code == 0, result.output
    assert "valid (3 steps) for the volume zyx (12, 20, 24) uint8" in result.output
    assert "stage 1: statistic" in result.output and "stage 2: components" in result.output


# ---------------------------------------------------------------------------
# dask's conventions


def test_scheduler_resolution_follows_dask():
    with dask.config.set(scheduler=None):  # the tests' conftest sets the sync scheduler
        assert resolve().name == "threads" and resolve().how == "local threads (the default)"
    assert resolve("sync").name == "sync" and resolve("processes", workers=2).workers == 2
    with dask.config.set(scheduler="synchronous"):
        ex = resolve()
        assert ex.name == "sync" and "dask.config" in ex.how
    with dask.config.set(scheduler=dask.threaded.get):
        assert resolve().name == "threads"
    with dask.config.set(scheduler="distributed"):
        with pytest.raises(InputError, match="has no distributed.Client"):
            resolve()
    with pytest.raises(InvalidParameterError, match="workers must be an integer >= 1"):
        resolve(workers=0)
    with pytest.raises(InvalidParameterError, match="give scheduler or scheduler_file"):
        resolve("threads", scheduler_file="x.json")
    with pytest.raises(InvalidParameterError, match="must be a name, an address or a distributed"):
        resolve(3.5)


def test_the_cli_default_is_processes_for_a_collection_and_threads_for_a_volume(tmp_path):
    from batchimg.workflow.scheduler import Executor

    with dask.config.set(scheduler=None):  # nothing names a scheduler: dask's default threads
        ex = resolve(workers=2)
        assert ex.default and ex.name == "threads"
        assert not ex.default_for("volume", "auto") and ex.name == "threads"
        assert not ex.default_for("collection", None) and ex.name == "threads"
        assert not ex.default_for("collection", "threads") and ex.name == "threads"
        assert ex.default_for("collection", "auto") and ex.name == "processes"
        assert ex.how == "local processes (the default for a collection)" and ex.workers == 2
        assert not resolve("threads").default_for("collection", "auto")  # named: it stays
    with dask.config.set(scheduler="threads"):  # so does dask's config
        assert not resolve().default_for("collection", "auto")
    with pytest.raises(
        InvalidParameterError, match=r"default_scheduler must be 'threads' or 'auto'; got 'fast'\."
    ):
        run(parse_workflow(SEG), tmp_path, tmp_path / "x", default_scheduler="fast")
    # a user's pool in dask's config is the user's choice: batchimg starts none
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as mine, dask.config.set(pool=mine):
        ex = Executor("processes", 1)
        ex.warm(WORKER_MODULES)
        assert ex.pool is None
    # through the CLI on a collection: worker processes, the same table as in one thread
    images = _images(tmp_path / "images", n=4)
    wf = tmp_path / "seg.yaml"
    wf.write_text(SEG)
    with dask.config.set(scheduler=None):
        res = CliRunner().invoke(
            main, ["run", str(wf), "-i", str(images), "-o", str(tmp_path / "p"), "-q"]
        )
    assert res.exit_code == 0, res.output
    assert "<th>scheduler</th><td>processes (" in (tmp_path / "p" / "report.html").read_text()
    local = run(parse_workflow(SEG), images, tmp_path / "s")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "p" / "measurements.csv"), local.table, check_dtype=False
    )


def test_local_worker_processes_start_with_the_engines_imported():
    import os

    from batchimg.workflow.scheduler import Executor

    ex = Executor("processes", 2)
    ex.warm(WORKER_MODULES)
    try:
        assert ex.pool is not None
        pids, ready = zip(
            *ex.pool.map(_pid_and_modules, [WORKER_MODULES] * 8, chunksize=1), strict=True
        )
        assert all(ready) and os.getpid() not in pids
        # dask's processes scheduler computes on this pool
        got = ex.compute([dask.delayed(_pid_and_modules)(WORKER_MODULES)], label="x")
        assert got[0][0] in set(pids) and got[0][1]
    finally:
        ex.close()
    assert ex.pool is None


def test_the_command_line_starts_the_workers_server_early_for_a_collection(tmp_path):
    from batchimg._workers import looks_like_collection, start_forkserver
    from batchimg.workflow.scheduler import Executor

    images = _images(tmp_path / "images", n=2)
    (tmp_path / "plain.zarr" / "inner").mkdir(parents=True)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "zarr.json").write_text("{}")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / ".zgroup").write_text("{}")
    (tmp_path / "vol.raw").write_bytes(b"\0" * 8)
    cases = {
        images: True,
        f"{images}/*.png": True,
        tmp_path / "plain.zarr": False,
        tmp_path / "plain.zarr" / "inner": False,
        tmp_path / "store": False,
        tmp_path / "v2": False,
        tmp_path / "vol.raw": False,
        images / "img0.png": False,
        tmp_path / "missing": False,
    }
    assert {k: looks_like_collection(k) for k in cases} == cases
    # a scheduler, pool or context in dask's config: nothing starts (conftest: sync)
    assert not start_forkserver(images)
    with dask.config.set(scheduler=None, pool=object()):
        assert not start_forkserver(images)
    with dask.config.set(scheduler=None):
        assert not start_forkserver(tmp_path / "vol.raw")
        assert start_forkserver(images)
        ex = Executor("processes", 2)
        ex.warm(WORKER_MODULES)  # the pool forks from the server started above
        try:
            parents = set(ex.pool.map(_parent_and_modules, [WORKER_MODULES] * 4, chunksize=1))
        finally:
            ex.close()
    (parent, ready), *_ = parents
    assert len(parents) == 1 and ready and parent != os.getpid()


def test_the_workers_modules_and_the_command_leave_dask_array_and_pandas_unimported():
    # a collection's worker processes build no dask array and no DataFrame: the
    # modules they preload, and the command's own, import neither (a second saved
    # in every worker), and the deferred names import them on first use
    code = (
        "import sys\n"
        "from batchimg._workers import WORKER_MODULES\n"
        "import importlib\n"
        "for m in WORKER_MODULES + ('batchimg.cli', 'batchimg.workflow'):\n"
        "    importlib.import_module(m)\n"
        "print(sorted(m for m in ('dask.array', 'pandas', 'xarray') if m in sys.modules))\n"
        "from batchimg._lazy import da, pd, is_dask_array\n"
        "print(is_dask_array(0), repr(da))\n"
        "x = da.zeros(3)\n"
        "print(is_dask_array(x), type(x).__module__, pd.DataFrame.__module__, repr(da))\n"
    )
    out = python_lines(code)
    assert out == [
        "[]",
        "False <deferred module 'dask.array' (not imported yet)>",
        "True dask.array.core pandas.core.frame <deferred module 'dask.array' (imported)>",
    ]


def _parent_and_modules(names):
    return os.getppid(), all(n in sys.modules for n in names)


def _pid_and_modules(names):
    import os

    return os.getpid(), all(n in sys.modules for n in names)


def test_a_run_honours_dask_config(tmp_path, monkeypatch):
    from batchimg.workflow import scheduler

    seen = []
    real = scheduler.Executor._compute_local

    def spy(self, objs, progress):
        seen.append(self.name)
        return real(self, objs, progress)

    monkeypatch.setattr(scheduler.Executor, "_compute_local", spy)
    images = _images(tmp_path / "images", n=2)
    with dask.config.set(scheduler="sync"):
        run(parse_workflow(SEG), images, tmp_path / "a")
    assert seen and set(seen) == {"sync"}


def test_a_cluster_is_sent_the_volume_modules_once_the_input_is_a_volume(tmp_path, monkeypatch):
    # a volume's tasks unpickle into dask.array on a worker: a cluster's workers import
    # it while this process plans; a collection, or local threads, never ask for it
    from distributed import Client, LocalCluster

    from batchimg.workflow.scheduler import Executor

    sent = []
    real = Executor.warm

    def spy(self, modules):
        sent.append((self.distributed, tuple(modules)))
        return real(self, modules)

    monkeypatch.setattr(Executor, "warm", spy)
    volume = blobs((48, 56), seed=3)
    images = _images(tmp_path / "images", n=2)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as c,
        Client(c) as client,
    ):
        run(parse_workflow(SEG), volume, tmp_path / "vol", scheduler=client)
        assert sent == [(True, WORKER_MODULES), (True, VOLUME_WORKER_MODULES)]
        sent.clear()
        run(parse_workflow(SEG), images, tmp_path / "coll", scheduler=client)
        assert sent == [(True, WORKER_MODULES)]
    sent.clear()
    run(parse_workflow(SEG), volume, tmp_path / "local")
    assert sent and all(m == WORKER_MODULES and not d for d, m in sent)


@pytest.mark.parametrize(
    "name",
    ["ascent_edges.yaml", "segmentation.yaml", "denoising.yaml", "cleanup.yaml", "nuclei.yaml"],
)
def test_a_local_workers_tasks_import_nothing_its_server_had_not(tmp_path, name):
    # every module a bundled workflow's tasks use is preloaded by the workers' server
    # (WORKER_MODULES), so no worker pays for imports in its first task; dask.config's
    # initializer runs in each worker (without dask's warning that it ignores it)
    import functools

    import worker_probe

    probe = tmp_path / "probe"
    probe.mkdir()
    images = _images(tmp_path / "images", n=4, shape=(64, 64))
    record = functools.partial(worker_probe.record_imports, str(probe))
    with dask.config.set({"multiprocessing.initializer": record}):
        run(
            parse_workflow(bundled_workflow(name).read_text()),
            images,
            tmp_path / "out",
            scheduler="processes",
            workers=2,
        )
    imported = {p.stem: p.read_text().split() for p in probe.glob("*.txt")}
    assert imported and all(not names for names in imported.values()), imported


# a lambda: sent to the workers by value (this test module is not importable there)
_has_modules = lambda names: all(n in __import__("sys").modules for n in names)  # noqa: E731


@pytest.mark.slow
def test_workers_started_with_the_preload_hold_the_engines_before_any_run(tmp_path):
    from distributed import Client

    with dask_cluster(1, ["--preload", "batchimg.workflow.preload"]) as (address, _):
        with Client(address) as client:
            assert all(client.run(_has_modules, WORKER_MODULES + VOLUME_WORKER_MODULES).values())
            images = _images(tmp_path / "images", n=2)
            run(parse_workflow(SEG), images, tmp_path / "out", scheduler=client)
    local = run(parse_workflow(SEG), images, tmp_path / "local")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "measurements.csv"), local.table, check_dtype=False
    )


@pytest.mark.slow
def test_a_real_cluster_from_a_terminal_a_scheduler_file_and_a_client(tmp_path, caplog):
    from distributed import Client

    images = _images(tmp_path / "images", n=4)
    wf = tmp_path / "seg.yaml"
    wf.write_text(SEG)
    local = tmp_path / "local"
    run(parse_workflow(SEG), images, local)
    with dask_cluster(2) as (address, _):
        sched = tmp_path / "sched.json"
        sched.write_text(json.dumps({"address": address}))
        # relative paths, from a terminal-like run (progress on), through the real CLI
        proc = subprocess.run(
            [BATCHIMG, "run", "seg.yaml", "-i", "images", "-o", "cluster", "--scheduler", address],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"scheduler: distributed {address}" in proc.stderr
        with Client(address) as client:  # the run had the workers import both engines
            assert all(client.run(_has_modules, WORKER_MODULES).values())
        proc = subprocess.run(
            [
                BATCHIMG,
                "run",
                "seg.yaml",
                "-i",
                "images",
                "-o",
                "file",
                "--scheduler-file",
                "sched.json",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        caplog.set_level("INFO", logger="batchimg")
        with Client(address) as client, dask.config.set(scheduler=None):
            run(parse_workflow(SEG), images, tmp_path / "client", scheduler=client)
            assert client.status == "running"  # a client batchimg did not open stays open
            run(parse_workflow(SEG), images, tmp_path / "current")  # the current client
            assert sum(f"scheduler: distributed {address}" in m for m in caplog.messages) == 2
        env = dict(os.environ, DASK_SCHEDULER_ADDRESS=address)
        proc = subprocess.run(
            [BATCHIMG, "run", "seg.yaml", "-i", "images", "-o", "env", "-v"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        assert "scheduler: distributed" in proc.stderr
    for name in ("cluster", "file", "client", "current", "env"):
        a = zarr.open_group(tmp_path / name / "result.zarr", mode="r")["labels/labels/0"][:]
        b = zarr.open_group(local / "result.zarr", mode="r")["labels/labels/0"][:]
        np.testing.assert_array_equal(a, b)
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / name / "measurements.csv"),
            pd.read_csv(local / "measurements.csv"),
        )


# ---------------------------------------------------------------------------
# progress and logging


def test_progress_without_a_terminal_is_plain_lines(tmp_path, caplog):
    from batchimg.workflow.progress import Progress

    caplog.set_level("INFO", logger="batchimg")
    p = Progress(enabled=True, tty=False, interval=0.0)
    p.start("pass 1 of 2", 3, "block")
    for _ in range(3):
        p.advance()
    p.finish()
    assert any(
        m.startswith("pass 1 of 2: 1/3 blocks (33%)") and "left" in m for m in caplog.messages
    )
    assert caplog.messages[-1].startswith("pass 1 of 2: 3 blocks in ")


def test_cli_quiet_and_verbose(files):
    out = files["tmp"] / "q"
    quiet = subprocess.run(
        [BATCHIMG, "run", str(files["wf"]), "-i", str(files["images"]), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = subprocess.run(
        [
            BATCHIMG,
            "run",
            str(files["wf"]),
            "-i",
            str(files["raw"]),
            *RAW,
            "-o",
            str(files["tmp"] / "v"),
            "-v",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loud.returncode == 0, loud.stderr
    assert "blocks: " in loud.stderr and "stage 1: statistic" in loud.stderr
    assert "done in " in loud.stderr and logging.getLogger("batchimg").handlers == []


# ---------------------------------------------------------------------------
# the output folder: what batchimg wrote, and only that


def test_the_folder_holds_only_this_runs_outputs(tmp_path):
    images = _images(tmp_path / "images", n=2)
    out = tmp_path / "out"
    wf = parse_workflow(SEG)
    run(wf, images, out, table="regions.parquet")
    d = info(out)
    assert d["table"].endswith("regions.parquet") and d["rows"] == len(open_result(out).table)
    run(wf, images, out)  # now CSV: the Parquet table of the previous run goes
    assert not (out / "regions.parquet").exists() and (out / "measurements.csv").exists()
    assert info(out)["table"].endswith("measurements.csv")
    (out / "notes.txt").write_text("mine")
    run(wf, images, out)
    assert (out / "notes.txt").read_text() == "mine"  # never touched


@pytest.mark.parametrize("name", ["result.zarr", "measurements.csv", "errors.csv"])
def test_what_batchimg_did_not_write_is_never_replaced(tmp_path, name):
    images = _images(tmp_path / "images", n=2)
    out = tmp_path / "out"
    out.mkdir()
    path = out / name
    if name == "result.zarr":
        zarr.create_array(store=str(path), shape=(2,), dtype="u1")
    else:
        path.write_text("mine")
    with pytest.raises(InputError, match=rf"holds '{name}', which batchimg did not write"):
        run(parse_workflow(SEG), images, out)
    assert path.exists() and not (out / "_COMPLETE").exists()
    run(parse_workflow(SEG), images, out, overwrite=True)
    assert info(out)["state"] == "complete"


def test_a_node_added_inside_result_zarr_is_never_replaced(tmp_path):
    images = _images(tmp_path / "images", n=2)
    out = tmp_path / "out"
    run(parse_workflow(SEG), images, out)
    zarr.create_array(store=str(out / "result.zarr" / "mine"), shape=(2,), dtype="u1")
    with pytest.raises(InputError, match=r"result\.zarr' holds 'mine', which batchimg did not"):
        run(parse_workflow(SEG), images, out)
    assert (out / "result.zarr" / "mine").exists()


def test_info_exit_codes_and_json(tmp_path):
    images = _images(tmp_path / "images", n=2)
    out = tmp_path / "out"
    run(parse_workflow(SEG), images, out)
    result = CliRunner().invoke(main, ["info", str(out), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["state"] == "complete"
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["info", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "not a batchimg result folder" in result.output
    (out / "_COMPLETE").unlink()
    result = CliRunner().invoke(main, ["info", str(out), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["state"] == "incomplete"


# ---------------------------------------------------------------------------
# tables have a schema


def test_parquet_parts_are_typed_when_the_first_finds_no_regions(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    iio.imwrite(folder / "a0.png", np.zeros((24, 24), np.uint8))  # no regions
    iio.imwrite(folder / "a1.png", blobs((24, 24), seed=3))
    wf = parse_workflow(
        "name: f\nsteps:\n  - threshold: {value: 100}\n  - label: {}\n"
        "measure: [area, intensity_mean]\n"
    )
    result = run(wf, folder, tmp_path / "out", chunks=1, table="m.parquet")
    schema = pq.read_schema(tmp_path / "out" / "m.parquet")
    assert str(schema.field("image").type) == "string" and result.n_regions > 0
    empty = run(wf, [folder / "a0.png"], tmp_path / "none", table="m.parquet")
    schema = pq.read_schema(tmp_path / "none" / "m.parquet")
    assert empty.n_regions == 0 and str(schema.field("image").type) == "string"
    assert str(schema.field("label").type) == "int32" or str(schema.field("label").type) == "int64"
    assert str(schema.field("area").type) == "double"


def test_bundled_workflows_are_package_data():
    path = bundled_workflow("segmentation.yaml")
    assert path.read_text().startswith("#") and path.parent.name == "workflows"
    with pytest.raises(FileNotFoundError, match="no bundled workflow 'nope.yaml'"):
        bundled_workflow("nope.yaml")


def test_every_chunk_is_written_even_when_it_holds_only_the_fill_value(tmp_path):
    # zarr skips all-zero chunks unless told otherwise, after comparing every chunk with
    # the fill value (three times the cost of writing it); batchimg writes each chunk as
    # it comes, in both engines
    folder = tmp_path / "blank"
    folder.mkdir()
    for i in range(3):
        iio.imwrite(folder / f"b{i}.png", np.zeros((16, 20), np.uint8))
    raw = tmp_path / "v.raw"
    np.zeros((6, 16, 20), np.uint8).tofile(raw)
    wf = parse_workflow(
        "name: g\nsteps:\n  - gaussian_filter: {sigma: 1}\nsave: [gaussian_filter]\n"
    )
    run(wf, folder, tmp_path / "c", chunks=1)
    run(wf, raw, tmp_path / "v", raw_shape=(6, 16, 20), raw_dtype="uint8", chunks=(3, 8, 10))
    for out in ("c", "v"):
        for name in ("0", "gaussian_filter/0"):
            a = zarr.open_array(tmp_path / out / "result.zarr" / name, mode="r")
            assert a.nchunks_initialized == a.nchunks > 1, (out, name)


_ARENAS = """
import ctypes, sys, threading
import numpy as np
from batchimg.workflow.scheduler import limit_arenas
print(limit_arenas(cores=8))
start = threading.Barrier(6)
def work():
    start.wait()  # all at once: each would take an arena of its own
    arrays = [np.ones(1 << 16) for _ in range(200)]
    start.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
sys.stderr.flush()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc arenas")
@pytest.mark.parametrize("user", [None, "8"])
def test_the_command_line_caps_mallocs_arenas_unless_the_user_did(user):
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if user is not None:
        env["MALLOC_ARENA_MAX"] = user
    proc = subprocess.run(
        [sys.executable, "-c", _ARENAS], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(user is None)
    arenas = proc.stderr.count("Arena ")
    assert arenas <= 2 if user is None else arenas > 2, proc.stderr


@pytest.mark.parametrize(
    "value, applied",
    [("65536", sys.platform == "linux"), ("1000000", False), (None, False)],
)
def test_workers_undo_only_dasks_own_malloc_trim_threshold(value, applied):
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    if value is not None:
        env["MALLOC_TRIM_THRESHOLD_"] = value
    code = "from batchimg.workflow.scheduler import tune_malloc; print(tune_malloc())"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(applied)
