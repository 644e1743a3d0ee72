"""Oracle assertions and fixtures shared by the tests.

The oracle is scipy.ndimage (or scikit-image) on the whole in-memory array; every
comparison here is exact: same dtype, same shape, same bits (NaNs compare equal).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import dask.array as da
import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def python_lines(code: str) -> list[str]:
    """The lines a fresh interpreter prints running ``code`` (it must succeed)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout.splitlines()


def compute(x):
    """A numpy array from a dask or numpy array."""
    return x.compute() if isinstance(x, da.Array) else np.asarray(x)


def assert_same(actual, expected, *, check_dtype: bool = True) -> None:
    """Assert ``actual`` equals ``expected`` bit for bit, dtype included."""
    got = compute(actual)
    want = np.asarray(expected)
    if isinstance(actual, da.Array):
        # the lazy array must announce the dtype and shape it computes
        assert actual.dtype == got.dtype, (actual.dtype, got.dtype)
        assert actual.shape == got.shape, (actual.shape, got.shape)
    assert got.shape == want.shape, (got.shape, want.shape)
    if check_dtype:
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want, strict=False)
    if got.dtype.kind == "f":
        # assert_array_equal treats -0.0 == 0.0 and NaN == NaN; compare the bits too
        assert np.array_equal(
            np.ascontiguousarray(got).view(np.uint8),
            np.ascontiguousarray(want, dtype=got.dtype).view(np.uint8),
        )


def chunkings(shape, reach: int = 3):
    """Named chunkings of ``shape``: single, even, uneven, thinner than ``reach``, 1-pixel.

    In 3-D (and up) the thin and 1-pixel chunkings cut the last two axes only, so a
    test runs on at most a few hundred blocks while every block still has
    neighbours on every side along those axes.
    """
    shape = tuple(shape)
    cut = range(max(len(shape) - 2, 0), len(shape))
    out = {
        "single": shape,
        "even": tuple(max(s // 2, 1) for s in shape),
        "uneven": tuple(max((s * 2) // 5, 1) for s in shape),
        "thin": tuple(max(min(reach - 1, s), 1) if a in cut else s for a, s in enumerate(shape)),
    }
    if np.prod([shape[a] for a in cut]) <= 4096:
        out["one-pixel"] = tuple(1 if a in cut else s for a, s in enumerate(shape))
    else:
        out["one-pixel-row"] = (1,) + shape[1:]
    return out


def shared_image(name: str) -> np.ndarray:
    """Load ``../shared/data/<name>.npy``, or skip the test saying why."""
    path = SHARED_DATA / f"{name}.npy"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared test images live beside the repository")
    return np.load(path)


def random_image(shape, dtype, seed: int = 1234) -> np.ndarray:
    """A seeded random image spanning a useful part of ``dtype``'s range."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind in "ui":
        hi = min(np.iinfo(dtype).max, 1000)
        lo = 0 if dtype.kind == "u" else -hi
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 50 + 100).astype(dtype)


def ome_zarr_writer():
    """ome-zarr-py's writer module, imported without its import-time deprecation warning.

    ``ome_zarr.writer`` builds a deprecated ``Scaler`` as a default argument when it is
    imported, which the suite's ``filterwarnings = error`` turns into a failure for
    whichever test imports it first in a process.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ome_zarr.writer
    return ome_zarr.writer


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(n_workers: int = 2, worker_args=()):
    """A real ``dask scheduler`` and ``n_workers`` ``dask worker`` processes on 127.0.0.1.

    ``worker_args`` go to every ``dask worker`` command line.

    Yields ``(address, procs)``; ``procs[0]`` is the scheduler, then the workers. Every
    process still running is stopped on exit (killed when it does not stop in 10 s).
    """
    import os
    import subprocess
    import sys
    import time

    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = str(Path(sys.executable).parent / "dask")
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    procs = [
        subprocess.Popen(
            [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,
        )
    ]
    try:
        for _ in range(n_workers):
            procs.append(subprocess.Popen(
                [dask_cli, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard", "--no-nanny", *worker_args],
                **quiet,
            ))  # fmt: skip
        deadline = time.monotonic() + 60
        with Client(address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < n_workers:
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.2)
        yield address, procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a worker still closing its connections
                p.kill()
                p.wait(timeout=10)
