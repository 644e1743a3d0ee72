"""HDF5 datasets (``file.h5:/path/to/dataset``) with their axes, read lazily through h5py.

:func:`read_hdf5_header` reads one dataset's shape, dtype, storage chunks and axes
(``DIMENSION_LABELS``, ilastik's ``axistags``, ``element_size_um``) without reading
pixels; :class:`~batchimg.io.regions.H5Dataset` reads regions. h5py is imported only
here, when an HDF5 input is opened.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, InputNotFoundError, InvalidParameterError
from .axes import SPATIAL, Axes, default_names, names_from_labels

#: File name endings read as HDF5.
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5", ".nxs")
_SPLIT = re.compile(r"^(.*?\.(?:h5|hdf5|hdf|he5|nxs))(?::(.*))?$", re.IGNORECASE)
_LISTED = 8


def split_hdf5(source: str) -> tuple[str, str | None] | None:
    """Split ``'file.h5:/path/to/dataset'`` into the file and the dataset path.

    Returns None when ``source`` is not named like an HDF5 file.

    Examples
    --------
    >>> split_hdf5("cells.h5:/raw/0"), split_hdf5("cells.h5"), split_hdf5("a.tif")
    (('cells.h5', '/raw/0'), ('cells.h5', None), None)
    """
    m = _SPLIT.match(os.fspath(source))
    if m is None:
        return None
    return m.group(1), (m.group(2) or None)


@dataclass(frozen=True)
class Hdf5Header:
    """One dataset of an HDF5 file, and what its attributes say.

    Parameters
    ----------
    path : str
        The file.
    dataset : str
        The dataset's absolute path inside it (``/raw``).
    shape, dtype
        In the stored order.
    chunks : tuple of int or None
        The storage chunks, or None for a contiguous dataset.
    axes : Axes or None
        What the attributes say, or None where they say nothing.
    """

    path: str
    dataset: str
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...] | None
    axes: Axes | None


def _datasets(f: Any) -> list[str]:
    import h5py

    found: list[str] = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


def _listing(f: Any, names: list[str]) -> str:
    if not names:
        return "it holds no datasets"
    shown = ", ".join(f"'/{n}' {tuple(f[n].shape)} {f[n].dtype}" for n in names[:_LISTED])
    more = len(names) - _LISTED
    return "it holds " + shown + (f" and {more} more" if more > 0 else "")


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _axes_of(ds: Any, where: str, strict: bool) -> Axes | None:
    """The axes a dataset's attributes name, with ``element_size_um`` as the spatial scale."""
    attrs = ds.attrs
    stored = None
    scale: dict[str, float] = {}
    if "axistags" in attrs:  # ilastik / vigra
        try:
            tags = json.loads(_text(attrs["axistags"]))["axes"]
            stored = names_from_labels(
                [t.get("key") for t in tags], where, "axistags", strict=strict
            )
            if stored is not None:
                scale = {
                    a: float(t["resolution"])
                    for a, t in zip(stored, tags, strict=True)
                    if float(t.get("resolution") or 0) > 0
                }
        except (ValueError, KeyError, TypeError):
            stored = None
    if stored is None and "DIMENSION_LABELS" in attrs:
        labels = [_text(v) or None for v in np.atleast_1d(attrs["DIMENSION_LABELS"])]
        if len(labels) == ds.ndim:
            stored = names_from_labels(labels, where, "DIMENSION_LABELS", strict=strict)
    if stored is None and ds.dims is not None and ds.ndim:
        labels = [d.label or None for d in ds.dims]
        if any(labels):
            stored = names_from_labels(labels, where, "dimension labels", strict=strict)
    units: dict[str, str] = {}
    size = attrs.get("element_size_um")
    if size is not None:
        size = [float(v) for v in np.atleast_1d(size)]
        if stored is None and len(size) == ds.ndim <= len(SPATIAL):
            stored = default_names(ds.ndim)  # one pixel size per axis: every axis spatial
        names = stored or ""
        spatial = [a for a in names if a in SPATIAL]
        if len(size) == ds.ndim and names:
            pairs = zip(names, size, strict=True)
        elif len(size) == len(spatial):
            pairs = zip(spatial, size, strict=True)
        else:
            pairs = zip((), (), strict=True)
        for a, v in pairs:
            if a in SPATIAL and v > 0:
                scale[a], units[a] = v, "micrometer"
    if stored is None:
        return None
    return Axes.from_stored(stored, scale, units, None, "hdf5")


def read_hdf5_header(path: str, dataset: str | None, *, strict: bool = True) -> Hdf5Header:
    """Read one dataset of an HDF5 file: shape, dtype, chunks and axes, no pixels.

    Parameters
    ----------
    path : str
        The HDF5 file.
    dataset : str
        The dataset's path inside it (``/raw`` or ``raw``).
    strict : bool, optional
        Refuse axis labels that name unknown axes; with False (the user names the
        axes) such labels are ignored.

    Returns
    -------
    Hdf5Header

    Raises
    ------
    InputNotFoundError
        If the file does not exist, or holds nothing at ``dataset``; the message lists
        its datasets.
    InputError
        If the file cannot be read as HDF5, or the dataset's axis labels name
        unknown axes.
    InvalidParameterError
        If ``dataset`` is not given or names a group; the message lists the datasets.

    Examples
    --------
    >>> import tempfile, h5py
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with h5py.File(f"{d}/v.h5", "w") as f:
    ...         f["vol"] = np.zeros((4, 5, 6), np.uint8)
    ...         f["vol"].attrs["element_size_um"] = [2.0, 0.5, 0.5]
    ...     h = read_hdf5_header(f"{d}/v.h5", "vol")
    >>> h.dataset, h.shape, h.axes.names, h.axes.scale, h.axes.units[0]
    ('/vol', (4, 5, 6), 'zyx', (2.0, 0.5, 0.5), 'micrometer')
    """
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise InputError(f"reading {path!r} needs h5py: pip install h5py.") from exc
    if not os.path.exists(path):
        raise InputNotFoundError(f"HDF5 file {path!r} does not exist.")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path!r} could not be read as an HDF5 file: {exc}") from exc
    with f:
        names = _datasets(f)
        if dataset is None or dataset.strip("/") == "":
            inner = f"/{names[0]}" if names else "/path/to/dataset"
            raise InvalidParameterError(
                f"dataset must name a dataset of the HDF5 file {path!r}; got None; "
                f"{_listing(f, names)}. Hint: pass {path + ':' + inner!r} or "
                f"dataset={inner!r}."
            )
        key = "/" + dataset.strip("/")
        node = f.get(key)
        if node is None:
            raise InputNotFoundError(
                f"HDF5 file {path!r} has no dataset {key!r}; {_listing(f, names)}."
            )
        if not isinstance(node, h5py.Dataset):
            inside = [n for n in names if ("/" + n).startswith(key + "/")]
            raise InvalidParameterError(
                f"dataset must name a dataset of the HDF5 file {path!r}; got the group "
                f"{key!r}; {_listing(f, inside or names)}."
            )
        if node.dtype.kind not in "biuf" or node.ndim == 0:
            raise InputError(
                f"{path}:{key} must be a numeric array of at least one axis; it holds "
                f"{node.shape} of {node.dtype}."
            )
        where = repr(f"{path}:{key}")
        return Hdf5Header(
            path,
            key,
            tuple(int(n) for n in node.shape),
            np.dtype(node.dtype),
            None if node.chunks is None else tuple(int(c) for c in node.chunks),
            _axes_of(node, where, strict),
        )


__all__ = ["HDF5_SUFFIXES", "Hdf5Header", "read_hdf5_header", "split_hdf5"]
