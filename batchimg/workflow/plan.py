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

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._overlap import Spec, Step, make_step
from ..errors import BatchimgError, InputError, WorkflowError
from . import registry
from .spec import INPUT, Workflow, WorkflowStep

#: Spatial axis letters, in canonical order.
SPATIAL = "zyx"
#: Batch axis letters (time, channel), in canonical order.
BATCH = "tc"
#: Roads of steps that the engines run as chunked local steps.
LOCAL_ROADS = ("local",)
#: Probe inputs for checking a workflow without its input (2-D and 3-D, int and float).
PROBES = (
    ((64, 64), "uint8"),
    ((16, 32, 32), "uint8"),
    ((64, 64), "float32"),
    ((16, 32, 32), "float32"),
)


@dataclass(frozen=True)
class ImageSpec:
    """What a plan knows of its input before any pixel is read.

    Parameters
    ----------
    shape : tuple of int
        The shape of one image of a collection, or of the volume, in ``axes`` order.
    dtype : numpy.dtype
        The pixel type.
    axes : str, optional
        One letter of ``tczyx`` per axis, in that order; default every axis spatial
        (``"yx"``, ``"zyx"``; more than 3 spatial axes are ``"?"``-free letters
        ``zyx`` padded on the left with numbered axes, not supported by OME-Zarr).
    scale : tuple of float, optional
        Physical size of a pixel along each spatial axis (1.0 where unknown).
    unit : str, optional
        The unit of ``scale``.
    channel_names : tuple of str, optional
        One name per channel (the ``c`` axis).
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    axes: str = ""
    scale: tuple[float, ...] | None = None
    unit: str | None = None
    channel_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        axes = self.axes or default_axes(len(shape))
        if len(axes) != len(shape):
            raise InputError(
                f"axes must have one letter per dimension of the input {shape}; got {axes!r}."
            )
        object.__setattr__(self, "axes", axes)
        n = len(self.spatial_shape)
        scale = (1.0,) * n if self.scale is None else tuple(float(s) for s in self.scale)
        if len(scale) != n:
            raise InputError(
                f"scale must have one value per spatial axis ({n}); got {self.scale!r}."
            )
        object.__setattr__(self, "scale", scale)
        if self.channel_names is not None:
            object.__setattr__(self, "channel_names", tuple(self.channel_names))

    @property
    def batch(self) -> str:
        """The batch axes (``t``, ``c``) present."""
        return "".join(a for a in self.axes if a in BATCH)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The sizes of the batch axes."""
        return tuple(s for a, s in zip(self.axes, self.shape, strict=True) if a in BATCH)

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """The sizes of the spatial axes."""
        return tuple(s for a, s in zip(self.axes, self.shape, strict=True) if a not in BATCH)

    @property
    def spatial_axes(self) -> str:
        """The spatial axis letters."""
        return "".join(a for a in self.axes if a not in BATCH)

    @property
    def n_channels(self) -> int:
        """The size of the channel axis (1 without one)."""
        return self.shape[self.axes.index("c")] if "c" in self.axes else 1


def default_axes(ndim: int) -> str:
    """Axis letters for an input that says nothing: every axis spatial.

    Examples
    --------
    >>> default_axes(2), default_axes(3)
    ('yx', 'zyx')
    """
    if ndim <= 3:
        return SPATIAL[3 - ndim :]
    # more than three spatial axes: letters beyond OME's, kept for scipy's meaning
    return "".join(chr(ord("p") + i) for i in range(ndim - 3)) + SPATIAL


@dataclass(frozen=True)
class Output:
    """One image that flows through a workflow: the input or a step's output.

    ``batch`` holds the batch axes it has (``"tc"``, ``"t"``, ``""``); its full shape
    is ``batch_shape + spatial_shape``.
    """

    name: str
    kind: str
    dtype: np.dtype
    batch: str
    batch_shape: tuple[int, ...]
    spatial_shape: tuple[int, ...]
    spatial_axes: str
    step: int | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The output's shape for one image (batch axes then spatial)."""
        return self.batch_shape + self.spatial_shape

    @property
    def axes(self) -> str:
        """The output's axis letters."""
        return self.batch + self.spatial_axes


