"""Chunked filters with scipy.ndimage's names, signatures, defaults and errors.

Every function here is a drop-in for the scipy.ndimage filter of the same name
(scipy 1.17): the same parameters in the same order, positional or keyword as in
scipy (``input=`` included), the same defaults, and the same errors (batchimg's
exceptions also subclass the builtin scipy raises: ``RuntimeError``, ``TypeError``,
``IndexError`` or ``ValueError``). It takes a numpy or dask array of any chunking and
returns a lazy dask array equal, bit for bit and with the same dtype, to the scipy
function run on the whole in-memory array, for every mode. ``output`` may be a dtype,
or an array that is filled (which computes) and returned, as scipy does; complex input
is taken wherever scipy takes it; ``axes=`` has scipy's meaning.

How the bits stay scipy's: each block of the result is computed by the scipy function
itself on the block plus a halo as wide as one output pixel's reach (scipy's own radius
rules), and the halo is trimmed. Where scipy's value at a pixel depends on more than a
bounded window, the affected axes are kept in one chunk instead:

- ``uniform_filter`` and ``uniform_filter1d`` on floats, complex and 64-bit integers
  (scipy's running sum rounds along the line);
- box ``minimum_filter``/``maximum_filter`` (and the 1-D forms, and rank filters that
  reduce to them) on float images (or with ``cval=nan``), and 1-D
  ``median``/``rank``/``percentile`` filters on float images: scipy runs a deque of
  candidates (MINLIST) or a double heap along each line, and a NaN stops them from
  dropping older candidates, so with NaN present a pixel's value depends on the
  line's whole history (one NaN changes pixels tens of windows away, with no bound);
  each such pass keeps its axis in one chunk (the functions run scipy's passes one
  axis at a time, so a task holds one line of blocks; the ``.step`` that workflows
  chain is one step with all those axes whole);
- ``generic_filter1d`` (its function sees whole lines) along its axis, and
  ``generic_gradient_magnitude``/``generic_laplace`` (the user derivative sees the
  whole array) on every axis.

Any argument form whose reach is not analysed here runs with every axis whole, which
is scipy on the whole array. :func:`unsharp_mask` is not a scipy function: it is the
scipy lecture notes' sharpening recipe, with its own contract.
"""

from ._edges import generic_gradient_magnitude, generic_laplace, laplace, prewitt, sobel
from ._gaussian import (
    gaussian_filter,
    gaussian_filter1d,
    gaussian_gradient_magnitude,
    gaussian_laplace,
    unsharp_mask,
)
from ._generic import generic_filter, generic_filter1d, vectorized_filter
from ._linear import (
    convolve,
    convolve1d,
    correlate,
    correlate1d,
    uniform_filter,
    uniform_filter1d,
)
from ._order import (
    maximum_filter,
    maximum_filter1d,
    median_filter,
    minimum_filter,
    minimum_filter1d,
    percentile_filter,
    rank_filter,
)

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generic_filter",
    "generic_filter1d",
    "generic_gradient_magnitude",
    "generic_laplace",
    "laplace",
    "maximum_filter",
    "maximum_filter1d",
    "median_filter",
    "minimum_filter",
    "minimum_filter1d",
    "percentile_filter",
    "prewitt",
    "rank_filter",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
    "unsharp_mask",
    "vectorized_filter",
]
