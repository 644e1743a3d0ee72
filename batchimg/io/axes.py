"""The axis model of an opened input: names, physical sizes, units and channel names.

Every input batchimg opens is presented with its axes in the canonical OME-NGFF order,
a subset of ``"tczyx"``: time, channel, then the spatial axes (plane, row, column).
:class:`Axes` says which of them an image has, the physical size and unit of a pixel
along each, the names of the channels, where the file keeps them (``stored``) and where
all this came from (``origin``). Readers fill it from the file's metadata;
:meth:`Axes.with_user` applies what the user says, which always wins.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError, InvalidParameterError

#: Every axis name, in the canonical (OME-NGFF) order.
CANONICAL = "tczyx"
#: The spatial axis names, in canonical order.
SPATIAL = "zyx"

#: Unit spellings found in files and typed by users -> the OME-NGFF (UDUNITS-2) name.
_UNIT_ALIASES = {
    "pm": "picometer",
    "nm": "nanometer",
    "um": "micrometer",
    "µm": "micrometer",  # micro sign
    "μm": "micrometer",  # greek mu
    "micron": "micrometer",
    "microns": "micrometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "km": "kilometer",
    "å": "angstrom",
    "in": "inch",
    "ft": "foot",
    "ps": "picosecond",
    "ns": "nanosecond",
    "us": "microsecond",
    "µs": "microsecond",
    "μs": "microsecond",
    "ms": "millisecond",
    "s": "second",
    "sec": "second",
    "min": "minute",
    "h": "hour",
    "hr": "hour",
    "d": "day",
}
_SPACE_UNITS = (
    "angstrom attometer centimeter decimeter exameter femtometer foot gigameter hectometer "
    "inch kilometer megameter meter micrometer mile millimeter nanometer parsec petameter "
    "picometer terameter yard yoctometer yottameter zeptometer zettameter"
).split()
_TIME_UNITS = (
    "attosecond centisecond day decisecond exasecond femtosecond gigasecond hectosecond hour "
    "kilosecond megasecond microsecond millisecond minute nanosecond petasecond picosecond "
    "second terasecond yoctosecond yottasecond zeptosecond zettasecond"
).split()
#: Units meaning "no physical unit" in files (ImageJ writes "pixel").
_NO_UNIT = ("", "pixel", "pixels", "px", "none")


def normalize_unit(unit: Any) -> str | None:
    """Return the OME-NGFF name of a unit from a file: ``'µm'`` -> ``'micrometer'``.

    Unknown spellings are kept as they are; ``None``, ``''`` and ``'pixel'`` mean no
    unit (``None``).

    Examples
    --------
    >>> normalize_unit("µm"), normalize_unit("micron"), normalize_unit("pixel")
    ('micrometer', 'micrometer', None)
    """
    if unit is None:
        return None
    text = str(unit).strip()
    if text.lower() in _NO_UNIT:
        return None
    low = text.lower()
    if low in _SPACE_UNITS or low in _TIME_UNITS:
        return low
    return _UNIT_ALIASES.get(low, _UNIT_ALIASES.get(text, text))


def _user_unit(unit: Any, where: str) -> str | None:
    """A length unit the user gave: a known OME-NGFF unit name or an alias of one."""
    if unit is None:
        return None
    out = normalize_unit(unit) if isinstance(unit, str) else unit
    if out is not None and out not in _SPACE_UNITS:
        raise InvalidParameterError(
            f"unit must be a length unit such as 'micrometer', 'nanometer' or 'um'; got "
            f"{unit!r} for {where}."
        )
    return out


def canonical(names: str) -> str:
    """Return ``names`` in canonical order: ``canonical('yxc') == 'cyx'``."""
    return "".join(a for a in CANONICAL if a in names)


def default_names(ndim: int) -> str:
    """The names of an input that says nothing about its axes: every axis spatial."""
    return SPATIAL[-ndim:] if 0 < ndim <= len(SPATIAL) else ""


def check_names(names: Any, ndim: int, where: str, *, name: str = "axes") -> str:
    """Return ``names`` if it names ``ndim`` distinct axes from ``'tczyx'``, else raise.

    Parameters
    ----------
    names : str
        One letter per stored axis, in the file's order (``'yxc'``).
    ndim : int
        How many axes the data has.
    where : str
        The input, for the message (``"'cells.tif' (shape (2, 64, 64))"``).
    name : str, optional
        The parameter's name, for the message.

    Raises
    ------
    InvalidParameterError
        If ``names`` is not a string, has the wrong length, or holds an unknown or
        repeated letter.

    Examples
    --------
    >>> check_names("YXC", 3, "'a.png'")
    'yxc'
    """
    if not isinstance(names, str):
        raise InvalidParameterError(
            f"{name} must be a string of axis letters such as 'zyx' or 'czyx'; got {names!r} "
            f"for {where}."
        )
    text = names.strip().lower()
    unknown = [a for a in text if a not in CANONICAL]
    if unknown:
        raise InvalidParameterError(
            f"{name} must be letters from 't', 'c', 'z', 'y', 'x'; got {names!r} "
            f"({unknown[0]!r} is not one) for {where}."
        )
    twice = [a for a in CANONICAL if text.count(a) > 1]
    if twice:
        raise InvalidParameterError(
            f"{name} must name each axis once; got {names!r} ({twice[0]!r} twice) for {where}."
        )
    if len(text) != ndim:
        raise InvalidParameterError(
            f"{name} must have one letter per axis of {where}, which has {ndim}; got {names!r} "
            f"({len(text)} letters)."
        )
    return text


def _scale_value(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be positive numbers; got {value!r} for {where}.")
    out = float(value)
    if not (math.isfinite(out) and out > 0):
        raise InvalidParameterError(f"{name} must be positive numbers; got {value!r} for {where}.")
    return out


@dataclass(frozen=True)
class Axes:
    """The axes of one image (or of one volume), in canonical ``tczyx`` order.

    The pixels of an opened input are presented in this order (``names``), whatever
    the file's own order (``stored``): a channel-last RGB image stored as ``'yxc'``
    has ``names == 'cyx'``, and its data is the file's array transposed.

    Parameters
    ----------
    names : str
        The axes, a subset of ``'tczyx'`` in that order: ``'zyx'``, ``'cyx'``,
        ``'tczyx'``...
    scale : tuple of float
        The physical size of one pixel along each axis of ``names`` (the time step
        along ``t``); 1.0 where the file does not say.
    units : tuple of str or None
        The unit of each entry of ``scale`` as an OME-NGFF unit name
        (``'micrometer'``, ``'second'``), or None where unknown.
    channel_names : tuple of str, optional
        The name of each channel, where there is a ``c`` axis and its names are known.
    origin : str
        Where the axes came from: ``'ome-tiff'``, ``'imagej'``, ``'tiff'``,
        ``'ome-zarr 0.4'``, ``'ome-zarr 0.5'``, ``'zarr dimension_names'``,
        ``'hdf5'``, ``'image file'``, ``'xarray'``, ``'user'`` or ``'default'`` (the
        input says nothing: every axis spatial).
    stored : str, optional
        The same letters in the order the file stores them; ``names`` by default.

    Raises
    ------
    InvalidParameterError
        If the fields do not fit together (order, lengths, channel names without a
        ``c`` axis).

    Examples
    --------
    >>> ax = Axes("cyx", (1.0, 0.5, 0.5), (None, "micrometer", "micrometer"), ("dapi", "gfp"),
    ...           "ome-tiff")
    >>> ax.spatial, ax.channel_axis, ax.spatial_scale, ax.channel_index("gfp")
    ('yx', 0, (0.5, 0.5), 1)
    """

    names: str
    scale: tuple[float, ...]
    units: tuple[str | None, ...]
    channel_names: tuple[str, ...] | None = None
    origin: str = "default"
    stored: str = ""

    def __post_init__(self) -> None:
        if self.names != canonical(self.names) or len(set(self.names)) != len(self.names):
            raise InvalidParameterError(
                f"names must be distinct letters of 'tczyx' in that order; got {self.names!r}."
            )
        if not self.stored:
            object.__setattr__(self, "stored", self.names)
        if sorted(self.stored) != sorted(self.names):
            raise InvalidParameterError(
                f"stored must hold the letters of names {self.names!r}; got {self.stored!r}."
            )
        n = len(self.names)
        object.__setattr__(self, "scale", tuple(float(s) for s in self.scale))
        object.__setattr__(self, "units", tuple(self.units))
        if len(self.scale) != n or len(self.units) != n:
            raise InvalidParameterError(
                f"scale and units must have one entry per axis of {self.names!r}; got "
                f"{self.scale} and {self.units}."
            )
        if self.channel_names is not None:
            if "c" not in self.names:
                raise InvalidParameterError(
                    f"channel_names needs a 'c' axis; got axes {self.names!r}."
                )
            object.__setattr__(self, "channel_names", tuple(str(c) for c in self.channel_names))

    @classmethod
    def default(cls, ndim: int, origin: str = "default") -> Axes:
        """The axes of an input that says nothing: every axis spatial, scale 1, no unit."""
        if not 0 < ndim <= len(SPATIAL):
            raise InvalidParameterError(
                f"ndim must be 1, 2 or 3 for axes that are all spatial; got {ndim}."
            )
        names = default_names(ndim)
        return cls(names, (1.0,) * ndim, (None,) * ndim, None, origin)

    @classmethod
    def from_stored(
        cls,
        stored: str,
        scale: dict[str, float] | None = None,
        units: dict[str, str | None] | None = None,
        channel_names: Sequence[str] | None = None,
        origin: str = "default",
    ) -> Axes:
        """Build axes from the file's order and per-axis metadata keyed by axis name."""
        names = canonical(stored)
        scale = scale or {}
        units = units or {}
        return cls(
            names,
            tuple(float(scale.get(a, 1.0)) for a in names),
            tuple(normalize_unit(units.get(a)) for a in names),
            tuple(channel_names) if channel_names is not None and "c" in names else None,
            origin,
            stored,
        )

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.names)

    @property
    def spatial(self) -> str:
        """The spatial axes (``'zyx'``, ``'yx'``...)."""
        return "".join(a for a in self.names if a in SPATIAL)

    @property
    def spatial_indices(self) -> tuple[int, ...]:
        """The positions of the spatial axes in ``names``."""
        return tuple(i for i, a in enumerate(self.names) if a in SPATIAL)

    @property
    def batch(self) -> str:
        """The non-spatial axes (``'tc'``, ``'c'``, ``''``): each of their entries is run alone."""
        return "".join(a for a in self.names if a not in SPATIAL)

    @property
    def channel_axis(self) -> int | None:
        """The position of ``c`` in ``names``, or None."""
        return self.names.index("c") if "c" in self.names else None

    @property
    def spatial_scale(self) -> tuple[float, ...]:
        """The physical pixel size along each spatial axis (scikit-image's ``spacing``)."""
        return tuple(self.scale[i] for i in self.spatial_indices)

    @property
    def spatial_units(self) -> tuple[str | None, ...]:
        """The unit of each spatial axis."""
        return tuple(self.units[i] for i in self.spatial_indices)

    @property
    def transpose(self) -> tuple[int, ...]:
        """The axes of the stored array that give ``names``: ``stored_array.transpose(this)``."""
        return tuple(self.stored.index(a) for a in self.names)

    def index(self, name: str) -> int:
        """The position of axis ``name`` in ``names``."""
        if name not in self.names:
            raise InvalidParameterError(f"axis must be one of {tuple(self.names)}; got {name!r}.")
        return self.names.index(name)

    def channel_index(self, channel: str | int, n_channels: int | None = None) -> int:
        """Return the index along ``c`` of a channel given by name or by index.

        Parameters
        ----------
        channel : str or int
            A name of ``channel_names`` or an index.
        n_channels : int, optional
            The length of the ``c`` axis (by default, the number of channel names).

        Returns
        -------
        int

        Raises
        ------
        InvalidParameterError
            If there is no ``c`` axis, no such name, or the index is out of range.
        """
        if "c" not in self.names:
            raise InvalidParameterError(
                f"channel must refer to a channel, but the input has no channel axis (axes "
                f"{self.names!r}); got {channel!r}. Hint: name its channel axis with --axes "
                "(e.g. --axes czyx)."
            )
        n = (
            n_channels
            if n_channels is not None
            else (len(self.channel_names) if self.channel_names is not None else None)
        )
        names = self.channel_names or ()
        span = f"an index from 0 to {n - 1}" if n is not None else "an index"
        if isinstance(channel, str):
            if channel in names:
                return names.index(channel)
            listed = ", ".join(repr(c) for c in names)
            choices = f"one of {listed} or {span}" if names else f"{span} (no channel names)"
            raise InvalidParameterError(f"channel must be {choices}; got {channel!r}.")
        if isinstance(channel, numbers.Integral) and not isinstance(channel, bool):
            k = int(channel)
            if k >= 0 and (n is None or k < n):
                return k
        raise InvalidParameterError(f"channel must be a channel name or {span}; got {channel!r}.")

    def drop(self, name: str) -> Axes:
        """These axes without axis ``name`` (after taking one channel, or gray conversion)."""
        keep = [i for i, a in enumerate(self.names) if a != name]
        return Axes(
            "".join(self.names[i] for i in keep),
            tuple(self.scale[i] for i in keep),
            tuple(self.units[i] for i in keep),
            None if name == "c" else self.channel_names,
            self.origin,
            self.stored.replace(name, ""),
        )

    def with_user(
        self,
        *,
        axes: str | None = None,
        scale: Any = None,
        unit: Any = None,
        channel_names: Sequence[str] | None = None,
        shape: Sequence[int] | None = None,
        where: str = "the input",
    ) -> Axes:
        """Return these axes with what the user said applied; the user always wins.

        Parameters
        ----------
        axes : str, optional
            The letters of the stored axes, in the file's order (``'yxc'`` for a
            channel-last image). Physical sizes and units of axes keeping their name
            are kept; ``origin`` becomes ``'user'``.
        scale : float or sequence of float, optional
            The physical pixel size along each spatial axis, in canonical order
            (``czyx`` data takes ``[z, y, x]``); one number applies to every spatial
            axis.
        unit : str or sequence of str, optional
            The unit of ``scale`` (``'micrometer'``, ``'um'``, ``'nm'``...), one for
            all spatial axes or one per spatial axis.
        channel_names : sequence of str, optional
            One name per entry of the ``c`` axis.
        shape : sequence of int, optional
            The stored array's shape, in the file's order; needed to check
            ``channel_names`` against the length of ``c``.
        where : str, optional
            The input, for error messages.

        Returns
        -------
        Axes

        Raises
        ------
        InvalidParameterError
            If ``axes`` does not fit the data, ``scale`` or ``unit`` has the wrong
            length or values, or ``channel_names`` does not fit the ``c`` axis.

        Examples
        --------
        >>> Axes.default(3).with_user(axes="cyx", scale=0.5, unit="um").spatial_units
        ('micrometer', 'micrometer')
        """
        out = self
        if axes is not None:
            stored = check_names(axes, len(self.stored), where)
            names = canonical(stored)
            old = dict(zip(self.names, zip(self.scale, self.units, strict=True), strict=True))
            same_c = (
                "c" in stored
                and "c" in self.stored
                and (stored.index("c") == self.stored.index("c"))
            )
            out = Axes(
                names,
                tuple(old.get(a, (1.0, None))[0] for a in names),
                tuple(old.get(a, (1.0, None))[1] for a in names),
                self.channel_names if same_c else None,
                "user",
                stored,
            )
        spatial = out.spatial
        if scale is not None:
            values = (
                [scale] * len(spatial)
                if isinstance(scale, numbers.Real) and not isinstance(scale, bool)
                else scale
            )
            if (
                isinstance(values, str)
                or not isinstance(values, Sequence)
                or (len(values) != len(spatial))
            ):
                raise InvalidParameterError(
                    f"scale must have one value per spatial axis ({len(spatial)}: "
                    f"{', '.join(spatial)}); got {scale!r} for {where}, axes {out.names!r}. "
                    f"Hint: scale is given per spatial axis, e.g. axes czyx with scale "
                    "[2.0, 0.5, 0.5]."
                )
            new = list(out.scale)
            for i, v in zip(out.spatial_indices, values, strict=True):
                new[i] = _scale_value(v, "scale", where)
            out = replace(out, scale=tuple(new))
        if unit is not None:
            per = [unit] * len(spatial) if isinstance(unit, str) else unit
            if not isinstance(per, Sequence) or len(per) != len(spatial):
                raise InvalidParameterError(
                    f"unit must be one unit name or one per spatial axis ({len(spatial)}: "
                    f"{', '.join(spatial)}); got {unit!r} for {where}."
                )
            new_units = list(out.units)
            for i, u in zip(out.spatial_indices, per, strict=True):
                new_units[i] = _user_unit(u, where)
            out = replace(out, units=tuple(new_units))
        if channel_names is not None:
            out = out._with_channel_names(channel_names, shape, where)
        return out

    def _with_channel_names(self, channel_names: Any, shape: Any, where: str) -> Axes:
        if isinstance(channel_names, str) or not isinstance(channel_names, Sequence):
            raise InvalidParameterError(
                f"channel_names must be a list of names; got {channel_names!r} for {where}."
            )
        if "c" not in self.names:
            raise InvalidParameterError(
                f"channel_names needs a channel axis, but {where} has axes {self.names!r}; got "
                f"{list(channel_names)!r}. Hint: name its channel axis with --axes (e.g. --axes "
                "czyx)."
            )
        names = [str(c) for c in channel_names]
        if shape is not None:
            n = int(shape[self.stored.index("c")])
            if len(names) != n:
                raise InvalidParameterError(
                    f"channel_names must have one name per channel ({n}); got {names!r} "
                    f"({len(names)}) for {where}."
                )
        if len(set(names)) != len(names):
            raise InvalidParameterError(
                f"channel_names must be distinct; got {names!r} for {where}."
            )
        return replace(self, channel_names=tuple(names))

    def to_dict(self) -> dict:
        """A JSON-able record of these axes (see :meth:`from_dict`)."""
        return {
            "names": self.names,
            "stored": self.stored,
            "scale": list(self.scale),
            "units": list(self.units),
            "channel_names": None if self.channel_names is None else list(self.channel_names),
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, record: dict) -> Axes:
        """Rebuild axes from :meth:`to_dict`'s record."""
        return cls(
            record["names"],
            tuple(record["scale"]),
            tuple(record["units"]),
            None if record.get("channel_names") is None else tuple(record["channel_names"]),
            record.get("origin", "default"),
            record.get("stored", record["names"]),
        )


