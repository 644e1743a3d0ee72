"""Running planned steps on in-memory images (one image of a collection, or a slab).

Spatial steps run on every time point and channel of their input separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .model import Output, Plan, PlannedStep
from .spec import INPUT


def intensity_for(labels: Output, intensity: Output, array: np.ndarray, index: tuple) -> Any:
    """The intensity image that goes with ``labels[index]`` (channels last when several).

    ``array`` holds ``intensity`` for one image (its batch axes, then spatial);
    ``index`` indexes the labels' batch axes.
    """
    sel = []
    for a in intensity.batch:
        if a in labels.batch:
            sel.append(index[labels.batch.index(a)])
        else:
            sel.append(slice(None))
    img = array[tuple(sel)]
    if "c" in intensity.batch and "c" not in labels.batch:
        img = np.moveaxis(img, 0, -1)
    return img


def apply_step(ps: PlannedStep, values: Mapping[str, np.ndarray], outputs: Mapping[str, Output]):
    """Run one planned step on in-memory arrays (batch axes, then spatial); return its output.

    The kernel runs on every spatial image of the source (every index of its batch
    axes), so pixels never mix across time points or channels; a ``channel`` step
    reads its one channel, ``rgb_to_gray`` all of them at once.
    """
    src = values[ps.source]
    batch = outputs[ps.source].batch
    if ps.channel is not None:
        k = batch.index("c")
        src = np.take(src, ps.channel, axis=k)
        batch = batch.replace("c", "")
    if ps.consumes_channels:
        k = batch.index("c")
        src = np.moveaxis(src, k, len(batch) - 1)
        batch = batch.replace("c", "")
    nb = len(batch)
    extra = None
    if ps.intensity is not None:
        extra = (outputs[ps.intensity], values[ps.intensity])
    if nb == 0:
        if extra is not None:
            return np.asarray(ps.kernel(src, intensity_for(ps.output, *extra, ())))
        return np.asarray(ps.kernel(src))
    out = None
    for idx in np.ndindex(*src.shape[:nb]):
        if extra is not None:
            r = np.asarray(ps.kernel(src[idx], intensity_for(ps.output, *extra, idx)))
        else:
            r = np.asarray(ps.kernel(src[idx]))
        if out is None:
            out = np.empty(src.shape[:nb] + r.shape, r.dtype)
        out[idx] = r
    return out


def run_image(plan: Plan, image: np.ndarray, keep: Any = None, values: Any = None) -> dict:
    """Run every step on one in-memory image; return the outputs named in ``keep``.

    ``keep=None`` keeps everything. An output no later step reads and ``keep`` does not
    name is dropped as soon as it is used. A step that raises has ``batchimg_step``
    set on its exception (the per-image error report names the step).
    """
    import contextlib

    values = {INPUT: image} if values is None else dict(values)
    last_use: dict[str, int] = {}
    for i, s in enumerate(plan.steps):
        last_use[s.source] = i
        if s.intensity:
            last_use[s.intensity] = i
    for i, s in enumerate(plan.steps):
        try:
            values[s.name] = apply_step(s, values, plan.outputs)
        except Exception as exc:
            with contextlib.suppress(AttributeError):
                exc.batchimg_step = s.name
            raise
        if keep is not None:
            for name in (s.source, s.intensity):
                if name and name not in keep and name != INPUT and last_use.get(name) == i:
                    values.pop(name, None)
    return values


__all__ = ["apply_step", "intensity_for", "run_image"]
