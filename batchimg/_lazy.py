"""Heavy modules that batchimg imports on first use, not when it is imported.

``dask.array`` costs about a second to import (it imports xarray, and with it pandas,
whenever xarray is installed) and pandas half of one. The worker processes of a
collection run never build a dask array nor a DataFrame: importing them there made
every run wait for them before its first image.

``da`` and ``pd`` stand for the modules: the first attribute looked up imports the
module (under a lock, so threads may race to it) and every lookup after that is the
module's own. Nothing is put in ``sys.modules`` before the real import, so other
libraries see dask.array and pandas as not imported until they are.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any


class Deferred:
    """A module imported on its first attribute lookup (thread-safe)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._module: Any = None

    def _load(self) -> Any:
        with self._lock:
            if self._module is None:
                self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr: str) -> Any:
        module = self._module if self._module is not None else self._load()
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<deferred module {self._name!r} ({state})>"


da = Deferred("dask.array")
pd = Deferred("pandas")


def is_dask_array(x: Any) -> bool:
    """``isinstance(x, da.Array)``, without importing dask.array when none can exist."""
    return "dask.array.core" in sys.modules and isinstance(x, da.Array)


__all__ = ["Deferred", "da", "is_dask_array", "pd"]