def check_unambiguous(shape: Sequence[int], where: str) -> None:
    """Refuse an input that says nothing about its axes where every-axis-spatial is a guess.

    An array whose last axis has 3 or 4 entries may be colour channels, and one with
    more than three axes cannot be all spatial (``z, y, x``); the user must say.

    Raises
    ------
    InputError
        If the shape is one of those.
    """
    ndim = len(shape)
    if ndim > len(SPATIAL):
        raise InputError(
            f"axes must be given for {where}: it has {ndim} axes and says nothing about them "
            f"(batchimg names at most three spatial axes, z, y, x). Hint: pass --axes "
            f"(axes=...), e.g. --axes {'tczyx'[-ndim:]}."
        )
    if ndim >= 3 and shape[-1] in (3, 4):
        raise InputError(
            f"axes must be given for {where}: its last axis has {shape[-1]} entries, which may "
            f"be colour channels or a {ndim}-D volume, and the file does not say. Hint: pass "
            f"--axes (axes=...), e.g. --axes {default_names(ndim - 1)}c for channels or "
            f"--axes {default_names(ndim)} for a volume."
        )


def resolve_axes(
    found: Axes | None,
    shape: Sequence[int],
    where: str,
    *,
    axes: str | None = None,
    scale: Any = None,
    unit: Any = None,
    channel_names: Sequence[str] | None = None,
) -> Axes:
    """The axes of an input: what its file says (``found``), with what the user says on top.

    ``found`` is None where the file says nothing: then every axis is spatial
    (``zyx``, ``yx``), unless that is ambiguous (see :func:`check_unambiguous`) and
    the user did not give ``axes``.

    Parameters
    ----------
    found : Axes or None
        The axes the file names (``stored`` in its order), or None.
    shape : sequence of int
        The stored shape.
    where : str
        The input, for error messages.
    axes, scale, unit, channel_names
        What the user says (see :meth:`Axes.with_user`).

    Returns
    -------
    Axes

    Raises
    ------
    InputError
        If the file says nothing, the layout is ambiguous and ``axes`` is not given.
    InvalidParameterError
        If what the user says does not fit the data.

    Examples
    --------
    >>> resolve_axes(None, (5, 64, 64), "'v.raw'").names
    'zyx'
    >>> resolve_axes(None, (64, 64, 3), "'v.raw'", axes="yxc").names
    'cyx'
    """
    if found is None:
        if axes is None:
            check_unambiguous(shape, where)
            found = Axes.default(len(shape))
        else:
            stored = check_names(axes, len(shape), where)
            found = Axes.from_stored(stored, origin="user")
            axes = None
    return found.with_user(
        axes=axes, scale=scale, unit=unit, channel_names=channel_names, shape=shape, where=where
    )


