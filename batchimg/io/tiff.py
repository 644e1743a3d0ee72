"""TIFF headers with their axes: OME-TIFF, ImageJ hyperstacks and plain TIFF.

:func:`read_tiff_header` opens a TIFF file, picks a series and resolution level and
returns what its metadata says (axis letters, physical pixel sizes, units, channel
names) without reading pixels. :class:`~batchimg.io.regions.TiffSeries` then reads
regions of the series lazily, page by page or tile by tile, through tifffile's Zarr
store.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, InvalidParameterError
from .axes import SPATIAL, Axes

#: tifffile's axis letters -> batchimg's (S, samples of an RGB pixel, is a channel axis).
_LETTERS = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}
#: tifffile's letters for axes the file does not name (pages of a plain stack).
_GENERIC = "QI"


@dataclass(frozen=True)
class TiffHeader:
    """What a TIFF file says about one of its series, read from its header.

    Parameters
    ----------
    shape : tuple of int
        The series' shape at the chosen level, in the file's axis order.
    dtype : numpy.dtype
    axes : Axes or None
        Its axes (``axes.stored`` in the file's order), or None where the file says
        nothing about them.
    series, level : int
        The series and resolution level chosen.
    chunks : tuple of int
        The shape of one storage chunk (a page, strip or tile), in the file's order.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    axes: Axes | None
    series: int
    level: int
    chunks: tuple[int, ...]


def _ome_unit(pixels: ET.Element, name: str, default: str) -> str:
    return pixels.get(f"{name}Unit", default)


def _ome_metadata(tif: Any, series: int) -> tuple[dict, dict, list[str] | None]:
    """Physical sizes, units and channel names of OME image ``series``."""
    try:
        root = ET.fromstring(tif.ome_metadata)
    except (ET.ParseError, TypeError):
        return {}, {}, None
    images = [el for el in root if el.tag.rsplit("}", 1)[-1] == "Image"]
    if series >= len(images):
        return {}, {}, None
    pixels = next((el for el in images[series] if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return {}, {}, None
    scale: dict[str, float] = {}
    units: dict[str, str] = {}
    for letter in "xyz":
        value = pixels.get(f"PhysicalSize{letter.upper()}")
        if value is not None:
            scale[letter] = float(value)
            units[letter] = _ome_unit(pixels, f"PhysicalSize{letter.upper()}", "µm")
    if pixels.get("TimeIncrement") is not None:
        scale["t"] = float(pixels.get("TimeIncrement"))
        units["t"] = _ome_unit(pixels, "TimeIncrement", "s")
    channels = [el for el in pixels if el.tag.rsplit("}", 1)[-1] == "Channel"]
    names = [el.get("Name") for el in channels]
    return scale, units, (names if names and all(names) else None)


def _imagej_metadata(tif: Any) -> tuple[dict, dict]:
    """Pixel sizes and units of an ImageJ hyperstack (resolution tags, spacing, unit)."""
    meta = tif.imagej_metadata or {}
    unit = meta.get("unit")
    if isinstance(unit, str):
        unit = unit.encode().decode("unicode_escape") if "\\u" in unit else unit
    scale: dict[str, float] = {}
    units: dict[str, Any] = {}
    tags = tif.pages.first.tags
    for letter, tag in (("x", "XResolution"), ("y", "YResolution")):
        value = tags.get(tag)
        if value is None:
            continue
        num, den = value.value
        if num and (num, den) != (1, 1):
            scale[letter] = den / num
            units[letter] = unit
    if meta.get("spacing"):
        scale["z"] = float(meta["spacing"])
        units["z"] = unit
    if meta.get("finterval"):
        scale["t"] = float(meta["finterval"])
        units["t"] = "second"
    return scale, units


def _letters(series_axes: str, where: str, strict: bool) -> str | None:
    """The letters (tczyx) for tifffile's axes, or None where they name nothing but the plane."""
    out = []
    generic = 0
    for a in series_axes:
        if a in _GENERIC:
            out.append("?")
            generic += 1
        elif a in _LETTERS:
            out.append(_LETTERS[a])
        elif not strict:
            return None
        else:
            raise InputError(
                f"axes must be given for {where}: its axes are {series_axes!r}, and "
                f"{a!r} is not one of T, C, Z, Y, X (or S, samples). Hint: pass --axes "
                "(axes=...) with one letter of t, c, z, y, x per axis."
            )
    if len([a for a in out if a == "c"]) > 1:
        if not strict:
            return None
        raise InputError(
            f"axes must be given for {where}: its axes {series_axes!r} have two channel axes "
            "(C and S). Hint: pass --axes (axes=...) naming each axis once."
        )
    if generic:
        # pages the file does not name are spatial, as for input without metadata
        free = [a for a in SPATIAL if a not in out]
        if generic > len(free):
            return None
        names = iter(free[-generic:])
        out = [next(names) if a == "?" else a for a in out]
    return "".join(out)


def _pick(what: str, value: Any, n: int, where: str, listing: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < n:
        raise InvalidParameterError(
            f"{what} must be an index from 0 to {n - 1}; got {value!r} for {where}, which has "
            f"{listing}."
        )
    return value


def read_tiff_header(
    path: str, series: Any = None, level: Any = None, *, strict: bool = True
) -> TiffHeader:
    """Read one series of a TIFF file: shape, dtype, axes and storage chunks, no pixels.

    Parameters
    ----------
    path : str
        The TIFF file.
    series : int, optional
        Which series (0, the first, by default).
    level : int, optional
        Which resolution level of a pyramidal series (0, full resolution, by default).
    strict : bool, optional
        Refuse axes that cannot be named; with False (the user names the axes) the
        file's axes are ignored instead.

    Returns
    -------
    TiffHeader

    Raises
    ------
    InputError
        If the file cannot be read as a TIFF, or its axes cannot be named.
    InvalidParameterError
        If ``series`` or ``level`` is out of range.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     tifffile.imwrite(f"{d}/s.tif", np.zeros((3, 2, 8, 6), np.uint16), imagej=True,
    ...                      metadata={"axes": "ZCYX", "spacing": 2.0, "unit": "um"})
    ...     h = read_tiff_header(f"{d}/s.tif")
    >>> h.shape, h.axes.stored, h.axes.names, h.axes.scale, h.chunks
    ((3, 2, 8, 6), 'zcyx', 'czyx', (1.0, 2.0, 1.0, 1.0), (1, 1, 8, 6))
    """
    import tifffile
    import zarr

    where = repr(path)
    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # any parser failure means the file is unreadable
        raise InputError(f"{path!r} could not be read as a TIFF file: {exc}") from exc
    with tif:
        try:
            all_series = tif.series
        except Exception as exc:  # a broken header shows when tifffile reads the pages
            raise InputError(f"{path!r} could not be read as a TIFF file: {exc}") from exc
        if not all_series:
            raise InputError(f"{path!r} could not be read as a TIFF file: it holds no image.")
        listing = ", ".join(f"{i}: {tuple(s.shape)} {s.axes}" for i, s in enumerate(all_series))
        k = _pick("series (dataset)", series, len(all_series), where, f"series {listing}")
        s = all_series[k]
        levels = s.levels
        lv = _pick(
            "level", level, len(levels), where,
            "levels " + ", ".join(f"{i}: {tuple(v.shape)}" for i, v in enumerate(levels)),
        )  # fmt: skip
        data = levels[lv]
        shape = tuple(int(n) for n in data.shape)
        stored = _letters(s.axes, where, strict)
        scale: dict[str, float] = {}
        units: dict[str, Any] = {}
        channel_names = None
        axes = None
        if stored is not None:
            if tif.is_ome and s.kind == "ome":
                origin = "ome-tiff"
                scale, units, channel_names = _ome_metadata(tif, k)
            elif tif.is_imagej:
                origin = "imagej"
                scale, units = _imagej_metadata(tif)
            elif set(s.axes) <= set("YXS"):
                origin = "image file"
            else:
                origin = "tiff"
            if "S" in s.axes and channel_names is None and shape[s.axes.index("S")] in (3, 4):
                photometric = getattr(s.keyframe, "photometric", None)
                if getattr(photometric, "name", "") == "RGB":
                    channel_names = list("RGBA"[: shape[s.axes.index("S")]])
            if lv:
                full = dict(zip(stored, s.shape, strict=True))
                for a, n in zip(stored, shape, strict=True):
                    if a in SPATIAL and a in scale:
                        scale[a] = scale[a] * full[a] / n
            if channel_names is not None and (
                "c" not in stored or len(channel_names) != shape[stored.index("c")]
            ):
                channel_names = None
            axes = Axes.from_stored(stored, scale, units, channel_names, origin)
        store = s.aszarr(level=lv)
        try:
            chunks = tuple(int(c) for c in zarr.open_array(store, mode="r", zarr_format=2).chunks)
        finally:
            store.close()
        return TiffHeader(shape, np.dtype(data.dtype), axes, k, lv, chunks)


def is_tiff(path: str) -> bool:
    """Whether ``path`` is named like a TIFF file."""
    return os.fspath(path).lower().endswith((".tif", ".tiff"))


__all__ = ["TiffHeader", "is_tiff", "read_tiff_header"]
