"""A picture of every step: the input and each step's output for one image or plane.

For a collection the preview runs the plan on one image, in memory: what it shows is
exactly what the full run computes for that image. For a volume it reads only the
planes ``Z - D .. Z + D`` around the shown plane ``Z``, where ``D`` is the plan's
summed reach of the local steps along the plane axis, so previewing a plane of a
huge volume reads a thin slab. On that slab the local steps give, at plane ``Z``,
exactly what the full run gives. Steps that are not local -- labels, region filters,
holes, propagation, thresholds computed over the volume -- see only the slab: the
panels of those steps and of every step after them say so in their titles ("slab
only"), since the full run computes them over the whole volume (labels numbered
across it, thresholds from its histogram).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from .plan import INPUT, Plan, compile_plan, run_image
from .run import RunOptions, image_spec, open_input
from .spec import Workflow


def _slab_plan(plan: Plan, shape: tuple[int, ...]) -> Plan:
    """The plan compiled for a slab of the volume, thresholds computed on the slab."""
    spec = replace(plan.image, shape=plan.image.shape[: -len(shape)] + shape)
    slab = compile_plan(plan.workflow, spec, "collection")
    steps = []
    for s, ps in zip(slab.steps, plan.steps, strict=True):
        steps.append(s if ps.road != "statistic" else replace(s, road="per-image"))
    return replace(slab, steps=tuple(steps))


def preview_arrays(
    workflow: Workflow, source: Any, *, image: int = 0, plane: int | None = None, **options: Any
) -> dict[str, np.ndarray]:
    """Compute the 2-D picture of every step for one image (collections) or plane (volumes).

    Parameters
    ----------
    workflow : Workflow
        The workflow.
    source : str, os.PathLike, sequence or array
        The input, as for :func:`batchimg.workflow.run`.
    image : int, optional
        The image of a collection to show.
    plane : int, optional
        The plane of a volume to show (default: the middle one).
    **options
        Input options of :class:`batchimg.workflow.RunOptions` (``raw_shape``, ``axes``...).

    Returns
    -------
    dict of str to numpy.ndarray
        ``"input"`` and every step's output, as 2-D arrays (the first time point and
        channel where there are several), in workflow order.

    Raises
    ------
    InvalidParameterError
        If ``image`` or ``plane`` is out of range.
    WorkflowError
        If the workflow does not fit the input.
    """
    return _preview(workflow, source, image, plane, options)[0]


def _preview(workflow, source, image, plane, options):
    opts = RunOptions(**options)
    inp = open_input(workflow, source, opts)
    plan = compile_plan(workflow, image_spec(inp), inp.kind)
    names = [INPUT] + [s.name for s in plan.steps]
    if plan.kind == "collection":
        n = len(inp.paths)
        if not 0 <= image < n:
            raise InvalidParameterError(f"image must be in [0, {n - 1}]; got {image!r}.")
        values = run_image(plan, inp.image_reader(inp.paths[image]))
        return {k: _plane2d(values[k], plan.outputs[k], None) for k in names}, plan, set()
    spatial = plan.image.spatial_shape
    if len(spatial) < 3:
        values = run_image(_slab_plan(plan, spatial), np.asarray(inp.data))
        slab_only = _slab_steps(plan)
        return {k: _plane2d(values[k], plan.outputs[k], None) for k in names}, plan, slab_only
    size = spatial[0]
    z = size // 2 if plane is None else plane
    if not 0 <= z < size:
        raise InvalidParameterError(f"slice must be in [0, {size - 1}]; got {plane!r}.")
    depth = plan.halo[0]
    lo, hi = max(z - depth, 0), min(z + depth + 1, size)
    batch = len(plan.image.batch)
    index = (slice(None),) * batch + (slice(lo, hi),)
    slab = np.asarray(inp.reader[index]) if inp.reader is not None else np.asarray(inp.data[index])
    values = run_image(_slab_plan(plan, (hi - lo, *spatial[1:])), slab)
    return (
        {k: _plane2d(values[k], plan.outputs[k], z - lo) for k in names},
        plan,
        _slab_steps(plan),
    )


def _slab_steps(plan: Plan) -> set[str]:
    """The steps whose preview depends on the slab (not local, or after one that is not)."""
    out: set[str] = set()
    for s in plan.steps:
        if s.road not in ("local", "per-image") or s.source in out or (s.intensity in out):
            out.add(s.name)
    return out


def _plane2d(value: np.ndarray, out, z: int | None) -> np.ndarray:
    v = value
    for _ in out.batch:  # first time point, first channel
        v = v[0]
    if z is not None and v.ndim == 3:
        v = v[z]
    return v


def _label_cmap(n: int):
    from matplotlib.colors import ListedColormap

    rng = np.random.default_rng(0)
    colors = rng.uniform(0.25, 1.0, (max(n, 1), 3))
    return ListedColormap(np.vstack([[0, 0, 0], colors]))


def preview(
    workflow: Workflow,
    source: Any,
    output: str | os.PathLike,
    *,
    image: int = 0,
    plane: int | None = None,
    **options: Any,
) -> str:
    """Draw the input and every step's output side by side, plus the region-area histogram.

    One matplotlib figure (Agg): grey colormap for images, distinct colours for
    labels, each panel titled with its step and parameters; panels computed on a
    volume's slab only are titled so. See :func:`preview_arrays` for what is
    computed.

    Returns
    -------
    str
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    values, plan, slab_only = _preview(workflow, source, image, plane, options)
    titles = {INPUT: "input"}
    for s in plan.steps:
        title = s.describe() + (f" [from {s.source}]" if s.source != _previous(plan, s) else "")
        if s.name in slab_only:
            title += " (slab only: the full run uses the whole volume)"
        titles[s.name] = title
    kinds = {k: plan.outputs[k].kind for k in values}
    label_name = plan.labels
    panels = list(values) + (["histogram"] if label_name else [])
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(4 * cols, 4 * rows), dpi=80)
    for i, name in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        if name == "histogram":
            lab = values[label_name]
            areas = np.bincount(lab.ravel().astype(np.int64))[1:] if lab.size else []
            areas = np.asarray(areas)[np.asarray(areas) > 0]
            ax.hist(areas, bins=min(40, max(len(areas) // 2, 5)))
            what = " (in this plane)" if plan.kind == "volume" else ""
            ax.set_title(f"region areas{what} ({len(areas)} regions)", fontsize=9)
            ax.set_xlabel("area (pixels)")
            continue
        v = values[name]
        if kinds[name] == "labels":
            n = int(v.max()) if v.size else 0
            ax.imshow(v, cmap=_label_cmap(n), vmin=0, vmax=max(n, 1), interpolation="nearest")
        else:
            ax.imshow(v.astype(np.float64) if v.dtype == bool else v, cmap="gray")
        ax.set_title(titles[name], fontsize=9, wrap=True)
        ax.set_axis_off()
    fig.tight_layout()
    output = os.fspath(output)
    fig.savefig(output)
    return output


def _previous(plan: Plan, s) -> str:
    i = plan.steps.index(s)
    return INPUT if i == 0 else plan.steps[i - 1].name


__all__ = ["preview", "preview_arrays"]
