"""Workflows: YAML files of batchimg operations, compiled once, run on collections and volumes.

:func:`load_workflow` reads a workflow file into a plain :class:`Workflow`;
:func:`check` compiles it (with or without its input) into a plan, finding every
mistake before any pixel is read; :func:`run` runs it and writes ``result.zarr``,
the measurement table and the report (see :mod:`batchimg.workflow.folder`);
:func:`info` and :func:`open_result` read an output folder back.

The layers, each importing only the ones below it: ``run`` (the facade) ->
``collection`` / ``volume`` (the engines) -> ``plan`` (the compiled workflow) ->
``spec`` (YAML -> data) -> ``registry`` (the operation table) -> the library.
"""

from .folder import Result, info, open_result
from .registry import operations
from .run import RunOptions, RunResult, check, run
from .spec import InputSection, Workflow, WorkflowStep, load_workflow, parse_workflow

__all__ = [
    "InputSection",
    "Result",
    "RunOptions",
    "RunResult",
    "Workflow",
    "WorkflowStep",
    "check",
    "info",
    "load_workflow",
    "open_result",
    "operations",
    "parse_workflow",
    "run",
]
