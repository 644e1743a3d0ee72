"""The compiled plan's data: the input as the plan sees it, outputs, steps, stages.

Plain frozen data (no computation here); :mod:`.plan` builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._overlap import Step
from ..errors import InputError
from .spec import Workflow

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
    measures : bool
        The stage measures the workflow's regions in its pass (a ``label`` stage whose
        properties are all one-pass sums; a ``measure`` stage).
    """

    kind: str
    step: int | None
    tail: tuple[int, ...]
    roots: tuple[str, ...]
    computes: tuple[str, ...]
    stores: tuple[str, ...]
    halo: tuple[int, ...]
    reason: str
    measures: bool = False


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
    def measures_intensity(self) -> bool:
        """Whether a measured property reads the intensity image (else the labels suffice)."""
        from .. import _regions as R

        return any(R.PROPERTIES[p][1] for p in self.properties if p in R.PROPERTIES)

    @property
    def saved(self) -> tuple[str, ...]:
        """The step outputs saved besides the labels (the labels' step is the labels layer)."""
        return tuple(n for n in self.workflow.save if n != self.labels)

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


__all__ = [
    "BATCH",
    "LOCAL_ROADS",
    "PROBES",
    "SPATIAL",
    "ImageSpec",
    "Output",
    "Plan",
    "PlannedStep",
    "Stage",
    "default_axes",
]
