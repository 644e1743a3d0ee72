"""Chunked mathematical morphology with scipy.ndimage's names, parameters and defaults.

Every operation takes a numpy or dask array and returns a lazy dask array equal,
bit for bit and with the same dtype, to the scipy.ndimage function of the same
name run on the whole in-memory array, for any chunking. The parameters are
scipy's, in scipy's order (``input`` first, by position or keyword); ``output=``
takes a dtype, or an array that is filled (and returned where scipy returns it);
``axes=`` has scipy's meaning; errors subclass the builtin scipy raises.

Local operations (binary and grey erosion, dilation, opening, closing, the
tophats, gradient, Laplace, hit-or-miss) exchange halos of scipy's own reach and
keep a ``.step`` builder for workflows. The non-local ones say in their
docstrings how exactness is kept and what it costs: ``iterations < 1`` and
propagation (component flags across chunks), hole filling (the same), and the
distance transforms (whole axes in turn for ``distance_transform_edt``; ordered
sweeps of slabs for ``distance_transform_cdt``; the whole array for
``distance_transform_bf``).
"""

from ..label import (
    binary_fill_holes,
    binary_propagation,
    clear_border,
    reconstruct_by_propagation,
)
from ._binary import (
    binary_closing,
    binary_dilation,
    binary_erosion,
    binary_hit_or_miss,
    binary_opening,
    generate_binary_structure,
    iterate_structure,
)
from ._distance import distance_transform_bf, distance_transform_cdt, distance_transform_edt
from ._grey import (
    black_tophat,
    grey_closing,
    grey_dilation,
    grey_erosion,
    grey_opening,
    morphological_gradient,
    morphological_laplace,
    white_tophat,
)

__all__ = [
    "binary_closing",
    "binary_dilation",
    "binary_erosion",
    "binary_fill_holes",
    "binary_hit_or_miss",
    "binary_opening",
    "binary_propagation",
    "black_tophat",
    "clear_border",
    "distance_transform_bf",
    "distance_transform_cdt",
    "distance_transform_edt",
    "generate_binary_structure",
    "grey_closing",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "iterate_structure",
    "morphological_gradient",
    "morphological_laplace",
    "reconstruct_by_propagation",
    "white_tophat",
]
