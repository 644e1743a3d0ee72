"""Properties that need a whole region: computed per object from its bounding-box crop.

``area_convex``, ``image_convex``, ``solidity``, ``area_filled``, ``image_filled``,
``feret_diameter_max``, ``intensity_median``, ``image``, ``image_intensity``,
``coords``, ``coords_scaled``, ``slice`` and user ``extra_properties`` are not sums
over pixels. Each region's crop (its mask within its bounding box, and the
intensity there) is assembled from the blocks it touches and measured by
scikit-image itself (``skimage.measure.regionprops`` on the crop), so the values are
scikit-image's exactly; the cost is set by the region's bounding box, not by the
image. A region whose bounding box holds more than ``crop_limit`` pixels is refused
with its label named.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InputError, InvalidParameterError
from .props import SPECS, canonical

#: Default bound on a region's bounding box (pixels) for the per-object properties.
CROP_LIMIT = 1 << 27


def object_properties(properties: Sequence[str]) -> tuple[str, ...]:
    """The properties of ``properties`` that take the per-object road."""
    return tuple(p for p in properties if SPECS[canonical(p)].road == "object")


def check_extra(extra_properties: Any, has_intensity: bool) -> tuple[Callable, ...]:
    """Validate ``extra_properties``: callables of ``(region_mask[, intensity])``."""
    if extra_properties is None:
        return ()
    try:
        funcs = tuple(extra_properties)
    except TypeError:
        raise InvalidParameterError(
            f"extra_properties must be a sequence of functions; got {extra_properties!r}."
        ) from None
    for f in funcs:
        if not callable(f):
            raise InvalidParameterError(
                f"extra_properties must be a sequence of functions; got {f!r}."
            )
        n = n_args(f)
        if n not in (1, 2):
            raise InvalidParameterError(
                f"extra property {f.__name__!r} must take 1 or 2 arguments (region_mask, "
                f"intensity); it takes {n}."
            )
        if n == 2 and not has_intensity:
            raise InvalidParameterError(
                f"extra property {f.__name__!r} takes an intensity image; got intensity_image=None."
            )
    return funcs


def n_args(func: Callable) -> int:
    """The number of required positional arguments of ``func`` (as scikit-image counts)."""
    spec = inspect.getfullargspec(func)
    n = len(spec.args)
    if spec.defaults is not None:
        n -= len(spec.defaults)
    return n


def check_crop(label: Any, bmin: np.ndarray, bmax: np.ndarray, limit: int) -> None:
    """Refuse a region whose bounding box holds more than ``limit`` pixels."""
    shape = tuple(int(b - a + 1) for a, b in zip(bmin, bmax, strict=True))
    size = int(np.prod(shape))
    if size > limit:
        raise InputError(
            f"region {label} has a bounding box of {size:,} pixels (shape {shape}), more than "
            f"crop_limit={limit:,}; the per-object properties need each region's crop in "
            "memory. Hint: raise crop_limit, or measure only the one-pass properties."
        )


def crop_values(
    mask: np.ndarray,
    intensity: np.ndarray | None,
    start: Sequence[int],
    props: Sequence[str],
    spacing: tuple[float, ...],
    extra: Sequence[Callable] = (),
) -> dict[str, Any]:
    """The per-object values of one region from its crop.

    ``mask`` is the region within its bounding box (bool), ``intensity`` the
    intensity image over the same box (with a last axis of channels, or not),
    ``start`` the box's start in the whole image.
    """
    from skimage.measure import regionprops

    region = regionprops(
        mask.astype(np.uint8),
        intensity,
        extra_properties=list(extra) or None,
        spacing=spacing,
    )[0]
    out: dict[str, Any] = {}
    start = np.asarray(start, np.int64)
    for prop in props:
        p = canonical(prop)
        if p == "slice":
            out[prop] = tuple(
                slice(int(a), int(a) + s) for a, s in zip(start, mask.shape, strict=True)
            )
        elif p == "coords":
            out[prop] = start + np.argwhere(mask)
        elif p == "coords_scaled":
            out[prop] = (start + np.argwhere(mask)) * np.asarray(spacing)
        else:
            out[prop] = getattr(region, p)
    for f in extra:
        out[f.__name__] = getattr(region, f.__name__)
    return out


def infer_dtype(func: Callable, intensity: bool, ndim: int) -> Any:
    """The column dtype of an extra property, inferred as scikit-image infers it.

    The function runs on two small masks of different sizes; when both results are
    scalars or of one shape, their dtype is the column's, else ``object``.
    """
    mask_1 = np.pad(np.ones((1,) * ndim, dtype=bool), (0, 1), constant_values=False)
    mask_2 = np.pad(np.ones((2,) * ndim, dtype=bool), (1, 0), constant_values=False)
    rng = np.random.default_rng(1234)
    if intensity and n_args(func) == 2:

        def run(mask):
            return func(mask, rng.random(mask.shape))

    else:
        run = func
    a, b = run(mask_1), run(mask_2)
    if (np.isscalar(a) and np.isscalar(b)) or np.array(a).shape == np.array(b).shape:
        return np.array(a).dtype.type
    return np.object_


def extra_columns(name: str, values: list, dtype: Any, separator: str) -> dict[str, np.ndarray]:
    """The columns of one extra property from its per-region values (scikit-image's rule)."""
    n = len(values)
    first = values[0]
    if np.isscalar(first) or dtype is np.object_:
        col = np.empty(n, dtype=dtype)
        for i, v in enumerate(values):
            col[i] = v
        return {name: col}
    shape = np.shape(first)
    names, locs = [], []
    for ind in np.ndindex(shape):
        names.append(separator.join(map(str, (name, *ind))))
        locs.append(ind if len(ind) > 1 else ind[0])
    data = np.empty((n, len(locs)), dtype=dtype)
    for k, v in enumerate(values):
        v = np.asarray(v)
        for i, loc in enumerate(locs):
            data[k, i] = v[loc]
    return {nm: data[:, i] for i, nm in enumerate(names)}


def object_column(prop: str, values: list) -> np.ndarray:
    """One column of a per-object property (object dtype for crops and slices)."""
    kind = SPECS[canonical(prop)].kind
    if kind == "object":
        col = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            col[i] = v
        return col
    return np.asarray(values, dtype=np.float64)
