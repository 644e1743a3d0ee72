"""Workflows: YAML files of batchimg operations, validated up front and run end to end.

:func:`load_workflow` reads and validates a workflow file; :meth:`Workflow.run` runs
it on an image collection or a volume and writes ``result.zarr``, the measurement
table and ``summary.png`` (see :mod:`batchimg.workflow.outputs`).
"""

from .registry import operations
from .runner import RunResult, open_source, run
from .spec import Workflow, WorkflowStep, load_workflow, parse_workflow

__all__ = [
    "RunResult",
    "Workflow",
    "WorkflowStep",
    "load_workflow",
    "open_source",
    "operations",
    "parse_workflow",
    "run",
]
