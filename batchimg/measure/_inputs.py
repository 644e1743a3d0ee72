"""Input checks shared by the measurement functions: label images and intensity images."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .._overlap import as_dask
from ..errors import InputError


def as_labels(label_image: Any, name: str = "label_image", like: Any = None) -> da.Array:
    if (
        not isinstance(label_image, da.Array)
        and isinstance(like, da.Array)
        and np.shape(label_image) == like.shape
    ):
        label_image = da.from_array(np.asarray(label_image), chunks=like.chunks)
    lab = as_dask(label_image, name)
    if lab.dtype != bool and lab.dtype.kind not in "iu":
        raise InputError(
            f"{name} must be an integer (or bool) array; got dtype {lab.dtype}. "
            "Hint: convert a mask with scipy.ndimage.label or batchimg.measure.label."
        )
    return lab


def as_intensity(intensity_image: Any, lab: da.Array, name: str = "intensity_image") -> da.Array:
    img = as_dask(intensity_image, name)
    if img.dtype != bool and img.dtype.kind not in "iuf":
        raise InputError(f"{name} must be a real numeric array; got dtype {img.dtype}.")
    if img.shape != lab.shape:
        raise InputError(
            f"{name} must have the label image's shape {lab.shape}; got shape {img.shape}."
        )
    if img.chunks != lab.chunks:
        img = img.rechunk(lab.chunks)
    return img