@dataclass(frozen=True, eq=False)
class PlannedStep:
    """One step of a plan: what it reads, how it is computed, what it gives.

    Parameters
    ----------
    number : int
        The 1-based step number.
    name : str
        The output's name.
    op : str
        The operation.
    source : str
        The output it reads.
    channel : int or None
        The channel of ``source`` it reads (None: every channel, one at a time).
    params : mapping
        The resolved keyword arguments (structures as arrays).
    road : str
        ``local``, ``per-image``, ``statistic``, ``components`` or ``regions``.
    kernel : callable
        ``kernel(image) -> image`` on one in-memory spatial image (for ``regions``
        steps that read intensities, ``kernel(labels, intensity)``).
    output : Output
        What it gives.
    step : Step or None
        For ``local`` steps: the chunked step (kernel, depth, dtype).
    method : tuple, optional
        For ``statistic`` and ``per-image`` steps: ``(method, percentile)``.
    intensity : str, optional
        For ``regions`` steps whose filter names intensity columns: the output they
        measure.
    consumes_channels : bool
        True for a step that turns the channel axis into one image (``rgb_to_gray``).
    """

    number: int
    name: str
    op: str
    source: str
    channel: int | None
    params: Mapping[str, Any]
    road: str
    kernel: Callable[..., np.ndarray]
    output: Output
    step: Step | None = None
    method: tuple | None = None
    intensity: str | None = None
    consumes_channels: bool = False

    def describe(self) -> str:
        """``op(k=v, ...)`` as written in the workflow."""
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.op}({args})"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<{'x'.join(map(str, value.shape))} {value.dtype}>"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


