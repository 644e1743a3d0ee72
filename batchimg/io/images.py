"""Image collections (a directory, a glob or a list of files) as one lazy dask array.

:func:`open_images` reads only file headers (PIL for PNG, JPEG and BMP, tifffile
for TIFF) to learn every image's shape and dtype, and builds a dask array whose
tasks hold file paths, never pixels. Each task decodes its files with
:func:`read_image`, the one module-level function that reads pixels.
"""

from __future__ import annotations

import functools
import glob
import math
import numbers
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from dask.base import tokenize

from .._lazy import da
from ..errors import InputError, InputNotFoundError, InvalidParameterError

#: File name endings a directory listing picks up (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
_TIFF_SUFFIXES = (".tif", ".tiff")
#: Target size of one chunk when ``images_per_chunk="auto"``.
AUTO_CHUNK_BYTES = 4 * 2**20
#: How many offending files an error message lists before "and N more".
_LISTED = 3
_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True, eq=False)
class ImageStack:
    """A lazy stack of images and the files they come from.

    Parameters
    ----------
    data : dask.array.Array
        The images, shaped ``(n_images, *image_shape)``, one file per index along
        axis 0.
    paths : list of str
        The source file of each image, in the order of ``data``.
    failed : tuple of (int, str, Exception)
        With ``open_images(..., on_error="collect")``: the files left out, as
        ``(position in the listing, path, the error)``; empty otherwise.

    Notes
    -----
    ``len(stack)`` is the number of images, and the stack unpacks into its two
    fields: ``data, paths = open_images(...)``.
    """

    data: da.Array
    paths: list[str]
    failed: tuple[tuple[int, str, BaseException], ...] = ()

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Any]:
        """Yield ``data`` then ``paths``, so that the stack unpacks like a pair."""
        return iter((self.data, self.paths))

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``: ``(n_images, *image_shape)``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``."""
        return self.data.dtype

    def __repr__(self) -> str:
        return f"ImageStack(n_images={len(self)}, shape={self.shape}, dtype={self.dtype})"


def natural_sort_key(text: str) -> tuple:
    """Return a sort key that orders runs of digits by value: ``img2`` before ``img10``.

    Parameters
    ----------
    text : str
        The string to sort, usually a path.

    Returns
    -------
    tuple
        A key for :func:`sorted`.

    Examples
    --------
    >>> sorted(["img10.png", "img2.png", "Img1.png"], key=natural_sort_key)
    ['Img1.png', 'img2.png', 'img10.png']
    """
    parts = _DIGITS.split(text)
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return key, text


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _image_files_in(directory: str) -> list[str]:
    with os.scandir(directory) as entries:
        return [
            os.path.join(directory, e.name)
            for e in entries
            if not e.name.startswith(".")
            and e.name.lower().endswith(IMAGE_SUFFIXES)
            and e.is_file()
        ]


def resolve_paths(source: Any, *, strict: bool = True) -> list[str]:
    """Return the image files ``source`` names, in reading order.

    With ``strict=False`` a listed file that does not exist is kept (its header
    read then fails and is collected).
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if os.path.isdir(text):
            paths = _image_files_in(text)
            if not paths:
                listed = ", ".join(IMAGE_SUFFIXES)
                raise InputNotFoundError(
                    f"directory {text!r} holds no image files (looked for {listed})."
                )
            return sorted(paths, key=natural_sort_key)
        if os.path.isfile(text):
            return [text]
        if _is_glob(text):
            paths = [p for p in glob.glob(text, recursive=True) if os.path.isfile(p)]
            if not paths:
                raise InputNotFoundError(f"glob pattern {text!r} matches no files.")
            return sorted(paths, key=natural_sort_key)
        raise InputNotFoundError(f"image source {text!r} does not exist.")
    if isinstance(source, Sequence) and not isinstance(source, bytes):
        paths = []
        for p in source:
            if not isinstance(p, str | os.PathLike):
                raise InvalidParameterError(
                    f"source must be a directory, a glob pattern or a list of paths; "
                    f"got a list holding {p!r}."
                )
            paths.append(os.fspath(p))
        if not paths:
            raise InputNotFoundError("source is an empty list of paths; no images to open.")
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing and strict:
            raise InputNotFoundError(
                f"image file{'s' if len(missing) > 1 else ''} {_list_some(missing)} "
                f"do{'' if len(missing) > 1 else 'es'} not exist."
            )
        return paths
    raise InvalidParameterError(
        f"source must be a directory, a glob pattern or a list of paths; got {source!r}."
    )


