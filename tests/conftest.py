import sys
from pathlib import Path

import dask
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _synchronous_dask():
    """Run dask graphs in the test's own thread unless a test asks for more."""
    with dask.config.set(scheduler="synchronous"):
        yield