@dataclass(frozen=True)
class Stage:
    """One pass structure of the volume engine (see :func:`volume_stages`).

    Parameters
    ----------
    kind : str
        ``statistic`` (reduce a histogram of ``target``'s input, resolving the step),
        ``components`` (per-block components merged across blocks; pass 1, resolve,
        pass 2), ``regions`` (per-label statistics then a relabelling), ``write``
        (materialise outputs computed by local steps), ``measure`` (one pass of
        partial sums over the stored labels).
    step : int or None
        The step the stage is for (its number).
    tail : tuple of int
        Region filters run in the same resolve (a ``label`` stage's filters).
    roots : tuple of str
        The stored outputs the stage's tasks read (with a halo).
    computes : tuple of str
        Outputs its tasks compute on the way with local steps.
    stores : tuple of str
        Outputs the stage writes to stores.
    halo : tuple of int
        The halo its tasks read around each block, per spatial axis.
    reason : str
        Why the stage exists, in words.
    """

    kind: str
    step: int | None
    tail: tuple[int, ...]
    roots: tuple[str, ...]
    computes: tuple[str, ...]
    stores: tuple[str, ...]
    halo: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Plan:
    """A workflow compiled against its input (see the module docstring).

    Parameters
    ----------
    workflow : Workflow
        The workflow.
    image : ImageSpec
        The input: one image of a collection, or the volume.
    kind : {"collection", "volume"}
        How it runs.
    steps : tuple of PlannedStep
        The steps, in order.
    outputs : mapping
        Output name -> :class:`Output`, ``"input"`` first.
    labels : str or None
        The output that is the label image.
    intensity : str
        The output intensity properties measure.
    properties : tuple of str
        The measured properties (empty without labels).
    table : tuple of (str, numpy.dtype)
        The measurement table's columns and dtypes, in order (empty without labels).
    need : frozenset of str
        The outputs a run must materialise (saved ones, the labels, the intensity).
    halo : tuple of int
        The summed depth of the local steps per spatial axis.
    itemsize : int
        The widest itemsize among the input and the outputs.
    stages : tuple of Stage
        For volumes: the passes, in order.
    engine : str
        ``"collection"`` or ``"volume"``.
    reason : str
        Why that engine, in words.
    """

    workflow: Workflow
    image: ImageSpec
    kind: str
    steps: tuple[PlannedStep, ...]
    outputs: Mapping[str, Output]
    labels: str | None
    intensity: str
    properties: tuple[str, ...]
    table: tuple[tuple[str, np.dtype], ...]
    need: frozenset[str]
    halo: tuple[int, ...]
    itemsize: int
    stages: tuple[Stage, ...] = field(default=())
    engine: str = "collection"
    reason: str = ""

    def step(self, name: str) -> PlannedStep:
        """The planned step whose output is ``name``."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def saved(self) -> tuple[str, ...]:
        """The step outputs saved besides the labels."""
        return self.workflow.save

    def describe(self) -> list[str]:
        """The plan in lines of text (for ``batchimg validate`` and the logs)."""
        image = self.image
        lines = [
            f"input: {self.kind} of {image.axes} {image.shape} {image.dtype}"
            + (f", channels {list(image.channel_names)}" if image.channel_names else "")
        ]
        for s in self.steps:
            o = s.output
            reads = s.source + (f"[c={s.channel}]" if s.channel is not None else "")
            depth = f", depth {s.step.depth}" if s.step is not None and any(s.step.depth) else ""
            lines.append(
                f"step {s.number} {s.describe()}: {s.road}, reads {reads}, gives {o.kind} "
                f"{o.axes} {o.dtype}{depth}"
            )
        lines.append(f"engine: {self.engine} ({self.reason})")
        for i, st in enumerate(self.stages, 1):
            lines.append(f"stage {i}: {st.kind} - {st.reason}")
        return lines


# ---------------------------------------------------------------------------
# parameters and kernels


def _operated_ndim(params: Mapping, ndim: int) -> int:
    axes = params.get("axes")
    if axes is None:
        return ndim
    return len(np.atleast_1d(axes))


def resolve_params(op: registry.Op, params: Mapping, ndim: int) -> dict:
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


def _greater(image: np.ndarray, *, t: Any) -> np.ndarray:
    return image > t


def _call(image: np.ndarray, *, func: Callable, params: Mapping) -> np.ndarray:
    """Run a public batchimg function on one in-memory image, computing in place."""
    result = func(image, **params)
    if isinstance(result, tuple):
        result = result[0]
    if hasattr(result, "compute"):
        result = result.compute(scheduler="sync")
    return np.asarray(result)


def _label_kernel(image: np.ndarray, *, structure: Any, dtype: np.dtype) -> np.ndarray:
    import scipy.ndimage as ndi

    out = np.empty(image.shape, dtype)
    ndi.label(image, structure, output=out)
    return out


def _threshold_kernel(image: np.ndarray, *, method: str, percentile: Any) -> np.ndarray:
    return image > image_threshold(image, method, percentile)


def image_threshold(image: np.ndarray, method: str, percentile: Any) -> Any:
    """The threshold of one in-memory image, as scikit-image (or numpy) computes it."""
    if method == "otsu":
        from skimage.filters import threshold_otsu

        return threshold_otsu(image)
    if method == "mean":
        return np.mean(image)
    return np.percentile(image, percentile)


def _gray_kernel(image: np.ndarray) -> np.ndarray:
    """Grey levels of a channel-first RGB(A) image, as ``skimage.color.rgb2gray``."""
    from ..io import to_gray

    return to_gray(np.moveaxis(image, 0, -1))


def _fill_holes_kernel(image: np.ndarray, *, structure: Any = None) -> np.ndarray:
    import scipy.ndimage as ndi

    return ndi.binary_fill_holes(image, structure)


def _propagation_kernel(image, *, structure=None, border_value=0) -> np.ndarray:
    import scipy.ndimage as ndi

    return ndi.binary_propagation(image, structure, border_value=border_value)


def _reconstruct_kernel(image, *, structure=None, iterations=1) -> np.ndarray:
    import scipy.ndimage as ndi

    from .. import label as L

    image = image != 0
    s = L.normalize_structure(structure, image.ndim)
    eroded = ndi.binary_erosion(image, s, iterations=iterations)
    return ndi.binary_propagation(eroded, s, mask=image)


def _clear_border_kernel(image, *, buffer_size=0, bgval=0) -> np.ndarray:
    from skimage.segmentation import clear_border

    return clear_border(image, buffer_size=buffer_size, bgval=bgval)


def _filter_kernel(labels, intensity=None, *, where: str, spacing: Any = None) -> np.ndarray:
    from ..measure import filter_regions_image

    return filter_regions_image(labels, where, intensity, spacing=spacing)


_COMPONENT_KERNELS = {
    "binary_fill_holes": _fill_holes_kernel,
    "binary_propagation": _propagation_kernel,
    "reconstruct_by_propagation": _reconstruct_kernel,
    "clear_border": _clear_border_kernel,
}


def _probe(shape: tuple[int, ...], dtype: np.dtype):
    import dask.array as da

    return da.zeros(shape, dtype=dtype, chunks=shape)


def _check_call(op: registry.Op, params: Mapping, shape, dtype) -> np.dtype:
    """Build (not compute) the public function on a lazy stand-in: its checks run."""
    result = op.func(_probe(shape, dtype), **params)
    if isinstance(result, tuple):
        result = result[0]
    return np.dtype(result.dtype)


def _channel_index(channel: str | int, names: Sequence[str] | None, size: int) -> int:
    from .._params import did_you_mean

    if isinstance(channel, str):
        if names is None:
            raise InputError(
                f"channel {channel!r} names a channel, but the input's channels have no "
                f"names; use an index in [0, {size - 1}] or give channel_names."
            )
        if channel not in names:
            raise InputError(
                f"channel must be one of the input's channels {list(names)}; got "
                f"{channel!r}.{did_you_mean(channel, names)}"
            )
        return list(names).index(channel)
    if not -size <= channel < size:
        raise InputError(f"channel must be in [0, {size - 1}]; got {channel!r}.")
    return channel % size


# ---------------------------------------------------------------------------
# compiling


def _plan_step(
    number: int,
    s: WorkflowStep,
    src_name: str,
    source: Output,
    kind: str,
    image: ImageSpec,
    intensity: str,
) -> PlannedStep:
    op = registry.operations()[s.op]
    batch, batch_shape = source.batch, source.batch_shape
    channel = None
    if s.channel is not None:
        if "c" not in batch:
            raise InputError(
                f"channel {s.channel!r} needs an input with a channel axis; {src_name!r} has "
                f"axes {source.axes!r}."
            )
        k = batch.index("c")
        channel = _channel_index(s.channel, image.channel_names, batch_shape[k])
        batch, batch_shape = batch.replace("c", ""), batch_shape[:k] + batch_shape[k + 1 :]
    shape, dtype = source.spatial_shape, source.dtype
    n = len(shape)
    params = resolve_params(op, s.params, n)

    def out(kind_: str, dtype_: Any, batch_=batch, batch_shape_=batch_shape) -> Output:
        return Output(
            s.name,
            kind_,
            np.dtype(dtype_),
            batch_,
            batch_shape_,
            shape,
            source.spatial_axes,
            number,
        )

    gives = lambda: source.kind if op.gives == "same" else op.gives  # noqa: E731
    common = dict(
        number=number, name=s.name, op=s.op, source=src_name, channel=channel, params=params
    )
    if s.op == "rgb_to_gray":
        if channel is not None or "c" not in batch:
            raise InputError(
                f"rgb_to_gray needs all channels of an RGB(A) input (axis 'c' of size 3 or 4); "
                f"{src_name!r} has axes {source.axes!r}."
            )
        k = batch.index("c")
        if batch_shape[k] not in (3, 4):
            raise InputError(
                f"rgb_to_gray needs 3 or 4 channels; {src_name!r} has {batch_shape[k]}."
            )
        if params:
            raise InputError(f"rgb_to_gray takes no parameters; got {dict(params)!r}.")
        o = out("grey", np.float64, batch.replace("c", ""), batch_shape[:k] + batch_shape[k + 1 :])
        step = make_step(
            "rgb_to_gray",
            _gray_kernel,
            ndim=n,
            axes=tuple(range(n)),
            reach=(0,) * n,
            modes=("constant",) * n,
            dtype=np.float64,
            params=("rgb_to_gray",),
        )
        return PlannedStep(
            **common, road="local", kernel=_gray_kernel, output=o, step=step, consumes_channels=True
        )
    if op.local:
        step = op.func.step(Spec(n, dtype, shape), **params)
        return PlannedStep(
            **common, road="local", kernel=step.kernel, output=out(gives(), step.dtype), step=step
        )
    if s.op == "threshold":
        _check_call(op, params, shape, dtype)
        value, method = params.get("value"), params.get("method")
        if method is None:
            step = make_step(
                "threshold",
                functools.partial(_greater, t=value),
                ndim=n,
                axes=tuple(range(n)),
                reach=(0,) * n,
                modes=("constant",) * n,
                dtype=bool,
                params=(value,),
            )
            return PlannedStep(
                **common, road="local", kernel=step.kernel, output=out("binary", bool), step=step
            )
        per_image = params.get("per_image")
        if per_image is None:
            per_image = kind == "collection"
        m = (method, params.get("percentile"))
        kernel = functools.partial(_threshold_kernel, method=m[0], percentile=m[1])
        if params.get("axes") is not None and kind == "volume":
            raise InputError(
                "threshold axes= (thresholds per sub-image) is not supported in a volume "
                "workflow; use per_image: false (one threshold per volume) or run the "
                "planes as a collection."
            )
        road = "per-image" if per_image and kind == "collection" else "statistic"
        if per_image and kind == "volume":
            road = "statistic"  # one spatial image per (t, c): the same thing
        return PlannedStep(**common, road=road, kernel=kernel, output=out("binary", bool), method=m)
    if s.op == "label":
        from .. import label as L

        _check_call(op, params, shape, dtype)
        if params.get("axes") is not None:
            raise InputError(
                "label axes= is not a workflow parameter: workflows label each spatial image "
                "(never across time points or channels) already; remove axes."
            )
        structure = L.normalize_structure(params.get("structure"), n)
        ldtype = L.label_dtype(shape)
        kernel = functools.partial(_label_kernel, structure=structure, dtype=ldtype)
        params = {**params, "structure": structure}
        common["params"] = params
        return PlannedStep(**common, road="components", kernel=kernel, output=out("labels", ldtype))
    if s.op in _COMPONENT_KERNELS:
        odtype = _check_call(op, params, shape, dtype)
        kernel = functools.partial(_COMPONENT_KERNELS[s.op], **params)
        return PlannedStep(**common, road="components", kernel=kernel, output=out(gives(), odtype))
    if s.op in ("filter_regions", "remove_small_objects"):
        from .. import _regions as R

        _check_call(op, params, shape, dtype) if s.op == "remove_small_objects" else None
        if s.op == "remove_small_objects":
            where, spacing = f"area >= {int(params.get('min_size', 64))}", None
        else:
            where, spacing = params.get("where", "area > 10"), params.get("spacing")
        node = R.parse_where(where)
        needs_image = any(R.PROPERTIES[p][1] for p in R.filter_properties(n, True, node))
        if not needs_image:
            _check_call(op, params, shape, dtype)
        kernel = functools.partial(_filter_kernel, where=where, spacing=spacing)
        common["params"] = {"where": where, "spacing": spacing}
        return PlannedStep(
            **common,
            road="regions",
            kernel=kernel,
            output=out("labels", dtype),
            intensity=intensity if needs_image else None,
        )
    if s.op == "rescale":
        odtype = _check_call(op, params, shape, dtype)
        ranges = (params.get("in_range", "image"), params.get("out_range", "dtype"))
        kernel = functools.partial(_call, func=op.func, params=params)
        if "image" in ranges:
            road = "per-image" if kind == "collection" else "statistic"
            return PlannedStep(
                **common,
                road=road,
                kernel=kernel,
                output=out("grey", odtype),
                method=("range", None),
            )
        step = make_step(
            "rescale",
            kernel,
            ndim=n,
            axes=tuple(range(n)),
            reach=(0,) * n,
            modes=("constant",) * n,
            dtype=odtype,
            params=tuple(sorted((k, str(v)) for k, v in params.items())),
        )
        return PlannedStep(
            **common, road="local", kernel=kernel, output=out("grey", odtype), step=step
        )
    # point operations: pointwise, any chunking
    odtype = _check_call(op, params, shape, dtype)
    kernel = functools.partial(_call, func=op.func, params=params)
    step = make_step(
        s.op,
        kernel,
        ndim=n,
        axes=tuple(range(n)),
        reach=(0,) * n,
        modes=("constant",) * n,
        dtype=odtype,
        params=tuple(sorted((k, str(v)) for k, v in params.items())),
    )
    return PlannedStep(
        **common, road="local", kernel=kernel, output=out(gives(), odtype), step=step
    )


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
            ps = _plan_step(number, s, src, outputs[src], kind, image, intensity)
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


# ---------------------------------------------------------------------------
# running steps on in-memory images


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


# ---------------------------------------------------------------------------
# volume stages


def volume_stages(plan: Plan) -> tuple[Stage, ...]:
    """Split a volume plan into bounded stages.

    Every output is either *stored* (the input, or an array some stage wrote) or
    computed on the way by local steps from stored ones. A ``statistic``,
    ``components`` or ``regions`` step needs its input whole, so its stage reads
    stored roots and computes the local steps in between in its own tasks; what a
    later stage or the results need is stored. A ``label`` step takes the region
    filters that follow it (nothing else reading the raw labels) into its resolve,
    and measures the regions there when its labels are the workflow's.
    """
    by_name = {s.name: s for s in plan.steps}
    stored = {INPUT}
    stages: list[Stage] = []
    consumers: dict[str, list[str]] = {}
    for s in plan.steps:
        consumers.setdefault(s.source, []).append(s.name)
        if s.intensity:
            consumers.setdefault(s.intensity, []).append(s.name)

    def path_to_root(name: str) -> list[str]:
        """Local steps between ``name`` and the stored outputs it comes from (in order)."""
        chain: list[str] = []
        todo = [name]
        while todo:
            n = todo.pop()
            if n in stored or n in chain:
                continue
            st = by_name[n]
            if st.road not in LOCAL_ROADS:
                raise AssertionError(f"{n} is not computed yet")  # pragma: no cover
            chain.append(n)
            todo.append(st.source)
        return sorted(chain, key=lambda n: by_name[n].number)

    def halo_of(names: Sequence[str], extra: Sequence[str] = ()) -> tuple[int, ...]:
        """The halo the stage's tasks read: the deepest sum of depths to a root."""
        nsp = len(plan.image.spatial_shape)
        need: dict[str, list[int]] = {n: [0] * nsp for n in [*names, *extra]}
        for n in sorted(path_to_root_all(names, extra), key=lambda n: -by_name[n].number):
            st = by_name[n]
            mine = need.get(n, [0] * nsp)
            up = [m + d for m, d in zip(mine, st.step.depth, strict=True)]
            prev = need.get(st.source, [0] * nsp)
            need[st.source] = [max(a, b) for a, b in zip(prev, up, strict=True)]
        roots = [need.get(r, [0] * nsp) for r in stored]
        return tuple(max(col) if col else 0 for col in zip(*roots, strict=True)) if roots else ()

    def path_to_root_all(names, extra=()):
        chain: list[str] = []
        for n in [*names, *extra]:
            for m in path_to_root(n):
                if m not in chain:
                    chain.append(m)
        return chain

    def roots_of(names: Sequence[str]) -> tuple[str, ...]:
        out = []
        for n in names:
            todo = [n]
            while todo:
                m = todo.pop()
                if m in stored:
                    if m not in out:
                        out.append(m)
                    continue
                todo.append(by_name[m].source)
        return tuple(out)

    handled: set[str] = set()
    steps = list(plan.steps)
    i = 0
    while i < len(steps):
        s = steps[i]
        i += 1
        if s.name in handled or s.road in LOCAL_ROADS:
            continue
        inputs = [s.source] + ([s.intensity] if s.intensity else [])
        if s.road == "statistic":
            # the step's input is stored first when it is computed (its blocks feed
            # both the histogram and the steps after the threshold)
            if s.source not in stored:
                chain = path_to_root(s.source)
                stages.append(
                    Stage(
                        "write",
                        None,
                        (),
                        roots_of([s.source]),
                        tuple(chain),
                        (s.source,),
                        halo_of([s.source]),
                        f"store {s.source!r} for the statistic of step {s.number}",
                    )
                )
                stored.add(s.source)
            stages.append(
                Stage(
                    "statistic",
                    s.number,
                    (),
                    (s.source,),
                    (),
                    (),
                    (0,) * len(plan.halo),
                    f"step {s.number} {s.op}: one {s.method[0]} threshold per "
                    "volume from a histogram of its input",
                )
            )
            # resolved: the threshold is now a local step
            by_name[s.name] = _planning_local(s)
            steps[i - 1] = by_name[s.name]
            continue
        tail: list[int] = []
        last = s
        if s.op == "label":
            # region filters right after the label step join its resolve
            j = i
            while j < len(steps) and steps[j].road == "regions" and steps[j].source == last.name:
                if len(consumers.get(last.name, [])) != 1 or last.name in plan.need:
                    break
                tail.append(steps[j].number)
                inputs += [steps[j].intensity] if steps[j].intensity else []
                last = steps[j]
                handled.add(last.name)
                j += 1
        kind = "components" if s.road == "components" else "regions"
        measured = plan.labels == last.name
        computes = path_to_root_all([n for n in inputs if n not in stored])
        if measured and plan.intensity not in stored and plan.intensity not in computes:
            computes += [n for n in path_to_root(plan.intensity) if n not in computes]
        extra = [plan.intensity] if measured else []
        saved = tuple(n for n in computes if n in plan.need)
        stages.append(
            Stage(
                kind,
                s.number,
                tuple(tail),
                roots_of(inputs + extra),
                tuple(computes),
                (*saved, last.name),
                halo_of(inputs, extra),
                f"step {s.number} {s.op}"
                + (f" with the region filter(s) of step(s) {tail}" if tail else "")
                + (
                    ": per-block components merged across blocks"
                    if kind == "components"
                    else ": per-label statistics, then a relabelling"
                )
                + ("; the regions are measured in the same pass" if measured else ""),
            )
        )
        stored.update(saved)
        stored.add(last.name)
        handled.add(s.name)
    # what remains to be written: needed outputs still computed on the way
    rest = [n for n in sorted(plan.need, key=lambda n: by_name[n].number) if n not in stored]
    if rest:
        chain = path_to_root_all(rest)
        stages.append(
            Stage(
                "write",
                None,
                (),
                roots_of(rest),
                tuple(chain),
                tuple(rest),
                halo_of(rest),
                f"compute and store {', '.join(map(repr, rest))}",
            )
        )
        stored.update(rest)
    if plan.labels is not None and not any(
        st.kind in ("components", "regions")
        and plan.labels in st.stores
        and plan.step(plan.labels).number in (st.step, *st.tail)
        for st in stages
    ):
        stages.append(
            Stage(
                "measure",
                None,
                (),
                (plan.labels, plan.intensity),
                (),
                (),
                (0,) * len(plan.halo),
                "measure the final labels in one pass",
            )
        )
    return tuple(stages)


