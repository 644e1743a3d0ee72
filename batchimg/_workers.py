"""Local worker processes: the engines they import, and the server they fork from.

Light on purpose (the standard library and dask's config only): the command line
calls :func:`start_forkserver` before it imports the engines itself, so that the
server that local worker processes fork from imports them on another core while
this process imports and plans.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ._paths import is_zarr

#: What a task of either engine imports: preloaded by the local workers' server, sent
#: to a cluster's workers at connection (``Executor.warm``), and imported by ``dask
#: worker --preload batchimg.workflow.preload`` when a worker starts. The engines
#: import their writers and readers where they use them (zarr, pyarrow, the image
#: decoders, cc3d; scikit-image's subpackages load their modules on first use), so
#: those are named too: otherwise every worker imported them in its first task
#: (236 modules, 0.2 s a worker on cleanup.yaml's collection; 149 more, 0.3 s, where
#: a per-object property such as solidity is measured).
WORKER_MODULES = (
    "batchimg.workflow.collection",
    "batchimg.workflow.volume",
    "batchimg.workflow.omezarr",
    "batchimg.workflow.tables",
    "skimage.filters",
    "skimage.filters.thresholding",
    "skimage.measure",
    "skimage.measure._regionprops",  # the per-object properties' road
    "skimage.morphology",  # its convex hulls
    "zarr",
    "pyarrow.parquet",
    "PIL.PngImagePlugin",
    "tifffile",
    "cc3d",
)
#: What a volume's tasks also import on a cluster's workers: their graph names
#: dask.array's functions (``from_array``'s getter, ``concatenate``, ...), so a worker
#: imports dask.array (and, through it, xarray and pandas where installed: 527 modules,
#: about a second) when it unpickles its first volume task. A collection's tasks never
#: do, so the local workers' server leaves it out; a cluster's workers are sent it
#: once the input is known to be a volume, and ``batchimg.workflow.preload`` imports it.
VOLUME_WORKER_MODULES = ("dask.array",)
#: The hash seed dask gives its own worker processes (task keys hash alike in all).
HASH_SEED = "6640"
_GLOB = frozenset("*?[")


def fix_hash_seed() -> None:
    """Give processes started from now on dask's ``PYTHONHASHSEED``, unless one is set."""
    if os.environ.get("PYTHONHASHSEED") in (None, "0"):
        os.environ["PYTHONHASHSEED"] = HASH_SEED


def forkserver_wanted() -> bool:
    """Whether local worker processes would fork from a preloading server here.

    No: where the platform has no ``forkserver``, or ``dask.config`` names a
    ``pool`` or a ``multiprocessing.context`` (dask's own rules then decide).
    """
    import multiprocessing

    import dask

    return (
        "forkserver" in multiprocessing.get_all_start_methods()
        and dask.config.get("pool", None) is None
        and dask.config.get("multiprocessing.context", None) is None
    )


def forkserver_context(modules: Sequence[str] = WORKER_MODULES):
    """The ``forkserver`` context, its server preloading ``modules`` when it starts."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(modules))
    return context


def looks_like_collection(source: str | os.PathLike) -> bool:
    """Whether ``source``, as given on the command line, names a collection of files.

    A glob, or a folder that is not (inside) a Zarr store; a guess for
    :func:`start_forkserver` only, where a wrong one costs time, not results
    (:func:`batchimg.io.open_input` decides).
    """
    text = os.fspath(source)
    if _GLOB & set(text):
        return True
    return os.path.isdir(text) and not is_zarr(text)


def start_forkserver(source: str, modules: Sequence[str] = WORKER_MODULES) -> bool:
    """Start the worker processes' server now if ``source`` looks like a collection.

    For the command line, where no scheduler was named: a folder that is not a
    Zarr store, or a glob, is a collection, which ``batchimg run`` computes in local
    worker processes (:meth:`batchimg.workflow.scheduler.Executor.default_for`);
    the pool, made later, forks its workers from this server. The guess only
    decides how early the server starts: a wrong one leaves an idle server (no
    work, its imported modules' memory) until the process exits. Nothing starts
    where dask's config names a scheduler, pool or context. Returns whether it
    started.
    """
    import dask

    collection = looks_like_collection(source)
    named = dask.config.get("scheduler", None) or dask.config.get("scheduler-address", None)
    if not collection or named or not forkserver_wanted():
        return False
    from multiprocessing import forkserver

    fix_hash_seed()
    forkserver_context(modules)
    forkserver.ensure_running()
    return True


__all__ = [
    "HASH_SEED",
    "VOLUME_WORKER_MODULES",
    "WORKER_MODULES",
    "fix_hash_seed",
    "forkserver_context",
    "forkserver_wanted",
    "looks_like_collection",
    "start_forkserver",
]
