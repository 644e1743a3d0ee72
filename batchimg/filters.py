"""Chunked filters with scipy.ndimage's names, parameters and defaults.

Every function takes a numpy or dask array and returns a lazy dask array equal,
bit for bit and with the same dtype, to the scipy.ndimage function of the same
name run on the whole in-memory array, for any chunking and every mode.
``axes=`` restricts the filter to some axes; the other axes are treated as a stack
of independent images (scipy is run once per image), so pixels never mix across
images.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from . import _params as P
from ._overlap import Spec, Step, local_operation, make_step


def _gaussian_reach(sigma, truncate, radius, n):
    if radius is not None:
        return P.normalize_sequence(radius, n, "radius", kind=int, minimum=0)
    return tuple(int(truncate * s + 0.5) for s in sigma)


@local_operation
def gaussian_filter(
    spec: Spec,
    sigma: Any,
    *,
    order: Any = 0,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    radius: Any = None,
    axes: Any = None,
) -> Step:
    """Gaussian filter, equal to ``scipy.ndimage.gaussian_filter`` on the whole array.

    Parameters
    ----------
    image : array_like
        Input image (numpy or dask).
    sigma : float or sequence of float
        Standard deviation of the Gaussian, one value or one per filtered axis.
    order : int or sequence of int, optional
        Derivative order per axis (0 smooths).
    mode : str or sequence of str, optional
        Boundary mode: ``reflect``, ``constant``, ``nearest``, ``mirror`` or ``wrap``.
    cval : float, optional
        Value beyond the edges for ``mode="constant"``.
    truncate : float, optional
        Kernel radius in standard deviations.
    radius : int or sequence of int, optional
        Kernel radius, overriding ``truncate``.
    axes : int or sequence of int, optional
        Axes to filter; the others are independent images.

    Returns
    -------
    dask.array.Array
        Filtered image, of the input's dtype.

    Raises
    ------
    InvalidParameterError
        For a negative sigma, a sigma of the wrong length or an unknown mode.

    See Also
    --------
    scipy.ndimage.gaussian_filter : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from batchimg.filters import gaussian_filter
    >>> image = np.arange(64, dtype=float).reshape(8, 8)
    >>> out = gaussian_filter(image, 1.5)
    >>> bool((out.compute() == ndi.gaussian_filter(image, 1.5)).all())
    True
    """
    axes = P.normalize_axes(axes, spec.ndim)
    n = len(axes)
    sigma = P.normalize_sequence(sigma, n, "sigma", minimum=0)
    order = P.normalize_sequence(order, n, "order", kind=int, minimum=0)
    modes = P.normalize_mode(mode, n)
    cval = P.normalize_number(cval, "cval")
    truncate = P.normalize_number(truncate, "truncate", minimum=0)
    reach = _gaussian_reach(sigma, truncate, radius, n)
    kernel = functools.partial(
        ndi.gaussian_filter,
        sigma=sigma,
        order=order,
        mode=modes,
        cval=cval,
        truncate=truncate,
        radius=None if radius is None else reach,
    )
    return make_step(
        "gaussian_filter",
        kernel,
        ndim=spec.ndim,
        axes=axes,
        reach=reach,
        modes=modes,
        dtype=spec.dtype,
        params=(sigma, order, modes, cval, truncate, radius),
        cost=sum(2 * r + 1 for r in reach) / 3,
    )


__all__ = ["gaussian_filter"]
