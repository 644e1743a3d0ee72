"""A picture of every step: the input and each step's output for one image or plane.

For a collection the preview runs the plan on one image, in memory: what it shows is
what the full run computes for that image, except a threshold the full run
computes over the whole collection (``per_image: false``), which the preview takes
from the one image. For a volume it reads only the planes ``Z - D .. Z + D`` around
the shown plane ``Z``, where ``D`` is the plan's summed reach of the local steps
along the plane axis, so previewing a plane of a huge volume reads a thin slab. On
that slab the local steps give, at plane ``Z``, exactly what the full run gives.
Steps that are not local -- thresholds computed over the volume, labels, region
filters, holes, propagation -- see only the slab: their panels, and those of the
steps that read them, say so in their titles and how the full run differs
(thresholds from the whole volume's histogram, labels numbered and joined across
it, regions measured whole). The figure's heading says which planes were read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Slab:
    """The planes a volume preview computed on: ``lo`` to ``hi - 1`` of ``size`` along ``axis``.

    ``plane`` is the plane shown. When the slab is the whole axis (or the volume
    has no third axis: ``size`` 0) every step equals the full run.
    """

    axis: str
    plane: int
    lo: int
    hi: int
    size: int

    @property
    def whole(self) -> bool:
        """Whether the slab is the whole volume."""
        return self.size == 0 or (self.lo == 0 and self.hi == self.size)

    @property
    def planes(self) -> str:
        """The slab's planes in words."""
        return f"planes {self.axis} = {self.lo}-{self.hi - 1} of {self.size}"


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
        where = f"{os.path.basename(str(inp.paths[image]))} (image {image} of {n})"
        return {k: _plane2d(values[k], plan.outputs[k], None) for k in names}, plan, None, where
    spatial = plan.image.spatial_shape
    if len(spatial) < 3:
        values = run_image(_slab_plan(plan, spatial), np.asarray(inp.data))
        slab = Slab(plan.image.spatial_axes[0], 0, 0, 0, 0)
        return {k: _plane2d(values[k], plan.outputs[k], None) for k in names}, plan, slab, ""
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
    where = Slab(plan.image.spatial_axes[0], z, lo, hi, size)
    return {k: _plane2d(values[k], plan.outputs[k], z - lo) for k in names}, plan, where, ""


def differences(plan: Plan, slab: Slab | None) -> dict[str, str]:
    """The steps whose preview differs from the full run, and how, in words.

    For a collection (``slab`` None) the preview is the full run's computation
    for one image, except thresholds the full run computes over the whole
    collection (``per_image: false``). For a volume, local steps equal the full
    run at the shown plane; thresholds, labels, region filters and the other
    steps that need the whole volume see only the slab (unless the slab is the
    whole volume). A step that reads such a step's output differs too.
    """
    out: dict[str, str] = {}
    for s in plan.steps:
        up = s.source if s.source in out else s.intensity if s.intensity in out else None
        what = "threshold" if s.op == "threshold" else "value range"
        if slab is None:
            if s.road == "statistic":
                out[s.name] = (
                    f"{what} of this image only: the full run computes one {what} over the "
                    "whole collection"
                )
            elif up:
                out[s.name] = f"reads {up}, which differs from the full run (above)"
            continue
        if slab.whole:
            continue
        if s.road == "statistic":
            out[s.name] = (
                f"slab only: {what} from {slab.planes}; the full run computes it over the "
                "whole volume"
            )
        elif s.road == "components" and s.op == "label":
            out[s.name] = (
                f"slab only: labelled on {slab.planes}; the full run labels the whole volume, "
                "so objects joined outside these planes, and the label numbers, differ"
            )
        elif s.road == "components":
            out[s.name] = (
                f"slab only: computed on {slab.planes}; the full run computes it over the "
                "whole volume"
            )
        elif s.road == "regions":
            out[s.name] = (
                f"slab only: regions measured on {slab.planes}; the full run measures each "
                "whole region"
            )
        elif up:
            out[s.name] = f"slab only: reads {up}, computed on the slab"
    return out


def preview_titles(plan: Plan, slab: Slab | None, where: str = "") -> dict[str, str]:
    """The figure's heading (key ``""``) and every panel's title (keys: output names).

    Each step's title is its call (``op(k=v, ...)``, and what it reads when that
    is not the step before); a step whose preview differs from the full run says
    so and how (see :func:`differences`).
    """
    diff = differences(plan, slab)
    titles = {INPUT: "input"}
    for s in plan.steps:
        title = s.describe() + (f" [from {s.source}]" if s.source != _previous(plan, s) else "")
        if s.name in diff:
            title += "\n" + diff[s.name]
        titles[s.name] = title
    if slab is None:
        head = f"{where}: each panel is what the full run computes for this image"
        if diff:
            head += ", except where its title says otherwise"
    elif slab.size == 0:
        head = "the whole image: every panel is what the full run computes"
    elif slab.whole:
        head = (
            f"plane {slab.axis} = {slab.plane} of {slab.size}, computed from the whole volume: "
            "every panel is what the full run computes there"
        )
    else:
        head = (
            f"plane {slab.axis} = {slab.plane}, computed from {slab.planes} only (the steps "
            f"reach {plan.halo[0]} planes): panels not marked 'slab only' are what the full "
            "run computes at this plane"
        )
    titles[""] = head
    return titles


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
    labels, each panel titled with its step and parameters. The heading says what
    was computed on; a panel that differs from the full run -- computed on a
    volume's slab only, or a collection-wide threshold computed from the one image
    -- says so and how in its title (:func:`preview_titles`). See
    :func:`preview_arrays` for what is computed.

    Returns
    -------
    str
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    values, plan, slab, where = _preview(workflow, source, image, plane, options)
    titles = preview_titles(plan, slab, where)
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
            what = " in this plane" if plan.kind == "volume" else ""
            if label_name in differences(plan, slab):
                what += " (of the slab's labels)"
            ax.set_title(f"region areas{what} ({len(areas)} regions)", fontsize=9, wrap=True)
            ax.set_xlabel("area (pixels)")
            continue
        v = values[name]
        if kinds[name] == "labels":
            n = int(v.max()) if v.size else 0
            ax.imshow(v, cmap=_label_cmap(n), vmin=0, vmax=max(n, 1), interpolation="nearest")
        else:
            ax.imshow(v.astype(np.float64) if v.dtype == bool else v, cmap="gray")
        ax.set_title(_wrap(titles[name]), fontsize=8)
        ax.set_axis_off()
    fig.suptitle(_wrap(titles[""], 40 * cols), fontsize=10)
    fig.tight_layout()
    output = os.fspath(output)
    fig.savefig(output)
    return output


def _wrap(text: str, width: int = 52) -> str:
    import textwrap

    return "\n".join(line for part in text.split("\n") for line in textwrap.wrap(part, width))


def _previous(plan: Plan, s) -> str:
    i = plan.steps.index(s)
    return INPUT if i == 0 else plan.steps[i - 1].name


__all__ = ["Slab", "differences", "preview", "preview_arrays", "preview_titles"]
