"""The compiled plan: a workflow resolved once against what is known of its input.

:func:`compile_plan` turns a :class:`~batchimg.workflow.spec.Workflow` and an
:class:`ImageSpec` (shape, dtype and axes of one image of a collection, or of the
volume; no pixels) into a :class:`Plan`: every step's resolved parameters, its
*road* (how it is computed), its kernel on one in-memory image, its output's dtype,
kind, shape and axes; the summed halo and the widest itemsize of the local steps;
the outputs a run must keep; the measurement table's columns and dtypes; which
engine runs it and, for volumes, the stages it runs in and why. Chunking, the
engines, ``validate``, ``preview`` and the report all read the plan; nothing walks
the workflow's steps again.

Roads:

- ``local``: a step whose output pixel depends on a fixed neighbourhood (filters,
  morphology with a bounded reach, fixed thresholds, point operations); it has an
  :class:`batchimg._overlap.Step` (kernel, depth, dtype).
- ``per-image``: a threshold (or rescale) computed from each image itself.
- ``statistic``: a threshold (or rescale) computed from a whole input: the whole
  collection (``per_image: false``) or, in a volume, each (time, channel) volume; a
  first pass reduces a histogram, then the step is ``image > t``.
- ``components``: labels and the non-local binary operations (holes, propagation,
  borders): per-block components merged across blocks.
- ``regions``: label filters (``filter_regions``, ``remove_small_objects``): per-label
  statistics, then a relabelling.

Spatial operations act on the spatial axes (z, y, x) only, independently for every
time point and channel: kernels here take one spatial image; the engines loop over
the batch axes (the collection's images, ``t``, ``c``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import BatchimgError, WorkflowError
from .apply import apply_step, intensity_for, run_image
from .model import (
    BATCH,
    LOCAL_ROADS,
    PROBES,
    SPATIAL,
    ImageSpec,
    Output,
    Plan,
    PlannedStep,
    Stage,
    default_axes,
)
from .spec import INPUT, Workflow
from .stages import volume_stages
from .steps import image_threshold, make_threshold_step, plan_step, resolve_params, statistic_for


def _intensity_name(wf: Workflow) -> str:
    first = wf.steps[0]
    return first.name if first.op == "rgb_to_gray" else INPUT


def _table_columns(
    plan_kind: str, labels: Output, intensity: Output | None, properties: Sequence[str]
) -> tuple[tuple[str, np.dtype], ...]:
    """The measurement table's columns and dtypes, from the measurement code itself."""
    from ..measure import regionprops_columns

    n = len(labels.spatial_shape)
    lab = np.ones((1,) * n, np.int32)
    img = None
    if intensity is not None:
        channels = _channels_of(labels, intensity)
        shape = (1,) * n + ((channels,) if channels > 1 else ())
        img = np.ones(shape, intensity.dtype)
    columns = regionprops_columns(lab, img, properties=list(properties))
    keys: list[tuple[str, np.dtype]] = []
    if plan_kind == "collection":
        keys.append(("image", np.dtype(object)))
    for axis in labels.batch:
        keys.append((axis, np.dtype(np.int64)))
    out = keys + [(k, np.asarray(v).dtype) for k, v in columns.items()]
    if plan_kind == "collection" or labels.batch:
        i = [k for k, _ in out].index("label")
        out.insert(i + 1, ("global_label", np.dtype(np.int64)))
    return tuple(out)


def _channels_of(labels: Output, intensity: Output) -> int:
    """Channels the intensity properties see per region (1 when labels have their own c)."""
    if "c" in intensity.batch and "c" not in labels.batch:
        return intensity.batch_shape[intensity.batch.index("c")]
    return 1


