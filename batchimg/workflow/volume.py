"""Label, filter and measure a volume in two bounded passes, writing labels to Zarr.

This is the sink behind volume workflows. Memory is set by the chunk size, never
by the volume's size, and every upstream step runs once per chunk:

**Pass 1** (one task per block): compute the mask block (the upstream chain runs
here, once), write it to a compressed cache array, label the block locally with
``scipy.ndimage.label``, and keep only per-label summaries -- the first pixel of
each local label, the block's boundary faces, and the partial statistics of every
requested measurement (:func:`batchimg._regions.block_stats` on the *local*
labels). Small pairing tasks turn neighbouring faces into equivalences. The local
label image is dropped.

**Resolve** (in memory, per label): union the equivalences, number components by
their first pixel (scipy's raster order), merge the per-block statistics by
component, evaluate the region filter, and renumber the kept regions.

**Pass 2** (one task per block): read the cached mask block, label it again
(deterministic, and cheaper than keeping int32 labels for the whole volume), map
local labels through the block's small lookup table, and write the final labels.

The labels equal ``scipy.ndimage.label`` (then ``filter_regions``) on the whole
array, and the table equals ``regionprops_table`` of those labels.

The end of this module runs a workflow on a volume: :func:`_run_volume` uses the
two passes when the workflow ends in ``label`` (and ``filter_regions``), and
otherwise stores the lazy arrays of :func:`.graph.build_graph` and computes the
table in one ``dask.compute``.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

import dask.array as da

from .._overlap import Spec, region_arrays
from ..label import label_dtype, label_measure_store
from ..measure import regionprops_delayed
from . import outputs, registry
from .graph import (
    _props,
    _sources,
    build_graph,
    compute,
    intensity_name,
    local_step,
    needed_outputs,
    resolve_params,
)
from .spec import INPUT, Workflow

# ---------------------------------------------------------------------------
# a workflow on a volume


def _regular(a: da.Array, chunks: tuple[int, ...]) -> da.Array:
    target = da.core.normalize_chunks(chunks, a.shape)
    return a if a.chunks == target else a.rechunk(target)


def _two_pass_plan(wf: Workflow) -> tuple[int, Any, str | None] | None:
    """Return how the two-pass engine runs the workflow's tail, or None if it cannot.

    It can when the tail is ``label`` then only ``filter_regions`` steps, nothing
    from the label step on is saved or read by name, and there is no ``axes``. The
    plan is ``(index of the label step, its structure, the combined where)``.
    """
    ops = [s.op for s in wf.steps]
    if "label" not in ops:
        return None
    k = ops.index("label")
    tail = wf.steps[k + 1 :]
    if any(s.op != "filter_regions" for s in tail):
        return None
    names = {s.name for s in wf.steps[k:]}
    if any(s.source is not None for s in wf.steps[k:]) or names & set(wf.save):
        return None
    if wf.steps[k].params.get("axes") is not None:
        return None
    if any(s.params.get("spacing") is not None for s in tail):
        return None
    wheres = [s.params.get("where", "area > 10") for s in tail]
    where = " and ".join(f"({w})" for w in wheres) if wheres else None
    return k, wf.steps[k].params.get("structure"), where


def _chain_regions(wf: Workflow, src: Any, k: int, need: set[str]) -> dict | None:
    """The ``need`` outputs of the steps before ``label``, one task per block.

    Each task reads its own region of the input (:func:`streamed_arrays`).
    None when that cannot be (an input not in a file, a step that is not local or
    reads another's output, a ``wrap`` mode): the chain then runs as a graph of
    halo exchanges.
    """
    if src.reader is None:
        return None
    ops = registry.operations()
    names, steps = [INPUT], []
    dtype, shape = src.data.dtype, tuple(src.data.shape)
    for s, source in zip(wf.steps[:k], _sources(wf)[:k], strict=True):
        if source != names[-1]:
            return None
        op = ops[s.op]
        step = local_step(
            op, resolve_params(op, s.params, len(shape)), Spec(len(shape), dtype, shape)
        )
        if step is None:
            return None
        steps.append(step)
        names.append(s.name)
        dtype = step.dtype
    if not need <= set(names):
        return None
    want = {names.index(n) - 1: n for n in need}
    return region_arrays(src.reader, src.data, steps, want)


def _run_volume_two_pass(wf, src, group, staging, plan, scheduler, workers, progress, resume):
    """Label, filter and measure in two bounded passes (see :mod:`.volume`).

    Finished blocks are recorded in ``staging/.volume-journal``; with ``resume`` the
    arrays of the interrupted run are reopened and every recorded block is skipped.
    """
    import zarr

    k, structure, where = plan
    mask_name = wf.steps[k - 1].name if k > 0 else INPUT
    props = _props(wf)
    needs_img = any(p in registry.intensity_properties() for p in props) or (
        where is not None and any(p in where for p in registry.intensity_properties())
    )
    inten_name = intensity_name(wf)
    need = (set(wf.save) | {mask_name} | ({inten_name} if needs_img else set())) - {
        s.name for s in wf.steps[k:]
    }
    arrays_d = _chain_regions(wf, src, k, need) or build_graph(wf, src.data, need=need)
    chunks = src.data.chunksize
    also, arrays = [], {}
    for name in wf.save:
        a = _regular(arrays_d[name], chunks)
        if resume:
            target = group[name]
        else:
            target = outputs.create_array(group, name, a.shape, chunks, a.dtype, {"step": name})
        also.append((a, target))
        arrays[name] = a.shape
    mask = _regular(arrays_d[mask_name], chunks)
    dtype = label_dtype(mask.shape)
    if resume:
        target = group[outputs.LABELS_PATH]
    else:
        target = outputs.create_labels(group, mask.shape, chunks, dtype, collection=False)
    arrays[outputs.LABELS_PATH] = mask.shape
    cache_path = os.path.join(staging, ".mask-cache.zarr")
    journal_path = os.path.join(staging, ".volume-journal")
    if resume and os.path.isdir(cache_path):
        cache = zarr.open_array(cache_path, mode="r+")
        recorded = (
            [f for f in os.listdir(journal_path) if f.startswith("pass1-")]
            if os.path.isdir(journal_path)
            else []
        )
        sys.stderr.write(
            f"resuming: {len(recorded)} of {mask.npartitions} volume block(s) already through "
            "pass 1 are not computed again\n"
        )
    else:
        shutil.rmtree(journal_path, ignore_errors=True)
        cache = zarr.create_array(
            store=cache_path, shape=mask.shape, chunks=chunks, dtype=bool, overwrite=True
        )
    s = None if structure is None else registry.resolve_structure(structure, mask.ndim)
    intensity = _regular(arrays_d[inten_name], chunks) if needs_img else None
    frame, n = label_measure_store(
        mask,
        structure=s,
        intensity=intensity,
        properties=list(props) or ["label"],
        where=where,
        labels_out=target,
        mask_cache=cache,
        also_store=also,
        compute=lambda *objs: compute(
            *objs, scheduler=scheduler, workers=workers, progress=progress
        ),
        journal=journal_path,
    )
    shutil.rmtree(cache_path, ignore_errors=True)
    shutil.rmtree(journal_path, ignore_errors=True)
    return frame, arrays, n


def _run_volume(wf, src, group, scheduler, workers, progress, staging=None, resume=False):
    plan = _two_pass_plan(wf)
    if plan is not None and staging is not None and src.data.ndim >= 1:
        return _run_volume_two_pass(
            wf, src, group, staging, plan, scheduler, workers, progress, resume
        )
    need = needed_outputs(wf)
    arrays_d = build_graph(wf, src.data, need=need)
    chunks = src.data.chunksize
    sources, targets, arrays = [], [], {}
    for name in wf.save:
        a = _regular(arrays_d[name], chunks)
        targets.append(outputs.create_array(group, name, a.shape, chunks, a.dtype, {"step": name}))
        sources.append(a)
        arrays[name] = a.shape
    table_d = None
    n_d = None
    if wf.label_step is not None:
        lab = _regular(arrays_d[wf.label_step.name], chunks)
        targets.append(outputs.create_labels(group, lab.shape, chunks, lab.dtype, collection=False))
        sources.append(lab)
        arrays[outputs.LABELS_PATH] = lab.shape
        props = _props(wf)
        needs_img = any(p in registry.intensity_properties() for p in props)
        intensity = arrays_d[intensity_name(wf)] if needs_img else None
        table_d = regionprops_delayed(lab, intensity, properties=list(props))
        n_d = lab.max()
    store_d = da.store(sources, targets, lock=False, compute=False) if sources else None
    _, frame, n = compute(
        store_d, table_d, n_d, scheduler=scheduler, workers=workers, progress=progress
    )
    max_label = 0 if n is None else int(n)
    return frame, arrays, max_label