def _planning_local(s: PlannedStep) -> PlannedStep:
    """A statistic step as the stage planner sees it once resolved: pointwise, depth 0."""
    from dataclasses import replace

    n = len(s.output.spatial_shape)
    step = make_step(
        s.op,
        s.kernel,
        ndim=n,
        axes=tuple(range(n)),
        reach=(0,) * n,
        modes=("constant",) * n,
        dtype=s.output.dtype,
        params=(s.name, "planned"),
    )
    return replace(s, step=step, road="local")


def make_threshold_step(s: PlannedStep, value: Any) -> PlannedStep:
    """A ``statistic`` step resolved with its computed ``value``, as a ``local`` step.

    A threshold becomes ``image > value``; a rescale with ``"image"`` ranges takes
    ``value = (min, max)`` of the whole input in their place.
    """
    from dataclasses import replace

    from .. import point

    n = len(s.output.spatial_shape)
    if s.op == "threshold":
        kernel = functools.partial(_greater, t=value)
    else:
        lo, hi = value
        params = dict(s.params)
        for key in ("in_range", "out_range"):
            if params.get(key, "image" if key == "in_range" else "dtype") == "image":
                params[key] = (float(lo), float(hi))
        kernel = functools.partial(_call, func=point.rescale, params=params)
    step = make_step(
        s.op,
        kernel,
        ndim=n,
        axes=tuple(range(n)),
        reach=(0,) * n,
        modes=("constant",) * n,
        dtype=s.output.dtype,
        params=(s.name, repr(value)),
    )
    return replace(s, step=step, kernel=kernel, road="local")


