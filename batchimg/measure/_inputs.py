"""Input checks shared by the measurement functions: label images and intensity images."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._lazy import da
from .._overlap import as_dask
from ..errors import InputError


def as_labels(label_image: Any, name: str = "label_image", like: Any = None) -> da.Array:
    """A dask label array (integer or bool); numpy input takes ``like``'s chunks."""
    if not isinstance(label_image, da.Array) and isinstance(like, da.Array):
        shape = np.shape(label_image)
        if like.shape[: len(shape)] == shape and like.ndim in (len(shape), len(shape) + 1):
            label_image = da.from_array(np.asarray(label_image), chunks=like.chunks[: len(shape)])
    lab = as_dask(label_image, name)
    if lab.dtype != bool and lab.dtype.kind not in "iu":
        raise InputError(
            f"{name} must be an integer (or bool) array; got dtype {lab.dtype}. "
            "Hint: convert a mask with scipy.ndimage.label or batchimg.measure.label."
        )
    return lab


def as_intensity(intensity_image: Any, lab: da.Array, name: str = "intensity_image") -> da.Array:
    """A dask intensity array chunked as ``lab`` (a last axis of channels is one chunk)."""
    img = as_dask(intensity_image, name)
    if img.dtype != bool and img.dtype.kind not in "iuf":
        raise InputError(f"{name} must be a real numeric array; got dtype {img.dtype}.")
    if img.shape[: lab.ndim] != lab.shape or img.ndim not in (lab.ndim, lab.ndim + 1):
        raise InputError(
            f"{name} must have the label image's shape {lab.shape} (plus, optionally, a last "
            f"axis of channels); got shape {img.shape}."
        )
    chunks = lab.chunks + ((img.shape[-1],) if img.ndim > lab.ndim else ())
    if img.chunks != chunks:
        img = img.rechunk(chunks)
    return img
