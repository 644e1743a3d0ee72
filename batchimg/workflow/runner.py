"""Running a workflow: image collections per image in memory, volumes through dask.

Two paths, both exact by construction:

- **Collections** (a directory, glob or list of 2-D images, or RGB images that an
  ``rgb_to_gray`` step converts): one task per chunk of files reads each image and
  runs every step on the whole image in memory (a local step's kernel on the whole
  image *is* the scipy function on it), labels it with ``scipy.ndimage.label``,
  filters and measures its regions, writes its saved steps and labels into its slot
  of the result arrays and returns its table rows. Labels are per image; the table
  has the image's path, the per-image ``label`` and a ``global_label`` numbered
  across the collection in file order (``scipy.ndimage.label`` of the stack with
  no connectivity along the image axis). Steps with a whole-image statistic (an
  Otsu threshold) use each image's own statistic.
- **Volumes** (a raw file, a Zarr array, a single 3-D image, or an array): the local
  steps run through :func:`batchimg._overlap.apply_chain` (fused halo exchanges),
  then labelling, region filters and measurements; the result arrays are stored and
  the table is computed in one ``dask.compute`` call, so nothing is computed twice
  (a step both saved and used downstream is one array in the graph).

The default scheduler is dask's local threads on all cores (scipy.ndimage releases
the GIL); ``scheduler="processes"`` or ``"sync"`` choose another local scheduler, and
any other string is the address of a running ``dask.distributed`` scheduler.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from .. import label as _label
from .. import measure as _measure
from .._overlap import Spec, Step, apply_chain, make_step
from ..errors import BatchimgError, InputError, InvalidParameterError, WorkflowError
from . import outputs, registry
from .spec import INPUT, Workflow

#: Bytes per block that the default volume chunking aims at (float64 intermediates).
VOLUME_CHUNK_BYTES = 8 * 2**20
#: The most bytes the volume blocks in flight may take together (see _auto_volume_chunks).
VOLUME_BLOCKS_BYTES = 512 * 2**20
#: Bytes per overlapped voxel a block in flight takes, per byte of the chain's widest
#: dtype (its input and neighbours read for the halo, the chain's intermediates), plus
#: VOLUME_LABEL_BYTES (labels, compressed writes); ~60 measured on a float64 chain.
VOLUME_BYTES_PER_ITEM_BYTE = 8
VOLUME_LABEL_BYTES = 8
#: Bytes per collection task that the default image grouping aims at, counting 8 bytes
#: per pixel (8 images of 512x512 a task: fewer, larger Zarr chunks and manifest records).
COLLECTION_CHUNK_BYTES = 16 * 2**20
_LOCAL_SCHEDULERS = ("threads", "processes", "sync", "synchronous")
_RAW_SUFFIXES = (".raw", ".bin", ".dat")


# ---------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class Source:
    """An opened input: a collection of images or one volume.

    Parameters
    ----------
    kind : {"collection", "volume"}
        How the workflow runs on it.
    data : dask.array.Array
        The images stacked along axis 0 (collections) or the volume.
    paths : list of str or None
        The image files of a collection.
    description : dict
        What the input was (recorded with the results).
    failed : dict
        Collections opened with ``on_error="collect"``: position in ``paths`` ->
        ``errors.csv`` row of each file left out when opening (unreadable header,
        other shape or dtype). ``data`` then holds only the other files, while
        ``paths`` lists every file (one slot each in the results).
    reader : array-like, optional
        Volumes stored in a file (raw, Zarr): the file itself, indexable by a
        region (``reader[slices]`` reads just that region), so a task can read its
        block and halo directly.
    """

    kind: str
    data: da.Array
    paths: list[str] | None
    description: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    reader: Any = None

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape one workflow run sees: one image, or the whole volume."""
        return tuple(self.data.shape[1:] if self.kind == "collection" else self.data.shape)

    def fingerprint(self) -> str:
        """Return a hash of the input's identity (paths, sizes, modification times)."""
        return hashlib.sha256(repr(sorted(self.description.items())).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _ZarrRegions:
    """A Zarr array, opened afresh for each region read (pickles as its path)."""

    path: str

    def __getitem__(self, region: Any) -> np.ndarray:
        import zarr

        return zarr.open_array(self.path, mode="r")[region]


def _stat(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _is_zarr(path: str) -> bool:
    return path.rstrip("/").endswith(".zarr") or any(
        os.path.exists(os.path.join(path, m)) for m in ("zarr.json", ".zarray", ".zgroup")
    )


def _parse_chunks(chunks: Any, ndim: int | None = None) -> Any:
    if chunks is None or isinstance(chunks, int | tuple | list):
        return tuple(chunks) if isinstance(chunks, list) else chunks
    if isinstance(chunks, str):
        if chunks == "auto":
            return None
        try:
            parts = tuple(int(c) for c in chunks.split(","))
        except ValueError:
            raise InvalidParameterError(
                f"chunks must be an integer or comma-separated integers like '32,128,128'; "
                f"got {chunks!r}."
            ) from None
        return parts[0] if len(parts) == 1 else parts
    raise InvalidParameterError(f"chunks must be an integer or a tuple; got {chunks!r}.")


def _volume_chunks(
    shape: tuple[int, ...], chunks: Any, halo: Sequence[int] | None = None
) -> tuple[int, ...]:
    if chunks is None:
        return _auto_volume_chunks(tuple(shape), halo)
    if isinstance(chunks, tuple) and len(chunks) != len(shape):
        raise InvalidParameterError(
            f"chunks must have one size per axis of the volume {shape}; got {chunks!r}."
        )
    norm = da.core.normalize_chunks(chunks, shape)
    return tuple(max(c) for c in norm)


def _memory_budget() -> int:
    """Bytes the blocks in flight may take: a quarter of the available memory, <= 512 MiB."""
    try:
        import psutil

        available = psutil.virtual_memory().available
    except Exception:  # psutil missing or unsupported platform
        available = 4 * 2**30
    return int(min(max(available // 4, 64 * 2**20), VOLUME_BLOCKS_BYTES))


def _auto_volume_chunks(shape: tuple[int, ...], halo: Sequence[int] | None) -> tuple[int, ...]:
    """The block shape with the least halo overhead that fits the memory budget.

    Every block in flight (one per core) holds its overlapped input and the chain's
    intermediates, about ``VOLUME_BYTES_PER_ITEM_BYTE * itemsize + VOLUME_LABEL_BYTES``
    bytes per overlapped voxel (``itemsize`` of the chain's widest dtype); the
    block shape minimises the overlapped voxels per core voxel (an axis that is one
    chunk needs no halo) among power-of-two sizes (or whole axes) whose overlapped
    block fits ``_memory_budget() / cores``, keeping at least two blocks per core
    when the volume has that many.
    """
    ndim = len(shape)
    # the chain's intermediates (scipy keeps the input's dtype) plus int32 labels
    itemsize = getattr(halo, "itemsize", 8)
    bytes_per_voxel = VOLUME_BYTES_PER_ITEM_BYTE * itemsize + VOLUME_LABEL_BYTES
    halo = tuple(halo) if halo is not None else (0,) * ndim
    cores = os.cpu_count() or 1
    per_block = _memory_budget() // cores // bytes_per_voxel
    total = math.prod(shape)
    min_blocks = min(2 * cores, max(1, total // 2**18))
    options = []
    for n in shape:
        sizes = {n}
        c = 16
        while c < n:
            sizes.add(c)
            c *= 2
        options.append(sorted(sizes))
    best, best_key = None, None
    for cand in itertools.product(*options):
        nblocks = math.prod(-(-n // c) for n, c in zip(shape, cand, strict=True))
        ext = [c + 2 * h if c < n else c for n, c, h in zip(shape, cand, halo, strict=True)]
        if math.prod(ext) > per_block and math.prod(cand) > 16**ndim:
            continue
        # overhead of the halo, then fewer tasks, then long contiguous rows
        over = math.prod(ext) / math.prod(cand)
        key = (nblocks < min_blocks, round(over, 2), nblocks, tuple(-c for c in cand[::-1]))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return tuple(best) if best is not None else tuple(min(16, n) for n in shape)


def _halo(halo: Any, x: Any) -> tuple[int, ...] | None:
    if callable(halo):
        return halo(x.ndim, x.dtype, tuple(x.shape))
    return halo


class _Halo(tuple):
    """The summed depth of a chain per axis; ``itemsize`` is its widest output's."""

    itemsize: int = 8


def _chain_halo(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The summed depth of the workflow's local steps per axis (0 where it cannot tell)."""
    halo = _Halo(_chain_depth(wf, ndim, dtype, shape))
    try:
        halo.itemsize = max(_chain_dtypes(wf, ndim, dtype, shape), default=8)
    except Exception:  # validation reports bad steps later, with their names
        pass
    return halo


def _chain_dtypes(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> list[int]:
    """The itemsizes of the input and of every local step's output."""
    ops = registry.operations()
    dtypes: dict[str, Any] = {INPUT: np.dtype(dtype)}
    for s, src in zip(wf.steps, _sources(wf), strict=True):
        op = ops[s.op]
        if op.local:
            params = resolve_params(op, s.params, ndim)
            spec = Spec(ndim, dtypes.get(src, np.dtype(dtype)), shape)
            dtypes[s.name] = op.func.step(spec, **params).dtype
    return [d.itemsize for d in dtypes.values()]


def _chain_depth(wf: Workflow, ndim: int, dtype: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    ops = registry.operations()
    total = [0] * ndim
    dtypes: dict[str, Any] = {INPUT: np.dtype(dtype)}
    try:
        for s, src in zip(wf.steps, _sources(wf), strict=True):
            op = ops[s.op]
            if not op.local:
                dtypes[s.name] = np.dtype(np.int32)
                continue
            params = resolve_params(op, s.params, ndim)
            step = op.func.step(Spec(ndim, dtypes.get(src, np.dtype(dtype)), shape), **params)
            dtypes[s.name] = step.dtype
            total = [t + d for t, d in zip(total, step.depth, strict=True)]
    except Exception:  # validation reports bad steps later, with their names
        return tuple(total)
    return tuple(total)


def open_source(
    source: Any,
    *,
    chunks: Any = None,
    raw_shape: Any = None,
    raw_dtype: Any = None,
    raw_offset: int = 0,
    on_error: str = "raise",
    allow_remote: bool = False,
    halo: Any = None,
) -> Source:
    """Open a workflow's input lazily, reading at most headers.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array
        A directory, glob, image file or list of files (a collection, or one 3-D
        image: a volume), a raw file (with ``raw_shape`` and ``raw_dtype``), a Zarr
        array, or a numpy/dask array (a volume).
    chunks : int, str or tuple, optional
        Images per task for collections; block shape for volumes (``"32,128,128"``).
    raw_shape, raw_dtype, raw_offset
        The layout of a raw file.
    on_error : {"raise", "collect"}, optional
        For collections: ``"collect"`` leaves out files whose header is unreadable
        or of another shape or dtype, listing them in ``Source.failed``.
    allow_remote : bool, optional
        Accept URLs (``s3://``, ``http://``...); refused by default.
    halo : sequence of int or callable, optional
        The depth the workflow's local steps need per axis, or
        ``halo(ndim, dtype, shape)`` returning it; the automatic block shape of a
        volume minimises the overlap this costs (see ``_auto_volume_chunks``).

    Returns
    -------
    Source

    Raises
    ------
    InputNotFoundError, InputError, InvalidParameterError
        For missing or unreadable inputs, refused URLs and bad chunking.
    """
    from ..io import open_images, open_raw, open_zarr
    from ..io.raw import RawFile
    from ..io.raw import _normalize_dtype as normalize_raw_dtype

    _check_remote(source, allow_remote)
    chunks = _parse_chunks(chunks)
    if isinstance(source, np.ndarray | da.Array):
        x = da.asarray(source)
        x = x.rechunk(_volume_chunks(x.shape, chunks, _halo(halo, x)))
        return Source("volume", x, None, {"array": f"{x.shape} {x.dtype}", "name": x.name})
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if raw_shape is not None or path.lower().endswith(_RAW_SUFFIXES):
            if raw_shape is None or raw_dtype is None:
                raise InvalidParameterError(
                    f"a raw input needs its shape and dtype; got shape={raw_shape!r}, "
                    f"dtype={raw_dtype!r} for {path!r}. Hint: --raw-shape 64,128,128 "
                    "--raw-dtype uint8."
                )
            if isinstance(raw_shape, str):
                raw_shape = tuple(int(s) for s in raw_shape.split(","))
            x = open_raw(path, shape=raw_shape, dtype=raw_dtype, offset=int(raw_offset))
            # open it again with the blocks themselves: each task reads its own block
            block = _volume_chunks(x.shape, chunks, _halo(halo, x))
            x = open_raw(
                path, shape=raw_shape, dtype=raw_dtype, offset=int(raw_offset), chunks=block
            )
            size, mtime = _stat(path)
            desc = {
                "raw": os.path.abspath(path),
                "shape": list(x.shape),
                "dtype": str(x.dtype),
                "offset": int(raw_offset),
                "size": size,
                "mtime_ns": mtime,
            }
            reader = RawFile(path, x.shape, normalize_raw_dtype(raw_dtype), int(raw_offset), "C")
            return Source("volume", x, None, desc, reader=reader)
        if os.path.isdir(path) and _is_zarr(path):
            x = open_zarr(path)
            x = x.rechunk(_volume_chunks(x.shape, chunks, _halo(halo, x)))
            desc = {"zarr": os.path.abspath(path), "shape": list(x.shape), "name": x.name}
            return Source("volume", x, None, desc, reader=_ZarrRegions(os.path.abspath(path)))
    per_chunk = chunks if isinstance(chunks, int) else "auto"
    if isinstance(chunks, tuple):
        raise InvalidParameterError(
            f"chunks must be a number of images per task for an image collection; got {chunks!r}."
        )
    stack = open_images(source, images_per_chunk=per_chunk, on_error=on_error)
    data, paths = stack.data, stack.paths
    failed = list(stack.failed)
    image = data.shape[1:]
    rgb = len(image) == 3 and image[-1] in (3, 4)
    if len(paths) == 1 and not failed and len(image) == 3 and not rgb:
        x = data[0].rechunk(_volume_chunks(image, chunks, _halo(halo, data[0])))
        size, mtime = _stat(paths[0])
        desc = {"file": os.path.abspath(paths[0]), "size": size, "mtime_ns": mtime}
        return Source("volume", x, None, desc)
    if per_chunk == "auto":
        nbytes = int(np.prod(image)) * 8
        per = max(1, min(COLLECTION_CHUNK_BYTES // max(nbytes, 1), -(-len(paths) // 4)))
        data = open_images(paths, images_per_chunk=per).data
    # every listed file keeps its slot (its position in the listing)
    listing: list[str] = []
    bad: dict[int, dict] = {}
    good = iter(paths)
    for pos, path, exc in failed:
        while len(listing) < pos:
            listing.append(next(good))
        bad[len(listing)] = _error_row(path, "open", exc)
        listing.append(path)
    listing.extend(good)
    stats = [_stat_or_none(p) for p in listing]
    desc = {
        "images": [os.path.abspath(p) for p in listing],
        "sizes": [s[0] for s in stats],
        "mtimes_ns": [s[1] for s in stats],
    }
    return Source("collection", data, listing, desc, bad)


def _error_row(path: str, step: str, exc: BaseException) -> dict:
    from .journal import error_row

    return error_row(path, step, exc)


def _stat_or_none(path: str) -> tuple[int, int]:
    try:
        return _stat(path)
    except OSError:
        return -1, -1


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _check_remote(source: Any, allow_remote: bool) -> None:
    """Refuse URLs (``s3://``, ``http://``...) unless the user opted in."""
    items = [source] if isinstance(source, str | os.PathLike) else source
    if allow_remote or not isinstance(items, Sequence) or isinstance(items, bytes):
        return
    for item in items:
        if isinstance(item, str) and _URL.match(item):
            raise InputError(
                f"input must be a local path; got the URL {item!r}. batchimg reads remote "
                "data only when asked: pass --allow-remote (allow_remote=True) to read it."
            )


# ---------------------------------------------------------------------------
# building steps


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


def _fail(wf: Workflow, number: int, exc: Exception) -> WorkflowError:
    s = wf.steps[number - 1]
    text = getattr(exc, "reason", None) or str(exc)
    return WorkflowError(text, source=wf.source, step=number, step_name=s.op)


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


# ---------------------------------------------------------------------------
# computing


def _measure_image(lab: np.ndarray, intensity: np.ndarray | None, props: Sequence[str]):
    """One image's table rows as numpy columns."""
    needs_img = any(p in registry.intensity_properties() for p in props)
    return _measure.regionprops_columns(
        lab, intensity if needs_img else None, properties=list(props)
    )


def _task_table(paths: Sequence[str], columns: Sequence[dict[str, np.ndarray]]):
    """One DataFrame of a task's rows: the ``image`` column, then each image's columns."""
    import pandas as pd

    if not columns:
        return None
    sizes = [len(next(iter(c.values()))) for c in columns]
    data = {"image": np.repeat(np.asarray(paths, dtype=object), sizes)}
    for key in columns[0]:
        data[key] = np.concatenate([c[key] for c in columns])
    return pd.DataFrame(data)


@functools.lru_cache(maxsize=32)
def _output_array(path: str, run: str):
    """An output array opened once per process and run (``run``: its staging folder)."""
    import zarr

    return zarr.open_array(path, mode="r+", config=outputs.WRITE_CONFIG)


@dataclass(frozen=True)
class _ChunkJob:
    """What every collection task shares (small: paths and kernels, no pixels)."""

    plan: ImagePlan
    result: str
    saved: tuple[str, ...]
    labels: str | None
    props: tuple[str, ...]
    intensity: str
    layouts: dict  # output path in result.zarr -> (image shape, dtype)
    expect: tuple  # (shape, dtype) every decoded image must have
    staging: str
    retries: int = 2
    max_failures: int | None = None
    open_failed: int = 0


def _read_checked(path: str, expect: tuple, retries: int) -> np.ndarray:
    """Read one image, retrying transient failures; check its shape and dtype."""
    from .. import io as _io

    for attempt in range(retries + 1):
        try:
            # looked up at call time, so that a wrapped read_image is the one used
            image = _io.read_image(path)
            break
        except Exception:
            if attempt >= retries:
                raise
            time.sleep(0.05 * 2**attempt)
    shape, dtype = tuple(expect[0]), np.dtype(expect[1])
    if image.shape != shape or image.dtype != dtype:
        raise InputError(
            f"{path!r} decoded to shape {image.shape} of {image.dtype}, but the collection's "
            f"images have {shape} of {dtype}."
        )
    return image


def _collection_task(index: int, items: Sequence[tuple[int, str]], start: int, stop: int,
                     job: _ChunkJob) -> dict:  # fmt: skip
    """Run the workflow on one chunk of images, each on its own; record the chunk.

    A file that cannot be read, decodes to another shape or dtype, or makes a step
    fail is left out (its slots stay at the fill value, 0) and noted with its
    error; the others go on. The chunk's arrays are written whole (so running a
    task twice changes nothing), then its table rows (a Parquet part file), then
    its manifest record, last.
    """
    from . import journal

    keep = set(job.saved) | ({job.labels} if job.labels else set()) | {job.intensity}
    out = {
        name: np.zeros((stop - start, *shape), np.dtype(dtype))
        for name, (shape, dtype) in job.layouts.items()
    }
    measured, measured_paths, failures, hashes = [], [], [], {}
    counts = [0] * (stop - start)
    for slot, path in items:
        i = slot - start
        step = "read"
        try:
            image = _read_checked(path, job.expect, job.retries)
            step = "workflow"
            values = job.plan(image, keep=keep)
            step = "measure"
            columns = None
            if job.labels is not None:
                lab = values[job.labels]
                if job.props:
                    columns = _measure_image(lab, values[job.intensity], job.props)
            step = "read"
            digest = journal.file_hash(path)
        except Exception as exc:
            for arr in out.values():
                arr[i] = 0
            row = journal.error_row(path, getattr(exc, "batchimg_step", step), exc)
            row["slot"] = slot
            failures.append(row)
            journal.record_failure(job.staging, slot, row)
            continue
        for name in job.saved:
            out[name][i] = values[name]
        if job.labels is not None:
            out[outputs.LABELS_PATH][i] = lab
            counts[i] = int(lab.max()) if lab.size else 0
        if columns is not None:
            measured.append(columns)
            measured_paths.append(path)
        hashes[str(slot)] = digest
    for name, block in out.items():
        _output_array(os.path.join(job.result, name), job.staging)[start:stop] = block
    table = _task_table(measured_paths, measured)
    record = {
        "chunk": index,
        "start": start,
        "stop": stop,
        "counts": counts,
        "failed": failures,
        "hashes": hashes,
        "part": journal.write_part(job.staging, index, table),
    }
    journal.record_chunk(job.staging, index, record)
    if job.max_failures is not None:
        n = journal.count_failures(job.staging) + job.open_failed
        if n > job.max_failures:
            raise InputError(
                f"more than max_failures={job.max_failures} inputs failed ({n} so far; "
                f"latest: {failures[-1]['path']!r}: {failures[-1]['message']})"
                if failures
                else f"more than max_failures={job.max_failures} inputs failed ({n} so far)."
            )
    return record


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


@dataclass(frozen=True)
class RunResult:
    """What a run produced.

    Parameters
    ----------
    output : str
        The output folder.
    table_file : str or None
        The table's file name in ``output`` (None without a label step); the
        table itself is :attr:`table`, read from it.
    arrays : dict
        Path inside ``result.zarr`` -> shape.
    kind : str
        ``"collection"`` or ``"volume"``.
    seconds : float
        Wall time of the run.
    failed : tuple of dict
        The inputs left out, as rows of ``errors.csv`` (path, step, exception,
        message).
    n_inputs : int
        The number of input files (1 for a volume).
    n_regions : int
        The number of rows of the table.
    """

    output: str
    table_file: str | None
    arrays: dict
    kind: str
    seconds: float
    failed: tuple = ()
    n_inputs: int = 1
    n_regions: int = 0

    @property
    def table(self):
        """The measurements as a DataFrame, read from the output folder (None without one).

        The run writes the table a task's rows at a time and never holds all of
        it, so memory does not grow with the number of regions; this reads it.
        """
        from ..io import read_table

        if self.table_file is None:
            return None
        return read_table(os.path.join(self.output, self.table_file))


def _props(wf: Workflow) -> tuple[str, ...]:
    if wf.label_step is None:
        return ()
    return wf.measure or _measure.DEFAULT_PROPERTIES


def _table_path(output: str, table: str | None, table_format: str | None) -> str:
    if table is None:
        fmt = table_format or "csv"
        if fmt not in ("csv", "parquet"):
            raise InvalidParameterError(f"table_format must be 'csv' or 'parquet'; got {fmt!r}.")
        table = f"measurements.{fmt}"
    if os.path.dirname(table):
        raise InvalidParameterError(
            f"table must be a file name inside the output folder; got {table!r}."
        )
    return table


def run(
    workflow: Workflow,
    source: Any,
    output: str | os.PathLike,
    *,
    chunks: Any = None,
    save: Sequence[str] | None = None,
    raw_shape: Any = None,
    raw_dtype: Any = None,
    raw_offset: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    table: str | None = None,
    table_format: str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    resume: bool = False,
    verify: bool = False,
    max_failures: int | None = None,
    retries: int = 2,
    allow_remote: bool = False,
) -> RunResult:
    """Run ``workflow`` on ``source``; write ``result.zarr``, the table and ``summary.png``.

    Parameters
    ----------
    workflow : Workflow
        The validated workflow.
    source : str, os.PathLike, sequence or array
        The input (see :func:`open_source`).
    output : str or os.PathLike
        The output folder; see :mod:`batchimg.workflow.outputs` for its layout.
    chunks : int, str or tuple, optional
        Images per task (collections) or the block shape (volumes).
    save : sequence of str, optional
        Step outputs to save in addition to the workflow's ``save`` list.
    raw_shape, raw_dtype, raw_offset
        The layout of a raw input file.
    workers : int, optional
        Local threads or processes (default: all cores).
    scheduler : str, optional
        ``"threads"`` (default), ``"processes"``, ``"sync"``, or a distributed
        scheduler's address.
    table : str, optional
        The table's file name (``measurements.parquet`` writes Parquet).
    table_format : {"csv", "parquet"}, optional
        The table's format when ``table`` is not given.
    progress : bool, optional
        Show a progress bar for runs longer than a second.
    log : callable, optional
        Receives one-line messages (the chunking, where results went).
    resume : bool, optional
        Continue the interrupted run in ``output``: collection tasks recorded in
        its manifest are skipped (a volume is computed again). Refused when the
        workflow, the inputs (paths, sizes, modification times) or the table
        changed.
    verify : bool, optional
        With ``resume``, also compare the content hash of every file already
        processed.
    max_failures : int, optional
        Abort (raise) once more than this many inputs failed; default: no limit.
    retries : int, optional
        Read attempts after a failed one before a file counts as failed.
    allow_remote : bool, optional
        Accept URL inputs (``s3://``, ``http://``...), refused by default.

    Returns
    -------
    RunResult
        ``failed`` lists the inputs left out (also in ``DIR/errors.csv``).

    Raises
    ------
    WorkflowError
        When the workflow does not fit the input (checked before any pixel is read).
    InputError, InputNotFoundError, InvalidParameterError
        For bad inputs or options, more than ``max_failures`` failed inputs (or all
        of them), an output folder in use by another run, or a refused resume.
    """
    from . import journal

    t0 = time.perf_counter()
    say = log or (lambda _msg: None)
    if save:
        extra = tuple(s for s in save if s not in workflow.save)
        workflow = Workflow(
            workflow.name,
            workflow.steps,
            workflow.measure,
            workflow.save + extra,
            source=workflow.source,
            text=workflow.text,
        )
    if isinstance(output, str) and _URL.match(output):
        raise InputError(f"output must be a local folder; got the URL {output!r}.")
    output = os.fspath(output)
    table_name = _table_path(output, table, table_format)
    if not isinstance(retries, int) or retries < 0:
        raise InvalidParameterError(f"retries must be an integer >= 0; got {retries!r}.")
    if max_failures is not None and (not isinstance(max_failures, int) or max_failures < 0):
        raise InvalidParameterError(
            f"max_failures must be an integer >= 0 or None; got {max_failures!r}."
        )
    partial = journal.find_partial(output) if resume else None
    state = journal.read_json(os.path.join(partial, journal.STATE)) if partial else None
    if state is not None and state.get("chunks") is not None:
        if chunks is not None and _parse_chunks(chunks) != _parse_chunks(state["chunks"]):
            say(f"resuming with the interrupted run's chunks {state['chunks']}, not {chunks}")
        chunks = state["chunks"]
    src = open_source(
        source, chunks=chunks, raw_shape=raw_shape, raw_dtype=raw_dtype, raw_offset=raw_offset,
        on_error="collect", allow_remote=allow_remote,
        halo=functools.partial(_chain_halo, workflow),
    )  # fmt: skip
    shape = src.image_shape
    workflow.check_input(len(shape), src.data.dtype, shape)
    if src.kind == "collection":
        say(
            f"chunks: {src.data.chunks[0][0]} image(s) per task, "
            f"{-(-len(src.paths) // src.data.chunks[0][0])} task(s) for {len(src.paths)} "
            f"images of {shape} {src.data.dtype}"
        )
        for row in src.failed.values():
            say(f"left out {row['path']!r}: {row['message']}")
    else:
        say(
            f"chunks: {src.data.chunksize} ({src.data.npartitions} blocks) for the volume "
            f"{src.data.shape} {src.data.dtype}"
        )
    new_state = {
        "workflow_fingerprint": workflow.fingerprint(),
        "workflow": journal.workflow_record(workflow),
        "input_kind": src.kind,
        "input": src.description,
        "input_fingerprint": src.fingerprint(),
        "chunks": src.data.chunks[0][0] if src.kind == "collection" else list(src.data.chunksize),
        "table": table_name,
        "started": outputs.utc_now(),
    }
    if state is not None:
        journal.check_resumable(output, state, new_state)
    elif resume:
        say(f"nothing to resume in {output}; starting a new run")
    outputs.make_folder(output)
    lock = journal.RunLock(output)
    lock.acquire(say)
    try:
        return _run_locked(
            workflow, src, output, partial if state is not None else None, new_state,
            table_name, t0, say, scheduler=scheduler, workers=workers, progress=progress,
            verify=verify, retries=retries, max_failures=max_failures,
        )  # fmt: skip
    except BaseException as exc:
        journal.write_failed(output, exc)
        raise
    finally:
        lock.release()


def _run_locked(workflow, src, output, partial, state, table_name, t0, say, *, scheduler,
                workers, progress, verify, retries, max_failures) -> RunResult:  # fmt: skip
    """The part of :func:`run` that writes, under the output folder's lock."""
    from . import journal

    outputs.prefetch_plotting()
    staging = outputs.prepare(output, resume_from=partial)
    result_path = os.path.join(staging, outputs.RESULT)
    resumable = src.kind == "collection" or _two_pass_plan(workflow) is not None
    resuming = partial is not None and resumable and os.path.isdir(result_path)
    if not resuming:
        if partial is not None:
            say("the interrupted run's volume pass is computed again")
        for entry in os.listdir(staging):  # a volume restarts from a clean staging folder
            path = os.path.join(staging, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        journal.write_json(os.path.join(staging, journal.STATE), state)
    attrs = {
        "batchimg": {
            "workflow_name": workflow.name,
            "workflow": workflow.to_yaml(),
            "workflow_fingerprint": workflow.fingerprint(),
            "input": src.description,
            "input_kind": src.kind,
            "versions": outputs.versions(),
            "time": outputs.utc_now(),
            "saved": list(workflow.save),
            "labels": outputs.LABELS_PATH if workflow.label_step is not None else None,
        }
    }
    if resuming:
        import zarr

        group = zarr.open_group(result_path, mode="r+")
    else:
        group = outputs.create_group(result_path, attrs)
    failures: list[dict] = []
    counts = None  # regions per image, for the summary of a collection
    if src.kind == "collection":
        parts, arrays, max_label, failures, counts = _run_collection(
            workflow, src, group, result_path, scheduler, workers, progress, staging=staging,
            resume=resuming, verify=verify, retries=retries, max_failures=max_failures,
            say=say,
        )  # fmt: skip
        frame = None
    else:
        frame, arrays, max_label = _run_volume(
            workflow, src, group, scheduler, workers, progress, staging=staging, resume=resuming
        )
        parts = None if frame is None else (lambda: iter([frame]))
    if workflow.label_step is not None:
        labels_group = group["labels/labels"]
        meta = dict(labels_group.attrs)["ome"]
        meta["image-label"]["colors"] = outputs.label_colors(max_label)
        labels_group.attrs["ome"] = meta
    rows = None
    if parts is not None:
        from ..io.tables import write_table_parts

        _, rows = write_table_parts(parts(), os.path.join(staging, table_name))
    if failures:
        journal.write_errors(os.path.join(staging, journal.ERRORS), failures)
    outputs.summary_png(
        os.path.join(staging, outputs.SUMMARY),
        frame,
        collection=src.kind == "collection",
        paths=src.paths,
        counts=counts if rows is not None else None,
    )
    marker = {
        "workflow": workflow.name,
        "workflow_fingerprint": workflow.fingerprint(),
        "input_fingerprint": src.fingerprint(),
        "versions": outputs.versions(),
        "time": outputs.utc_now(),
        "table": table_name if rows is not None else None,
        "rows": rows,
        "failed_inputs": len(failures),
        "errors": journal.ERRORS if failures else None,
    }
    outputs.finish(output, staging, marker)
    seconds = time.perf_counter() - t0
    what = "no table" if rows is None else f"{rows} regions in {table_name}"
    failed = f"; {len(failures)} input(s) failed, see {journal.ERRORS}" if failures else ""
    say(f"done in {seconds:.1f} s: {what}{failed}; results in {output}")
    n_inputs = len(src.paths) if src.paths is not None else 1
    return RunResult(
        output,
        None if rows is None else table_name,
        arrays,
        src.kind,
        seconds,
        tuple(failures),
        n_inputs,
        rows or 0,
    )


def _prefix_block(block: np.ndarray, *, plan: ImagePlan, take: str) -> np.ndarray:
    return np.stack([plan(image)[take] for image in block])


def _greater(image: np.ndarray, *, t: Any) -> np.ndarray:
    return image > t


def _collection_thresholds(wf, src, plan, lazy, scheduler, workers, progress) -> ImagePlan:
    """First pass for ``threshold: {method: ..., per_image: false}`` in a collection.

    The threshold is computed over the whole collection (the stack of every image's
    input to that step), and the step becomes ``image > t`` with that one ``t``.
    """
    from .. import point

    steps = list(plan.steps)
    for i, s in enumerate(wf.steps):
        if s.op != "threshold" or s.params.get("per_image") is not False:
            continue
        if s.params.get("method") is None:
            continue
        _, source, _ = steps[i]
        a = lazy[source]
        stack = src.data.map_blocks(
            _prefix_block,
            plan=ImagePlan(tuple(steps[:i])),
            take=source,
            chunks=(src.data.chunks[0], *((d,) for d in a.shape)),
            dtype=a.dtype,
            meta=np.empty((0,) * (a.ndim + 1), a.dtype),
        )
        t = point._global_threshold(stack, s.params["method"], s.params.get("percentile"))
        (t,) = compute(t, scheduler=scheduler, workers=workers, progress=progress)
        steps[i] = (s.name, source, functools.partial(_greater, t=np.asarray(t)))
    return ImagePlan(tuple(steps))


def _run_collection(wf, src, group, result_path, scheduler, workers, progress, *,
                    staging=None, resume=False, verify=False, retries=2, max_failures=None,
                    say=None):  # fmt: skip
    """Run a collection in tasks of whole Zarr chunks, recording each as it finishes.

    Returns ``(table, arrays, max_label, failures)``; ``failures`` are the
    ``errors.csv`` rows, in file order. With ``resume``, tasks recorded in the
    staging folder's manifest are skipped.
    """
    import pandas as pd

    from . import journal

    say = say or (lambda _msg: None)
    n = len(src.paths)
    shape = src.image_shape
    plan = image_plan(wf, len(shape), src.data.dtype, shape)
    lazy = build_graph(wf, da.zeros(shape, dtype=src.data.dtype, chunks=shape), need=None)
    per = src.data.chunks[0][0]
    arrays, layouts = {}, {}
    labels = wf.label_step.name if wf.label_step is not None else None
    for name in wf.save:
        a = lazy[name]
        if not resume:
            outputs.create_array(
                group, name, (n, *a.shape), (per, *a.shape), a.dtype, {"step": name}
            )
        arrays[name] = (n, *a.shape)
        layouts[name] = (tuple(a.shape), a.dtype.str)
    if labels is not None:
        a = lazy[labels]
        if not resume:
            outputs.create_labels(group, (n, *a.shape), (per, *a.shape), a.dtype, collection=True)
        arrays[outputs.LABELS_PATH] = (n, *a.shape)
        layouts[outputs.LABELS_PATH] = (tuple(a.shape), a.dtype.str)
    props = _props(wf)
    journal.ensure_dirs(staging)
    done = journal.done_chunks(staging) if resume else {}
    journal.forget_unfinished(staging, done)
    bounds = [(i, s, min(s + per, n)) for i, s in enumerate(range(0, n, per))]
    if resume:
        say(f"resuming: {len(done)} of {len(bounds)} task(s) already done")
        if verify:
            _verify_hashes(src.paths, done)
    open_rows = [dict(row, slot=slot) for slot, row in sorted(src.failed.items())]

    def gather_failures() -> list[dict]:
        recorded = []
        for name in sorted(os.listdir(os.path.join(staging, journal.FAILED_DIR))):
            row = journal.read_json(os.path.join(staging, journal.FAILED_DIR, name))
            if row is not None:
                recorded.append(row)
        return sorted(open_rows + recorded, key=lambda r: r["slot"])

    try:
        if max_failures is not None and len(open_rows) > max_failures:
            raise InputError(
                f"more than max_failures={max_failures} inputs failed ({len(open_rows)} could "
                f"not be opened; first: {open_rows[0]['path']!r}: {open_rows[0]['message']})"
            )
        plan = _collection_thresholds(wf, src, plan, lazy, scheduler, workers, progress)
        job = _ChunkJob(
            plan, result_path, tuple(wf.save), labels, tuple(props), intensity_name(wf), layouts,
            (tuple(shape), src.data.dtype.str), staging, int(retries), max_failures,
            len(open_rows),
        )  # fmt: skip
        tasks = []
        for i, start, stop in bounds:
            if i in done:
                continue
            items = [(k, src.paths[k]) for k in range(start, stop) if k not in src.failed]
            tasks.append(dask.delayed(_collection_task, pure=False)(i, items, start, stop, job))
        if tasks:
            compute(*tasks, scheduler=scheduler, workers=workers, progress=progress)
    except BaseException:
        rows = gather_failures()
        if rows:  # say what failed, even though the run did not finish
            journal.write_errors(os.path.join(os.path.dirname(staging), journal.ERRORS), rows)
        raise
    done = journal.done_chunks(staging)
    missing = [i for i, _, _ in bounds if i not in done]
    if missing:
        raise InputError(f"tasks {missing[:5]} finished without a record in {staging!r}.")
    failures = sorted(
        open_rows + [f for i, _, _ in bounds for f in done[i]["failed"]], key=lambda r: r["slot"]
    )
    if len(failures) == n:
        journal.write_errors(os.path.join(os.path.dirname(staging), journal.ERRORS), failures)
        raise InputError(
            f"every input failed ({n} of {n}); first: {failures[0]['path']!r}: "
            f"{failures[0]['message']}"
        )
    counts = [c for i, _, _ in bounds for c in done[i]["counts"]]
    if labels is None:
        return None, arrays, 0, failures, None
    names = [done[i]["part"] for i, _, _ in bounds if done[i]["part"]]
    offsets = dict(zip(src.paths, np.cumsum([0, *counts[:-1]]).tolist(), strict=True))

    def with_global(frame):
        glob = frame["label"].to_numpy() + frame["image"].map(offsets).to_numpy(dtype=np.int64)
        frame.insert(2, "global_label", glob.astype(np.int64))
        return frame

    rows = np.zeros(n, np.int64)  # rows per image, filled as the parts are read
    slot = {p: i for i, p in enumerate(src.paths)}

    def parts():
        # one task's rows at a time: the table's size never sits in memory
        if not names:
            columns = _measure_image(np.zeros((1,) * len(shape), np.int32), None, props)
            yield with_global(pd.DataFrame({"image": np.zeros(0, dtype=object), **columns}))
        for name in names:
            frame = journal.read_part(staging, name)
            for path, c in frame["image"].value_counts().items():
                rows[slot[path]] += c
            yield with_global(frame)

    return parts, arrays, max(counts, default=0), failures, rows


def _verify_hashes(paths: Sequence[str], done: dict[int, dict]) -> None:
    """Refuse to resume when a finished task's file has other content now (--verify)."""
    from . import journal

    changed = []
    for rec in done.values():
        for slot, digest in rec["hashes"].items():
            path = paths[int(slot)]
            try:
                now = journal.file_hash(path)
            except OSError:
                now = None
            if now != digest:
                changed.append(path)
    if changed:
        shown = ", ".join(repr(p) for p in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise InputError(
            f"cannot resume: the content of {len(changed)} input file(s) changed since they "
            f"were processed (--verify): {shown}{more}. Hint: run without --resume to start over."
        )


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


def _chain_regions(wf: Workflow, src: Source, k: int, need: set[str]) -> dict | None:
    """The ``need`` outputs of the steps before ``label``, one task per block.

    Each task reads its own region of the input (:func:`volume.streamed_arrays`).
    None when that cannot be (an input not in a file, a step that is not local or
    reads another's output, a ``wrap`` mode): the chain then runs as a graph of
    halo exchanges.
    """
    from . import volume

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
    return volume.streamed_arrays(src.reader, src.data, steps, want)


def _run_volume_two_pass(wf, src, group, staging, plan, scheduler, workers, progress, resume):
    """Label, filter and measure in two bounded passes (see :mod:`.volume`).

    Finished blocks are recorded in ``staging/.volume-journal``; with ``resume`` the
    arrays of the interrupted run are reopened and every recorded block is skipped.
    """
    import shutil

    import zarr

    from . import volume

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
    dtype = _label.label_dtype(mask.shape)
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
    frame, n = volume.label_measure_store(
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
        table_d = _measure.regionprops_delayed(lab, intensity, properties=list(props))
        n_d = lab.max()
    store_d = da.store(sources, targets, lock=False, compute=False) if sources else None
    _, frame, n = compute(
        store_d, table_d, n_d, scheduler=scheduler, workers=workers, progress=progress
    )
    max_label = 0 if n is None else int(n)
    return frame, arrays, max_label


__all__ = [
    "ImagePlan",
    "RunResult",
    "Source",
    "build_graph",
    "check_steps",
    "compute",
    "image_plan",
    "needed_outputs",
    "open_source",
    "resolve_params",
    "run",
]
