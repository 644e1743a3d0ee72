"""Zarr arrays (format 2 or 3) and OME-Zarr images, with their axes, read lazily.

:func:`open_zarr` opens one array as a dask array chunked as stored;
:func:`read_zarr_header` finds the array a path names (an array, a level of an
OME-Zarr 0.4/0.5 multiscale image, or a group and ``dataset=``/``level=``) and
reads its axes from the multiscales metadata or the array's ``dimension_names``.

This module is not named ``zarr`` so that it can never shadow the zarr library.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from dask.base import tokenize

from .._lazy import da
from .._paths import has_zarr_metadata, is_zarr
from ..errors import InputError, InputNotFoundError, InvalidParameterError
from .axes import Axes, names_from_labels

_METADATA_FILES = ("zarr.json", ".zarray")


def _array_names(group) -> list[str]:
    import zarr

    return sorted(
        name for name, node in group.members(max_depth=None) if isinstance(node, zarr.Array)
    )


def _listing(names: list[str]) -> str:
    if not names:
        return "it holds no arrays"
    return "it holds " + ", ".join(repr(n) for n in names)


def _metadata_mtime(path: str, component: str | None) -> int:
    folder = os.path.join(path, component) if component else path
    for name in _METADATA_FILES:
        try:
            return os.stat(os.path.join(folder, name)).st_mtime_ns
        except OSError:
            continue
    return 0


def open_zarr(path: str | os.PathLike, component: str | None = None) -> da.Array:
    """Open an array of a Zarr store lazily, one dask chunk per storage chunk (or shard).

    Computing the array gives exactly ``zarr.open_array(path, path=component)[...]``.
    The graph holds the zarr array's handle (store location and metadata), never
    its data; each task reads the storage chunks it covers.

    Parameters
    ----------
    path : str or os.PathLike
        The Zarr store: a directory holding an array or a group.
    component : str, optional
        The array's path inside a group store (``'labels/0'``); leave it out when
        ``path`` is an array.

    Returns
    -------
    dask.array.Array
        The array, chunked as stored: by shard where the array is sharded, by
        chunk otherwise.

    Raises
    ------
    InputNotFoundError
        If ``path`` does not exist, or the group has no array ``component``; the
        message lists the arrays the store holds.
    InputError
        If ``path`` is not a Zarr store.
    InvalidParameterError
        If ``path`` is a group and ``component`` is not given.

    See Also
    --------
    dask.array.from_zarr, zarr.open_array

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as d:
    ...     z = zarr.create_array(f"{d}/a.zarr", shape=(4, 6), chunks=(2, 3), dtype="u1")
    ...     z[:] = 7
    ...     x = open_zarr(f"{d}/a.zarr")
    ...     x.chunks, int(x.sum().compute())
    (((2, 2), (3, 3)), 168)
    """
    import zarr

    text = os.fspath(path)
    if not os.path.exists(text):
        raise InputNotFoundError(f"zarr store {text!r} does not exist.")
    try:
        root = zarr.open(text, mode="r")
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(
            f"{text!r} must be a Zarr store (an array or a group); it holds no Zarr metadata."
        ) from exc

    if isinstance(root, zarr.Group):
        names = _array_names(root)
        if component is None:
            raise InvalidParameterError(
                f"component must name an array of the group {text!r} ({_listing(names)}); got None."
            )
        node = root.get(component)
        if not isinstance(node, zarr.Array):
            what = "a group, not an array" if node is not None else "no such array"
            raise InputNotFoundError(
                f"zarr store {text!r} has {what} at {component!r}; {_listing(names)}."
            )
    else:
        if component not in (None, ""):
            raise InputNotFoundError(
                f"zarr store {text!r} is a single array, with no component {component!r}; "
                "leave component out."
            )
        node = root

    chunks = node.shards or node.chunks
    token = tokenize(
        "open_zarr",
        os.path.abspath(text),
        component,
        node.shape,
        np.dtype(node.dtype).str,
        chunks,
        _metadata_mtime(text, component),
    )
    return da.from_zarr(node, chunks=chunks, name=f"open_zarr-{token}")


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class ZarrHeader:
    """The array a Zarr path names, and what its metadata says.

    Parameters
    ----------
    path : str
        The array's own location (``img.zarr/s0``): a folder, or a URL.
    shape : tuple of int
        In the stored order.
    dtype : numpy.dtype
    chunks : tuple of int
        Storage chunks (shards where sharded), in the stored order.
    axes : Axes or None
        What the metadata says, or None where it says nothing.
    level : str or None
        The multiscale dataset path chosen, for an OME-Zarr image.
    mtime_ns : int
        The modification time of the array's metadata (0 for a URL).
    """

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...]
    axes: Axes | None
    level: str | None
    mtime_ns: int


def _join(base: str, inner: str) -> str:
    inner = inner.strip("/")
    if not inner:
        return base
    return posixpath.join(base, inner) if _URL.match(base) else os.path.join(base, inner)


def _parent(path: str) -> str:
    text = path.rstrip("/")
    return text.rsplit("/", 1)[0] if _URL.match(text) else os.path.dirname(text)


def _open_node(path: str, storage_options: dict | None):
    import zarr

    kw = {"storage_options": storage_options} if storage_options else {}
    return zarr.open(path, mode="r", **kw)


def _multiscales(attrs: Any) -> tuple[dict, str, dict | None] | None:
    """``(multiscale, version, omero)`` of an OME-Zarr image group's attributes, or None."""
    attrs = dict(attrs)
    if isinstance(attrs.get("ome"), dict) and attrs["ome"].get("multiscales"):
        ome = attrs["ome"]
        return ome["multiscales"][0], str(ome.get("version", "0.5")), ome.get("omero")
    if attrs.get("multiscales"):
        ms = attrs["multiscales"][0]
        return ms, str(ms.get("version", "0.4")), attrs.get("omero")
    return None