def compile_plan(workflow: Workflow, image: ImageSpec, kind: str) -> Plan:
    r"""Compile ``workflow`` for an input described by ``image``; read no pixel.

    Parameters
    ----------
    workflow : Workflow
        The workflow.
    image : ImageSpec
        One image of a collection, or the volume.
    kind : {"collection", "volume"}
        How the input is run.

    Returns
    -------
    Plan

    Raises
    ------
    WorkflowError
        Naming the step that refuses its parameters or its input.

    Examples
    --------
    >>> from batchimg.workflow import parse_workflow
    >>> wf = parse_workflow("name: t\nsteps:\n  - gaussian_filter: {sigma: 2}\n"
    ...                     "  - threshold: {value: 3}\n  - label: {}\n")
    >>> plan = compile_plan(wf, ImageSpec((32, 32), "uint8"), "collection")
    >>> [s.road for s in plan.steps], plan.halo, plan.labels
    (['local', 'local', 'components'], (8, 8), 'label')
    """
    if kind not in ("collection", "volume"):
        raise ValueError(f"kind must be 'collection' or 'volume'; got {kind!r}.")
    outputs: dict[str, Output] = {
        INPUT: Output(
            INPUT,
            "any",
            image.dtype,
            image.batch,
            image.batch_shape,
            image.spatial_shape,
            image.spatial_axes,
        )
    }
    intensity = _intensity_name(workflow)
    steps = []
    for number, (s, src) in enumerate(zip(workflow.steps, workflow.sources(), strict=True), 1):
        try:
            ps = plan_step(number, s, src, outputs[src], kind, image, intensity)
        except WorkflowError:
            raise
        except (BatchimgError, TypeError, ValueError) as exc:
            text = getattr(exc, "reason", None) or str(exc)
            raise WorkflowError(text, source=workflow.source, step=number, step_name=s.op) from exc
        steps.append(ps)
        outputs[s.name] = ps.output
    label_step = workflow.label_step
    labels = label_step.name if label_step is not None else None
    properties: tuple[str, ...] = ()
    table: tuple = ()
    if labels is not None:
        from .. import _regions as R

        properties = tuple(workflow.measure) or tuple(R.DEFAULT_PROPERTIES)
        needs_image = any(R.PROPERTIES[p][1] for p in properties if p in R.PROPERTIES)
        table = _table_columns(
            kind, outputs[labels], outputs[intensity] if needs_image else None, properties
        )
    need = set(workflow.save) | {s.source for s in workflow.steps if s.source is not None}
    need.add(workflow.steps[-1].name)
    if labels is not None:
        need |= {labels, intensity}
    need.discard(INPUT)
    nsp = len(image.spatial_shape)
    halo = [0] * nsp
    for s in steps:
        if s.step is not None:
            halo = [h + d for h, d in zip(halo, s.step.depth, strict=True)]
    itemsize = max(o.dtype.itemsize for o in outputs.values())
    plan = Plan(
        workflow=workflow,
        image=image,
        kind=kind,
        steps=tuple(steps),
        outputs=outputs,
        labels=labels,
        intensity=intensity,
        properties=properties,
        table=table,
        need=frozenset(need),
        halo=tuple(halo),
        itemsize=itemsize,
    )
    if kind == "collection":
        reason = "each image runs the whole workflow in memory, one task per group of images"
        return _replace(plan, engine="collection", reason=reason)
    stages = volume_stages(plan)
    reason = (
        f"{len(stages)} bounded pass group(s); every task reads its block and halo from a "
        "stored array, so memory is set by the block size"
    )
    return _replace(plan, stages=stages, engine="volume", reason=reason)


def _replace(plan: Plan, **kw: Any) -> Plan:
    from dataclasses import replace

    return replace(plan, **kw)


def check(workflow: Workflow, image: ImageSpec | None = None, kind: str | None = None) -> Plan:
    """Check ``workflow`` before any pixel is read; return its plan for ``image``.

    Without ``image``, the workflow is compiled for probe inputs (2-D and 3-D, 8-bit
    and float, as a collection and as a volume): a mistake is reported when every
    probe refuses it (a mode that does not exist, a negative sigma, a threshold with
    both ``value`` and ``method``, a filter that does not parse or names an unknown
    column, a filter without its size...), while a sigma with three values is
    accepted (it fits a 3-D input). The plan returned is the first probe's that
    compiled.

    Raises
    ------
    WorkflowError
        Naming the file, the step number and the step.
    """
    if image is not None:
        return compile_plan(workflow, image, kind or "volume")
    errors: list[WorkflowError] = []
    for shape, dtype in PROBES:
        for k in ("collection", "volume"):
            try:
                return compile_plan(workflow, ImageSpec(shape, dtype), k)
            except WorkflowError as exc:
                errors.append(exc)
    first = errors[0]
    if len({str(e) for e in errors}) > 1:  # the mistake depends on the input's shape
        raise WorkflowError(
            f"{first.reason} (checked without an input: no 2-D or 3-D input fits)",
            source=first.source,
            step=first.step,
            step_name=first.step_name,
        ) from first
    raise first


def volume_halo(plan: Plan) -> tuple[int, ...]:
    """The largest halo any stage of a volume plan reads (what block choice must fit)."""
    halos = [st.halo for st in plan.stages if st.halo]
    if not halos:
        return plan.halo
    return tuple(max(h) for h in zip(*halos, strict=True))


def block_bytes_per_voxel(plan: Plan) -> float:
    """Estimated bytes a running block holds per overlapped voxel (all channels).

    Eight values of the widest of the input and the local steps' outputs (the steps
    that run on the overlapped block, with their intermediates), and for a run with
    labels two of the labels' dtype: the labels are made on the block's core only,
    once its halo is spent (a uint8 chain labelled in int32: 24 bytes, where counting
    the labels as one of the block's values said 40 and left the halo 2.5x the core).
    """
    channels = plan.image.n_channels
    local = [s.output.dtype.itemsize for s in plan.steps if s.step is not None]
    widest = max([np.dtype(plan.image.dtype).itemsize, *local])
    labels = plan.outputs[plan.labels].dtype.itemsize if plan.labels is not None else 0
    return 8.0 * widest * channels + 8.0 + 2.0 * labels * channels


def overlapped(block: Sequence[int], halo: Sequence[int], shape: Sequence[int]) -> int:
    """Voxels of a block grown by ``halo`` (not past the array)."""
    return math.prod(
        min(c + 2 * h, n) if c < n else c for c, h, n in zip(block, halo, shape, strict=True)
    )


__all__ = [
    "BATCH",
    "INPUT",
    "LOCAL_ROADS",
    "SPATIAL",
    "ImageSpec",
    "Output",
    "Plan",
    "PlannedStep",
    "Stage",
    "apply_step",
    "block_bytes_per_voxel",
    "check",
    "compile_plan",
    "default_axes",
    "image_threshold",
    "intensity_for",
    "make_threshold_step",
    "overlapped",
    "resolve_params",
    "run_image",
    "statistic_for",
    "volume_halo",
    "volume_stages",
]
