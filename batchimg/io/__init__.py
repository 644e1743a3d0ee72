"""Readers and writers: image collections, raw volumes, Zarr arrays and tables.

``open_*`` functions are lazy and read at most a header; ``write_*`` functions are
sinks.
"""

from .atomic import atomic_file, atomic_write, read_json, write_json
from .images import ImageStack, natural_sort_key, open_images, read_header, read_image, to_gray
from .raw import RawFile, open_raw
from .tables import read_table, write_table, write_table_parts
from .zarr_io import open_zarr

__all__ = [
    "atomic_file",
    "atomic_write",
    "read_json",
    "write_json",
    "ImageStack",
    "RawFile",
    "natural_sort_key",
    "open_images",
    "open_raw",
    "open_zarr",
    "read_header",
    "read_image",
    "read_table",
    "to_gray",
    "write_table",
    "write_table_parts",
]
