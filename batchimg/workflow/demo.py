"""Synthetic inputs and the bundled workflows, for ``batchimg demo`` and the tests.

The images are the scipy lecture notes' blobs: random points, smoothed with a
Gaussian, thresholded at the mean, plus a little of the smooth image and noise,
seeded so every run makes the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

from ..errors import InputNotFoundError

#: Bundled workflow -> the demo input it runs on.
DEMO_RUNS = {
    "ascent_edges.yaml": "images",
    "segmentation.yaml": "images",
    "denoising.yaml": "images",
    "cleanup.yaml": "images",
    "volume_3d.yaml": "volume",
}


def blobs(shape: tuple[int, ...], *, n: int = 5, seed: int = 1234) -> np.ndarray:
    """Return a uint8 image of noisy blobs (the scipy lecture notes' recipe), seeded.

    Examples
    --------
    >>> blobs((32, 32)).dtype, blobs((32, 32)).shape
    (dtype('uint8'), (32, 32))
    """
    rng = np.random.default_rng(seed)
    length = max(shape)
    im = np.zeros(shape)
    points = (rng.random((len(shape), n ** len(shape))) * np.array(shape)[:, None]).astype(int)
    im[tuple(points)] = 1
    im = ndi.gaussian_filter(im, sigma=length / (4.0 * n))
    mask = (im > im.mean()).astype(float)
    mask += 0.1 * im / max(im.max(), 1e-12)
    img = mask + 0.2 * rng.standard_normal(shape)
    return np.clip(img * 160 + 40, 0, 255).astype(np.uint8)


def make_demo_data(
    folder: str | os.PathLike,
    *,
    n_images: int = 8,
    image_shape: tuple[int, int] = (256, 256),
    volume_shape: tuple[int, int, int] = (64, 128, 128),
    seed: int = 1234,
) -> dict[str, str]:
    """Write a collection of blob PNGs and a blob volume (raw uint8) under ``folder``.

    Returns
    -------
    dict
        ``images`` (the PNG folder), ``volume`` (the raw file) and ``volume_shape``
        (``"Z,Y,X"``).
    """
    import imageio.v3 as iio

    folder = Path(folder)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        iio.imwrite(images / f"blobs_{i:02d}.png", blobs(image_shape, seed=seed + i))
    volume = folder / "volume.raw"
    blobs(volume_shape, n=4, seed=seed).tofile(volume)
    return {
        "images": str(images),
        "volume": str(volume),
        "volume_shape": ",".join(str(s) for s in volume_shape),
    }


def bundled_workflow(name: str) -> Path:
    """The path of a bundled workflow file (package data: works from a wheel too).

    Raises
    ------
    InputNotFoundError
        If there is no bundled workflow of that name.

    Examples
    --------
    >>> bundled_workflow("ascent_edges.yaml").name
    'ascent_edges.yaml'
    """
    from importlib.resources import as_file, files

    root = files("batchimg.workflows")
    entry = root / name
    if not entry.is_file():
        known = sorted(e.name for e in root.iterdir() if e.name.endswith(".yaml"))
        raise InputNotFoundError(
            f"no bundled workflow {name!r}; the bundled workflows are {', '.join(known)}."
        )
    with as_file(entry) as path:  # a real file for a plain (not zipped) install
        return Path(path)


def bundled_workflows() -> list[Path]:
    """Every bundled workflow file, sorted by name."""
    from importlib.resources import files

    names = sorted(
        e.name for e in files("batchimg.workflows").iterdir() if e.name.endswith(".yaml")
    )
    return [bundled_workflow(n) for n in names]


__all__ = ["DEMO_RUNS", "blobs", "bundled_workflow", "bundled_workflows", "make_demo_data"]
