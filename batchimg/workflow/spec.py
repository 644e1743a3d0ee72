"""Workflow files: YAML -> frozen dataclasses. Plain data: nothing here runs anything.

A workflow file::

    name: ascent-edges
    input: {axes: yx}            # optional: what the input is (see InputSection)
    steps:
      - gaussian_filter: {sigma: 3}
      - gaussian_gradient_magnitude: {sigma: 3}
      - threshold: {value: 10}
      - binary_opening: {structure: {shape: [3, 3]}}
      - label: {}
      - filter_regions: {where: "area > 10"}
    measure: [area, centroid, bbox]
    save: [gaussian_filter]

Each step is ``operation: {parameters}``; the operation is a public batchimg
function and the parameters are its keyword arguments. A structure or footprint is
written ``{shape: [3, 3]}`` (all ones), ``{connectivity: k}``
(``generate_binary_structure(ndim, k)``) or a nested list. Steps form a chain; two
reserved parameters change what a step reads: ``from`` names the workflow's
``input`` or an earlier step's output instead of the previous step's (``median_filter:
{size: 3, from: input}``), and ``channel`` picks one channel of it, by name or index
(``threshold: {method: otsu, channel: nuclei}``). A step's output is called by its
operation's name; an operation used twice is called ``name``, ``name_2``,
``name_3``... in order, and ``save:`` and ``from`` use those names. ``measure:``
lists region properties (scikit-image names, see :data:`batchimg.measure.PROPERTIES`;
``label`` is always included); intensity properties measure the workflow's input
image, every channel of it.

Building a :class:`Workflow` checks its structure (keys, names, ``from``, the kinds
of images that flow between steps, property names). Everything that needs the
parameters' values is checked when the workflow is compiled into a plan
(:func:`batchimg.workflow.check`), still before any pixel is read.
"""

from __future__ import annotations

import hashlib
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from .._params import did_you_mean
from ..errors import InputNotFoundError, WorkflowError
from . import registry

#: The name ``from`` uses for the workflow's input image.
INPUT = "input"
#: Parameters every step may take besides its operation's own.
RESERVED = ("from", "channel")
_TOP_KEYS = ("name", "input", "steps", "measure", "save")
_INPUT_KEYS = ("axes", "scale", "unit", "channel_names", "gray")


@dataclass(frozen=True)
class InputSection:
    """What the workflow says about its input (the ``input:`` section); all optional.

    Parameters
    ----------
    axes : str, optional
        The input's axes, letters of ``tczyx`` (``"czyx"``, ``"yxc"``...).
    scale : tuple of float, optional
        Physical size of a pixel along each spatial axis.
    unit : str, optional
        The unit of ``scale`` (``"micrometer"``).
    channel_names : tuple of str, optional
        One name per channel.
    gray : bool
        Convert RGB(A) images to grey levels as they are read (scikit-image's
        ``rgb2gray``).
    """

    axes: str | None = None
    scale: tuple[float, ...] | None = None
    unit: str | None = None
    channel_names: tuple[str, ...] | None = None
    gray: bool = False

    def as_options(self) -> dict[str, Any]:
        """The reader options these settings stand for (those that are set)."""
        out: dict[str, Any] = {}
        for key in ("axes", "scale", "unit", "channel_names"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.gray:
            out["gray"] = True
        return out


@dataclass(frozen=True)
class WorkflowStep:
    """One step of a workflow.

    Parameters
    ----------
    op : str
        The operation (a public function's name, see ``batchimg ops``).
    params : mapping
        Its parameters, as written in the workflow (YAML values).
    source : str, optional
        The output this step reads (``"input"`` or an earlier step's name); None
        reads the previous step's output.
    channel : str or int, optional
        The one channel of that output the step reads (a name or an index).
    name : str, optional
        The step's output name (set by :class:`Workflow`: ``op``, ``op_2``...).
    """

    op: str
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    channel: str | int | None = None
    name: str = ""

    def describe(self) -> str:
        """Return ``op(k=v, ...)`` for titles and listings."""
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.op}({args})"


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _as_step(item: Any, number: int, source: str) -> WorkflowStep:
    if isinstance(item, WorkflowStep):
        return item
    if not isinstance(item, Mapping) or len(item) != 1:
        raise WorkflowError(
            f"a step must be a mapping with one operation, like 'gaussian_filter: {{sigma: 2}}'; "
            f"got {item!r}.",
            source=source,
            step=number,
        )
    ((op, params),) = item.items()
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise WorkflowError(
            f"parameters must be a mapping like {{sigma: 2}}; got {params!r}.",
            source=source,
            step=number,
            step_name=str(op),
        )
    params = dict(params)
    src = params.pop("from", None)
    channel = params.pop("channel", None)
    return WorkflowStep(str(op), params, src, channel)


