"""Readers and writers: images, raw volumes, TIFF, Zarr/OME-Zarr, HDF5, tables.

:func:`open_input` opens any input with its axes (:class:`Axes`), reading headers
only; ``open_*`` functions are lazy and read at most a header; ``write_*`` functions
are sinks.
"""

from .atomic import atomic_file, atomic_write, read_json, write_json
from .axes import Axes
from .images import ImageStack, natural_sort_key, open_images, read_header, read_image, to_gray
from .inputs import ImageReader, Input, open_input
from .raw import RawFile, open_raw
from .tables import read_table, write_table, write_table_parts
from .zarr_io import open_zarr

__all__ = [
    "Axes",
    "ImageReader",
    "ImageStack",
    "Input",
    "RawFile",
    "natural_sort_key",
    "open_images",
    "open_input",
    "open_raw",
    "open_zarr",
    "read_header",
    "read_image",
    "read_table",
    "to_gray",
    "write_table",
    "write_table_parts",
    "atomic_file",
    "atomic_write",
    "read_json",
    "write_json",
]
