"""Oracle cases for batchimg.morphology."""

import numpy as np
import scipy.ndimage as ndi
from oracle import ALL_DTYPES, OpCase

from batchimg import morphology

BINARY_DTYPES = ("bool", "uint8", "float32")


def _asymmetric(n):
    """An asymmetric structure of shape (2, 3, 1)[:n] whose centre is off."""
    st = np.zeros((2, 3, 1)[:n], dtype=bool)
    st[(0,) * n] = True
    st[(1, 2, 0)[:n]] = True
    return st


def _cross(n):
    return ndi.generate_binary_structure(n, 1)


def _binary_params():
    return [
        dict(),
        lambda n: dict(structure=ndi.generate_binary_structure(n, n), iterations=2),
        lambda n: dict(structure=_asymmetric(n), origin=(-1, 1, 0)[:n], border_value=1),
        lambda n: dict(structure=np.ones((4, 1, 2)[:n], bool), iterations=3, border_value=1),
        # a centred box of odd sides: the separable path
        lambda n: dict(structure=np.ones((5, 3, 1)[:n], bool), iterations=2, border_value=1),
    ]


def _binary(name, passes, which):
    return OpCase(
        name=f"morphology.{name}",
        op=getattr(morphology, name),
        oracle=getattr(ndi, name),
        params=[_binary_params()[i] for i in which],
        modes=False,
        dtypes=BINARY_DTYPES,
        reach=3 * passes,
    )


def _grey_params():
    return [
        dict(size=3),
        lambda n: dict(size=(3, 2, 4)[:n], origin=(1, 0, -2)[:n]),
        lambda n: dict(footprint=_cross(n), origin=-1),
        lambda n: dict(
            structure=np.arange(np.prod((3, 2, 3)[:n])).reshape((3, 2, 3)[:n]) % 3,
            footprint=np.arange(np.prod((3, 2, 3)[:n])).reshape((3, 2, 3)[:n]) % 4 > 0,
        ),
    ]


def _grey(name, passes, which, ndims=(2, 3)):
    return OpCase(
        name=f"morphology.{name}",
        op=getattr(morphology, name),
        oracle=getattr(ndi, name),
        params=[_grey_params()[i] for i in which],
        dtypes=ALL_DTYPES,
        ndims=ndims,
        reach=2 * passes,
    )


def _distance_params(name):
    if name == "distance_transform_edt":
        return [
            dict(),
            lambda n: dict(
                sampling=(2.0, 0.5, 1.5)[:n], return_indices=True, return_distances=False
            ),
        ]
    if name == "distance_transform_cdt":
        return [
            dict(metric="taxicab"),
            dict(metric="chessboard", return_indices=True, return_distances=False),
        ]
    return [
        dict(metric="chessboard"),
        lambda n: dict(sampling=(1.5, 1.0, 0.5)[:n], return_indices=True, return_distances=False),
    ]


def _distance(name):
    return OpCase(
        name=f"morphology.{name}",
        op=getattr(morphology, name),
        oracle=getattr(ndi, name),
        params=_distance_params(name),
        modes=False,
        dtypes=("bool", "uint8", "float32", "int32"),
        stack=False,
    )


def _hit_or_miss():
    return OpCase(
        name="morphology.binary_hit_or_miss",
        op=morphology.binary_hit_or_miss,
        oracle=ndi.binary_hit_or_miss,
        params=[
            dict(),
            lambda n: dict(structure1=_asymmetric(n), origin1=(-1, 1, 0)[:n]),
            lambda n: dict(
                structure1=_cross(n), structure2=np.ones((1, 3, 2)[:n], bool), origin2=0
            ),
        ],
        modes=False,
        dtypes=BINARY_DTYPES,
        reach=3,
    )


# The grid is large (modes x chunkings x dtypes); erosion and dilation carry the full
# parameter sets, the composites (which scipy builds from them) one or two each.
CASES = [
    _binary("binary_erosion", 1, (0, 2, 3, 4)),
    _binary("binary_dilation", 1, (1, 2, 3)),
    _binary("binary_opening", 2, (1, 2)),
    _binary("binary_closing", 2, (2, 3, 4)),
    _grey("grey_erosion", 1, (1, 2, 3)),
    _grey("grey_dilation", 1, (1, 2, 3)),
    _grey("grey_opening", 2, (1,)),
    _grey("grey_closing", 2, (3,)),
    _grey("white_tophat", 2, (2,), ndims=(2,)),
    _grey("black_tophat", 2, (1,), ndims=(2,)),
    _grey("morphological_gradient", 1, (3,), ndims=(2,)),
    _grey("morphological_laplace", 1, (0, 2), ndims=(2,)),
    _hit_or_miss(),
    _distance("distance_transform_edt"),
    _distance("distance_transform_cdt"),
    _distance("distance_transform_bf"),
]
