"""One entry point for every input: :func:`open_input` reads headers and returns an :class:`Input`.

An input is either a **collection** (many files, one image each, stacked along a
first axis) or a **volume** (one array, possibly with ``t``/``c`` batch axes). Either
way its pixels are presented in canonical ``tczyx`` order (see :mod:`.axes`), read
lazily: opening reads headers only, and every pixel is read inside a dask task or
through the input's picklable readers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from dask.base import tokenize

from .._lazy import da, is_dask_array
from ..errors import InputError, InputNotFoundError, InvalidParameterError
from .axes import Axes, names_from_labels, normalize_unit, resolve_axes
from .hdf5 import read_hdf5_header, split_hdf5
from .images import (
    gray_layout,
    image_stack,
    read_headers,
    resolve_paths,
    scan_headers,
    to_gray,
)
from .raw import RawFile, normalize_dtype, open_raw, read_npy_header
from .regions import H5Dataset, TiffSeries, ZarrFile, transposed
from .tiff import is_tiff, read_tiff_header
from .zarr_io import is_zarr, read_zarr_header

#: File name endings read as raw volumes (with ``raw_shape`` and ``raw_dtype``).
RAW_SUFFIXES = (".raw", ".bin", ".dat")
#: Bytes per chunk of a raw or contiguous HDF5 volume (slabs along its first axis).
SLAB_BYTES = 16 * 2**20
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_RGB_NAMES = {2: ("L", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


def error_row(path: str, step: str, exc: BaseException) -> dict:
    """One ``errors.csv`` row: ``{path, step, exception, message}`` for ``exc`` at ``step``."""
    message = " ".join(str(exc).split()) or repr(exc)
    return {"path": path, "step": step, "exception": type(exc).__name__, "message": message}


@dataclass(frozen=True)
class ImageReader:
    """Reads one image file of a collection, in canonical axis order.

    Calling it decodes the file (with :func:`batchimg.io.read_image`, looked up at
    call time, so that a wrapped reader is the one used), checks the layout the
    headers promised and transposes to canonical order (channel-last RGB becomes
    ``cyx``). It holds no pixels and pickles small.

    Parameters
    ----------
    shape : tuple of int
        The image's shape as decoded (the file's axis order).
    dtype : str
        Its dtype.
    order : tuple of int
        The transposition to canonical order (``Axes.transpose``).
    as_gray : bool
        Convert to gray levels as scikit-image does.
    series, level : int
        A TIFF file's series and resolution level, where not the first.

    Examples
    --------
    >>> import tempfile, imageio.v3 as iio
    >>> read = ImageReader((4, 5, 3), "|u1", (2, 0, 1))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     iio.imwrite(f"{d}/rgb.png", np.zeros((4, 5, 3), np.uint8))
    ...     read(f"{d}/rgb.png").shape
    (3, 4, 5)
    """

    shape: tuple[int, ...]
    dtype: str
    order: tuple[int, ...]
    as_gray: bool = False
    series: int = 0
    level: int = 0

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape of the image returned, in canonical order."""
        return tuple(self.shape[o] for o in self.order)

    def __call__(self, path: str | os.PathLike) -> np.ndarray:
        """Read ``path``: the decoded image, transposed to canonical order."""
        path = os.fspath(path)
        if self.series or self.level:
            import tifffile

            if not os.path.exists(path):
                raise InputNotFoundError(f"image file {path!r} does not exist.")
            image = tifffile.imread(path, series=self.series, level=self.level)
            image = to_gray(image) if self.as_gray else image
        else:
            from .. import io as _io

            image = _io.read_image(path, as_gray=self.as_gray)
        if image.shape != tuple(self.shape) or image.dtype != np.dtype(self.dtype):
            raise InputError(
                f"{path!r} decoded to shape {image.shape} of {image.dtype}, but the collection's "
                f"images have {tuple(self.shape)} of {np.dtype(self.dtype)}. Hint: was it "
                "changed after it was opened?"
            )
        if self.order == tuple(range(len(self.order))):
            return image
        return np.ascontiguousarray(image.transpose(self.order))


