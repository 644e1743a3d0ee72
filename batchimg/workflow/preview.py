"""A picture of every step: the input and each step's output for one image or plane.

For a collection the preview runs the workflow on one image, in memory. For a
volume it reads only the planes ``Z - D .. Z + D`` around the shown plane ``Z``,
where ``D`` is the total reach of the workflow's local steps along the plane axis,
so previewing a plane of a huge volume reads a thin slab. On that slab the local
steps give, at plane ``Z``, exactly what the full run gives; steps that are not
local (labelling, region filters, propagation) see only the slab, so their planes
show the slab's regions, numbered within the slab.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._overlap import Spec
from ..errors import InvalidParameterError
from . import registry
from .graph import _sources, image_plan, resolve_params
from .runner import open_source
from .spec import INPUT, Workflow


def _depth0(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> int:
    """Total reach of the workflow's local steps along axis 0 (an upper bound)."""
    import dask.array as da

    from .graph import build_graph

    lazy = build_graph(wf, da.zeros(shape, dtype=dtype, chunks=shape), need=None)
    ops = registry.operations()
    total = 0
    for s, src in zip(wf.steps, _sources(wf), strict=True):
        op = ops[s.op]
        if op.local:
            a = lazy[src]
            step = op.func.step(
                Spec(a.ndim, a.dtype, tuple(a.shape)), **resolve_params(op, s.params, a.ndim)
            )
            total += step.depth[0]
    return total


def preview_arrays(
    workflow: Workflow,
    source: Any,
    *,
    image: int = 0,
    plane: int | None = None,
    **source_options: Any,
) -> dict[str, np.ndarray]:
    """Compute the 2-D picture of every step for one image (collections) or plane (volumes).

    Parameters
    ----------
    workflow : Workflow
        The workflow.
    source : str, os.PathLike, sequence or array
        The input, as for :meth:`Workflow.run`.
    image : int, optional
        The image of a collection to show.
    plane : int, optional
        The plane of a volume to show (default: the middle one).
    **source_options
        ``raw_shape``, ``raw_dtype``, ``raw_offset``, ``chunks``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"input"`` and every step's output, as 2-D arrays, in workflow order.

    Raises
    ------
    InvalidParameterError
        If ``image`` or ``plane`` is out of range.
    WorkflowError
        If the workflow does not fit the input.
    """
    from ..io import read_image

    src = open_source(source, **source_options)
    shape = src.image_shape
    dtype = src.data.dtype
    workflow.check_input(len(shape), dtype, shape)
    if src.kind == "collection":
        n = len(src.paths)
        if not 0 <= image < n:
            raise InvalidParameterError(f"image must be in [0, {n - 1}]; got {image!r}.")
        values = image_plan(workflow, len(shape), dtype, shape)(read_image(src.paths[image]))
        return {k: values[k] for k in [INPUT] + [s.name for s in workflow.steps]}
    size = shape[0]
    z = size // 2 if plane is None else plane
    if not 0 <= z < size:
        raise InvalidParameterError(f"slice must be in [0, {size - 1}]; got {plane!r}.")
    depth = _depth0(workflow, len(shape), dtype, shape)
    lo, hi = max(z - depth, 0), min(z + depth + 1, size)
    slab = np.asarray(src.data[lo:hi].compute(scheduler="threads"))
    values = image_plan(workflow, len(shape), dtype, slab.shape)(slab)
    out = {}
    for k in [INPUT] + [s.name for s in workflow.steps]:
        v = values[k]
        out[k] = v[z - lo] if v.ndim == len(shape) else v
    return out


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
    **source_options: Any,
) -> str:
    """Draw the input and every step's output side by side, plus the region-area histogram.

    One matplotlib figure (Agg): grey colormap for images, distinct colours for
    labels, each panel titled with its step and parameters. See
    :func:`preview_arrays` for what is computed.

    Parameters
    ----------
    workflow, source, image, plane, **source_options
        As in :func:`preview_arrays`.
    output : str or os.PathLike
        The PNG file to write.

    Returns
    -------
    str
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    values = preview_arrays(workflow, source, image=image, plane=plane, **source_options)
    ops = registry.operations()
    titles = {INPUT: "input"}
    kinds = {INPUT: "image"}
    for s in workflow.steps:
        titles[s.name] = s.describe() + (f" [from {s.source}]" if s.source else "")
        gives = ops[s.op].gives
        kinds[s.name] = "labels" if gives == "labels" else "image"
    label_name = workflow.label_step.name if workflow.label_step is not None else None
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
            ax.set_title(f"region areas ({len(areas)} regions)", fontsize=9)
            ax.set_xlabel("area (pixels)")
            continue
        v = values[name]
        if kinds[name] == "labels":
            n = int(v.max()) if v.size else 0
            ax.imshow(v, cmap=_label_cmap(n), vmin=0, vmax=max(n, 1), interpolation="nearest")
        elif v.ndim == 3 and v.shape[-1] in (3, 4):
            ax.imshow(v)
        else:
            ax.imshow(v.astype(np.float64) if v.dtype == bool else v, cmap="gray")
        ax.set_title(titles[name], fontsize=9, wrap=True)
        ax.set_axis_off()
    fig.tight_layout()
    output = os.fspath(output)
    fig.savefig(output)
    return output


__all__ = ["preview", "preview_arrays"]
