"""Region properties: scikit-image's names, the road each takes, and their columns.

:data:`PROPERTIES` maps every scikit-image 0.26 ``regionprops_table`` property (plus
``intensity_sum``) to the statistic groups it needs (see :mod:`.stats`) and whether
it needs an intensity image; :data:`SPECS` says more: the road (``"sums"``: from the
one pass of per-block partial sums; ``"object"``: computed per object from its
bounding-box crop), the column kind (int, float, object), whether it is 2-D only.
:func:`table_columns` turns a merged statistics table into the columns of the
sums road, in scikit-image's order, names and dtypes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .._params import did_you_mean
from ..errors import InvalidParameterError, ParameterTypeError
from . import moments as M
from .exact import dd_mul, two_prod
from .local import PERIMETER_CODES, crofton_coefs, euler_coefs, perimeter_weights
from .stats import HALO
from .where import evaluate, where_columns

_BOX = frozenset({"bbox"})
_MOM = frozenset({"moments", "bbox"})
_MOM1 = frozenset({"moments1", "bbox"})
_WMOM = frozenset({"moments", "wmoments", "bbox"})
_WMOM1 = frozenset({"moments1", "wmoments1", "bbox"})


@dataclass(frozen=True)
class Spec:
    """How one property is measured."""

    needs: frozenset
    intensity: bool = False
    road: str = "sums"  # "sums" or "object"
    kind: str = "float"  # "float", "int" or "object"
    only2d: bool = False


SPECS: dict[str, Spec] = {
    "label": Spec(frozenset(), kind="int"),
    "area": Spec(frozenset()),
    "area_bbox": Spec(_BOX),
    "area_convex": Spec(_BOX, road="object"),
    "area_filled": Spec(_BOX, road="object"),
    "axis_major_length": Spec(_MOM),
    "axis_minor_length": Spec(_MOM),
    "bbox": Spec(_BOX, kind="int"),
    "centroid": Spec(frozenset({"coords"})),
    "centroid_local": Spec(_MOM1),
    "centroid_weighted": Spec(_WMOM1, True),
    "centroid_weighted_local": Spec(_WMOM1, True),
    "coords": Spec(_BOX, road="object", kind="object"),
    "coords_scaled": Spec(_BOX, road="object", kind="object"),
    "eccentricity": Spec(_MOM, only2d=True),
    "equivalent_diameter_area": Spec(frozenset()),
    "euler_number": Spec(frozenset({"euler"}), kind="int"),
    "extent": Spec(_BOX),
    "feret_diameter_max": Spec(_BOX, road="object"),
    "image": Spec(_BOX, road="object", kind="object"),
    "image_convex": Spec(_BOX, road="object", kind="object"),
    "image_filled": Spec(_BOX, road="object", kind="object"),
    "image_intensity": Spec(_BOX, True, road="object", kind="object"),
    "inertia_tensor": Spec(_MOM),
    "inertia_tensor_eigvals": Spec(_MOM),
    "intensity_max": Spec(frozenset({"minmax"}), True),
    "intensity_mean": Spec(frozenset({"isum"}), True),
    "intensity_median": Spec(_BOX, True, road="object"),
    "intensity_min": Spec(frozenset({"minmax"}), True),
    "intensity_std": Spec(frozenset({"isum", "isq"}), True),
    "intensity_sum": Spec(frozenset({"isum"}), True),
    "moments": Spec(_MOM),
    "moments_central": Spec(_MOM),
    "moments_hu": Spec(_MOM, only2d=True),
    "moments_normalized": Spec(_MOM),
    "moments_weighted": Spec(_WMOM, True),
    "moments_weighted_central": Spec(_WMOM, True),
    "moments_weighted_hu": Spec(_WMOM, True, only2d=True),
    "moments_weighted_normalized": Spec(_WMOM, True),
    "num_pixels": Spec(frozenset(), kind="int"),
    "orientation": Spec(_MOM, only2d=True),
    "perimeter": Spec(frozenset({"perimeter"}), only2d=True),
    "perimeter_crofton": Spec(frozenset({"euler"}), only2d=True),
    "slice": Spec(_BOX, road="object", kind="object"),
    "solidity": Spec(_BOX, road="object"),
}

#: property -> (statistic groups it needs, whether it needs an intensity image)
PROPERTIES: dict[str, tuple[frozenset, bool]] = {
    name: (spec.needs, spec.intensity) for name, spec in SPECS.items()
}

#: scikit-image's deprecated spellings, accepted as it accepts them (the column keeps
#: the spelling asked for).
ALIASES = {
    "Area": "area",
    "BoundingBox": "bbox",
    "BoundingBoxArea": "area_bbox",
    "bbox_area": "area_bbox",
    "CentralMoments": "moments_central",
    "Centroid": "centroid",
    "ConvexArea": "area_convex",
    "convex_area": "area_convex",
    "ConvexImage": "image_convex",
    "convex_image": "image_convex",
    "Coordinates": "coords",
    "Eccentricity": "eccentricity",
    "EquivDiameter": "equivalent_diameter_area",
    "equivalent_diameter": "equivalent_diameter_area",
    "EulerNumber": "euler_number",
    "Extent": "extent",
    "FeretDiameter": "feret_diameter_max",
    "FeretDiameterMax": "feret_diameter_max",
    "FilledArea": "area_filled",
    "filled_area": "area_filled",
    "FilledImage": "image_filled",
    "filled_image": "image_filled",
    "HuMoments": "moments_hu",
    "Image": "image",
    "InertiaTensor": "inertia_tensor",
    "InertiaTensorEigvals": "inertia_tensor_eigvals",
    "IntensityImage": "image_intensity",
    "intensity_image": "image_intensity",
    "Label": "label",
    "LocalCentroid": "centroid_local",
    "local_centroid": "centroid_local",
    "MajorAxisLength": "axis_major_length",
    "major_axis_length": "axis_major_length",
    "MaxIntensity": "intensity_max",
    "max_intensity": "intensity_max",
    "MeanIntensity": "intensity_mean",
    "mean_intensity": "intensity_mean",
    "MinIntensity": "intensity_min",
    "min_intensity": "intensity_min",
    "std_intensity": "intensity_std",
    "MinorAxisLength": "axis_minor_length",
    "minor_axis_length": "axis_minor_length",
    "Moments": "moments",
    "NormalizedMoments": "moments_normalized",
    "Orientation": "orientation",
    "Perimeter": "perimeter",
    "CroftonPerimeter": "perimeter_crofton",
    "Slice": "slice",
    "Solidity": "solidity",
    "WeightedCentralMoments": "moments_weighted_central",
    "weighted_moments_central": "moments_weighted_central",
    "WeightedCentroid": "centroid_weighted",
    "weighted_centroid": "centroid_weighted",
    "WeightedHuMoments": "moments_weighted_hu",
    "weighted_moments_hu": "moments_weighted_hu",
    "WeightedLocalCentroid": "centroid_weighted_local",
    "weighted_local_centroid": "centroid_weighted_local",
    "WeightedMoments": "moments_weighted",
    "weighted_moments": "moments_weighted",
    "WeightedNormalizedMoments": "moments_weighted_normalized",
    "weighted_moments_normalized": "moments_weighted_normalized",
}

DEFAULT_PROPERTIES = ("label", "area", "centroid")
#: scikit-image's default for ``regionprops_table``.
SKIMAGE_DEFAULT = ("label", "bbox")


def canonical(prop: str) -> str:
    """The current name of a property (scikit-image's deprecated spellings resolved)."""
    return ALIASES.get(prop, prop)


def normalize_properties(
    properties: Any, has_intensity: bool, ndim: int | None = None
) -> tuple[str, ...]:
    """Validate property names (duplicates dropped); intensity ones need an image.

    Names are returned as given (deprecated spellings kept: they name the columns);
    :func:`canonical` resolves them.
    """
    if isinstance(properties, str):
        properties = (properties,)
    if not isinstance(properties, Iterable) or isinstance(properties, bytes | dict):
        raise InvalidParameterError(
            f"properties must be a non-empty sequence of property names; got {properties!r}."
        )
    properties = list(properties)
    if not properties:
        raise InvalidParameterError(
            f"properties must be a non-empty sequence of property names; got {properties!r}."
        )
    out = []
    for p in properties:
        if not isinstance(p, str) or canonical(p) not in SPECS:
            raise InvalidParameterError(
                f"properties must be among {', '.join(SPECS)}; got {p!r}."
                f"{did_you_mean(str(p), list(SPECS))}"
            )
        spec = SPECS[canonical(p)]
        if spec.intensity and not has_intensity:
            raise InvalidParameterError(
                f"property {p!r} needs an intensity image; got intensity_image=None."
            )
        if spec.only2d and ndim is not None and ndim != 2:
            raise ParameterNotImplemented(
                f"property {p!r} is measured for 2-D images only (as in scikit-image); "
                f"got a {ndim}-D label image."
            )
        if p not in out:
            out.append(p)
    return tuple(out)


class ParameterNotImplemented(InvalidParameterError, NotImplementedError):
    """A property scikit-image does not define for this input (it raises NotImplementedError)."""


def normalize_spacing(spacing: Any, n: int) -> tuple[float, ...]:
    """Pixel size per axis as floats (1.0 everywhere for None); positive and finite."""
    if spacing is None:
        return (1.0,) * n
    arr = np.asarray(spacing)
    if arr.dtype.kind not in "iuf" or arr.dtype == bool:
        raise ParameterTypeError(f"spacing must hold real numbers; got {spacing!r}.")
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (n,))
    if arr.shape != (n,):
        raise InvalidParameterError(
            f"spacing must be a number or have one value per axis ({n}); got {spacing!r}."
        )
    out = tuple(float(s) for s in arr)
    if any(not (s > 0 and math.isfinite(s)) for s in out):
        raise InvalidParameterError(
            f"spacing must be positive and finite on every axis; got {spacing!r}."
        )
    return out