@dataclass(frozen=True)
class Input:
    """An opened input: a collection of images or one volume, read lazily.

    Parameters
    ----------
    kind : {"collection", "volume"}
        A collection holds many files, one image each; a volume is one array.
    data : dask.array.Array
        The pixels in canonical axis order: collections shaped ``(n_images,
        *image)``, chunked by whole images; volumes chunked as stored (by page,
        tile or storage chunk).
    axes : Axes
        The axes of one image (collections) or of the volume.
    paths : list of str or None
        Collections: every listed file, including those left out (one slot each).
    failed : dict
        Collections opened with ``on_error="collect"``: slot in ``paths`` ->
        ``errors.csv`` row (``path, step, exception, message``) of each file left out
        (unreadable header, other shape or dtype); ``data`` holds only the others.
    reader : array-like or None
        Volumes in a file: ``reader[region]`` (a tuple of slices in canonical order)
        reads just that region from the file; picklable, small. None for in-memory
        arrays and collections.
    image_reader : ImageReader or None
        Collections: ``image_reader(path)`` reads one image in canonical order.
    description : dict
        The input's JSON-able identity: absolute paths, sizes, modification times,
        dataset and level, shape, dtype and axes.

    Examples
    --------
    >>> x = open_input(np.zeros((2, 6, 8), np.uint8), axes="cyx", scale=0.5, unit="um")
    >>> x.kind, x.image_shape, x.axes.spatial_scale, x.axes.spatial_units
    ('volume', (2, 6, 8), (0.5, 0.5), ('micrometer', 'micrometer'))
    """

    kind: str
    data: da.Array
    axes: Axes
    paths: list[str] | None = None
    failed: dict[int, dict] = field(default_factory=dict)
    reader: Any = None
    image_reader: ImageReader | None = None
    description: dict = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape one workflow run sees: one image, or the whole volume."""
        return tuple(self.data.shape[1:] if self.kind == "collection" else self.data.shape)

    def fingerprint(self) -> str:
        """A hash of :attr:`description`: equal for the same files, sizes, times and options."""
        text = json.dumps(self.description, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_remote(source: Any, allow_remote: bool) -> None:
    """Refuse URLs (``s3://``, ``http://``...) unless the user opted in.

    Raises
    ------
    InputError
        If ``source`` is or lists a URL and ``allow_remote`` is false.
    """
    items = [source] if isinstance(source, str | os.PathLike) else source
    if allow_remote or not isinstance(items, Sequence) or isinstance(items, bytes):
        return
    for item in items:
        if isinstance(item, str) and _URL.match(item):
            raise InputError(
                f"input must be a local path; got the URL {item!r}. batchimg reads remote "
                "data only when asked: pass --allow-remote (allow_remote=True) to read it."
            )


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


def _where(path: str, shape: Sequence[int]) -> str:
    return f"{path!r} (shape {tuple(shape)})"


def _refuse(name: str, value: Any, what: str) -> None:
    if value is not None:
        raise InvalidParameterError(
            f"{name} must be left out for {what}; got {name}={value!r}. Hint: {name} picks "
            + (
                "a resolution level of an OME-Zarr image or a pyramidal TIFF."
                if name == "level"
                else "an array inside an HDF5 file or a Zarr group, or a TIFF file's series."
            )
        )


def _no_gray(as_gray: bool, what: str) -> None:
    if as_gray:
        raise InvalidParameterError(
            f"as_gray must be False for {what}, a volume; it applies to image collections "
            "(2-D gray, RGB or RGBA images)."
        )


def _slab_chunks(shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    """Chunks of a volume without storage chunks: slabs along its first axis."""
    plane = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    if plane <= SLAB_BYTES:
        return (max(1, min(shape[0], SLAB_BYTES // max(plane, 1))), *shape[1:])
    norm = da.core.normalize_chunks("auto", shape, limit=SLAB_BYTES, dtype=dtype)
    return tuple(max(c) for c in norm)


def _file_volume(stored: Any, chunks: Sequence[int], axes: Axes, desc: dict) -> Input:
    """A volume read from a file through ``stored`` (its reader, in the file's order)."""
    order = axes.transpose
    reader = transposed(stored, order)
    desc = {"kind": "volume", **desc, "axes": axes.to_dict()}
    token = tokenize("open_input", json.dumps(desc, sort_keys=True, default=str))
    data = da.from_array(
        reader,
        chunks=tuple(int(chunks[o]) for o in order),
        name=f"open_input-{token}",
        meta=np.empty((0,) * reader.ndim, dtype=reader.dtype),
        asarray=False,
    )
    return Input("volume", data, axes, reader=reader, description=desc)


def _open_array(x: Any, user: dict, what: str = "array") -> Input:
    x = da.asarray(x)
    axes = resolve_axes(None, x.shape, f"the {what} (shape {x.shape})", **user)
    if axes.transpose != tuple(range(x.ndim)):
        x = x.transpose(axes.transpose)
    desc = {"kind": "volume", "array": f"{x.shape} {x.dtype}", "name": x.name,
            "axes": axes.to_dict()}  # fmt: skip
    return Input("volume", x, axes, description=desc)


def _coord_scale(arr: Any, dim: str) -> tuple[float, str | None] | None:
    """The spacing and unit of an xarray dimension coordinate, where it is uniform."""
    if dim not in arr.coords:
        return None
    coord = arr.coords[dim]
    values = np.asarray(coord.values)
    unit = coord.attrs.get("units", coord.attrs.get("unit"))
    if values.ndim != 1 or len(values) < 2 or values.dtype.kind not in "iuf":
        return None
    steps = np.diff(values.astype(np.float64))
    if steps[0] <= 0 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        return None
    return float(steps[0]), normalize_unit(unit)


def _open_xarray(arr: Any, user: dict) -> Input:
    """A DataArray: its dims name the axes, its coordinates give scale and channel names."""
    where = f"the DataArray (dims {tuple(arr.dims)}, shape {tuple(arr.shape)})"
    stored = names_from_labels(list(arr.dims), where, "dims", strict=user["axes"] is None)
    found = None
    if stored is not None:
        scale: dict[str, float] = {}
        units: dict[str, str | None] = {}
        for dim, a in zip(arr.dims, stored, strict=True):
            if a != "c":
                got = _coord_scale(arr, dim)
                if got is not None:
                    scale[a], units[a] = got
        names = None
        if "c" in stored:
            dim = arr.dims[stored.index("c")]
            if dim in arr.coords and arr.coords[dim].ndim == 1:
                values = np.asarray(arr.coords[dim].values)
                if values.dtype.kind in "USO":
                    names = [str(v) for v in values]
        found = Axes.from_stored(stored, scale, units, names, "xarray")
    # .data is the dask (or numpy) array itself: nothing is computed
    data = arr.data if isinstance(arr.data, da.Array) else da.asarray(np.asarray(arr.data))
    axes = resolve_axes(found, data.shape, where, **user)
    if axes.transpose != tuple(range(data.ndim)):
        data = data.transpose(axes.transpose)
    desc = {"kind": "volume", "array": f"{data.shape} {data.dtype}", "name": data.name,
            "dims": [str(d) for d in arr.dims], "axes": axes.to_dict()}  # fmt: skip
    return Input("volume", data, axes, description=desc)


def _open_raw(path: str, raw_shape: Any, raw_dtype: Any, raw_offset: Any, user: dict) -> Input:
    if raw_shape is None or raw_dtype is None:
        raise InvalidParameterError(
            f"a raw input needs its shape and dtype; got shape={raw_shape!r}, "
            f"dtype={raw_dtype!r} for {path!r}. Hint: --raw-shape 64,128,128 "
            "--raw-dtype uint8."
        )
    if isinstance(raw_shape, str):
        try:
            raw_shape = tuple(int(s) for s in raw_shape.split(","))
        except ValueError:
            raise InvalidParameterError(
                f"raw_shape must be comma-separated integers like '64,128,128'; got {raw_shape!r}."
            ) from None
    # open_raw checks the layout against the file's size, naming what is wrong
    x = open_raw(path, shape=raw_shape, dtype=raw_dtype, offset=int(raw_offset))
    dtype = normalize_dtype(raw_dtype)
    axes = resolve_axes(None, x.shape, _where(path, x.shape), **user)
    size, mtime = _stat(path)
    desc = {"format": "raw", "path": os.path.abspath(path), "shape": list(x.shape),
            "dtype": dtype.str, "offset": int(raw_offset), "size": size,
            "mtime_ns": mtime}  # fmt: skip
    stored = RawFile(os.path.abspath(path), x.shape, dtype, int(raw_offset), "C")
    return _file_volume(stored, _slab_chunks(x.shape, dtype), axes, desc)


def _open_npy(path: str, user: dict) -> Input:
    if not os.path.isfile(path):
        raise InputNotFoundError(f"npy file {path!r} does not exist.")
    shape, dtype, offset, order = read_npy_header(path)
    axes = resolve_axes(None, shape, _where(path, shape), **user)
    size, mtime = _stat(path)
    desc = {"format": "npy", "path": os.path.abspath(path), "shape": list(shape),
            "dtype": dtype.str, "size": size, "mtime_ns": mtime}  # fmt: skip
    stored = RawFile(os.path.abspath(path), shape, dtype, offset, order)
    return _file_volume(stored, _slab_chunks(shape, dtype), axes, desc)


def _open_hdf5(path: str, dataset: str | None, user: dict) -> Input:
    h = read_hdf5_header(path, dataset, strict=user["axes"] is None)
    axes = resolve_axes(h.axes, h.shape, _where(f"{path}:{h.dataset}", h.shape), **user)
    size, mtime = _stat(path)
    desc = {"format": "hdf5", "path": os.path.abspath(path), "dataset": h.dataset,
            "shape": list(h.shape), "dtype": h.dtype.str, "size": size,
            "mtime_ns": mtime}  # fmt: skip
    stored = H5Dataset(os.path.abspath(path), h.dataset, h.shape, h.dtype)
    chunks = h.chunks or _slab_chunks(h.shape, h.dtype)
    return _file_volume(stored, chunks, axes, desc)


def _open_zarr(path: str, dataset: Any, level: Any, user: dict, remote: bool) -> Input:
    h = read_zarr_header(path, dataset, level, strict=user["axes"] is None)
    array_path = h.path if remote else os.path.abspath(h.path)
    axes = resolve_axes(h.axes, h.shape, _where(h.path, h.shape), **user)
    desc = {"format": "zarr", "path": array_path, "level": h.level, "shape": list(h.shape),
            "dtype": h.dtype.str, "chunks": list(h.chunks),
            "mtime_ns": h.mtime_ns}  # fmt: skip
    return _file_volume(ZarrFile(array_path, h.shape, h.dtype), h.chunks, axes, desc)


def _image_axes(shape: tuple[int, ...]) -> Axes | None:
    """What a PNG, JPEG or BMP says about its axes: its mode has channels last, or none."""
    if len(shape) == 2:
        return Axes.from_stored("yx", origin="image file")
    if len(shape) == 3 and shape[-1] in _RGB_NAMES:
        return Axes.from_stored("yxc", channel_names=_RGB_NAMES[shape[-1]], origin="image file")
    return None


def _gray(found: Any) -> Any:
    """The axes of an image converted to gray: its channel axis gone."""
    if found is None:
        return Axes.from_stored("yx", origin="image file")
    return found.drop("c") if "c" in found.names else found


def _collection(
    listing: list[str],
    kept: list[str],
    stats: list[os.stat_result],
    layout: tuple,
    failed: list[tuple[int, str, BaseException]],
    found: Any,
    user: dict,
    as_gray: bool,
    series: int = 0,
    level: int = 0,
) -> Input:
    shape, dtype = tuple(layout[0]), np.dtype(layout[1])
    if as_gray:
        found = _gray(found)
    n = len(listing)
    where = _where(listing[0], shape) if n == 1 else (
        f"the {n} images of {listing[0]!r} and others (shape {shape})"
    )  # fmt: skip
    axes = resolve_axes(found, shape, where, **user)
    reader = ImageReader(shape, dtype.str, axes.transpose, as_gray, series, level)
    stack = image_stack(kept, stats, reader.image_shape, dtype, as_gray, "auto", reader=reader)
    bad = {pos: error_row(p, "open", exc) for pos, p, exc in failed}
    known = {p: (st.st_size, st.st_mtime_ns) for p, st in zip(kept, stats, strict=True)}
    sizes = [known[p] if p in known else _stat(p) for p in listing]
    desc = {
        "kind": "collection",
        "images": [os.path.abspath(p) for p in listing],
        "sizes": [s[0] for s in sizes],
        "mtimes_ns": [s[1] for s in sizes],
        "as_gray": bool(as_gray),
        "axes": axes.to_dict(),
    }
    if series or level:
        desc |= {"series": series, "level": level}
    return Input("collection", stack.data, axes, list(listing), bad, None, reader, desc)


def _open_files(source: Any, user: dict, dataset: Any, level: Any, as_gray: bool,
                on_error: str) -> Input:  # fmt: skip
    paths = resolve_paths(source, strict=on_error == "raise")
    if len(paths) == 1 and is_tiff(paths[0]) and os.path.isfile(paths[0]):
        path = paths[0]
        h = read_tiff_header(path, dataset, level, strict=user["axes"] is None)
        axes = resolve_axes(h.axes, h.shape, _where(path, h.shape), **user)
        if set(axes.names) - {"c"} != {"y", "x"}:
            # z or t (or one axis): a volume, read page by page or tile by tile
            _no_gray(as_gray, repr(path))
            size, mtime = _stat(path)
            desc = {"format": "tiff", "path": os.path.abspath(path), "series": h.series,
                    "level": h.level, "shape": list(h.shape), "dtype": h.dtype.str,
                    "size": size, "mtime_ns": mtime}  # fmt: skip
            stored = TiffSeries(os.path.abspath(path), h.series, h.level, h.shape, h.dtype)
            return _file_volume(stored, h.chunks, axes, desc)
        if h.series or h.level:
            layout = (h.shape, h.dtype)
            if as_gray:
                layout = gray_layout(path, h.shape, h.dtype)
            return _collection([path], [path], [os.stat(path)], layout, [], h.axes, user,
                               as_gray, h.series, h.level)  # fmt: skip
    else:
        what = "an image collection" if len(paths) > 1 else f"{paths[0]!r}"
        _refuse("dataset", dataset, what)
        _refuse("level", level, what)
    if on_error == "raise":
        kept, stats, layout = read_headers(paths, as_gray)
        failed: list = []
        listing = kept
    else:
        kept, stats, layout, failed, listing = scan_headers(paths, as_gray)
    first = kept[0]
    strict = user["axes"] is None
    if is_tiff(first):
        found = read_tiff_header(first, strict=strict).axes
    else:
        found = _image_axes(layout[0])
    return _collection(listing, kept, stats, layout, failed, found, user, as_gray)


def _is_xarray(source: Any) -> bool:
    return type(source).__module__.startswith("xarray") and hasattr(source, "dims")


def open_input(
    source: Any,
    *,
    axes: str | None = None,
    scale: float | Sequence[float] | None = None,
    unit: str | Sequence[str] | None = None,
    channel_names: Sequence[str] | None = None,
    level: int | str | None = None,
    dataset: str | int | None = None,
    raw_shape: Any = None,
    raw_dtype: Any = None,
    raw_offset: int = 0,
    as_gray: bool = False,
    on_error: str = "raise",
    allow_remote: bool = False,
) -> Input:
    """Open any input lazily, with its axes: headers only, pixels inside tasks.

    Computing ``input.data`` gives the file's own pixels (what tifffile, zarr, h5py,
    imageio or numpy read), transposed to canonical ``tczyx`` order; for a
    collection, ``np.stack`` of every file's image in listing order. Opening reads
    headers and metadata only.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, numpy/dask array or xarray.DataArray
        A directory, glob, image file or list of image files (PNG, TIFF, JPEG, BMP:
        a collection; a single TIFF with ``z`` or ``t``: a volume); a TIFF, OME-TIFF or
        ImageJ hyperstack; a Zarr array, OME-Zarr image or a path inside a store
        (``store.zarr/path/inside``); an HDF5 dataset (``file.h5:/path/to/dataset``);
        a ``.npy`` file; a raw file (with ``raw_shape`` and ``raw_dtype``); or an
        in-memory array (a volume; a dask-backed DataArray stays lazy).
    axes : str, optional
        The letters of the stored axes in the file's order (``'yxc'``, ``'czyx'``);
        overrides the file's metadata. Needed where the file says nothing and every
        axis being spatial is a guess (a last axis of 3 or 4, more than 3 axes).
    scale : float or sequence of float, optional
        The physical pixel size along each spatial axis, in ``z, y, x`` order.
    unit : str or sequence of str, optional
        The unit of ``scale`` (``'micrometer'``, ``'um'``, ``'nm'``...).
    channel_names : sequence of str, optional
        One name per channel.
    level : int or str, optional
        The resolution level of an OME-Zarr image or pyramidal TIFF (0, the full
        resolution, by default), by index or dataset path.
    dataset : str or int, optional
        The array inside an HDF5 file or Zarr group, or a TIFF file's series.
    raw_shape, raw_dtype, raw_offset
        The layout of a raw file (``raw_shape`` may be ``'64,128,128'``).
    as_gray : bool, optional
        Convert every image of a collection to gray levels (see
        :func:`~batchimg.io.to_gray`).
    on_error : {"raise", "collect"}, optional
        For collections: ``"collect"`` leaves out files whose header is unreadable
        or of another shape or dtype, listing them in ``Input.failed``.
    allow_remote : bool, optional
        Accept URLs of Zarr stores (``s3://``, ``https://``...); refused by default.

    Returns
    -------
    Input

    Raises
    ------
    InputNotFoundError
        If a path, dataset or array does not exist (the message lists what does).
    InputError
        If an input is unreadable, a URL is refused, or its axes are ambiguous and
        ``axes`` is not given.
    InvalidParameterError
        If an option does not fit the input: a group without an array or level, an
        ``axes`` string of the wrong length or letters, a ``scale`` or
        ``channel_names`` of the wrong length.

    See Also
    --------
    open_images, open_raw, open_zarr : the readers of one kind, without axes.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     tifffile.imwrite(f"{d}/c.ome.tif", np.zeros((4, 2, 8, 8), np.uint8),
    ...                      metadata={"axes": "ZCYX", "PhysicalSizeX": 0.5})
    ...     x = open_input(f"{d}/c.ome.tif")
    ...     x.kind, x.axes.names, x.data.shape, x.axes.spatial_scale
    ('volume', 'czyx', (2, 4, 8, 8), (1.0, 1.0, 0.5))
    """
    if on_error not in ("raise", "collect"):
        raise InvalidParameterError(f"on_error must be 'raise' or 'collect'; got {on_error!r}.")
    check_remote(source, allow_remote)
    user = {"axes": axes, "scale": scale, "unit": unit, "channel_names": channel_names}
    if _is_xarray(source) or isinstance(source, np.ndarray) or is_dask_array(source):
        _refuse("dataset", dataset, "an in-memory array")
        _refuse("level", level, "an in-memory array")
        _no_gray(as_gray, "an in-memory array")
        return _open_xarray(source, user) if _is_xarray(source) else _open_array(source, user)
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if _URL.match(text):
            if not is_zarr(text):
                raise InputError(
                    f"input must be a Zarr store to be read from a URL; got {text!r}. Hint: "
                    "copy other files to a local folder first."
                )
            _refuse("raw_shape", raw_shape, "a Zarr store")
            _no_gray(as_gray, text)
            return _open_zarr(text, dataset, level, user, remote=True)
        low = text.lower()
        if raw_shape is not None or low.endswith(RAW_SUFFIXES):
            _refuse("dataset", dataset, f"the raw file {text!r}")
            _refuse("level", level, f"the raw file {text!r}")
            _no_gray(as_gray, text)
            return _open_raw(text, raw_shape, raw_dtype, raw_offset, user)
        if low.endswith(".npy"):
            _refuse("dataset", dataset, f"the npy file {text!r}")
            _refuse("level", level, f"the npy file {text!r}")
            _no_gray(as_gray, text)
            return _open_npy(text, user)
        h5 = split_hdf5(text)
        if h5 is not None:
            if dataset is not None and h5[1] is not None and str(dataset) != h5[1]:
                raise InvalidParameterError(
                    f"dataset must be given once; got {text!r} and dataset={dataset!r}."
                )
            _refuse("level", level, f"the HDF5 file {h5[0]!r}")
            _no_gray(as_gray, text)
            return _open_hdf5(h5[0], h5[1] if dataset is None else str(dataset), user)
        if is_zarr(text):
            _no_gray(as_gray, text)
            return _open_zarr(text, dataset, level, user, remote=False)
    return _open_files(source, user, dataset, level, as_gray, on_error)


__all__ = ["ImageReader", "Input", "check_remote", "error_row", "open_input"]
