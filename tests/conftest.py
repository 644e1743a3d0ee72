import os
import sys
from pathlib import Path

import dask
import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one test process per core, at most 4.

    Many tests start worker processes or a cluster of their own, so more test
    processes than that only contend for the same cores and memory.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


@pytest.fixture(autouse=True)
def _synchronous_dask():
    """Run dask graphs in the test's own thread unless a test asks for more."""
    with dask.config.set(scheduler="synchronous"):
        yield