def needs_of(properties: Sequence[str]) -> frozenset:
    """The statistic groups (see :mod:`.stats`) that ``properties`` need together."""
    needs = frozenset()
    for p in properties:
        needs |= SPECS[canonical(p)].needs
    return needs


def one_pass(properties: Iterable[str]) -> bool:
    """True when every property is a sum of per-block values on the labels alone.

    Such properties can be measured in the same pass that labels the blocks (a block
    without its neighbours' labels and no crops of whole regions): no per-object
    property, no perimeter, Crofton perimeter or Euler number.
    """
    return all(
        road_of(p) == "sums" and not (SPECS[canonical(p)].needs & HALO.keys()) for p in properties
    )


def road_of(prop: str) -> str:
    """``"sums"`` or ``"object"``: how a property is measured."""
    return SPECS[canonical(prop)].road


def value_shape(prop: str, ndim: int, channels: int | None) -> tuple[int, ...] | None:
    """The shape of one region's value of a (non-object) property; None for a scalar.

    ``channels`` is None for a single-channel intensity image (no channel axis).
    """
    p = canonical(prop)
    ch = () if channels is None else (channels,)
    if p == "bbox":
        return (2 * ndim,)
    if p in ("centroid", "centroid_local", "inertia_tensor_eigvals"):
        return (ndim,)
    if p in ("centroid_weighted", "centroid_weighted_local"):
        return (ndim, *ch)
    if p == "inertia_tensor":
        return (ndim, ndim)
    if p in ("moments", "moments_central", "moments_normalized"):
        return (4,) * ndim
    if p in ("moments_weighted", "moments_weighted_central", "moments_weighted_normalized"):
        return (4,) * ndim + ch
    if p == "moments_hu":
        return (7,)
    if p == "moments_weighted_hu":
        return (7, *ch)
    if p in ("intensity_mean", "intensity_min", "intensity_max", "intensity_std"):
        return ch or None
    if p in ("intensity_sum", "intensity_median"):
        return ch or None
    return None