def _scale_of(transforms: Any, ndim: int) -> list[float]:
    out = [1.0] * ndim
    for t in transforms or ():
        if t.get("type") == "scale" and len(t.get("scale", ())) == ndim:
            out = [a * float(b) for a, b in zip(out, t["scale"], strict=True)]
    return out


def _levels_listing(ms: dict, group) -> str:
    parts = []
    for i, d in enumerate(ms["datasets"]):
        node = group.get(d["path"])
        shape = tuple(node.shape) if node is not None else "missing"
        parts.append(f"{i}: {d['path']!r} {shape}")
    return ", ".join(parts)


def _pick_level(ms: dict, level: Any, where: str, group) -> int:
    paths = [d["path"] for d in ms["datasets"]]
    if level is None:
        return 0
    if isinstance(level, str) and level in paths:
        return paths.index(level)
    if isinstance(level, str) and level.isdigit():
        level = int(level)
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level < len(paths):
        return level
    raise InvalidParameterError(
        f"level must be an index from 0 to {len(paths) - 1} or a dataset path of the "
        f"multiscale image {where}; got {level!r}. Its levels are "
        f"{_levels_listing(ms, group)}."
    )


def _ome_axes(ms: dict, version: str, omero: Any, shape: tuple[int, ...], where: str,
              k: int, strict: bool) -> Axes | None:  # fmt: skip
    raw = ms.get("axes")
    if raw is None:  # OME-Zarr before 0.3: always tczyx
        raw = list("tczyx"[-len(shape) :])
    labels = [a["name"] if isinstance(a, dict) else a for a in raw]
    if len(labels) != len(shape):
        if not strict:
            return None
        raise InputError(
            f"{where} has {len(shape)} axes, but its multiscales metadata names "
            f"{len(labels)} ({labels!r}). Hint: pass --axes (axes=...) to name them."
        )
    stored = names_from_labels(labels, where, "multiscales axes", strict=strict)
    if stored is None:
        return None
    scale = _scale_of(ms["datasets"][k].get("coordinateTransformations"), len(labels))
    top = _scale_of(ms.get("coordinateTransformations"), len(labels))
    scale = [a * b for a, b in zip(scale, top, strict=True)]
    units = [a.get("unit") if isinstance(a, dict) else None for a in raw]
    names = None
    channels = omero.get("channels") if isinstance(omero, dict) else None
    if (
        "c" in stored
        and channels
        and len(channels) == shape[stored.index("c")]
        and all(isinstance(c, dict) and c.get("label") for c in channels)
    ):
        names = [str(c["label"]) for c in channels]
    return Axes.from_stored(
        stored,
        dict(zip(stored, scale, strict=True)),
        dict(zip(stored, units, strict=True)),
        names,
        f"ome-zarr {version}",
    )


def _array_axes(node, where: str, strict: bool) -> Axes | None:
    names = getattr(node.metadata, "dimension_names", None)
    if names is None:
        names = dict(node.attrs).get("_ARRAY_DIMENSIONS")
    if names is None or len(names) != node.ndim:
        return None
    stored = names_from_labels(list(names), where, "dimension_names", strict=strict)
    if stored is None:
        return None
    return Axes.from_stored(stored, origin="zarr dimension_names")


def _mtime(path: str) -> int:
    if _URL.match(path):
        return 0
    for name in _METADATA_FILES + (".zattrs",):
        try:
            return os.stat(os.path.join(path, name)).st_mtime_ns
        except OSError:
            continue
    return 0


def _nearest_store(path: str) -> str | None:
    """The deepest existing folder at or above ``path`` that holds Zarr metadata."""
    probe = path.rstrip(os.sep)
    while probe and probe != os.path.dirname(probe):
        if has_zarr_metadata(probe):
            return probe
        probe = os.path.dirname(probe)
    return None