#: Axis names found in files (dimension_names, DIMENSION_LABELS, xarray dims) -> letter.
NAME_ALIASES = {
    "t": "t", "time": "t",
    "c": "c", "channel": "c", "channels": "c", "ch": "c",
    "z": "z", "y": "y", "x": "x",
}  # fmt: skip


def names_from_labels(
    labels: Sequence[Any], where: str, what: str, *, strict: bool = True
) -> str | None:
    """Map a file's axis labels (``['z', 'y', 'x']``, ``['time', 'c', 'y', 'x']``) to letters.

    Returns None when no label is a known axis name (``dim_0``...: the file says
    nothing); raises when only some are, unless ``strict`` is false (the user names
    the axes, so the file's labels do not matter) and None is returned.

    Raises
    ------
    InputError
        If some labels are known and others not, or two map to the same axis.
    """
    keys = [None if lab is None else str(lab).strip().lower() for lab in labels]
    letters = [NAME_ALIASES.get(k) if k is not None else None for k in keys]
    if not any(letters):
        return None
    if not all(letters) or len(set(letters)) != len(letters):
        if not strict:
            return None
        raise InputError(
            f"axes must be given for {where}: its {what} {list(labels)!r} do not name each axis "
            f"once as one of t, c, z, y, x. Hint: pass --axes (axes=...), e.g. --axes "
            f"{default_names(len(labels)) or 'tczyx'[-len(labels) :]}."
        )
    return "".join(letters)


__all__ = [
    "CANONICAL",
    "NAME_ALIASES",
    "SPATIAL",
    "Axes",
    "canonical",
    "check_names",
    "check_unambiguous",
    "default_names",
    "names_from_labels",
    "normalize_unit",
    "resolve_axes",
]