def _list_some(items: Sequence[str]) -> str:
    shown = ", ".join(repr(s) for s in items[:_LISTED])
    more = len(items) - _LISTED
    return shown + (f" and {more} more" if more > 0 else "")


@functools.cache
def _pil_mode_layout(mode: str) -> tuple[tuple[int, ...], np.dtype]:
    """Channel dimensions and dtype that numpy gives a PIL image of ``mode``."""
    from PIL import Image

    dummy = np.asarray(Image.new(mode, (1, 1)))
    return dummy.shape[2:], dummy.dtype


def read_header(path: str) -> tuple[tuple[int, ...], np.dtype]:
    """Return the shape and dtype :func:`read_image` will return, from the header only.

    Parameters
    ----------
    path : str
        An image file (PNG, TIFF, JPEG or BMP).

    Returns
    -------
    shape : tuple of int
        ``(rows, cols)`` or ``(rows, cols, channels)`` (TIFF may have more axes).
    dtype : numpy.dtype
        The dtype of the decoded pixels.

    Raises
    ------
    InputError
        If the file cannot be read as an image.
    """
    try:
        if path.lower().endswith(_TIFF_SUFFIXES):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                return tuple(int(s) for s in series.shape), np.dtype(series.dtype)
        from PIL import Image

        with Image.open(path) as im:
            # the same mode rules as imageio's pillow plugin (see read_image)
            mode = im.mode
            if mode == "P":
                mode = im.palette.mode
            elif im.format == "PNG" and mode == "I":
                mode = "I;16"
            channels, dtype = _pil_mode_layout(mode)
            return (im.height, im.width, *channels), dtype
    except Exception as exc:  # any decoder failure means the file is unreadable
        hint = ""
        if type(exc).__name__ == "DecompressionBombError":
            hint = " Hint: set PIL.Image.MAX_IMAGE_PIXELS = None to allow very large images."
        raise InputError(
            f"{path!r} could not be read as an image (PNG, TIFF, JPEG or BMP): {exc}{hint}"
        ) from exc


