"""The table of public operations and their oracles.

Each ``cases_*.py`` module contributes ``CASES``: one :class:`OpCase` per public
operation, with the scipy/scikit-image function it must equal and a small grid of
parameters. ``test_oracle.py`` runs every case across chunkings, modes, dtypes and
2-D/3-D inputs, and a meta-test fails when a public operation has no case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ALL_DTYPES = ("uint8", "uint16", "int32", "float32", "float64")
ALL_MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


@dataclass
class OpCase:
    """One public operation and how to check it.

    Parameters
    ----------
    name : str
        The public name (``module.function``), e.g. ``"filters.gaussian_filter"``.
    op : callable
        The batchimg function, called as ``op(image, **params)``.
    oracle : callable
        The reference, called as ``oracle(image, **params)`` on the whole numpy
        array (write a lambda when scipy's call differs, e.g. ``mode`` absent).
    params : list of dict
        Parameter sets; each may hold a callable ``lambda ndim: {...}`` instead of a
        dict when the parameters depend on the dimensionality.
    modes : bool
        Whether the operation takes ``mode`` (and ``cval``); the grid then sweeps
        every mode with ``cval=7``.
    dtypes : sequence of str
        Input dtypes to sweep (``"bool"`` for binary operations).
    ndims : sequence of int
        Dimensionalities to run.
    reach : int
        Roughly the operation's reach, so the "thin" chunking is thinner than it.
    """

    name: str
    op: Callable[..., Any]
    oracle: Callable[..., Any]
    params: Sequence[Any]
    modes: bool = True
    dtypes: Sequence[str] = ALL_DTYPES
    ndims: Sequence[int] = (2, 3)
    reach: int = 3
    stack: bool = True
    extra: dict = field(default_factory=dict)

    def params_for(self, ndim: int) -> list[dict]:
        return [p(ndim) if callable(p) else dict(p) for p in self.params]


def image_for(dtype: str, ndim: int, seed: int = 1234) -> np.ndarray:
    """A small seeded test image: 2-D (23, 19) or 3-D (9, 11, 10)."""
    from helpers import random_image

    shape = {1: (41,), 2: (23, 19), 3: (9, 11, 10)}[ndim]
    return random_image(shape, dtype, seed)
