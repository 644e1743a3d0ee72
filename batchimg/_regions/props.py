"""Region properties: their names, what partial statistics they need, and their columns.

The property table (:data:`PROPERTIES`) maps each scikit-image ``regionprops_table``
name to the statistic groups it needs (see :mod:`.stats`) and whether it needs an
intensity image. :func:`table_columns` turns a merged statistics table into the
columns ``regionprops_table`` gives, in its order and dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._params import did_you_mean, normalize_sequence
from ..errors import InvalidParameterError
from .where import evaluate, where_columns

#: property -> (statistic groups it needs, whether it needs an intensity image)
PROPERTIES: dict[str, tuple[frozenset, bool]] = {
    "label": (frozenset(), False),
    "area": (frozenset(), False),
    "bbox": (frozenset({"bbox"}), False),
    "centroid": (frozenset({"coords"}), False),
    "centroid_weighted": (frozenset({"wcoords", "isum"}), True),
    "intensity_sum": (frozenset({"isum"}), True),
    "intensity_mean": (frozenset({"isum"}), True),
    "intensity_min": (frozenset({"minmax"}), True),
    "intensity_max": (frozenset({"minmax"}), True),
    "intensity_std": (frozenset({"m2"}), True),
    "equivalent_diameter_area": (frozenset(), False),
    "extent": (frozenset({"bbox"}), False),
}

DEFAULT_PROPERTIES = ("label", "area", "centroid")


def normalize_properties(properties: Any, has_intensity: bool) -> tuple[str, ...]:
    """Validate property names (no duplicates kept); intensity ones need an image."""
    if isinstance(properties, str):
        properties = (properties,)
    if not isinstance(properties, Sequence) or not properties:
        raise InvalidParameterError(
            f"properties must be a non-empty sequence of property names; got {properties!r}."
        )
    out = []
    for p in properties:
        if p not in PROPERTIES:
            raise InvalidParameterError(
                f"properties must be among {', '.join(PROPERTIES)}; got {p!r}."
                f"{did_you_mean(p, list(PROPERTIES))}"
            )
        if PROPERTIES[p][1] and not has_intensity:
            raise InvalidParameterError(
                f"property {p!r} needs an intensity image; got intensity_image=None."
            )
        if p not in out:
            out.append(p)
    return tuple(out)


def normalize_spacing(spacing: Any, n: int) -> tuple[float, ...]:
    """Pixel size per axis as floats (1.0 everywhere for None); positive and finite."""
    if spacing is None:
        return (1.0,) * n
    out = normalize_sequence(spacing, n, "spacing")
    if any(not (s > 0 and math.isfinite(s)) for s in out):
        raise InvalidParameterError(
            f"spacing must be positive and finite on every axis; got {spacing!r}."
        )
    return out


def needs_of(properties: Sequence[str]) -> frozenset:
    """The statistic groups (see :mod:`.stats`) that ``properties`` need together."""
    needs = frozenset()
    for p in properties:
        needs |= PROPERTIES[p][0]
    return needs


def columns_of(prop: str, ndim: int) -> list[str]:
    """The table columns of one property (``bbox-0`` ... for multi-valued ones)."""
    if prop == "bbox":
        return [f"bbox-{i}" for i in range(2 * ndim)]
    if prop in ("centroid", "centroid_weighted"):
        return [f"{prop}-{i}" for i in range(ndim)]
    return [prop]


def column_dtype(prop: str) -> Any:
    """The dtype of a property's columns (int64 for ``label`` and ``bbox``, else float64)."""
    return np.int64 if prop in ("label", "bbox") else np.float64


def prop_values(t: dict, prop: str, ndim: int, spacing: tuple[float, ...]) -> np.ndarray:
    """Return the values of ``prop`` for every row of a merged table, shape (rows, columns)."""
    count = t["count"].astype(np.float64)
    sp = np.asarray(spacing, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if prop == "label":
            return t["label"][:, None]
        if prop == "area":
            return (count * np.prod(sp))[:, None]
        if prop == "bbox":
            return np.concatenate([t["bmin"], t["bmax"] + 1], axis=1)
        if prop == "centroid":
            return t["csum"] / count[:, None] * sp
        if prop == "centroid_weighted":
            return t["wcsum"] / t["isum"][:, None] * sp
        if prop == "intensity_sum":
            return t["isum"][:, None]
        if prop == "intensity_mean":
            return (t["isum"] / count)[:, None]
        if prop == "intensity_min":
            return t["imin"].astype(np.float64)[:, None]
        if prop == "intensity_max":
            return t["imax"].astype(np.float64)[:, None]
        if prop == "intensity_std":
            return np.sqrt(t["m2"] / count)[:, None]
        if prop == "equivalent_diameter_area":
            area = count * np.prod(sp)
            return ((2 * ndim * area / np.pi) ** (1.0 / ndim))[:, None]
        if prop == "extent":
            box = np.prod((t["bmax"] + 1 - t["bmin"]).astype(np.float64), axis=1)
            return (count / box)[:, None]
    raise AssertionError(prop)  # pragma: no cover - properties are validated up front


def frame(t: dict, properties: Sequence[str], ndim: int, spacing: tuple, stack: bool):
    """The table of :func:`table_columns` as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(table_columns(t, properties, ndim, spacing, stack))


def table_columns(
    t: dict, properties: Sequence[str], ndim: int, spacing: tuple, stack: bool
) -> dict[str, np.ndarray]:
    """The table's columns, in order (what :func:`frame` wraps in a DataFrame)."""
    data: dict[str, np.ndarray] = {}
    if stack:
        data["image"] = t["image"].astype(np.int64)
    for prop in properties:
        values = prop_values(t, prop, ndim, spacing)
        for j, col in enumerate(columns_of(prop, ndim)):
            data[col] = np.ascontiguousarray(values[:, j]).astype(column_dtype(prop))
        if stack and prop == "label":
            data["image_label"] = rank_within(t["image"])
    return data


def rank_within(image: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal ``image`` values (rows sorted by image, label)."""
    if len(image) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, image[1:] != image[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, len(image)]))
    return (np.arange(len(image)) - run + 1).astype(np.int64)


def filter_mapping(t: dict, node: tuple, props: tuple, ndim: int, spacing: tuple, dtype):
    """(keys, values): kept labels renumbered 1..K in raster order of their first pixel."""
    columns = table_columns(t, props, ndim, spacing, False)
    keep = np.asarray(evaluate(node, columns), bool)
    keys = t["label"]
    values = np.zeros(len(keys), dtype)
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(t["first"][kept], kind="stable")]
    values[order] = np.arange(1, len(order) + 1)
    if len(keys) and keys[0] >= 0 and keys[-1] < max(4 * len(keys), 1 << 20):
        lut = np.zeros(int(keys[-1]) + 1, dtype)
        lut[keys] = values
        return lut
    return keys, values


def filter_properties(ndim: int, has_image: bool, node: tuple) -> tuple[str, ...]:
    """Check the columns a filter names; return the properties it needs measured."""
    columns = {c: p for p in PROPERTIES for c in columns_of(p, ndim)}
    for col in sorted(where_columns(node)):
        if col not in columns:
            raise InvalidParameterError(
                f"where must name measurement columns; got unknown column {col!r}."
                f"{did_you_mean(col, list(columns))}"
            )
        if PROPERTIES[columns[col]][1] and not has_image:
            raise InvalidParameterError(
                f"column {col!r} in where needs an intensity image; got intensity_image=None."
            )
    return tuple(sorted({columns[c] for c in where_columns(node)}))
