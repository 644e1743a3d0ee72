"""Where a run computes, chosen by dask's own conventions, and how it reports progress.

:func:`resolve` picks the scheduler in dask's order:

1. what the caller says: ``scheduler=`` (``"threads"``, ``"processes"``, ``"sync"``,
   a scheduler address such as ``tcp://10.0.0.5:8786``, or a
   ``distributed.Client``), or ``scheduler_file=`` (a file written by ``dask
   scheduler --scheduler-file`` or dask-mpi);
2. ``dask.config``: ``dask.config.set(scheduler=...)``, then the current
   ``distributed.Client`` if one exists in this process;
3. ``dask.config``'s ``scheduler-address`` (the ``DASK_SCHEDULER_ADDRESS``
   environment variable);
4. local threads on every core dask sees (``dask.system.CPU_COUNT``: cgroup and
   CPU-affinity limits included). :meth:`Executor.default_for` may turn this default
   into local processes for a collection (what ``batchimg run`` does, as dask.bag
   does for its own collections of Python objects).

:class:`Executor` computes lists of dask objects on it, one labelled phase at a
time, driving :class:`~batchimg.workflow.progress.Progress` as each top-level task
finishes, on a local scheduler and on a cluster alike.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._params import did_you_mean
from .._workers import (
    VOLUME_WORKER_MODULES,
    WORKER_MODULES,
    fix_hash_seed,
    forkserver_context,
    forkserver_wanted,
)
from ..errors import InputError, InvalidParameterError
from .progress import Progress

log = logging.getLogger("batchimg")

#: Local scheduler names dask knows, and the name batchimg reports for each.
LOCAL = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
}
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://|^[\w.-]+:\d+$")


@dataclass
class Executor:
    """A resolved scheduler: local (a dask get function) or a ``distributed.Client``.

    Parameters
    ----------
    name : str
        ``"threads"``, ``"processes"``, ``"sync"`` or ``"distributed"``.
    workers : int or None
        Local workers (threads or processes); None for a cluster.
    client : distributed.Client or None
        The client of a cluster run.
    owned : bool
        Whether batchimg opened the client (and closes it).
    how : str
        How it was chosen, in words (for the log and the run record).
    pool : concurrent.futures.ProcessPoolExecutor or None
        The local worker processes, once :meth:`warm` started them (``processes``).
    default : bool
        Nothing named a scheduler: these are dask's default local threads.
    """

    name: str
    workers: int | None = None
    client: Any = None
    owned: bool = False
    how: str = ""
    progress: Progress | None = None
    pool: Any = None
    default: bool = False

    @property
    def distributed(self) -> bool:
        """Whether tasks run on a dask.distributed cluster."""
        return self.client is not None

    @property
    def dashboard(self) -> str | None:
        """The cluster's dashboard link, when it has one."""
        if self.client is None:
            return None
        try:
            return self.client.dashboard_link
        except Exception:  # no dashboard (started with --no-dashboard)
            return None

    def describe(self) -> str:
        """The scheduler in words: ``threads (2 workers)``, ``distributed tcp://...``."""
        if self.client is not None:
            try:
                n = len(self.client.scheduler_info()["workers"])
            except Exception:  # the scheduler went away
                n = "?"
            return f"distributed {self.client.scheduler.address} ({n} workers)"
        return f"{self.name} ({self.workers} workers)" if self.workers else self.name

    def compute(self, objs: Sequence[Any], *, label: str, unit: str = "task") -> list:
        """Compute ``objs`` together; report each finished one as a unit of ``label``.

        Returns the results in order.
        """
        objs = list(objs)
        if not objs:
            return []
        progress = self.progress or Progress(enabled=False)
        progress.start(label, len(objs), unit)
        try:
            if self.client is not None:
                return self._compute_distributed(objs, progress)
            return self._compute_local(objs, progress)
        finally:
            progress.finish()

    def _compute_local(self, objs: list, progress: Progress) -> list:
        import dask
        from dask.base import named_schedulers
        from dask.callbacks import Callback

        keys = {o.key for o in objs if hasattr(o, "key")}

        class _Count(Callback):
            def _posttask(self, key, result, dsk, state, id):  # noqa: D102 (dask hook)
                if key in keys:
                    progress.advance()

        # the scheduler function itself, not its name: given a name, dask imports
        # distributed (0.4 s) to look for a client on every compute
        kw: dict[str, Any] = {"scheduler": named_schedulers[self.name]}
        if self.workers and self.name in ("threads", "processes"):
            kw["num_workers"] = self.workers
        config = {}
        if self.pool is not None:
            kw["pool"] = self.pool
            # the pool's workers ran dask.config's initializer when they started
            # (process_pool); left in the config, dask warns that it ignores it
            config["multiprocessing.initializer"] = None
        with _Count(), dask.config.set(config):
            return list(dask.compute(*objs, **kw))

    def _compute_distributed(self, objs: list, progress: Progress) -> list:
        from distributed import as_completed

        futures = self.client.compute(objs)
        for _ in as_completed(futures, loop=self.client.loop):
            progress.advance()
        return list(self.client.gather(futures))

    def default_for(self, kind: str, choice: str | None) -> bool:
        """Apply ``choice`` to the default scheduler for an input of ``kind``.

        ``choice``: None or ``"threads"`` keep dask's default threads; ``"auto"``
        computes a collection in local processes (one per core, or ``workers``) and a
        volume in threads. A collection's tasks run many small numpy and scikit-image
        calls per image, so threads hold Python's GIL much of the time (a 2-core run
        of cleanup.yaml used 125% CPU); its tasks share nothing but paths, so worker
        processes cost only their start (see :func:`process_pool`). A volume's
        tasks are large array operations that release the GIL and share blocks:
        threads. Only a default changes: a scheduler named by the caller or by
        ``dask.config`` stays. Returns whether the scheduler changed.
        """
        if not self.default or choice != "auto" or kind != "collection":
            return False
        self.name = "processes"
        self.how = "local processes (the default for a collection)"
        return True

    def warm(self, modules: Sequence[str]) -> None:
        """Have the workers import ``modules`` now, without waiting for them.

        A fresh worker process imports the engine (scipy, scikit-image, zarr,
        batchimg: about a second) when its first task arrives; asked at connection,
        it does so while this process opens the input and plans, and the first
        tasks find it ready. On a cluster the workers are asked to import them; for
        local ``processes`` the worker processes are started here (see
        :func:`process_pool`); local threads share this process's imports. A worker
        that cannot import them fails later, at its first task, with the real error.
        """
        if self.client is None:
            if self.name == "processes" and self.pool is None:
                self.pool = process_pool(self.workers or int(_cpu_count()), modules)
            return
        try:
            self.client.run(_warm_worker, tuple(modules), wait=False)
        except Exception as exc:  # a warm-up is an optimisation, never a failure
            log.debug(f"scheduler: the workers' warm-up was not sent: {exc}")

    def close(self) -> None:
        """Stop the local worker processes; close the client if batchimg opened it."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.client is not None and self.owned:
            self.client.close()
            self.client = None


def _cpu_count() -> int:
    """The cores dask sees (``dask.system.CPU_COUNT``: affinity and cgroup limits)."""
    from dask.system import CPU_COUNT

    return int(CPU_COUNT)


def process_pool(workers: int, modules: Sequence[str]):
    """Local worker processes for dask's ``processes`` scheduler, starting now.

    dask starts its own pool when a computation begins, in the ``spawn`` context,
    and every worker then imports the engines itself before its first task. Here
    the pool is the same kind (a ``ProcessPoolExecutor`` with dask's worker
    initializer, ``PYTHONHASHSEED`` fixed as dask fixes it), but where the platform
    has it and ``dask.config`` names no ``multiprocessing.context``, in the
    ``forkserver`` context with ``modules`` preloaded: one server process imports
    them once, and each worker is a fork of it, ready at once. The workers are
    started in the background, so they import while this process plans. A
    ``dask.config`` ``pool`` is the user's choice: then None is returned and dask
    uses it.
    """
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    import dask
    from dask.multiprocessing import get_context, initialize_worker_process

    if dask.config.get("pool", None) is not None:
        return None
    fix_hash_seed()
    # a server started early by the command line (start_forkserver) is used as is
    context = forkserver_context(modules) if forkserver_wanted() else get_context()
    user = dask.config.get("multiprocessing.initializer", None)
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=partial(
            initialize_worker_process, partial(_start_worker, tuple(modules), user)
        ),
    )

    def start() -> None:
        try:
            for _ in range(workers):  # each submit starts one more process, up to workers
                pool.submit(int)
        except Exception as exc:  # the first task reports a pool that cannot start
            log.debug(f"scheduler: the worker processes did not start early: {exc}")

    threading.Thread(target=start, name="batchimg-start-workers", daemon=True).start()
    return pool


def _start_worker(modules: tuple[str, ...], user: Any = None) -> None:
    """In a new local worker process: cap malloc's arenas, import ``modules``.

    Then run the initializer that ``dask.config`` names, if any.
    """
    limit_arenas()
    import_all(modules)
    if user is not None:
        user()


#: What dask's nanny sets ``MALLOC_TRIM_THRESHOLD_`` to in every worker it starts.
DASK_TRIM_THRESHOLD = "65536"


def tune_malloc() -> bool:
    """Undo dask's nanny default ``MALLOC_TRIM_THRESHOLD_=65536`` in this process (glibc).

    With that setting glibc hands every freed block above 64 KiB back to the system
    and no longer adapts its mmap threshold, so each image-sized temporary of a task
    is page-faulted afresh: a filter-threshold-morphology chain ran 15-19% slower
    under it (``benchmarks/results.md``). Here the thresholds become 32 MiB (mmap)
    and 128 MiB (trim): temporaries are reused, and at most that much freed memory
    stays in the worker. Only dask's own default is undone -- a value the user set,
    another C library, or no setting at all are left alone. Returns whether it was
    applied.
    """
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") != DASK_TRIM_THRESHOLD:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    return _mallopt((m_trim_threshold, 1 << 27), (m_mmap_threshold, 1 << 25))


def limit_arenas(cores: int | None = None) -> bool:
    """Cap glibc's malloc arenas in this process at ``max(2, cores // 4)`` (default 8 a core).

    Every thread that allocates (dask's workers, zarr's codec threads) gets an arena
    of its own, and each arena keeps memory it freed: on a 256x1024x1024 volume_3d run
    the peak was 452 MiB with glibc's default and 382 MiB with 2 arenas (the threads'
    arrays are large, so sharing arenas costs no time). Left alone when the user set
    ``MALLOC_ARENA_MAX`` or the C library is not glibc. Returns whether it was applied.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    m_arena_max = -8  # glibc's malloc.h
    return _mallopt((m_arena_max, max(2, (cores or os.cpu_count() or 1) // 4)))


def _mallopt(*settings: tuple[int, int]) -> bool:
    """Call glibc's ``mallopt`` for each ``(parameter, value)``; False without glibc or refused."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return all([bool(libc.mallopt(p, v)) for p, v in settings])
    except (OSError, AttributeError):
        return False


def import_all(modules: Sequence[str]) -> None:
    """Import ``modules``, passing over any that fail (their first use reports it)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # reported by the first task that needs it
            pass


async def _warm_worker(modules: tuple[str, ...]) -> None:
    """On a worker: tune malloc, and import ``modules`` in a thread (its loop stays free)."""
    import asyncio

    tune_malloc()
    limit_arenas()

    asyncio.get_running_loop().run_in_executor(None, import_all, modules)


def _connect(address: str | None = None, scheduler_file: str | None = None, how: str = ""):
    from distributed import Client

    try:
        if scheduler_file is not None:
            client = Client(scheduler_file=scheduler_file, timeout="10s", set_as_default=False)
        else:
            client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        where = f"the scheduler file {scheduler_file!r}" if scheduler_file else repr(address)
        raise InputError(
            f"scheduler must be a running dask scheduler; could not connect to {where}: "
            f"{' '.join(str(exc).split())}"
        ) from exc
    return Executor("distributed", None, client, True, how)


def _current_client():
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:  # no client in this process
        return None


def resolve(
    scheduler: Any = None, *, scheduler_file: str | None = None, workers: int | None = None
) -> Executor:
    """Choose where a run computes, in dask's order (see the module docstring).

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        ``"threads"``, ``"processes"``, ``"sync"``, a scheduler address, or a client.
    scheduler_file : str, optional
        A dask scheduler file (``dask scheduler --scheduler-file``, dask-mpi).
    workers : int, optional
        Local threads or processes; default every core dask sees.

    Returns
    -------
    Executor

    Raises
    ------
    InvalidParameterError
        For an unknown scheduler name, both ``scheduler`` and ``scheduler_file``, a
        file passed as ``scheduler``, or ``workers`` with a cluster.
    InputError
        When the scheduler cannot be reached.
    """
    import dask

    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InvalidParameterError(f"workers must be an integer >= 1; got {workers!r}.")
    if scheduler is not None and scheduler_file is not None:
        raise InvalidParameterError(
            f"give scheduler or scheduler_file, not both; got scheduler={scheduler!r} and "
            f"scheduler_file={scheduler_file!r}."
        )
    if scheduler_file is not None:
        if not os.path.isfile(scheduler_file):
            raise InputError(
                f"scheduler_file must be a scheduler file written by 'dask scheduler "
                f"--scheduler-file'; {scheduler_file!r} does not exist."
            )
        return _cluster(
            _connect(scheduler_file=scheduler_file, how=f"scheduler file {scheduler_file}"), workers
        )
    if scheduler is not None and not isinstance(scheduler, str):
        if hasattr(scheduler, "scheduler") and hasattr(scheduler, "compute"):
            return _cluster(
                Executor("distributed", None, scheduler, False, "the given client"), workers
            )
        raise InvalidParameterError(
            f"scheduler must be a name, an address or a distributed.Client; got "
            f"{type(scheduler).__name__}."
        )
    cores = _cpu_count()
    if isinstance(scheduler, str):
        return _named(scheduler, workers, cores, "the scheduler option")
    configured = dask.config.get("scheduler", None)
    if configured is not None:
        if isinstance(configured, str):
            if configured in ("dask.distributed", "distributed"):
                client = _current_client()
                if client is None:
                    raise InputError(
                        "dask.config says scheduler='distributed', but this process has no "
                        "distributed.Client; create one or pass a scheduler address."
                    )
                return _cluster(
                    Executor("distributed", None, client, False, "the current distributed.Client"),
                    workers,
                )
            return _named(configured, workers, cores, "dask.config 'scheduler'")
        if hasattr(configured, "scheduler") and hasattr(configured, "compute"):
            return _cluster(
                Executor("distributed", None, configured, False, "the client in dask.config"),
                workers,
            )
        # a get function set with dask.config.set(scheduler=dask.threaded.get)
        name = {
            "dask.threaded": "threads",
            "dask.multiprocessing": "processes",
            "dask.local": "sync",
        }.get(getattr(configured, "__module__", ""), None)
        if name is not None:
            return Executor(
                name, workers or cores if name != "sync" else None, how="dask.config 'scheduler'"
            )
    client = _current_client()
    if client is not None:
        return _cluster(
            Executor("distributed", None, client, False, "the current distributed.Client"), workers
        )
    address = dask.config.get("scheduler-address", None)
    if address:
        return _cluster(_connect(address, how="dask.config 'scheduler-address'"), workers)
    return Executor("threads", workers or cores, how="local threads (the default)", default=True)


def _cluster(ex: Executor, workers: int | None) -> Executor:
    if workers is not None:
        ex.close()
        raise InvalidParameterError(
            f"workers sets local threads or processes; got workers={workers} with a cluster "
            f"({ex.how}). Hint: size the cluster with 'dask worker --nworkers'."
        )
    return ex


def _named(name: str, workers: int | None, cores: int, how: str) -> Executor:
    if name in LOCAL:
        local = LOCAL[name]
        return Executor(local, None if local == "sync" else workers or cores, how=how)
    if os.path.isfile(name) or name.endswith(".json"):
        raise InvalidParameterError(
            f"scheduler must be a scheduler name or address; got the file {name!r}. Hint: "
            "pass a scheduler file with --scheduler-file (scheduler_file=)."
        )
    if _ADDRESS.match(name):
        if workers is not None:
            raise InvalidParameterError(
                f"workers sets local threads or processes; got workers={workers} with the "
                f"cluster {name!r}. Hint: size the cluster with 'dask worker --nworkers'."
            )
        return _connect(name, how=how)
    choices = ["threads", "processes", "sync"]
    raise InvalidParameterError(
        f"scheduler must be one of {', '.join(map(repr, choices))} or a scheduler address "
        f"like 'tcp://127.0.0.1:8786'; got {name!r}.{did_you_mean(name, choices)}"
    )


__all__ = [
    "Executor",
    "LOCAL",
    "VOLUME_WORKER_MODULES",
    "WORKER_MODULES",
    "import_all",
    "limit_arenas",
    "resolve",
    "tune_malloc",
]
