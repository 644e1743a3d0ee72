"""The hand-written anchors of a workflow: the scipy / scikit-image calls a user writes.

:func:`anchor_image` runs a workflow file's steps on one in-memory image with the
plain library calls (``ndi.gaussian_filter(image, 1)``, ``image >
threshold_otsu(image)``, ``ndi.label``, ``remove_small_objects``,
``regionprops_table``, ...), as the ten-line script the workflow replaces: no
batchimg code runs. The benchmark runs it over files in a thread pool (the
collection anchor) and on a whole volume in memory (the volume anchor), and checks
that batchimg found the same regions with the same total area.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_steps(path: str | Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """The (operation, parameters) steps and the measured properties of a workflow file."""
    import yaml

    spec = yaml.safe_load(Path(path).read_text())
    steps = [next(iter(s.items())) for s in spec["steps"]]
    return [(op, dict(p or {})) for op, p in steps], list(spec.get("measure") or [])


def _structure(p: dict, ndim: int):
    import scipy.ndimage as ndi

    s = p.get("structure")
    if s is None:
        return None
    if "shape" in s:
        return np.ones(s["shape"], bool)
    return ndi.generate_binary_structure(ndim, s["connectivity"])


def anchor_image(image: np.ndarray, steps, properties) -> tuple[int, int]:
    """Run ``steps`` on ``image`` with scipy / scikit-image; return (regions, their area)."""
    import scipy.ndimage as ndi
    from skimage.filters import threshold_otsu
    from skimage.measure import regionprops_table
    from skimage.morphology import remove_small_objects

    outputs = {"input": image}
    x = image
    labels = None
    for op, p in steps:
        p = dict(p)
        src = p.pop("from", None)
        if src is not None:
            x = outputs[src]
        if op in ("gaussian_filter", "gaussian_gradient_magnitude"):
            x = getattr(ndi, op)(x, p["sigma"])
        elif op == "median_filter":
            x = ndi.median_filter(x, p["size"])
        elif op == "threshold":
            x = x > (threshold_otsu(x) if p.get("method") == "otsu" else p["value"])
        elif op in ("binary_opening", "binary_closing", "binary_erosion", "binary_dilation"):
            x = getattr(ndi, op)(x, _structure(p, x.ndim), p.get("iterations", 1))
        elif op == "binary_fill_holes":
            x = ndi.binary_fill_holes(x, _structure(p, x.ndim))
        elif op == "reconstruct_by_propagation":
            s = _structure(p, x.ndim)
            seed = ndi.binary_erosion(x, s, p.get("iterations", 1))
            x = ndi.binary_propagation(seed, s, mask=x)
        elif op == "label":
            x, _ = ndi.label(x, _structure(p, x.ndim))
            labels = x
        elif op == "filter_regions":
            where = p["where"]
            assert where.startswith("area >"), where
            area = np.bincount(x.ravel())
            keep = area > float(where.split(">")[1])
            keep[0] = False
            new = np.zeros(len(area), x.dtype)
            new[keep] = np.arange(1, int(keep.sum()) + 1, dtype=x.dtype)
            x = labels = new[x]
        elif op == "remove_small_objects":
            x = labels = remove_small_objects(x, max_size=p["max_size"])
        else:
            raise ValueError(f"no anchor for {op!r}")
        outputs[op] = x
    if labels is None:
        return 0, 0
    props = list(dict.fromkeys(["label", "area", *properties]))
    table = regionprops_table(labels, image, properties=props)
    return len(table["label"]), int(np.sum(table["area"]))


__all__ = ["anchor_image", "load_steps"]