def _input_section(value: Any, source: str) -> InputSection:
    if value is None:
        return InputSection()
    if isinstance(value, InputSection):
        return value
    if not isinstance(value, Mapping):
        raise WorkflowError(
            f"input must be a mapping like {{axes: czyx, scale: [2.0, 0.5, 0.5]}}; got {value!r}.",
            source=source,
        )
    for key in value:
        if key not in _INPUT_KEYS:
            raise WorkflowError(
                f"unknown input key {key!r}; input takes {', '.join(_INPUT_KEYS)}."
                f"{did_you_mean(key, _INPUT_KEYS)}",
                source=source,
            )
    axes = value.get("axes")
    if axes is not None and (not isinstance(axes, str) or not axes):
        raise WorkflowError(
            f"input axes must be a string like 'czyx'; got {axes!r}.", source=source
        )
    scale = value.get("scale")
    if scale is not None:
        if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
            scale = [scale]
        if (
            not isinstance(scale, Sequence)
            or isinstance(scale, str)
            or not all(
                isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0 for s in scale
            )
        ):
            raise WorkflowError(
                f"input scale must be a list of positive numbers, one per spatial axis; "
                f"got {value.get('scale')!r}.",
                source=source,
            )
        scale = tuple(float(s) for s in scale)
    unit = value.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise WorkflowError(
            f"input unit must be a string like 'micrometer'; got {unit!r}.", source=source
        )
    names = value.get("channel_names")
    if names is not None:
        if (
            not isinstance(names, Sequence)
            or isinstance(names, str)
            or not all(isinstance(n, str) for n in names)
        ):
            raise WorkflowError(
                f"input channel_names must be a list of names; got {names!r}.", source=source
            )
        names = tuple(names)
    gray = value.get("gray", False)
    if not isinstance(gray, bool):
        raise WorkflowError(f"input gray must be true or false; got {gray!r}.", source=source)
    return InputSection(axes, scale, unit, names, gray)


