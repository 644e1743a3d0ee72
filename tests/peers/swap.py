"""The swap: a peer's namespaces with batchimg's same-named functions in place of its own.

Imported by the rewritten test files of a peer's suite, in the pytest subprocess
(:mod:`peers.rewrite` turns ``from scipy import ndimage`` into
``ndimage = _peer_swap.module("scipy.ndimage")`` and so on). Nothing of the peer is
patched: each target module gets a stand-in module object whose attributes are
wrappers, and every other attribute is the peer's own.

For the eager peers (scipy.ndimage, scikit-image) a wrapper turns the numpy
arguments that are images (``input``, ``labels``, ``mask``, ...; not structures,
footprints or weights) into dask arrays with small, uneven chunks, calls
batchimg's function with the arguments spelled as the test spelled them (so a
positional argument stays positional) and computes the dask results (tuples, lists
and dicts too) back to numpy. dask-image's functions already take and return dask
arrays, so its wrappers only pass the call on.

Every wrapper records, per test, which functions it ran (``batchimg:<name>``, or
``peer:<name>`` for a public function of the target that batchimg does not offer
and that stays the peer's own), and for the eager peers a note when batchimg's
answer differs from the peer's on the same call (error type, dtype, shape,
values), so that a failure can be told apart by its cause.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import inspect
import os
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

BATCHIMG_MODULES = (
    "batchimg.filters",
    "batchimg.morphology",
    "batchimg.measure",
    "batchimg.label",
    "batchimg.point",
)

#: Parameter names (in the peer's signature) whose values are images.
IMAGE_PARAMETERS = frozenset(
    {"input", "labels", "markers", "mask", "arr", "image", "label_image", "intensity_image", "ar"}
)


@dataclass(frozen=True)
class Target:
    """A peer module whose functions are swapped.

    ``names`` lists the swapped names, or is None for every public name that
    batchimg offers (then the public functions batchimg lacks are recorded as
    ``peer:<name>`` when a test calls them). ``eager`` says that the peer takes and
    returns numpy arrays (images are chunked, results computed).
    """

    names: tuple[str, ...] | None
    eager: bool


TARGETS: dict[str, Target] = {
    "scipy.ndimage": Target(None, True),
    # scikit-image: only what batchimg mirrors. batchimg's ``label`` is scipy's
    # (structure, raster numbering), not skimage.measure.label (background,
    # connectivity), so it is not swapped here.
    "skimage.measure": Target(("regionprops_table",), True),
    "skimage.segmentation": Target(("clear_border",), True),
    "skimage.morphology": Target(("remove_small_objects",), True),
    "dask_image.ndfilters": Target(None, False),
    "dask_image.ndmorph": Target(None, False),
    "dask_image.ndmeasure": Target(None, False),
}

#: test id -> {"calls": set of "batchimg:<name>" / "peer:<name>", "notes": list of str}
RECORD: dict[str, dict[str, Any]] = {}
_MAX_NOTES = 5


def public_names(module: types.ModuleType) -> list[str]:
    """The public names of ``module``: its ``__all__``, else the names without an underscore."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return sorted(names)


def target_names(module: types.ModuleType) -> list[str]:
    """The public functions of a peer's module: its ``__all__`` and its own unlisted ones.

    dask_image.ndmeasure leaves ``find_objects`` out of ``__all__``; functions that a
    module only imports from elsewhere (``dask.compute``) are not its own.
    """
    top = module.__name__.split(".")[0]
    own = [
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and inspect.isfunction(v)
        and (v.__module__ or "").split(".")[0] == top
    ]
    return sorted(set(getattr(module, "__all__", ())) | set(own))


def batchimg_function(name: str) -> Callable | None:
    """batchimg's public function called ``name`` (first of :data:`BATCHIMG_MODULES`), or None."""
    for module_name in BATCHIMG_MODULES:
        module = importlib.import_module(module_name)
        if name in public_names(module):
            return getattr(module, name)
    return None


