"""A dask worker preload: ``dask worker ADDRESS --preload batchimg.workflow.preload``.

A worker started with it undoes the nanny's ``MALLOC_TRIM_THRESHOLD_=65536``
(:func:`batchimg.workflow.scheduler.tune_malloc`) and imports batchimg's engines
(and the scipy, scikit-image, zarr and dask.array modules their tasks use) when it starts, so the
first run sent to it does not wait about a second per worker for those imports.
Without it, ``batchimg run`` asks the workers to import them as soon as it
connects (:meth:`batchimg.workflow.scheduler.Executor.warm`), which overlaps only
with the client's own planning. The same works for ``LocalCluster(preload=[...])`` and
dask-jobqueue's ``job_extra``/``worker_extra_args``.
"""

from __future__ import annotations

from .scheduler import VOLUME_WORKER_MODULES, WORKER_MODULES, import_all, limit_arenas, tune_malloc

tune_malloc()
limit_arenas()
import_all(WORKER_MODULES + VOLUME_WORKER_MODULES)
