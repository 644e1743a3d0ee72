"""How each step is computed: its road, its kernel on one image, its output.

:func:`plan_step` resolves one workflow step against the output it reads (its shape,
dtype and batch axes): the parameters are turned into the function's arguments, the
public function is built on a lazy stand-in (so its own checks run, reading no
pixel), and the step gets its road, its kernel on one in-memory spatial image and,
for local steps, its chunked :class:`batchimg._overlap.Step`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._overlap import Spec, make_step
from .._regions import take_lut
from ..errors import InputError, InvalidParameterError
from . import registry
from .model import ImageSpec, Output, PlannedStep
from .spec import WorkflowStep


def _operated_ndim(params: Mapping, ndim: int) -> int:
    axes = params.get("axes")
    if axes is None:
        return ndim
    return len(np.atleast_1d(axes))


def resolve_params(op: registry.Op, params: Mapping, ndim: int) -> dict:
    """Turn a step's YAML parameters into the function's keyword arguments."""
    out = dict(params)
    n = _operated_ndim(out, ndim)
    for key in ("structure", "footprint", "structure1", "structure2"):
        if out.get(key) is not None:
            out[key] = registry.resolve_structure(out[key], n)
    if out.get("weights") is not None:
        out["weights"] = np.asarray(out["weights"], dtype=np.float64)
    for key in ("sigma", "size", "order", "origin", "origin1", "origin2", "radius", "axes", "mode"):
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
    """``scipy.ndimage.binary_fill_holes`` of one in-memory image, by one labelling.

    scipy grows the background in from the border, one dilation at a time, until it
    stops. With a centred 3x...x3 symmetric structure that holds the face neighbours
    (every structure ``generate_binary_structure`` makes), a background pixel is
    reached exactly when its background component (connected by that structure)
    touches the array's edge: one labelling of the background finds them all.
    Other structures take scipy's own road.
    """
    import scipy.ndimage as ndi

    from .. import label as L

    image = np.asarray(image)
    s = L.normalize_structure(structure, image.ndim)
    if image.ndim == 0 or 0 in image.shape or not _labels_like_propagation(s):
        return ndi.binary_fill_holes(image, s)
    lab, n = L.mask_components(image == 0, s)
    touch = np.zeros(n + 1, bool)
    for axis in range(image.ndim):
        for end in (0, -1):
            touch[np.take(lab, end, axis=axis)] = True
    touch[0] = False  # the foreground
    return ~take_lut(touch, lab)


def _labels_like_propagation(s: np.ndarray) -> bool:
    """A structure whose components are what scipy's propagation from the edge reaches."""
    if s.shape != (3,) * s.ndim or not s[(1,) * s.ndim] or not np.array_equal(s, np.flip(s)):
        return False
    faces = [tuple(1 + d * (a == k) for k in range(s.ndim)) for a in range(s.ndim) for d in (-1, 1)]
    return all(s[f] for f in faces)


def _propagation_kernel(image, *, structure=None, border_value=0) -> np.ndarray:
    import scipy.ndimage as ndi

    return ndi.binary_propagation(image, structure, border_value=border_value)


def _reconstruct_kernel(image, *, erode: Callable, structure: np.ndarray) -> np.ndarray:
    """Opening by reconstruction of one image, as scipy's erosion then propagation.

    ``erode`` is the library's erosion kernel (scipy's bits, faster for small
    structures). Propagating the eroded seeds inside the mask reaches exactly the
    mask's connected components (under ``structure``) that hold a seed, when the
    structure holds its centre (``structure`` is normalised: 3 wide and its own
    reflection, what ``scipy.ndimage.label`` takes): one labelling then keeps those
    components, instead of scipy's repeated dilation. Without the centre the seeds
    can lie outside the mask, and scipy's propagation runs.
    """
    import scipy.ndimage as ndi

    from .. import label as L

    image = image != 0
    eroded = erode(image)
    if structure[(1,) * structure.ndim]:
        lab, n = L.mask_components(image, structure)
        keep = np.zeros(n + 1, bool)
        keep[lab[eroded]] = True
        keep[0] = False
        return take_lut(keep, lab)
    return ndi.binary_propagation(eroded, structure, mask=image)