def scipy_functions() -> dict[str, str]:
    """scipy.ndimage's public filters, morphology and measurements functions: name -> module."""
    import scipy.ndimage

    kinds = {f"scipy.ndimage._{k}": k for k in ("filters", "morphology", "measurements")}
    found = {}
    for name in scipy.ndimage.__all__:
        kind = kinds.get(getattr(getattr(scipy.ndimage, name), "__module__", None))
        if kind:
            found[name] = kind
    return found


def missing_functions() -> dict[str, str]:
    """The functions of :func:`scipy_functions` that batchimg does not offer: name -> module."""
    return {n: k for n, k in scipy_functions().items() if batchimg_function(n) is None}


# ---------------------------------------------------------------------------
# chunking and computing


def split_axis(n: int) -> tuple[int, ...]:
    """Small, uneven chunks for an axis of length ``n`` (at most three).

    >>> split_axis(10), split_axis(3), split_axis(2), split_axis(1)
    ((1, 3, 6), (1, 1, 1), (1, 1), (1,))
    """
    if n <= 1:
        return (n,)
    a, b = max(1, n // 6), max(1, n // 3)
    return (a, b, n - a - b) if n - a - b > 0 else (a, n - a)


def chunked(value: Any) -> Any:
    """A numpy image (or a nested list of numbers) as a dask array with uneven chunks.

    Anything else (masked arrays, object arrays, dask arrays, scalars) is returned as is.
    """
    import dask.array as da

    if type(value) is np.ndarray:
        array = value
    elif isinstance(value, list | tuple):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            return value
    else:
        return value
    if array.dtype.kind not in "biufc":
        return value
    return da.from_array(array, chunks=tuple(split_axis(n) for n in array.shape))


def materialize(value: Any) -> Any:
    """Compute every dask collection in ``value`` (also inside tuples, lists and dicts) at once."""
    import dask

    def lazy(v):
        if dask.is_dask_collection(v):
            return True
        if isinstance(v, list | tuple):
            return any(lazy(x) for x in v)
        if isinstance(v, dict):
            return any(lazy(x) for x in v.values())
        return False

    if not lazy(value):
        return value
    (out,) = dask.compute(value)
    return out


# ---------------------------------------------------------------------------
# recording


def _test_id() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST")
    return current.rsplit(" ", 1)[0] if current else "<collection>"


def _record(call: str, note: str | None = None) -> None:
    entry = RECORD.setdefault(_test_id(), {"calls": set(), "notes": []})
    entry["calls"].add(call)
    if note is not None and note not in entry["notes"] and len(entry["notes"]) < _MAX_NOTES:
        entry["notes"].append(note)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def difference(expected: Any, actual: Any) -> str | None:
    """How ``actual`` differs from the peer's ``expected`` answer, or None when it does not.

    >>> difference(np.array([1.0, np.nan]), np.array([1.0, np.nan])) is None
    True
    >>> difference(np.zeros(2), np.zeros(2, np.float32))
    'dtype differs: peer float64, ours float32'
    >>> difference((1, 2), [1, 2])
    'type differs: peer tuple, ours list'
    """
    if isinstance(expected, list | tuple) or isinstance(actual, list | tuple):
        if type(expected) is not type(actual):
            return f"type differs: peer {type(expected).__name__}, ours {type(actual).__name__}"
        if len(expected) != len(actual):
            return f"length differs: peer {len(expected)}, ours {len(actual)}"
        for e, a in zip(expected, actual, strict=True):
            found = difference(e, a)
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"type differs: peer dict, ours {type(actual).__name__}"
        if list(expected) != list(actual):
            return f"keys differ: peer {list(expected)}, ours {list(actual)}"
        for key in expected:
            found = difference(expected[key], actual[key])
            if found:
                return f"{key}: {found}"
        return None
    if isinstance(expected, np.ndarray | np.generic | int | float | complex | bool):
        if not isinstance(actual, np.ndarray | np.generic | int | float | complex | bool):
            return f"type differs: peer {type(expected).__name__}, ours {type(actual).__name__}"
        e, a = np.asarray(expected), np.asarray(actual)
        if e.shape != a.shape:
            return f"shape differs: peer {e.shape}, ours {a.shape}"
        if e.dtype != a.dtype:
            return f"dtype differs: peer {e.dtype}, ours {a.dtype}"
        if e.dtype == object:  # arrays of arrays (histograms of several labels)
            for x, y in zip(e.ravel(), a.ravel(), strict=True):
                found = difference(x, y)
                if found:
                    return found
            return None
        if np.array_equal(e, a, equal_nan=e.dtype.kind in "fc"):
            return None
        if e.dtype.kind in "fc" and np.allclose(e, a, rtol=1e-12, atol=0, equal_nan=True):
            return "values differ in the last bits (within rtol 1e-12)"
        if e.dtype.kind in "fc" and (np.isnan(e) != np.isnan(a)).any():
            return "values differ where NaN is involved"
        wrong = int(np.sum(e != a)) if e.shape else 1
        return f"values differ ({wrong} of {max(e.size, 1)} elements)"
    if expected is None or actual is None:
        if expected is actual:
            return None
        return f"type differs: peer {type(expected).__name__}, ours {type(actual).__name__}"
    try:
        same = bool(expected == actual)
    except Exception:  # noqa: BLE001 - a comparison that cannot be made is a difference
        same = False
    return (
        None
        if same
        else f"differs: peer {_short(repr(expected), 60)}, ours {_short(repr(actual), 60)}"
    )


def _peer_answer(original: Callable, args: tuple, kwargs: dict) -> tuple[str, Any]:
    """Run the peer's function on copies of the arguments: ("value", v) or ("error", exc)."""
    try:
        args, kwargs = copy.deepcopy((args, kwargs))
    except Exception:  # noqa: BLE001 - arguments that cannot be copied: no diagnosis
        return "skip", None
    try:
        with warnings.catch_warnings(record=True):  # the diagnosis is silent
            warnings.simplefilter("always")
            return "value", original(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the peer's own error is the answer
        return "error", exc


def _diagnosable(args: tuple, kwargs: dict) -> bool:
    """No callables (a user function may count its calls): calling the peer too is harmless."""
    return not any(callable(v) for v in (*args, *kwargs.values()))


def diagnose(who: str, name: str, reference: Callable, args, kwargs, kind: str, ours: Any):
    """A note on how batchimg's outcome (``kind`` "value" or "error") differs from ``reference``."""
    if not _diagnosable(args, kwargs):
        return None
    peer_kind, peer = _peer_answer(reference, args, kwargs)
    if peer_kind == "skip":
        return None
    if kind == "error":
        if peer_kind == "value":
            what = f"{type(ours).__name__} where {who} returns"
            return f"{name}: ours raises {what} ({_short(ours, 100)})"
        if not isinstance(ours, type(peer)):
            return (
                f"{name}: error type differs: {who} {type(peer).__name__}, "
                f"ours {type(ours).__name__} ({_short(ours, 100)})"
            )
        return None
    if peer_kind == "error":
        return f"{name}: ours returns where {who} raises {type(peer).__name__} ({_short(peer, 80)})"
    found = difference(peer, ours)
    return f"{name}: {found.replace('peer', who)}" if found else None


def _numpy(value: Any) -> Any:
    import dask

    return np.asarray(value.compute()) if dask.is_dask_collection(value) else value


# ---------------------------------------------------------------------------
# wrappers


def adapt(signature: inspect.Signature | None, args: tuple, kwargs: dict):
    """Respell a peer's call for a diagnosis of what lies behind the signature.

    Only with ``BATCHIMG_PEER_ADAPT=1`` (``report.py --adapt``; never in the tests):
    the first argument stays positional, every other one becomes a keyword, and
    ``output``/``out`` is taken out, to be filled by :func:`fill` as the peer would.
    Returns ``(args, kwargs, output)``.
    """
    if signature is None or os.environ.get("BATCHIMG_PEER_ADAPT") != "1":
        return args, kwargs, None
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return args, kwargs, None
    arguments = dict(bound.arguments)
    output = None
    for name in ("output", "out"):
        if name in arguments:
            output = arguments.pop(name)
    first = next(iter(signature.parameters))
    if first not in arguments:
        return args, kwargs, None
    head = arguments.pop(first)
    return (head,), arguments, output


def fill(result: Any, output: Any) -> Any:
    """What the peer returns for ``output``: the array filled, or the result in that dtype."""
    if output is None:
        return result
    # scipy's rules for a complex result: a real output array is an error, a real
    # output dtype is promoted with a warning
    if isinstance(output, np.ndarray) and np.iscomplexobj(result) and output.dtype.kind != "c":
        raise RuntimeError("output must have complex dtype (scipy's rule, applied by the harness)")
    if not isinstance(output, np.ndarray) and np.iscomplexobj(result):
        if np.dtype(output).kind != "c":
            warnings.warn("promoting specified output dtype to complex", UserWarning, stacklevel=3)
            output = np.promote_types(output, np.complex64)
    if isinstance(output, np.ndarray) and isinstance(result, np.ndarray):
        np.copyto(output, result, casting="unsafe")
        return output
    if isinstance(result, np.ndarray):
        return result.astype(output)
    return result


@contextlib.contextmanager
def _transparent_warnings():
    """Warnings of our call as if the test had called batchimg directly.

    A warning whose ``stacklevel`` names our function's caller names this wrapper;
    it is raised again one frame up (the test), so a test that checks where a
    warning points sees batchimg's own choice. Others are raised again as they were.
    """
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for w in caught:
            if os.path.abspath(w.filename) == os.path.abspath(__file__):
                warnings.warn(w.message, w.category, stacklevel=4)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def eager_wrapper(who: str, name: str, original: Callable, ours: Callable) -> Callable:
    """numpy in, numpy out: images chunked for batchimg, its dask results computed."""
    try:
        signature = inspect.signature(original)
    except (TypeError, ValueError):
        signature = None
    positional = [
        p.name
        for p in (signature.parameters.values() if signature else ())
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        call_args, call_kwargs, output = adapt(signature, args, kwargs)
        ours_args = [
            chunked(v) if i < len(positional) and positional[i] in IMAGE_PARAMETERS else v
            for i, v in enumerate(call_args)
        ]
        ours_kwargs = {
            k: chunked(v) if k in IMAGE_PARAMETERS else v for k, v in call_kwargs.items()
        }
        try:
            with _transparent_warnings():
                result = fill(materialize(ours(*ours_args, **ours_kwargs)), output)
        except Exception as exc:
            _record(f"batchimg:{name}", diagnose(who, name, original, args, kwargs, "error", exc))
            raise
        _record(f"batchimg:{name}", diagnose(who, name, original, args, kwargs, "value", result))
        return result

    return wrapper


def lazy_wrapper(name: str, original: Callable, ours: Callable) -> Callable:
    """dask in, dask out; notes compare with scipy.ndimage's function of the name, if any."""
    import scipy.ndimage

    reference = getattr(scipy.ndimage, name, None) if name in scipy.ndimage.__all__ else None

    def note(args, kwargs, kind, value):
        if reference is None:
            return None
        try:
            args = tuple(_numpy(v) for v in args)
            kwargs = {k: _numpy(v) for k, v in kwargs.items()}
            value = materialize(value) if kind == "value" else value
        except Exception as exc:  # noqa: BLE001 - computing ours failed: that is the note
            return f"{name}: computing ours raises {type(exc).__name__} ({_short(exc, 100)})"
        return diagnose("scipy", name, reference, args, kwargs, kind, value)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        try:
            result = ours(*args, **kwargs)
        except Exception as exc:
            _record(f"batchimg:{name}", note(args, kwargs, "error", exc))
            raise
        _record(f"batchimg:{name}", note(args, kwargs, "value", result))
        return result

    return wrapper


def _recorder(name: str, original: Callable) -> Callable:
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _record(f"peer:{name}")
        return original(*args, **kwargs)

    return wrapper


class _Shim(types.ModuleType):
    """A peer module with some functions replaced; other attributes are the peer's."""

    def __init__(self, real: types.ModuleType, members: dict[str, Any]):
        super().__init__(real.__name__, real.__doc__)
        self.__dict__.update(members)
        self.__dict__["_peer_real"] = real
        self.__dict__["__all__"] = list(getattr(real, "__all__", ()))

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.__dict__["_peer_real"], attr)


class _Package(types.ModuleType):
    """A peer package whose target submodules are shims (for ``import a.b`` then ``a.b.f``)."""

    def __init__(self, real: types.ModuleType):
        super().__init__(real.__name__, real.__doc__)
        self.__dict__["_peer_real"] = real

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__["_peer_real"]
        try:
            value = getattr(real, attr)
        except AttributeError:
            value = importlib.import_module(f"{real.__name__}.{attr}")
        if isinstance(value, types.ModuleType):
            return import_as(value.__name__)
        return value


_SHIMS: dict[str, _Shim] = {}
_SWAPPED: dict[int, Callable] = {}  # id(peer function) -> its wrapper


def _build(module_name: str) -> _Shim:
    target = TARGETS[module_name]
    real = importlib.import_module(module_name)
    names = target_names(real) if target.names is None else list(target.names)
    members: dict[str, Any] = {}
    for name in names:
        original = getattr(real, name)
        if not callable(original) or isinstance(original, type | types.ModuleType):
            continue
        ours = batchimg_function(name)
        if ours is not None:
            if target.eager:
                who = module_name.split(".")[0]
                members[name] = eager_wrapper(who, name, original, ours)
            else:
                members[name] = lazy_wrapper(name, original, ours)
        elif target.names is None:
            members[name] = _recorder(name, original)
        else:
            raise LookupError(f"batchimg offers no {name!r} to swap for {module_name}.{name}")
        _SWAPPED[id(original)] = members[name]
    if module_name == "scipy.ndimage":
        # scipy's tests look the functions up in its capabilities table
        # (make_xp_test_case); the wrappers have the capabilities of what they replace.
        from scipy._lib._array_api import xp_capabilities_table

        for name, wrapper in members.items():
            original = getattr(real, name)
            if original in xp_capabilities_table:
                xp_capabilities_table[wrapper] = xp_capabilities_table[original]
    return _Shim(real, members)


def module(module_name: str) -> _Shim:
    """The stand-in for the target module ``module_name`` (built once)."""
    if module_name not in _SHIMS:
        _SHIMS[module_name] = _build(module_name)
    return _SHIMS[module_name]


def import_as(module_name: str) -> types.ModuleType:
    """What ``import module_name`` should give: a shim, a package proxy, or the module."""
    if module_name in TARGETS:
        return module(module_name)
    real = importlib.import_module(module_name)
    if any(t.startswith(module_name + ".") for t in TARGETS):
        return _Package(real)
    return real


def swap_from(module_name: str, name: str) -> Any:
    """What ``from module_name import name`` should give through batchimg.

    A target module becomes its shim; a peer function that a target swaps (also when
    imported from a private submodule, ``from skimage.measure._regionprops import
    regionprops_table``) becomes its wrapper; anything else is the peer's own.
    """
    full = f"{module_name}.{name}"
    if full in TARGETS:
        return module(full)
    parent = importlib.import_module(module_name)
    try:
        value = getattr(parent, name)
    except AttributeError:
        value = importlib.import_module(full)
    if isinstance(value, types.ModuleType):
        return import_as(value.__name__)
    top = module_name.split(".")[0]
    for target in TARGETS:
        if target.split(".")[0] == top:
            module(target)
    return _SWAPPED.get(id(value), value) if callable(value) else value
