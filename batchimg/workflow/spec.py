"""Workflow files: YAML -> frozen dataclasses, validated before any pixel is read.

A workflow file::

    name: ascent-edges
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
(``generate_binary_structure(ndim, k)``) or a nested list. Steps form a chain; the
reserved parameter ``from`` makes a step read the workflow's ``input`` or an earlier
step's output instead of the previous step's (``median_filter: {size: 3, from:
input}``). A step's output is called by its operation's name; an operation used
twice is called ``name``, ``name_2``, ``name_3``... in order, and ``save:`` and
``from`` use those names. ``measure:`` lists region properties (scikit-image
names, see :data:`batchimg.measure.PROPERTIES`; ``label`` is always included);
intensity properties measure the workflow's input image.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from .._params import did_you_mean
from ..errors import WorkflowError
from . import registry

#: The name ``from`` uses for the workflow's input image.
INPUT = "input"
_TOP_KEYS = ("name", "steps", "measure", "save")


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
    name : str, optional
        The step's output name (set by :class:`Workflow`: ``op``, ``op_2``...).
    """

    op: str
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
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
    return WorkflowStep(str(op), params, src)


@dataclass(frozen=True)
class Workflow:
    """A validated workflow: a named chain of steps, measurements and saved outputs.

    Building one validates it (unknown operations and parameters, ill-typed values,
    a binary operation on a float image with no threshold, measuring without a
    ``label`` step, ``save`` naming no step, unknown properties); checks that need
    the input's dimensionality run again in :meth:`check_input` and at the start
    of :meth:`run`.

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
            named.append(WorkflowStep(s.op, dict(s.params), s.source, name))
        object.__setattr__(self, "steps", tuple(named))
        for key in ("measure", "save"):
            value = getattr(self, key)
            if value is None:
                value = ()
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
                raise WorkflowError(
                    f"{key} must be a list of names; got {value!r}.",
                    source=src,
                )
            object.__setattr__(self, key, tuple(value))
        if self.measure and "label" not in self.measure:
            object.__setattr__(self, "measure", ("label", *self.measure))
        validate(self)

    # ------------------------------------------------------------------ helpers

    @property
    def label_step(self) -> WorkflowStep | None:
        """The step whose output is the workflow's label image (the last label-giving one)."""
        ops = registry.operations()
        last = None
        for s in self.steps:
            if ops[s.op].gives == "labels":
                last = s
        return last

    def fingerprint(self) -> str:
        """Return a hash of the workflow's content (steps, measure, save, name)."""
        text = repr(
            (self.name, [(s.op, sorted(s.params.items()), s.source) for s in self.steps])
        ) + repr((self.measure, self.save))
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
            steps.append({s.op: params})
        doc = {"name": self.name, "steps": steps}
        if self.measure:
            doc["measure"] = list(self.measure)
        if self.save:
            doc["save"] = list(self.save)
        return yaml.safe_dump(doc, sort_keys=False)

    def check_input(self, ndim: int, dtype: Any, shape: tuple[int, ...] | None = None) -> None:
        """Check the steps against an input of one image's ``ndim``, ``dtype`` and ``shape``.

        Builds every step for that input (no pixel is read), so a sigma with the
        wrong number of axes, a structure of the wrong rank or a dtype an
        operation refuses is reported here.

        Raises
        ------
        WorkflowError
            Naming the step at fault.
        """
        from .graph import check_steps

        check_steps(self, ndim, dtype, shape)

    def run(self, source: Any, output: str | os.PathLike, **options: Any) -> Any:
        """Run the workflow on ``source`` and write the results under ``output``.

        Same behaviour as ``batchimg run``; see :func:`batchimg.workflow.runner.run`
        for the options.
        """
        from .runner import run

        return run(self, source, output, **options)


def validate(wf: Workflow) -> None:
    """Check a workflow without its input; raise :class:`WorkflowError` on the first fault."""
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
                hint = did_you_mean(key, allowed).replace(" Did", " did")
                takes = ", ".join(allowed) or "no parameters"
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
    r"""Parse and validate workflow YAML text.

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
        source=source,
        text=text,
    )


def load_workflow(path: str | os.PathLike) -> Workflow:
    r"""Load and validate a workflow file (YAML, read with ``yaml.safe_load``).

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
    from ..errors import InputNotFoundError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputNotFoundError(f"workflow file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parse_workflow(text, source=path)


__all__ = ["INPUT", "Workflow", "WorkflowStep", "load_workflow", "parse_workflow", "validate"]