def statistic_for(s: PlannedStep, dtype: Any):
    """The pass-by-pass reducer of a ``statistic`` step (see :mod:`batchimg.point`)."""
    from .. import point

    if s.op == "threshold":
        return point.GlobalThreshold(s.method[0], s.method[1], dtype)
    return point.GlobalRange(dtype)


# ---------------------------------------------------------------------------
# checking without the input


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
    """Estimated bytes a running block holds per overlapped voxel (all channels)."""
    channels = plan.image.n_channels
    return 8.0 * plan.itemsize * channels + 8.0


def overlapped(block: Sequence[int], halo: Sequence[int], shape: Sequence[int]) -> int:
    """Voxels of a block grown by ``halo`` (not past the array)."""
    return math.prod(
        min(c + 2 * h, n) if c < n else c for c, h, n in zip(block, halo, shape, strict=True)
    )


__all__ = [
    "make_threshold_step",
    "statistic_for",
    "apply_step",
    "intensity_for",
    "run_image",
    "BATCH",
    "SPATIAL",
    "ImageSpec",
    "Output",
    "Plan",
    "PlannedStep",
    "Stage",
    "check",
    "compile_plan",
    "default_axes",
    "image_threshold",
    "resolve_params",
    "volume_halo",
    "volume_stages",
]