@dataclass(frozen=True)
class Workflow:
    """A workflow: a named chain of steps, measurements and saved outputs (plain data).

    Building one checks its structure: unknown operations and parameter names,
    ill-typed values, ``from`` naming no earlier output, a binary operation on a
    float image with no threshold, measuring without a ``label`` step, ``save``
    naming no step, unknown properties. The parameters' values are checked against
    the operations when the workflow is compiled (:func:`batchimg.workflow.check`).

    Parameters
    ----------
    name : str
        The workflow's name.
    steps : sequence
        :class:`WorkflowStep` objects, or ``{operation: {parameters}}`` mappings.
    measure : sequence of str, optional
        Region properties for the table (``label`` is always included).
    save : sequence of str, optional
        Step outputs to keep in ``result.zarr`` besides the labels.
    input : InputSection or mapping, optional
        What the input is (axes, scale, unit, channel names).
    source : str, optional
        Where the workflow came from (a file path), for error messages.
    text : str, optional
        The workflow's text, recorded with the results.

    Raises
    ------
    WorkflowError
        For any invalid part, naming the source, the step number and its name.

    Examples
    --------
    >>> wf = Workflow("demo", [{"gaussian_filter": {"sigma": 1}}, {"threshold": {"value": 5}},
    ...                        {"label": {}}], measure=["area"])
    >>> [s.name for s in wf.steps], wf.measure
    (['gaussian_filter', 'threshold', 'label'], ('label', 'area'))
    """

    name: str
    steps: tuple[WorkflowStep, ...]
    measure: tuple[str, ...] = ()
    save: tuple[str, ...] = ()
    input: InputSection = field(default_factory=InputSection)
    source: str = "<workflow>"
    text: str | None = None

    def __post_init__(self) -> None:
        src = self.source
        if not isinstance(self.name, str) or not self.name.strip():
            raise WorkflowError(f"name must be a non-empty string; got {self.name!r}.", source=src)
        if isinstance(self.steps, str | Mapping) or not isinstance(self.steps, Sequence):
            raise WorkflowError(
                f"steps must be a list of operations; got {self.steps!r}.", source=src
            )
        if not self.steps:
            raise WorkflowError("steps must list at least one operation; got [].", source=src)
        steps = [_as_step(item, i + 1, src) for i, item in enumerate(self.steps)]
        seen: dict[str, int] = {}
        named = []
        for s in steps:
            seen[s.op] = seen.get(s.op, 0) + 1
            name = s.op if seen[s.op] == 1 else f"{s.op}_{seen[s.op]}"
            named.append(WorkflowStep(s.op, dict(s.params), s.source, s.channel, name))
        object.__setattr__(self, "steps", tuple(named))
        for key in ("measure", "save"):
            value = getattr(self, key)
            if value is None:
                value = ()
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
                raise WorkflowError(f"{key} must be a list of names; got {value!r}.", source=src)
            object.__setattr__(self, key, tuple(dict.fromkeys(value)))
        if self.measure and "label" not in self.measure:
            object.__setattr__(self, "measure", ("label", *self.measure))
        object.__setattr__(self, "input", _input_section(self.input, src))
        _check_structure(self)

    @property
    def label_step(self) -> WorkflowStep | None:
        """The step whose output is the workflow's label image (the last label-giving one)."""
        ops = registry.operations()
        last = None
        for s in self.steps:
            if ops[s.op].gives == "labels":
                last = s
        return last

    def sources(self) -> list[str]:
        """The output each step reads, in step order (``"input"`` or a step's name)."""
        out = []
        previous = INPUT
        for s in self.steps:
            out.append(s.source if s.source is not None else previous)
            previous = s.name
        return out

    def with_save(self, extra: Sequence[str]) -> Workflow:
        """The same workflow saving ``extra`` step outputs as well."""
        more = tuple(s for s in extra if s not in self.save)
        return replace(self, save=self.save + more) if more else self

    def record(self) -> dict[str, Any]:
        """The parts of the workflow that shape its results, as plain JSON values."""
        import json

        steps = [[s.op, dict(s.params), s.source, s.channel] for s in self.steps]
        rec = {
            "name": self.name,
            "steps": steps,
            "measure": list(self.measure),
            "save": list(self.save),
            "input": self.input.as_options(),
        }
        return json.loads(json.dumps(rec, default=str))

    def fingerprint(self) -> str:
        """Return a hash of the workflow's content (steps, measure, save, input, name)."""
        import json

        text = json.dumps(self.record(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        """Return the workflow as YAML text (its original text when loaded from a file)."""
        if self.text is not None:
            return self.text
        steps = []
        for s in self.steps:
            params = dict(s.params)
            if s.source is not None:
                params["from"] = s.source
            if s.channel is not None:
                params["channel"] = s.channel
            steps.append({s.op: params})
        doc: dict[str, Any] = {"name": self.name}
        if self.input.as_options():
            doc["input"] = {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in self.input.as_options().items()
            }
        doc["steps"] = steps
        if self.measure:
            doc["measure"] = list(self.measure)
        if self.save:
            doc["save"] = list(self.save)
        return yaml.safe_dump(doc, sort_keys=False)


def _check_structure(wf: Workflow) -> None:
    """Check names, parameters' types, ``from``/``channel`` and the kinds along the chain."""
    ops = registry.operations()
    src = wf.source
    names = [INPUT]
    kinds = {INPUT: ("any", 0, "")}  # output name -> (kind, step number, op)
    previous = INPUT
    has_label = False
    for number, s in enumerate(wf.steps, 1):

        def fail(message: str, s=s, number=number) -> WorkflowError:
            return WorkflowError(message, source=src, step=number, step_name=s.op)

        op = ops.get(s.op)
        if op is None:
            hint = did_you_mean(s.op, list(ops)).replace(" Did", " did")
            raise fail(
                f"unknown operation;{hint}" if hint else "unknown operation; see 'batchimg ops'."
            )
        allowed = [p.name for p in op.params]
        for key, value in s.params.items():
            param = op.param(key)
            if param is None:
                hint = did_you_mean(key, allowed + list(RESERVED)).replace(" Did", " did")
                takes = ", ".join(allowed + list(RESERVED))
                raise fail(f"unknown parameter {key!r};{hint or ''} {s.op} takes {takes}.")
            expected = registry.check_value(param, value)
            if expected is not None:
                raise fail(f"{key} must be {expected}; got {value!r}.")
        for p in op.params:
            if p.required and p.name not in s.params:
                raise fail(f"parameter {p.name!r} is required; got none.")
        reads = s.source if s.source is not None else previous
        if s.source is not None and s.source not in names:
            raise fail(
                f"from must name 'input' or an earlier step; got {s.source!r}."
                f"{did_you_mean(s.source, names)}"
            )
        if s.channel is not None and (
            isinstance(s.channel, bool) or not isinstance(s.channel, str | int)
        ):
            raise fail(f"channel must be a channel name or index; got {s.channel!r}.")
        kind, at, at_op = kinds[reads]
        if op.reads == "binary" and kind == "grey":
            raise fail(
                f"binary operation on the float output of step {at} {at_op!r} with no "
                "threshold; add a threshold step before it (e.g. 'threshold: {method: otsu}')."
            )
        if op.reads == "labels" and kind != "labels":
            raise fail("needs a label image; add a 'label' step before it.")
        gives = kind if op.gives == "same" else op.gives
        has_label = has_label or gives == "labels"
        kinds[s.name] = (gives, number, s.op)
        names.append(s.name)
        previous = s.name
    properties = registry.measurement_properties()
    for p in wf.measure:
        if p not in properties:
            raise WorkflowError(
                f"measure must name region properties; got unknown property {p!r}."
                f"{did_you_mean(p, properties)} Known: {', '.join(properties)}.",
                source=src,
            )
    if wf.measure and not has_label:
        raise WorkflowError(
            f"measure needs a label image; got measure {list(wf.measure)!r} with no 'label' "
            "step. Hint: add '- label: {}' after the threshold.",
            source=src,
        )
    step_names = [s.name for s in wf.steps]
    for name in wf.save:
        if name not in step_names:
            raise WorkflowError(
                f"save must name steps of the workflow; got {name!r}."
                f"{did_you_mean(name, step_names)} Steps: {', '.join(step_names)}.",
                source=src,
            )


def parse_workflow(text: str, source: str = "<workflow>") -> Workflow:
    r"""Parse workflow YAML text (``yaml.safe_load``) and check its structure.

    Parameters
    ----------
    text : str
        The YAML document.
    source : str, optional
        Its origin, for error messages.

    Returns
    -------
    Workflow

    Raises
    ------
    WorkflowError
        If the text is not YAML, not a mapping, or the workflow is invalid.

    Examples
    --------
    >>> wf = parse_workflow("name: t\nsteps:\n  - median_filter: {size: 3}\n")
    >>> wf.steps[0].describe()
    'median_filter(size=3)'
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowError(f"not valid YAML: {exc}".replace("\n", " "), source=source) from exc
    if not isinstance(doc, Mapping):
        raise WorkflowError(
            f"a workflow must be a mapping with 'name' and 'steps'; got {type(doc).__name__}.",
            source=source,
        )
    unknown = [k for k in doc if k not in _TOP_KEYS]
    if unknown:
        raise WorkflowError(
            f"unknown key {unknown[0]!r}; a workflow has {', '.join(_TOP_KEYS)}."
            f"{did_you_mean(unknown[0], _TOP_KEYS)}",
            source=source,
        )
    for key in ("name", "steps"):
        if key not in doc:
            raise WorkflowError(f"the key {key!r} is required; got none.", source=source)
    return Workflow(
        name=doc["name"],
        steps=doc["steps"],
        measure=doc.get("measure") or (),
        save=doc.get("save") or (),
        input=doc.get("input"),
        source=source,
        text=text,
    )


def load_workflow(path: str | os.PathLike) -> Workflow:
    r"""Load a workflow file (YAML, read with ``yaml.safe_load``) and check its structure.

    Parameters
    ----------
    path : str or os.PathLike
        The workflow file.

    Returns
    -------
    Workflow

    Raises
    ------
    InputNotFoundError
        If the file does not exist.
    WorkflowError
        For an invalid workflow, naming the file, the step number and its name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "w.yaml")
    ...     _ = p.write_text("name: w\nsteps:\n  - gausian_filter: {sigma: 2}\n")
    ...     load_workflow(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    batchimg.errors.WorkflowError: ...w.yaml, step 1 'gausian_filter': unknown operation; ...
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputNotFoundError(f"workflow file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parse_workflow(text, source=path)


__all__ = [
    "INPUT",
    "RESERVED",
    "InputSection",
    "Workflow",
    "WorkflowStep",
    "load_workflow",
    "parse_workflow",
]