def read_zarr_header(
    path: str,
    dataset: str | None = None,
    level: Any = None,
    storage_options: dict | None = None,
    *,
    strict: bool = True,
) -> ZarrHeader:
    """Find the array ``path`` (and ``dataset``, ``level``) names and read its axes.

    ``path`` may name an array, a group holding an OME-Zarr multiscale image (then
    ``level`` picks a resolution, 0 by default), a level array of such an image
    (``img.zarr/s1``: its axes and scale come from the image), or a path inside a
    store (``store.zarr/path/inside``); ``dataset`` is a path inside ``path``. With
    ``strict=False`` (the user names the axes) metadata that cannot name the axes is
    ignored instead of refused.

    Returns
    -------
    ZarrHeader

    Raises
    ------
    InputNotFoundError
        If nothing exists at the path; the message lists the arrays of the store.
    InputError
        If the path is not a Zarr store, or its axes cannot be named.
    InvalidParameterError
        If a group is named without an array or level, or ``level`` is out of range
        or given for an array that is not a multiscale level; the message lists the
        arrays or levels.

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as d:
    ...     g = zarr.open_group(f"{d}/g.zarr", mode="w")
    ...     _ = g.create_array("raw", shape=(2, 4, 4), dtype="u1", dimension_names=("c", "y", "x"))
    ...     h = read_zarr_header(f"{d}/g.zarr", dataset="raw")
    >>> h.shape, h.axes.names, h.axes.origin
    ((2, 4, 4), 'cyx', 'zarr dimension_names')
    """
    import zarr

    node_path = _join(path, dataset) if dataset else path
    where = repr(node_path)
    remote = bool(_URL.match(node_path))
    if not remote and not os.path.exists(node_path):
        store = _nearest_store(node_path)
        if store is None:
            raise InputNotFoundError(f"zarr store {node_path!r} does not exist.")
        inner = os.path.relpath(node_path, store)
        top = zarr.open(store, mode="r")
        listing = (
            _listing(_array_names(top)) if isinstance(top, zarr.Group) else "it is a single array"
        )
        raise InputNotFoundError(
            f"zarr store {store!r} has no array or group at {inner!r}; {listing}."
        )
    try:
        node = _open_node(node_path, storage_options)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise InputError(
            f"{node_path!r} must be a Zarr store (an array or a group); it holds no Zarr metadata."
        ) from exc
    if isinstance(node, zarr.Group):
        found = _multiscales(node.attrs)
        if found is None:
            names = _array_names(node)
            hint = (
                f" Hint: pass {_join(node_path, names[0])!r} or dataset={names[0]!r}."
                if (names)
                else ""
            )
            what = "level=" if level is not None else "an array"
            raise InvalidParameterError(
                f"dataset must name an array of the Zarr group {node_path!r} (it is not an "
                f"OME-Zarr image, so {what} alone cannot pick one); got "
                f"{dataset!r}; {_listing(names)}.{hint}"
            )
        ms, version, omero = found
        k = _pick_level(ms, level, where, node)
        chosen = ms["datasets"][k]["path"]
        array = node.get(chosen)
        if not isinstance(array, zarr.Array):
            raise InputError(
                f"the multiscale image {node_path!r} names level {chosen!r}, but it holds no "
                f"array there; its levels are {_levels_listing(ms, node)}."
            )
        axes = _ome_axes(ms, version, omero, tuple(array.shape), where, k, strict)
        array_path = _join(node_path, chosen)
        level_name: str | None = chosen
    else:
        array, array_path, level_name = node, node_path, None
        axes = None
        try:
            parent = _open_node(_parent(node_path), storage_options)
        except Exception:  # no parent group: a plain array
            parent = None
        found = _multiscales(parent.attrs) if isinstance(parent, zarr.Group) else None
        base = node_path.rstrip("/").replace(os.sep, "/").rsplit("/", 1)[-1]
        if found is not None and base in [d["path"] for d in found[0]["datasets"]]:
            ms, version, omero = found
            k = [d["path"] for d in ms["datasets"]].index(base)
            if level is not None and _pick_level(ms, level, where, parent) != k:
                raise InvalidParameterError(
                    f"level must be left out for {node_path!r}, which is level {k} ({base!r}) "
                    f"of its multiscale image; got {level!r}. Hint: name the image, "
                    f"{_parent(node_path)!r}, with level={level!r}."
                )
            axes = _ome_axes(ms, version, omero, tuple(array.shape), where, k, strict)
            level_name = base
        elif level is not None:
            raise InvalidParameterError(
                f"level must be left out for {node_path!r}: it is a single array, not an "
                f"OME-Zarr multiscale image; got {level!r}."
            )
        if axes is None:
            axes = _array_axes(array, where, strict)
    chunks = tuple(int(c) for c in (array.shards or array.chunks))
    return ZarrHeader(
        array_path,
        tuple(int(n) for n in array.shape),
        np.dtype(array.dtype),
        chunks,
        axes,
        level_name,
        _mtime(array_path),
    )


__all__ = ["ZarrHeader", "is_zarr", "open_zarr", "read_zarr_header"]
