"""batchimg: scipy.ndimage pipelines over image collections and out-of-core volumes.

Every operation takes a numpy or dask array and returns a lazy dask array equal,
bit for bit, to the scipy.ndimage function of the same name on the whole array.
Submodules load when first used, so ``import batchimg`` (and ``batchimg --help``)
stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("batchimg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

_SUBMODULES = ("errors", "filters", "io", "label", "measure", "morphology", "point", "workflow")
_NAMES = {
    "open_images": "io",
    "open_input": "io",
    "open_raw": "io",
    "open_zarr": "io",
    "Workflow": "workflow",
    "load_workflow": "workflow",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from . import errors, filters, io, label, measure, morphology, point, workflow
    from .io import open_images, open_input, open_raw, open_zarr
    from .workflow import Workflow, load_workflow


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'batchimg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "open_input",
    "open_raw",
    "open_zarr",
    "point",
    "workflow",
]