def gray_layout(path: str, shape: tuple[int, ...], dtype: np.dtype) -> tuple:
    """Return the shape and dtype of :func:`to_gray` of an image of ``shape``, ``dtype``."""
    if len(shape) == 2 or (len(shape) == 3 and shape[-1] in (3, 4)):
        dummy = to_gray(np.zeros((1, 1, *shape[2:]), dtype=dtype))
        return shape[:2], dummy.dtype
    raise InputError(f"as_gray=True needs gray, RGB or RGBA images; {path!r} has shape {shape}.")


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert one decoded image to gray levels as scikit-image does.

    RGB goes through :func:`skimage.color.rgb2gray`; RGBA is first blended onto a
    white background with :func:`skimage.color.rgba2rgb` (as
    ``skimage.io.imread(..., as_gray=True)`` does); a gray image is only rescaled
    to floats with :func:`skimage.util.img_as_float`, so that every image of a stack
    has the same dtype (float64, or float32 for float32 input).

    Parameters
    ----------
    image : numpy.ndarray
        A ``(rows, cols)``, ``(rows, cols, 3)`` or ``(rows, cols, 4)`` image.

    Returns
    -------
    numpy.ndarray
        The ``(rows, cols)`` gray image, floats in [0, 1] for integer input.

    Examples
    --------
    >>> to_gray(np.full((1, 2, 3), 255, dtype=np.uint8))
    array([[1., 1.]])
    """
    from skimage.color import rgb2gray, rgba2rgb
    from skimage.util import img_as_float

    if image.ndim == 2:
        return img_as_float(image)
    if image.shape[-1] == 4:
        image = rgba2rgb(image)
    return rgb2gray(image)


#: Pillow modes whose pixels imageio's pillow plugin returns as they are.
_PLAIN_MODES = ("L", "RGB", "RGBA")


def _read_with_pillow(path: str) -> np.ndarray:
    """``imageio.v3.imread(path, index=0, plugin="pillow")``, minus its per-call set-up.

    For 8-bit gray, RGB and RGBA frames imageio returns Pillow's pixels unchanged;
    reading them directly saves about a millisecond per file (a third of decoding a
    512x512 PNG). Other modes (palette, 16-bit, 1-bit...) go through imageio.
    """
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in _PLAIN_MODES and getattr(im, "n_frames", 1) == 1:
            return np.asarray(im)
    import imageio.v3 as iio

    return iio.imread(path, index=0, plugin="pillow")


def read_image(path: str | os.PathLike, *, as_gray: bool = False) -> np.ndarray:
    """Read one image file into memory: the pixels that ``imageio.v3.imread`` decodes.

    PNG, JPEG and BMP are decoded by imageio's pillow plugin (first frame; palette
    images expand to their palette's mode), TIFF by tifffile (the first series).
    This is the function every :func:`open_images` task calls, once per file.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    as_gray : bool, optional
        Convert to gray levels with :func:`to_gray`.

    Returns
    -------
    numpy.ndarray
        The decoded image.

    Raises
    ------
    InputNotFoundError
        If ``path`` does not exist.
    InputError
        If the file cannot be decoded.

    See Also
    --------
    imageio.v3.imread, skimage.io.imread

    Examples
    --------
    >>> import tempfile, imageio.v3 as iio
    >>> with tempfile.TemporaryDirectory() as d:
    ...     iio.imwrite(f"{d}/a.png", np.zeros((2, 3), dtype=np.uint8))
    ...     read_image(f"{d}/a.png").shape
    (2, 3)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputNotFoundError(f"image file {path!r} does not exist.")
    try:
        if path.lower().endswith(_TIFF_SUFFIXES):
            import tifffile

            image = tifffile.imread(path)
        else:
            image = _read_with_pillow(path)
    except Exception as exc:  # any decoder failure means the file is unreadable
        raise InputError(
            f"{path!r} could not be decoded as an image (PNG, TIFF, JPEG or BMP): {exc}"
        ) from exc
    if as_gray:
        image = to_gray(image)
    return image


class _ImageFiles:
    """An array-like over image files: indexing reads the selected files.

    It holds paths and the expected layout, never pixels, so a dask graph built
    on it stays small however many images it spans.
    """

    def __init__(
        self,
        paths: tuple[str, ...],
        image_shape: tuple[int, ...],
        dtype: np.dtype,
        as_gray: bool,
        reader: Any = None,
    ) -> None:
        self.paths = paths
        self.image_shape = image_shape
        self.as_gray = as_gray
        self.dtype = np.dtype(dtype)
        self.shape = (len(paths), *image_shape)
        self.ndim = len(self.shape)
        self.reader = reader

    def _read(self, i: int) -> np.ndarray:
        path = self.paths[i]
        if self.reader is not None:
            return self.reader(path)
        # looked up at call time, so that a wrapped read_image is the one used
        image = read_image(path, as_gray=self.as_gray)
        if image.shape != self.image_shape or image.dtype != self.dtype:
            raise InputError(
                f"{path!r} decoded to shape {image.shape} of {image.dtype}, but its header "
                f"said {self.image_shape} of {self.dtype}. Hint: was it changed after "
                "open_images?"
            )
        return image

    def _stack(self, indices: np.ndarray) -> np.ndarray:
        out = np.empty((len(indices), *self.image_shape), dtype=self.dtype)
        for j, i in enumerate(indices):
            out[j] = self._read(int(i))
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        basic = (numbers.Integral, slice)
        if isinstance(first, basic) and all(isinstance(k, basic) for k in rest):
            indices = np.arange(len(self.paths))[first]
            if indices.ndim == 0:
                return self._read(int(indices))[rest]
            return self._stack(indices)[(slice(None), *rest)]
        # anything fancier (arrays, Ellipsis, newaxis): read all, let numpy index
        return self._stack(np.arange(len(self.paths)))[key]