def columns_of(prop: str, ndim: int, channels: int | None = None, separator: str = "-") -> list:
    """The table columns of one property (``bbox-0`` ... for multi-valued ones)."""
    if SPECS[canonical(prop)].kind == "object":
        return [prop]
    shape = value_shape(prop, ndim, channels)
    if shape is None:
        return [prop]
    return [separator.join(map(str, (prop, *ind))) for ind in np.ndindex(shape)]


def column_dtype(prop: str) -> Any:
    """The dtype of a property's columns (scikit-image's ``COL_DTYPES``)."""
    kind = SPECS[canonical(prop)].kind
    return {"int": np.int64, "float": np.float64, "object": object}[kind]


class Values:
    """The sums-road property values of every row of a merged statistics table."""

    def __init__(self, t: dict, ndim: int, spacing: tuple[float, ...], channels: int | None):
        self.t = t
        self.ndim = ndim
        self.spacing = tuple(float(s) for s in spacing)
        self.channels = channels
        self.rows = len(t["label"])

    @cached_property
    def count(self) -> np.ndarray:
        return self.t["count"].astype(np.int64)

    @cached_property
    def pixel_area(self) -> float:
        return np.prod(np.asarray(self.spacing, np.float64))

    @cached_property
    def area(self) -> np.ndarray:
        return self.count * self.pixel_area

    @cached_property
    def box(self) -> np.ndarray:
        return self.t["bmax"] + 1 - self.t["bmin"]

    # -- moments ---------------------------------------------------------------------
    def _to_corner(self, mom: np.ndarray) -> np.ndarray:
        """Moments about the merged integer origin moved to the bounding-box corner (exact)."""
        t = (self.t["origin"] - self.t["bmin"]).astype(np.float64)
        return M.shift(mom, t)

    @cached_property
    def raw(self) -> np.ndarray:
        """scikit-image's ``moments``: about the bounding-box corner, scaled by spacing."""
        return M.scaled(self._to_corner(self.t["mom"]), self.spacing)

    @cached_property
    def centroid_local(self) -> np.ndarray:
        return M.centroid_local(self.raw, self.ndim)

    def _central(self, mom: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """Moments about ``origin`` moved to ``bmin + centre / spacing``, then scaled.

        ``mom`` is ``(rows, cube)`` with ``centre`` ``(rows, ndim)``, or ``(rows, C, cube)``
        with ``centre`` ``(rows, ndim, C)``.
        """
        if centre.ndim == 3 and mom.shape[1] == 1:
            return self._central(mom[:, 0], centre[:, :, 0])[:, None]
        if centre.ndim == 3:
            return np.stack(
                [self._central(mom[:, c], centre[:, :, c]) for c in range(mom.shape[1])], axis=1
            )
        sp = np.asarray(self.spacing, np.float64)
        target = self.t["bmin"] + centre / sp
        nan = np.isnan(target).any(axis=1)
        target = np.where(nan[:, None], 0.0, target)
        # an exact move to the integer point nearest the centre, then less than a pixel
        near = np.floor(target + 0.5)
        mom = M.shift(mom, self.t["origin"] - near)
        out = M.scaled(M.shift(mom, near - target), self.spacing)
        if nan.any():
            keep = np.zeros(out.shape[1:], bool)
            keep[(0,) * self.ndim] = True
            out[nan] = np.where(keep, out[nan], np.nan)
        return out

    @cached_property
    def central(self) -> np.ndarray:
        return self._central(self.t["mom"], self.centroid_local)

    @cached_property
    def normalized(self) -> np.ndarray:
        return M.normalized(self.central, self.ndim, self.spacing)

    @cached_property
    def tensor(self) -> np.ndarray:
        return M.inertia(self.central, self.ndim)

    @cached_property
    def eigvals(self) -> np.ndarray:
        return M.eigvals(self.tensor)

    # -- weighted moments (channels on axis 1 of the table) ---------------------------
    @cached_property
    def wraw(self) -> np.ndarray:
        return M.scaled(self._to_corner(self.t["wmom"]), self.spacing)

    @cached_property
    def wcentroid_local(self) -> np.ndarray:
        """``(rows, ndim, channels)``."""
        c = M.centroid_local(self.wraw, self.ndim)  # (rows, channels, ndim)
        return np.swapaxes(c, 1, 2)

    @cached_property
    def wcentral(self) -> np.ndarray:
        return self._central(self.t["wmom"], self.wcentroid_local)

    @cached_property
    def wnormalized(self) -> np.ndarray:
        if self.wcentral.shape[1] == 1:
            return M.normalized(self.wcentral[:, 0], self.ndim, self.spacing)[:, None]
        nu = np.empty_like(self.wcentral)
        for c in range(nu.shape[1]):
            nu[:, c] = M.normalized(self.wcentral[:, c], self.ndim, self.spacing)
        return nu

    # -- intensity sums ----------------------------------------------------------------
    def isum_channel(self, c: int) -> np.ndarray:
        t = self.t
        if "isum" in t:
            return t["isum"][:, c].astype(np.float64)
        return t["isum_f"][:, c]

    @cached_property
    def mean(self) -> np.ndarray:
        cols = [self.isum_channel(c) for c in range(self._nch)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack(cols, axis=1) / self.count[:, None]

    @cached_property
    def _nch(self) -> int:
        return 1 if self.channels is None else self.channels

    @cached_property
    def variance(self) -> np.ndarray:
        """Population variance per channel from exact sums: ``(Q - S*S/n) / n`` in double-double."""
        return variance_from(self.t, self.count, self._nch)

    # -- one property ------------------------------------------------------------------
    def single(self, prop: str) -> np.ndarray:
        """``(rows,) + value_shape`` array of a sums-road property."""
        p = canonical(prop)
        ndim, sp = self.ndim, self.spacing
        t = self.t
        multi = self.channels is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == "label":
                return t["label"].astype(np.int64)
            if p == "num_pixels":
                return self.count
            if p == "area":
                return self.area
            if p == "bbox":
                return np.concatenate([t["bmin"], t["bmax"] + 1], axis=1)
            if p == "area_bbox":
                return np.prod(self.box, axis=1) * self.pixel_area
            if p == "extent":
                return self.area / (np.prod(self.box, axis=1) * self.pixel_area)
            if p == "centroid":
                return t["csum"] / self.count[:, None] * np.asarray(sp)
            if p == "equivalent_diameter_area":
                return np.array(
                    [(2 * ndim * a / math.pi) ** (1 / ndim) for a in self.area.tolist()], np.float64
                )
            if p == "centroid_local":
                return self.centroid_local
            if p == "moments":
                return self.raw
            if p == "moments_central":
                return self.central
            if p == "moments_normalized":
                return self.normalized
            if p == "moments_hu":
                _check_unit_spacing(prop, sp)
                return M.hu(self.normalized)
            if p == "inertia_tensor":
                return self.tensor
            if p == "inertia_tensor_eigvals":
                return self.eigvals
            if p in ("eccentricity", "orientation", "axis_major_length", "axis_minor_length"):
                return _ellipse(p, self.tensor, self.eigvals, ndim)
            if p == "euler_number":
                return _euler(t["euler"], ndim)
            if p == "perimeter":
                _check_isotropic(prop, sp)
                w = perimeter_weights()
                full = np.zeros((self.rows, 50), np.int64)
                full[:, PERIMETER_CODES] = t["perim"]
                return np.array([h @ w for h in full], np.float64) * sp[0]
            if p == "perimeter_crofton":
                _check_isotropic(prop, sp)
                coefs = crofton_coefs()
                return np.array([coefs @ h for h in t["euler"]], np.float64) * sp[0]
            if p == "centroid_weighted":
                start = t["bmin"] * np.asarray(sp)
                v = self.wcentroid_local + start[:, :, None]
                return v if multi else v[:, :, 0]
            if p == "centroid_weighted_local":
                v = self.wcentroid_local
                return v if multi else v[:, :, 0]
            if p in ("moments_weighted", "moments_weighted_central", "moments_weighted_normalized"):
                v = {
                    "moments_weighted": self.wraw,
                    "moments_weighted_central": self.wcentral,
                    "moments_weighted_normalized": self.wnormalized,
                }[p]
                return np.moveaxis(v, 1, -1) if multi else v[:, 0]
            if p == "moments_weighted_hu":
                _check_unit_spacing(prop, sp)
                v = np.stack([M.hu(self.wnormalized[:, c]) for c in range(self._nch)], axis=-1)
                return v if multi else v[..., 0]
            if p in ("intensity_mean", "intensity_sum", "intensity_std"):
                if p == "intensity_mean":
                    v = self.mean
                elif p == "intensity_sum":
                    v = np.stack([self.isum_channel(c) for c in range(self._nch)], axis=1)
                else:
                    v = np.sqrt(self.variance)
                return v if multi else v[:, 0]
            if p in ("intensity_min", "intensity_max"):
                v = t["imin" if p == "intensity_min" else "imax"].astype(np.float64)
                v = np.where(t["nnan"] > 0, np.nan, v)
                return v if multi else v[:, 0]
        raise AssertionError(prop)  # pragma: no cover - properties are validated up front


def variance_from(t: dict, count: np.ndarray, nch: int) -> np.ndarray:
    """Population variance ``(rows, nch)`` of the intensities from a merged table.

    8- and 16-bit images: ``(Q - S**2 / n) / n`` in double-double from the exact sums
    ``S`` and ``Q`` (within one ulp unless ``Q / M2`` exceeds ``2**50``). Other images:
    ``(Q - L**2 / n) / n`` from sums of ``x - c`` and ``(x - c)**2`` about a centre ``c``
    near the mean (relative error about ``(n + 8) * 2**-53``, whatever the mean).
    """
    n = count.astype(np.float64)
    out = np.empty((len(n), nch), np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if "q2" in t:
            m2 = t["q2"] - t["l1"] * t["l1"] / n[:, None]
            return np.where(n[:, None] > 0, np.maximum(m2, 0.0) / n[:, None], np.nan)
        for c in range(nch):
            s = _dd_int(t["isum"][:, c])
            q = _dd_int(t["isq"][:, c])
            ss = dd_mul(s, s)
            # S*S / n in double-double: the quotient and one correction
            q1 = ss[0] / n
            p, e = two_prod(q1, n)
            r = ((ss[0] - p) - e + ss[1]) / n
            m2 = (q[0] - q1) + (q[1] - r)
            out[:, c] = np.maximum(m2, 0.0) / n
    return out


def _dd_int(v: np.ndarray):
    hi = v.astype(np.float64)
    lo = (v - hi.astype(np.int64)).astype(np.float64)
    return hi, lo


def _check_isotropic(prop: str, spacing) -> None:
    if len(set(spacing)) != 1:
        raise ParameterNotImplemented(
            f"property {prop!r} needs the same spacing on every axis (as in scikit-image); "
            f"got spacing={spacing!r}."
        )


def _check_unit_spacing(prop: str, spacing) -> None:
    if any(s != 1.0 for s in spacing):
        raise ParameterNotImplemented(
            f"property {prop!r} needs spacing 1 on every axis (as in scikit-image); "
            f"got spacing={spacing!r}."
        )


def _euler(hist: np.ndarray, ndim: int) -> np.ndarray:
    """scikit-image's ``coefs @ h`` (2-D) or ``int(0.125 * coefs @ h)`` (3-D), per row."""
    if ndim == 2:
        return hist.astype(np.int64) @ np.asarray(euler_coefs(2), np.int64)  # exact integers
    # 3-D tables hold the coefficient sum already (the same integer as coefs @ h)
    return np.trunc(0.125 * hist.astype(np.int64)).astype(np.int64)


def _ellipse(p: str, tensor: np.ndarray, ev: np.ndarray, ndim: int) -> np.ndarray:
    """scikit-image's ellipse properties per row (IEEE operations, so vectorised alike)."""
    if p in ("axis_major_length", "axis_minor_length") and ndim in (2, 3):
        with np.errstate(invalid="ignore"):
            if ndim == 2:
                e = ev[:, 0] if p == "axis_major_length" else ev[:, -1]
                return 4 * np.sqrt(e)
            if p == "axis_major_length":
                w = ev[:, 0] + ev[:, 1] - ev[:, 2]
            else:
                w = -ev[:, 0] + ev[:, 1] + ev[:, 2]
            return np.sqrt(np.maximum(0, 10 * w))
    out = np.empty(len(tensor), np.float64)
    for i, (tn, e) in enumerate(zip(tensor.tolist(), ev.tolist(), strict=True)):
        if p == "eccentricity":
            l1, l2 = e
            out[i] = 0 if l1 == 0 else _sqrt(1 - l2 / l1)
        elif p == "orientation":
            (a, b), (_, c) = tn
            if a - c == 0:
                out[i] = math.pi / 4.0 if b < 0 else -math.pi / 4.0
            else:
                out[i] = 0.5 * math.atan2(-2 * b, c - a)
        elif ndim == 2:
            out[i] = 4 * _sqrt(e[0] if p == "axis_major_length" else e[-1])
        elif ndim == 3:
            w = e[0] + e[1] - e[2] if p == "axis_major_length" else -e[0] + e[1] + e[2]
            out[i] = _sqrt(max(0, 10 * w))
        else:
            raise ParameterNotImplemented(
                f"property {p!r} is measured for 2-D and 3-D images only (as in scikit-image)."
            )
    return out


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else float("nan")


def property_matrices(
    t: dict,
    properties: Sequence[str],
    ndim: int,
    spacing: tuple,
    *,
    channels: int | None = None,
    objects: dict | None = None,
) -> dict[str, np.ndarray]:
    """Per property (not of kind object), its values as a ``(rows, columns)`` array.

    ``objects`` holds the object-road values already computed (property -> array of
    one value per row).
    """
    values = Values(t, ndim, spacing, channels)
    out: dict[str, np.ndarray] = {}
    for prop in properties:
        if road_of(prop) == "object":
            col = (objects or {})[prop]
            v = np.asarray(col, np.float64)
        else:
            v = values.single(prop)
        width = len(columns_of(prop, ndim, channels))
        out[prop] = np.asarray(v).reshape((values.rows, width))
    return out


#: Rows of the merged table measured at a time by :func:`table_columns`.
TABLE_BATCH = 4096


def table_columns(
    t: dict,
    properties: Sequence[str],
    ndim: int,
    spacing: tuple,
    stack: bool,
    *,
    channels: int | None = None,
    separator: str = "-",
    objects: dict | None = None,
) -> dict[str, np.ndarray]:
    """The table's columns, in order, from a merged statistics table.

    ``objects`` holds the object-road values already computed (property -> array of
    one value per row). Rows go :data:`TABLE_BATCH` at a time: the intermediates (the
    moments about each centroid, the inertia tensors ...) of a batch stay in cache and
    in memory the process already holds, and each batch's values are written, by one
    transposing copy per property, straight into the columns (on a table of 73,000
    3-D regions and every property, fresh memory for whole-table intermediates cost
    more than the arithmetic).
    """
    rows = len(t["label"])
    objects = objects or {}
    plain = [p for p in properties if SPECS[canonical(p)].kind != "object"]
    names = {p: columns_of(p, ndim, channels, separator) for p in plain}
    # a (columns, rows) block per property: each column is one of its rows, contiguous,
    # and each batch's values go in by one transposing copy a property (a copy a column
    # was 15-25% slower on the moments' columns of 73,000 3-D regions)
    blocks = {p: np.empty((len(names[p]), rows), column_dtype(p)) for p in plain}
    for lo in range(0, max(rows, 1), TABLE_BATCH):
        hi = min(rows, lo + TABLE_BATCH)
        sub = {k: v[lo:hi] for k, v in t.items()}
        subobj = {k: v[lo:hi] for k, v in objects.items()}
        m = property_matrices(sub, plain, ndim, spacing, channels=channels, objects=subobj)
        for p in plain:
            blocks[p][:, lo:hi] = m[p].T
    out = {p: list(block) for p, block in blocks.items()}
    data: dict[str, np.ndarray] = {}
    if stack:
        data["image"] = t["image"].astype(np.int64)
    for prop in properties:
        if prop not in out:
            data[prop] = objects[prop]
            continue
        for col, values in zip(names[prop], out[prop], strict=True):
            data[col] = values
        if stack and canonical(prop) == "label":
            data["image_label"] = rank_within(t["image"])
    return data


def frame(t: dict, properties: Sequence[str], ndim: int, spacing: tuple, stack: bool, **kw):
    """The table of :func:`table_columns` as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(table_columns(t, properties, ndim, spacing, stack, **kw))


def prop_values(t: dict, prop: str, ndim: int, spacing: tuple[float, ...]) -> np.ndarray:
    """The values of a sums-road ``prop`` for every row, shape ``(rows, columns)``."""
    v = Values(t, ndim, spacing, None).single(prop)
    return np.asarray(v).reshape((len(t["label"]), -1))


def rank_within(image: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal ``image`` values (rows sorted by image, label)."""
    if len(image) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, image[1:] != image[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, len(image)]))
    return (np.arange(len(image)) - run + 1).astype(np.int64)


def filter_mapping(t: dict, node: tuple, props: tuple, ndim: int, spacing: tuple, dtype, **kw):
    """(keys, values): kept labels renumbered 1..K in raster order of their first pixel."""
    columns = table_columns(t, props, ndim, spacing, False, **kw)
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


def keep_mapping(t: dict, node: tuple, props: tuple, ndim: int, spacing: tuple, dtype, **kw):
    """(keys, values) or a lookup array: kept labels keep their value, the others map to 0."""
    columns = table_columns(t, props, ndim, spacing, False, **kw)
    keep = np.asarray(evaluate(node, columns), bool)
    keys = t["label"]
    values = np.where(keep, keys, 0).astype(dtype)
    if len(keys) and keys[0] >= 0 and keys[-1] < max(4 * len(keys), 1 << 20):
        lut = np.zeros(int(keys[-1]) + 1, dtype)
        lut[keys] = values
        return lut
    return keys, values


@functools.lru_cache(maxsize=64)
def filter_columns(ndim: int, channels: int | None = None) -> dict[str, str]:
    """Every column a filter may name -> its property (numeric properties only; cached)."""
    out = {}
    for p, spec in SPECS.items():
        if spec.kind == "object" or (spec.only2d and ndim != 2):
            continue
        for c in columns_of(p, ndim, channels):
            out[c] = p
    return out


def filter_properties(ndim: int, has_image: bool, node: tuple, channels=None) -> tuple[str, ...]:
    """Check the columns a filter names; return the properties it needs measured."""
    columns = filter_columns(ndim, channels)
    for col in sorted(where_columns(node)):
        if col not in columns:
            raise InvalidParameterError(
                f"where must name measurement columns; got unknown column {col!r}."
                f"{did_you_mean(col, list(columns))}"
            )
        if SPECS[columns[col]].intensity and not has_image:
            raise InvalidParameterError(
                f"column {col!r} in where needs an intensity image; got intensity_image=None."
            )
    return tuple(sorted({columns[c] for c in where_columns(node)}))