def _clear_border_kernel(image, *, buffer_size=0, bgval=0) -> np.ndarray:
    from skimage.segmentation import clear_border

    return clear_border(image, buffer_size=buffer_size, bgval=bgval)


def _filter_kernel(
    labels, intensity=None, *, where: str, spacing: Any = None, renumber: bool = True
) -> np.ndarray:
    from ..measure import filter_regions_image

    return filter_regions_image(labels, where, intensity, spacing=spacing, renumber=renumber)


_COMPONENT_KERNELS = {
    "binary_fill_holes": _fill_holes_kernel,
    "binary_propagation": _propagation_kernel,
    "reconstruct_by_propagation": _reconstruct_kernel,
    "clear_border": _clear_border_kernel,
}


def _max_size_of(number: int, params: Mapping) -> dict:
    """remove_small_objects' deprecated ``min_size`` as the ``max_size`` it equals."""
    params = dict(params)
    if "min_size" not in params:
        return params
    if "max_size" in params:
        raise InvalidParameterError(
            "Both deprecated parameter `min_size` and new parameter `max_size` are used. "
            "Use only the latter to avoid conflicting values."
        )
    params["max_size"] = max(int(params.pop("min_size")) - 1, 0)
    logging.getLogger("batchimg").warning(
        f"step {number} remove_small_objects: min_size is deprecated (scikit-image 0.26); "
        f"max_size: {params['max_size']} removes the same objects (those of max_size "
        "pixels or fewer)."
    )
    return params


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


def plan_step(
    number: int,
    s: WorkflowStep,
    src_name: str,
    source: Output,
    kind: str,
    image: ImageSpec,
    intensity: str,
) -> PlannedStep:
    """Plan step ``number`` of a workflow, reading ``source`` (an :class:`Output`).

    Raises
    ------
    InputError, InvalidParameterError, TypeError, ValueError
        When the step refuses its parameters or its input (the caller names the step).
    """
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
        if s.op == "reconstruct_by_propagation":
            from .. import label as L
            from .. import morphology as M

            structure = L.normalize_structure(params.get("structure"), n)
            if kind == "volume" and not structure[(1,) * n]:
                raise InvalidParameterError(
                    "a structure without its centre is not supported on a volume (the "
                    "seeds it erodes can lie outside the objects, which the bounded "
                    "two-pass propagation does not follow); got "
                    f"{structure.astype(int).tolist()}. Hint: include the centre, or call "
                    "batchimg.label.reconstruct_by_propagation in Python."
                )
            erosion = M.binary_erosion.step(
                Spec(n, np.dtype(bool), shape),
                structure=structure,
                iterations=params.get("iterations", 1),
            )
            kernel = functools.partial(
                _reconstruct_kernel, erode=erosion.kernel, structure=structure
            )
        return PlannedStep(**common, road="components", kernel=kernel, output=out(gives(), odtype))
    if s.op in ("filter_regions", "remove_small_objects"):
        from .. import _regions as R

        if s.op == "remove_small_objects":
            # scikit-image's semantics: pixel counts, kept labels keep their values
            params = _max_size_of(number, params)
            _check_call(op, params, shape, dtype)
            where = f"area > {int(params.get('max_size', 64))}"
            spacing, renumber = None, False
        else:
            where, renumber = params.get("where", "area > 10"), True
            spacing = params.get("spacing")
            spacing = image.scale if spacing is None else tuple(spacing)
        node = R.parse_where(where)
        props = R.filter_properties(n, True, node)
        needs_image = any(R.PROPERTIES[p][1] for p in props)
        if not needs_image:
            _check_call(op, params, shape, dtype)
        kernel = functools.partial(_filter_kernel, where=where, spacing=spacing, renumber=renumber)
        common["params"] = {
            "where": where,
            "spacing": spacing,
            "renumber": renumber,
            "properties": props,
        }
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


def planning_local(s: PlannedStep) -> PlannedStep:
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


__all__ = [
    "image_threshold",
    "make_threshold_step",
    "plan_step",
    "planning_local",
    "resolve_params",
    "statistic_for",
]