def _chunks_along_images(n: int, image_nbytes: int, images_per_chunk: Any) -> tuple[int, ...]:
    if isinstance(images_per_chunk, str):
        if images_per_chunk != "auto":
            raise InvalidParameterError(
                f"images_per_chunk must be 'auto' or a positive integer; got {images_per_chunk!r}."
            )
        per = max(1, AUTO_CHUNK_BYTES // max(image_nbytes, 1))
    elif isinstance(images_per_chunk, numbers.Integral) and not isinstance(images_per_chunk, bool):
        per = int(images_per_chunk)
        if per < 1:
            raise InvalidParameterError(
                f"images_per_chunk must be 'auto' or a positive integer; got {images_per_chunk!r}."
            )
    else:
        raise InvalidParameterError(
            f"images_per_chunk must be 'auto' or a positive integer; got {images_per_chunk!r}."
        )
    per = min(per, n)
    full, last = divmod(n, per)
    return (per,) * full + ((last,) if last else ())


def image_stack(
    paths: list[str],
    stats: list[os.stat_result],
    image_shape: tuple[int, ...],
    dtype: np.dtype,
    as_gray: bool,
    images_per_chunk: Any,
    reader: Any = None,
) -> ImageStack:
    """The lazy stack of ``paths`` (headers already read), one dask task per chunk of files.

    ``reader(path)``, where given, reads each image (it must return ``image_shape``
    and ``dtype``); by default :func:`read_image` does, checked against the header.
    """
    image_nbytes = math.prod(image_shape) * dtype.itemsize
    axis0 = _chunks_along_images(len(paths), image_nbytes, images_per_chunk)
    chunks = (axis0, *((s,) for s in image_shape))
    token = tokenize(
        "open_images",
        tuple(os.path.abspath(p) for p in paths),
        tuple(s.st_size for s in stats),
        tuple(s.st_mtime_ns for s in stats),
        image_shape,
        dtype.str,
        as_gray,
        axis0,
        reader,
    )
    files = _ImageFiles(tuple(paths), image_shape, dtype, as_gray, reader)
    data = da.from_array(
        files,
        chunks=chunks,
        name=f"{'open_images' if reader is None else 'open_input'}-{token}",
        meta=np.empty((0,) * files.ndim, dtype=dtype),
        asarray=False,
        fancy=False,
    )
    return ImageStack(data=data, paths=list(paths))


def open_images(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    as_gray: bool = False,
    group_by_shape: bool = False,
    images_per_chunk: int | str = "auto",
    on_error: str = "raise",
) -> ImageStack | dict[tuple[tuple[int, ...], np.dtype], ImageStack]:
    """Open a collection of image files as one lazy stack, reading only their headers.

    Computing the stack gives ``np.stack([read_image(p) for p in paths])``: the
    pixels ``imageio.v3.imread`` decodes from each file, in order. Building it reads
    each file's header (to check shapes and dtypes) and no pixels; each dask task
    decodes its own files with :func:`read_image`.

    Parameters
    ----------
    source : str, os.PathLike or sequence of them
        A directory (its ``.png``, ``.tif``, ``.tiff``, ``.jpg``, ``.jpeg`` and
        ``.bmp`` files, not recursive, hidden files skipped), a glob pattern (``**``
        recurses), a single file, or a list of files. Directory and glob results are
        sorted naturally (``img2`` before ``img10``); a list keeps its order.
    as_gray : bool, optional
        Convert every image to gray levels as scikit-image does (see
        :func:`to_gray`): RGB with :func:`skimage.color.rgb2gray`'s weights, RGBA
        blended onto white first, gray rescaled to floats. The stack is float64.
    group_by_shape : bool, optional
        Instead of refusing images of different shapes or dtypes, return one stack
        per ``(image_shape, dtype)``, in order of first appearance.
    images_per_chunk : int or 'auto', optional
        Images per chunk along axis 0. ``'auto'`` packs about 4 MiB per chunk
        (at least one image).
    on_error : {"raise", "collect"}, optional
        ``"raise"`` (default) refuses a collection with an unreadable header or a
        file of another shape or dtype. ``"collect"`` leaves such files out
        instead: the stack holds the readable files of the most common shape and
        dtype (the first seen on a tie), and ``stack.failed`` lists the others as
        ``(position in the listing, path, error)``. Only an empty result raises.
        Not combined with ``group_by_shape``.

    Returns
    -------
    ImageStack or dict
        The stack (``.data`` shaped ``(n_images, *image_shape)`` and ``.paths``), or
        with ``group_by_shape=True`` a dict ``{(image_shape, dtype): ImageStack}``.

    Raises
    ------
    InputNotFoundError
        If a path does not exist, a directory holds no image file or a glob
        matches nothing.
    InputError
        If a header cannot be read, or (without ``group_by_shape``) the images do
        not all share the first one's shape and dtype; the message names the
        offending files.
    InvalidParameterError
        If ``source`` or ``images_per_chunk`` is of the wrong kind.

    See Also
    --------
    read_image : reads one file, eagerly.
    skimage.io.imread_collection : the eager equivalent.

    Examples
    --------
    >>> import tempfile, imageio.v3 as iio
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for i in (10, 2):
    ...         iio.imwrite(f"{d}/img{i}.png", np.full((4, 5), i, dtype=np.uint8))
    ...     data, paths = open_images(d)
    ...     [os.path.basename(p) for p in paths], data.shape, int(data[1].max().compute())
    (['img2.png', 'img10.png'], (2, 4, 5), 10)
    """
    if on_error not in ("raise", "collect"):
        raise InvalidParameterError(f"on_error must be 'raise' or 'collect'; got {on_error!r}.")
    if on_error == "collect":
        if group_by_shape:
            raise InvalidParameterError(
                "on_error='collect' cannot be combined with group_by_shape=True."
            )
        return _open_collecting(source, as_gray, images_per_chunk)
    paths = resolve_paths(source)
    stats = [os.stat(p) for p in paths]
    headers = _headers(paths, as_gray)
    if group_by_shape:
        groups: dict[tuple[tuple[int, ...], np.dtype], list[int]] = {}
        for i, key in enumerate(headers):
            groups.setdefault(key, []).append(i)
        return {
            key: image_stack(
                [paths[i] for i in idx],
                [stats[i] for i in idx],
                key[0],
                key[1],
                as_gray,
                images_per_chunk,
            )
            for key, idx in groups.items()
        }

    _check_same(paths, headers)
    first_shape, first_dtype = headers[0]
    return image_stack(paths, stats, first_shape, first_dtype, as_gray, images_per_chunk)


def scan_headers(
    source: Any, as_gray: bool = False
) -> tuple[list[str], list[os.stat_result], tuple, list[tuple[int, str, BaseException]], list[str]]:
    """Read every header of a collection, leaving out unreadable files and odd layouts.

    Returns
    -------
    kept : list of str
        The readable files of the most common ``(shape, dtype)`` (the first seen on a
        tie), in listing order.
    stats : list of os.stat_result
        Their ``os.stat``.
    layout : tuple
        That ``(shape, dtype)``.
    failed : list of (int, str, Exception)
        The other files: position in the listing, path, the error.
    listing : list of str
        Every file the source lists, in order.

    Raises
    ------
    InputError
        If no file is readable.
    """
    from collections import Counter

    paths = resolve_paths(source, strict=False)
    failed: list[tuple[int, str, BaseException]] = []
    good: list[tuple[int, str, os.stat_result, tuple]] = []
    for i, p in enumerate(paths):
        try:
            st = os.stat(p)
            if st.st_size == 0:
                raise InputError(f"{p!r} is an empty file (0 bytes).")
            shape, dtype = read_header(p)
            if as_gray:
                shape, dtype = gray_layout(p, shape, dtype)
        except FileNotFoundError as exc:
            failed.append((i, p, InputNotFoundError(f"image file {p!r} does not exist: {exc}")))
            continue
        except (InputError, OSError) as exc:
            failed.append((i, p, exc))
            continue
        good.append((i, p, st, (shape, dtype)))
    if not good:
        shown = "; ".join(f"{p!r}: {exc}" for _, p, exc in failed[:_LISTED])
        raise InputError(f"no readable image among {len(paths)} files: {shown}")
    counts = Counter(h for *_, h in good)
    best = max(counts.values())
    layout = next(h for *_, h in good if counts[h] == best)
    kept, stats = [], []
    for i, p, st, h in good:
        if h == layout:
            kept.append(p)
            stats.append(st)
        else:
            failed.append((i, p, InputError(
                f"{p!r} has shape {h[0]} of {h[1]}, but the collection's images have "
                f"{layout[0]} of {layout[1]} (the most common layout)."
            )))  # fmt: skip
    failed.sort(key=lambda f: f[0])
    return kept, stats, layout, failed, paths


def read_headers(
    source: Any, as_gray: bool = False
) -> tuple[list[str], list[os.stat_result], tuple]:
    """Read every header of a collection and require one ``(shape, dtype)``.

    Returns the files, their ``os.stat`` and the layout; raises :class:`InputError`
    naming the files that differ from the first, as :func:`open_images` does.
    """
    paths = resolve_paths(source)
    stats = [os.stat(p) for p in paths]
    headers = _headers(paths, as_gray)
    _check_same(paths, headers)
    return paths, stats, headers[0]


def _headers(paths: list[str], as_gray: bool) -> list[tuple]:
    out = []
    for p in paths:
        shape, dtype = read_header(p)
        if as_gray:
            shape, dtype = gray_layout(p, shape, dtype)
        out.append((shape, dtype))
    return out


def _check_same(paths: list[str], headers: list[tuple]) -> None:
    first_shape, first_dtype = headers[0]
    odd = [i for i, h in enumerate(headers) if h != headers[0]]
    if odd:
        listed = ", ".join(
            f"{paths[i]!r} has {headers[i][0]} {headers[i][1]}" for i in odd[:_LISTED]
        )
        more = len(odd) - _LISTED
        raise InputError(
            f"images must all have the shape and dtype of the first, {paths[0]!r} "
            f"({first_shape} {first_dtype}); {len(odd)} of {len(paths)} files differ: "
            f"{listed}{f' and {more} more' if more > 0 else ''}. Hint: group_by_shape=True "
            "returns one stack per (shape, dtype)."
        )


def _open_collecting(source: Any, as_gray: bool, images_per_chunk: Any) -> ImageStack:
    """``open_images(..., on_error="collect")``: leave unreadable or odd files out."""
    kept, stats, layout, failed, _ = scan_headers(source, as_gray)
    stack = image_stack(kept, stats, layout[0], layout[1], as_gray, images_per_chunk)
    return ImageStack(stack.data, stack.paths, tuple(failed))


__all__ = [
    "ImageStack",
    "gray_layout",
    "image_stack",
    "natural_sort_key",
    "open_images",
    "read_header",
    "read_headers",
    "read_image",
    "resolve_paths",
    "scan_headers",
    "to_gray",
]
