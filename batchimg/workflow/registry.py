"""The table of workflow operations: name -> public function, kind and parameter schema.

A workflow step's name is the public function's name (one vocabulary for YAML,
Python and ``batchimg ops``). The table is built from the public modules
(:mod:`batchimg.filters`, :mod:`batchimg.morphology`, :mod:`batchimg.point`,
:mod:`batchimg.label`, :mod:`batchimg.measure`); each operation's parameters and
defaults come from its signature, and a small type schema keyed by parameter name
checks YAML values before any pixel is read.

Every operation has a *role* for the validator: what it reads (``any`` image, a
``binary`` one, or ``labels``) and what it gives (``grey``, ``binary``, ``labels``
or the ``same`` kind as its input).
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import filters, label, measure, morphology

try:  # batchimg.point is written alongside the workflow package
    from .. import point as _point
except ImportError:  # pragma: no cover - depends on the checkout
    _point = None

#: Parameters a workflow may not set: arrays that only Python callers can pass.
HIDDEN = frozenset({"mask", "intensity_image", "output", "out", "labels", "index", "extra"})

#: Parameters of the library function that a workflow step does not take: workflows act
#: on each spatial image whole (no ``axes``), with centred structures, and on integer
#: labels (whose objects need no connectivity).
NOT_IN_WORKFLOWS = {
    "binary_fill_holes": frozenset({"origin", "axes"}),
    "binary_propagation": frozenset({"origin", "axes"}),
    "remove_small_objects": frozenset({"connectivity"}),
}

#: Public functions that are not workflow operations: they take Python callables.
PYTHON_ONLY = frozenset(
    {"generic_filter", "generic_filter1d", "generic_gradient_magnitude", "generic_laplace",
     "vectorized_filter"}
)  # fmt: skip

#: Parameters an operation passes on to scipy through ``**kwargs``: (name, default).
PASSED_ON = {
    "gaussian_gradient_magnitude": (("truncate", 4.0), ("radius", None)),
    "gaussian_laplace": (("truncate", 4.0), ("radius", None)),
}

#: parameter name -> schema kind (see :func:`check_value`); other names are "any".
SCHEMA: dict[str, str] = {
    "sigma": "sigmas",
    "filter_size": "int",
    "batch_memory": "int",
    "truncate": "number",
    "cval": "number",
    "amount": "number",
    "value": "number|none",
    "percentile": "number",
    "order": "ints",
    "radius": "ints|none",
    "size": "ints|none",
    "rank": "int",
    "iterations": "int",
    "min_size": "int",
    "max_size": "int",
    "buffer_size": "int",
    "bgval": "int",
    "border_value": "int",
    "origin": "ints",
    "axes": "ints|none",
    "axis": "int|none",
    "mode": "strs",
    "method": "str|none",
    "where": "str",
    "dtype": "str",
    "per_image": "bool|none",
    "brute_force": "bool",
    "structure": "structure",
    "structure1": "structure",
    "structure2": "structure",
    "origin1": "ints",
    "origin2": "ints",
    "footprint": "structure",
    "weights": "array",
    "spacing": "numbers|none",
    "in_range": "any",
    "out_range": "any",
}

_KIND_TEXT = {
    "number": "a number",
    "numbers": "a number or a list of numbers",
    "sigmas": "a number >= 0 or a list of numbers >= 0",
    "int": "an integer",
    "ints": "an integer or a list of integers",
    "str": "a string",
    "strs": "a string or a list of strings",
    "bool": "true or false",
    "structure": "{shape: [...]}, {connectivity: k} or a nested list of 0/1",
    "array": "a nested list of numbers",
    "none": "null",
    "any": "a value",
}


@dataclass(frozen=True)
class Param:
    """One parameter of an operation, as a workflow sees it."""

    name: str
    kind: str
    required: bool
    default: Any = None

    def describe(self) -> str:
        """Return ``name`` or ``name=default`` for listings."""
        return self.name if self.required else f"{self.name}={self.default!r}"


@dataclass(frozen=True)
class Op:
    """One workflow operation.

    Parameters
    ----------
    name : str
        The public function's name (the YAML step name).
    func : callable
        The public function (``func(image, **params)``).
    module : str
        The module it comes from.
    params : tuple of Param
        Parameters a workflow may set.
    reads : {"any", "binary", "labels"}
        The kind of image the operation consumes.
    gives : {"grey", "binary", "labels", "same"}
        The kind of image it produces.
    summary : str
        The first line of the docstring.
    """

    name: str
    func: Callable[..., Any]
    module: str
    params: tuple[Param, ...]
    reads: str
    gives: str
    summary: str

    @property
    def local(self) -> bool:
        """Whether the operation is a local step (has a ``step`` builder)."""
        return hasattr(self.func, "step")

    def param(self, name: str) -> Param | None:
        """Return the parameter called ``name``, or None."""
        for p in self.params:
            if p.name == name:
                return p
        return None


def _params_of(func: Callable[..., Any]) -> tuple[Param, ...]:
    sig = inspect.signature(func)
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 or p.name in HIDDEN or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in NOT_IN_WORKFLOWS.get(func.__name__, ()):
            continue
        required = p.default is inspect.Parameter.empty
        out.append(
            Param(p.name, SCHEMA.get(p.name, "any"), required, None if required else p.default)
        )
    for name, default in PASSED_ON.get(func.__name__, ()):
        out.append(Param(name, SCHEMA.get(name, "any"), False, default))
    return tuple(out)


def _summary(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


_BINARY_MORPHOLOGY = (
    "binary_erosion",
    "binary_dilation",
    "binary_opening",
    "binary_closing",
    "binary_hit_or_miss",
)
_GREY_MORPHOLOGY = (
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "white_tophat",
    "black_tophat",
    "morphological_gradient",
    "morphological_laplace",
)
#: point operation -> (reads, gives)
_POINT_ROLES = {
    "threshold": ("any", "binary"),
    "rescale": ("any", "grey"),
    "astype": ("any", "same"),
    "invert": ("any", "same"),
    "rgb_to_gray": ("any", "grey"),
}


@functools.cache
def operations() -> dict[str, Op]:
    """Return every workflow operation by name (sorted), built once from the public modules.

    Returns
    -------
    dict of str to Op
        The operation table.

    Examples
    --------
    >>> ops = operations()
    >>> ops["gaussian_filter"].reads, ops["label"].gives
    ('any', 'labels')
    """
    table: list[tuple[Any, str, str, str]] = []
    for name in filters.__all__:
        if name not in PYTHON_ONLY:
            table.append((getattr(filters, name), "batchimg.filters", "any", "grey"))
    for name in _BINARY_MORPHOLOGY:
        table.append((getattr(morphology, name), "batchimg.morphology", "binary", "binary"))
    for name in _GREY_MORPHOLOGY:
        table.append((getattr(morphology, name), "batchimg.morphology", "any", "grey"))
    if _point is not None:
        for name, (reads, gives) in _POINT_ROLES.items():
            if hasattr(_point, name):
                table.append((getattr(_point, name), "batchimg.point", reads, gives))
    table += [
        (label.label, "batchimg.label", "binary", "labels"),
        (label.binary_fill_holes, "batchimg.label", "binary", "binary"),
        (label.binary_propagation, "batchimg.label", "binary", "binary"),
        (label.reconstruct_by_propagation, "batchimg.label", "binary", "binary"),
        (label.clear_border, "batchimg.label", "any", "same"),
        (measure.filter_regions, "batchimg.measure", "labels", "labels"),
        (measure.remove_small_objects, "batchimg.measure", "labels", "labels"),
    ]
    ops = {}
    for func, module, reads, gives in table:
        name = func.__name__
        ops[name] = Op(name, func, module, _params_of(func), reads, gives, _summary(func))
    return dict(sorted(ops.items()))


def measurement_properties() -> tuple[str, ...]:
    """Return the measurement properties a workflow's ``measure:`` list may name.

    Examples
    --------
    >>> "area" in measurement_properties()
    True
    """
    return tuple(measure.PROPERTIES)


def intensity_properties() -> frozenset[str]:
    """Return the properties that need an intensity image."""
    return frozenset(p for p, (_, needs) in measure.PROPERTIES.items() if needs)


# ---------------------------------------------------------------------------
# type schema


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_nested_numbers(v: Any) -> bool:
    if isinstance(v, list | tuple):
        return len(v) > 0 and all(_is_nested_numbers(x) for x in v)
    return _is_number(v) or isinstance(v, bool)


def _check_one(kind: str, v: Any) -> bool:
    if kind == "any":
        return True
    if kind == "none":
        return v is None
    if kind == "number":
        return _is_number(v)
    if kind == "int":
        return _is_int(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "sigmas":
        values = v if isinstance(v, list | tuple) else [v]
        return len(values) > 0 and all(_is_number(x) and x >= 0 for x in values)
    if kind in ("numbers", "ints", "strs"):
        scalar = {"numbers": _is_number, "ints": _is_int, "strs": lambda x: isinstance(x, str)}[
            kind
        ]
        if isinstance(v, list | tuple):
            return len(v) > 0 and all(scalar(x) for x in v)
        return scalar(v)
    if kind == "array":
        return _is_nested_numbers(v)
    if kind == "structure":
        if v is None:
            return True
        if isinstance(v, Mapping):
            if set(v) == {"shape"}:
                return _check_one("ints", v["shape"])
            if set(v) == {"connectivity"}:
                return _is_int(v["connectivity"])
            return False
        return _is_nested_numbers(v)
    raise AssertionError(kind)  # pragma: no cover - the schema table is fixed


def check_value(param: Param, value: Any) -> str | None:
    """Return None if ``value`` fits ``param``'s schema, else the expectation in words.

    Examples
    --------
    >>> check_value(Param("sigma", "numbers", True), [1, 2.5]) is None
    True
    >>> check_value(Param("sigma", "numbers", True), "big")
    'a number or a list of numbers'
    """
    kinds = param.kind.split("|")
    if any(_check_one(k, value) for k in kinds):
        return None
    return " or ".join(_KIND_TEXT[k] for k in kinds)


def resolve_structure(value: Any, ndim: int) -> Any:
    """Turn a YAML structure (``{shape:}``, ``{connectivity:}`` or nested list) into an array.

    Examples
    --------
    >>> resolve_structure({"shape": [3, 3]}, 2).sum()
    np.int64(9)
    >>> resolve_structure({"connectivity": 1}, 2).astype(int).tolist()
    [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    """
    if isinstance(value, Mapping):
        if "shape" in value:
            shape = value["shape"]
            shape = [shape] * ndim if _is_int(shape) else list(shape)
            return np.ones(shape, dtype=bool)
        return morphology.generate_binary_structure(ndim, int(value["connectivity"]))
    if isinstance(value, list | tuple):
        return np.asarray(value)
    return value


__all__ = [
    "Op",
    "Param",
    "check_value",
    "intensity_properties",
    "measurement_properties",
    "operations",
    "resolve_structure",
]
