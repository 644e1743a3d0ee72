"""A workflow's steps as kernels and dask graphs, and how they are computed.

:func:`build_graph` turns a workflow into lazy arrays over a volume (local steps
planned into few halo exchanges by :func:`batchimg._overlap.apply_chain`);
:func:`image_plan` compiles it into in-memory kernels for the images of a
collection; :func:`compute` runs dask objects on the local scheduler or on a
``dask.distributed`` cluster. The collection and volume runners build on these.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from .. import label as _label
from .. import measure as _measure
from .._overlap import Spec, Step, apply_chain, make_step
from ..errors import BatchimgError, InputError, WorkflowError
from . import registry
from .spec import INPUT, Workflow

_LOCAL_SCHEDULERS = ("threads", "processes", "sync", "synchronous")


def _operated_ndim(params: dict, ndim: int) -> int:
    axes = params.get("axes")
    if axes is None:
        return ndim
    return len(np.atleast_1d(axes))


def resolve_params(op: registry.Op, params: dict, ndim: int) -> dict:
    """Turn a step's YAML parameters into the function's keyword arguments."""
    out = dict(params)
    n = _operated_ndim(out, ndim)
    for key in ("structure", "footprint"):
        if out.get(key) is not None:
            out[key] = registry.resolve_structure(out[key], n)
    if out.get("weights") is not None:
        out["weights"] = np.asarray(out["weights"], dtype=np.float64)
    for key in ("sigma", "size", "order", "origin", "radius", "axes", "mode"):
        if isinstance(out.get(key), list):
            out[key] = tuple(out[key])
    return out


def _label_kernel(image: np.ndarray, *, structure: Any = None) -> np.ndarray:
    out = np.empty(image.shape, _label.label_dtype(image.shape))
    ndi.label(image, structure, output=out)
    return out


def _call_kernel(image: np.ndarray, *, func: Callable, params: dict) -> np.ndarray:
    result = func(image, **params)
    if isinstance(result, tuple):
        result = result[0]
    if isinstance(result, da.Array):
        result = result.compute(scheduler="sync")
    return np.asarray(result)


def _sources(wf: Workflow) -> list[str]:
    out = []
    previous = INPUT
    for s in wf.steps:
        out.append(s.source if s.source is not None else previous)
        previous = s.name
    return out


def needed_outputs(wf: Workflow) -> set[str]:
    """Return the step outputs a run must materialise (saved, read by ``from``, labels, last)."""
    need = set(wf.save) | {s.source for s in wf.steps if s.source is not None}
    need.add(wf.steps[-1].name)
    if wf.label_step is not None:
        need.add(wf.label_step.name)
    need.add(intensity_name(wf))
    return need


def intensity_name(wf: Workflow) -> str:
    """Return the output measured as intensity: the input, or a first rgb_to_gray step."""
    first = wf.steps[0]
    return first.name if first.op == "rgb_to_gray" else INPUT


def _props(wf: Workflow) -> tuple[str, ...]:
    if wf.label_step is None:
        return ()
    return wf.measure or _measure.DEFAULT_PROPERTIES


def _fail(wf: Workflow, number: int, exc: Exception) -> WorkflowError:
    s = wf.steps[number - 1]
    text = getattr(exc, "reason", None) or str(exc)
    return WorkflowError(text, source=wf.source, step=number, step_name=s.op)


def _greater(image: np.ndarray, *, t: Any) -> np.ndarray:
    return image > t


def local_step(op: registry.Op, params: dict, spec: Spec) -> Step | None:
    """The :class:`Step` of a local operation, or of a fixed threshold; None otherwise.

    ``threshold: {value: t}`` is the point operation ``image > t`` (what
    :func:`batchimg.point.threshold` computes for a fixed value), so it joins the
    chain of local steps that :func:`apply_chain` plans into few halo exchanges.
    """
    if op.local:
        return op.func.step(spec, **params)
    fixed = params.get("value") is not None and params.get("method") is None
    if op.name == "threshold" and fixed and not params.get("per_image") and not params.get("axes"):
        return make_step(
            "threshold",
            functools.partial(_greater, t=params["value"]),
            ndim=spec.ndim,
            axes=tuple(range(spec.ndim)),
            reach=(0,) * spec.ndim,
            modes=("constant",) * spec.ndim,
            dtype=bool,
            params=(params["value"],),
        )
    return None


def build_graph(wf: Workflow, x: da.Array, need: set[str] | None = None) -> dict[str, da.Array]:
    """Build the lazy arrays of a workflow over a volume (or a lazy stand-in).

    Consecutive local steps whose intermediate outputs are not needed run as one
    :func:`apply_chain`, so their halos are exchanged together; a needed output is
    its own array, shared by the writer and the steps after it.

    Returns
    -------
    dict of str to dask.array.Array
        ``"input"`` and every needed step output (all of them when ``need`` is None).

    Raises
    ------
    WorkflowError
        When a step refuses its parameters or its input, naming the step.
    """
    ops = registry.operations()
    arrays: dict[str, da.Array] = {INPUT: x}
    dtypes: dict[str, np.dtype] = {INPUT: x.dtype}
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(x.shape)}
    pending: dict[str, Any] = {}

    def flush() -> None:
        if pending:
            arrays[pending["name"]] = apply_chain(pending["base"], pending["steps"], plan="auto")
            pending.clear()

    for number, (s, src) in enumerate(zip(wf.steps, _sources(wf), strict=True), 1):
        op = ops[s.op]
        keep = need is None or s.name in need
        try:
            params = resolve_params(op, s.params, len(shapes[src]))
            step = local_step(op, params, Spec(len(shapes[src]), dtypes[src], shapes[src]))
            if step is not None:
                if pending and pending["name"] == src:
                    base = None
                else:
                    flush()
                    base = arrays[src]
                if base is not None:
                    pending.update(base=base, steps=[step], name=s.name)
                else:
                    pending["steps"].append(step)
                    pending["name"] = s.name
                dtypes[s.name] = step.dtype
                shapes[s.name] = shapes[src]
                if keep:
                    flush()
            else:
                flush()
                result = op.func(arrays[src], **params)
                if isinstance(result, tuple):
                    result = result[0]
                arrays[s.name] = result
                dtypes[s.name] = result.dtype
                shapes[s.name] = tuple(result.shape)
        except WorkflowError:
            raise
        except (BatchimgError, TypeError, ValueError) as exc:
            raise _fail(wf, number, exc) from exc
    flush()
    return arrays


def check_steps(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...] | None = None) -> None:
    """Build every step for an input of ``ndim``, ``dtype``, ``shape``; read no pixel.

    Raises
    ------
    WorkflowError
        Naming the step that refuses its parameters for this input.
    """
    shape = tuple(shape) if shape is not None else (16,) * ndim
    build_graph(wf, da.zeros(shape, dtype=dtype, chunks=shape), need=None)


@dataclass(frozen=True)
class ImagePlan:
    """The per-image steps of a collection: ``(name, source, kernel)`` triples."""

    steps: tuple[tuple[str, str, Callable[[np.ndarray], np.ndarray]], ...]

    def __call__(self, image: np.ndarray, keep: Any = None) -> dict[str, np.ndarray]:
        """Run every step on one in-memory image; return the outputs named in ``keep``."""
        values = {INPUT: image}
        last_use: dict[str, int] = {}
        for i, (_, src, _) in enumerate(self.steps):
            last_use[src] = i
        for i, (name, src, kernel) in enumerate(self.steps):
            try:
                values[name] = np.asarray(kernel(values[src]))
            except Exception as exc:
                # the per-image error report names the step (errors.csv)
                with contextlib.suppress(AttributeError):
                    exc.batchimg_step = name
                raise
            if keep is not None and src not in keep and last_use.get(src) == i and src != INPUT:
                del values[src]
        return values


def image_plan(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> ImagePlan:
    """Compile a workflow into in-memory kernels for images of one ``shape`` and ``dtype``.

    Each local step is ``op.step(Spec(ndim, dtype, shape), **params).kernel``, which on
    a whole image equals the scipy function; ``label`` is ``scipy.ndimage.label``;
    other steps call the public function on the image and compute it in place.
    """
    check_steps(wf, ndim, dtype, shape)
    lazy = build_graph(wf, da.zeros(shape, dtype=dtype, chunks=shape), need=None)
    ops = registry.operations()
    steps = []
    for s, src in zip(wf.steps, _sources(wf), strict=True):
        op = ops[s.op]
        a = lazy[src]
        params = resolve_params(op, s.params, a.ndim)
        if op.local:
            kernel = op.func.step(Spec(a.ndim, a.dtype, tuple(a.shape)), **params).kernel
        elif s.op == "label":
            kernel = functools.partial(_label_kernel, **params)
        elif s.op == "filter_regions" and params.get("intensity_image") is None:
            # numpy in, numpy out: no dask graph per image
            kernel = functools.partial(_measure.filter_regions_image, **params)
        elif s.op == "threshold" and params.get("method") is None and "value" in params:
            kernel = functools.partial(_greater, t=params["value"])
        else:
            kernel = functools.partial(_call_kernel, func=op.func, params=params)
        steps.append((s.name, src, kernel))
    return ImagePlan(tuple(steps))


def _scheduler_kwargs(scheduler: str | None, workers: int | None) -> dict:
    from dask.base import named_schedulers

    name = scheduler or "threads"
    # the scheduler function itself, not its name: given a name, dask imports
    # distributed (0.4 s) to look for an active client on every compute
    kw: dict[str, Any] = {"scheduler": named_schedulers[name]}
    if workers is not None and name in ("threads", "processes"):
        kw["num_workers"] = int(workers)
    return kw


def compute(
    *objs: Any, scheduler: str | None = None, workers: int | None = None, progress: bool = False
) -> tuple:
    """Compute dask objects together, locally or on a ``dask.distributed`` scheduler.

    Parameters
    ----------
    *objs
        Dask collections (arrays, delayed).
    scheduler : str, optional
        ``"threads"`` (default), ``"processes"``, ``"sync"``, or the address of a
        running distributed scheduler (``tcp://127.0.0.1:8786``).
    workers : int, optional
        Local threads or processes (default: all cores).
    progress : bool, optional
        Show a progress bar on stderr for computations longer than a second.

    Returns
    -------
    tuple
        The computed values, in order.
    """
    # dask 2026.8's dask.compute returns the results of mixed arrays and delayed
    # objects grouped by type (arrays first), not in call order; pass them already
    # grouped (delayed last) and put the results back in order. Wrapping the arrays
    # in dask.delayed would keep the order but rename their keys, so a saved step
    # shared by the writer and the table would be computed twice.
    from dask.delayed import Delayed

    order = sorted(range(len(objs)), key=lambda i: isinstance(objs[i], Delayed))
    results = _compute_in_order(
        tuple(objs[i] for i in order), scheduler=scheduler, workers=workers, progress=progress
    )
    out: list[Any] = [None] * len(objs)
    for i, r in zip(order, results, strict=True):
        out[i] = r
    return tuple(out)


def _compute_in_order(objs: tuple, *, scheduler, workers, progress) -> tuple:
    if scheduler is not None and scheduler not in _LOCAL_SCHEDULERS:
        from distributed import Client
        from distributed import progress as dprogress

        try:
            client = Client(scheduler, timeout="10s", set_as_default=False)
        except OSError as exc:
            raise InputError(
                f"scheduler must be the address of a running dask scheduler; could not "
                f"connect to {scheduler!r}: {exc}"
            ) from exc
        with client:
            futures = client.compute(list(objs))
            if progress:
                dprogress(futures)
            return tuple(client.gather(futures))
    kw = _scheduler_kwargs(scheduler, workers)
    if progress:
        from dask.diagnostics import ProgressBar

        bar = ProgressBar(minimum=1.0, out=sys.stderr)
    else:
        bar = contextlib.nullcontext()
    with bar:
        return dask.compute(*objs, **kw)
