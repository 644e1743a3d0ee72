"""batchimg: scipy.ndimage pipelines over image collections and out-of-core volumes.

Every operation takes a numpy or dask array and returns a lazy dask array equal,
bit for bit, to the scipy.ndimage function of the same name on the whole array.
"""

from importlib.metadata import PackageNotFoundError, version

from . import errors, filters, io, label, measure, morphology, point
from .io import open_images, open_raw, open_zarr
from .workflow import Workflow, load_workflow

try:
    __version__ = version("batchimg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "Workflow",
    "__version__",
    "errors",
    "filters",
    "io",
    "label",
    "load_workflow",
    "measure",
    "morphology",
    "open_images",
    "open_raw",
    "open_zarr",
    "point",
]
