"""Propagation until nothing changes: binary_propagation, binary_fill_holes, reconstruction.

scipy defines all three through ``binary_dilation(..., iterations=-1)``: a dilation
repeated, inside ``mask``, until nothing changes. Repeating a dilation by a
structure that is symmetric about its centre, holds the centre and has origin 0
fills exactly the mask components (connected by that structure) that hold a seed,
touch a seed outside the mask, or -- with ``border_value=1`` -- touch the array's
edge. That is a *flag* question per component, answered across chunks by the
label machinery (:mod:`._merge`) in one pass over the blocks plus one small
resolve: memory is one block per task and a summary per local component.

Other structures (larger than 3 along an axis, asymmetric, a False centre, or a
nonzero origin) make the repetition directed, or not monotone; there the whole
array runs through scipy in one task (memory: the input, the mask and the output
in one piece, about 3 bytes per pixel, plus scipy's lists of changed pixels).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .. import _conventions as C
from .. import _params as P
from .._lazy import da
from .._overlap import apply, make_step
from ._merge import connected, embed, resolve_flags


def _component_structure(structure: np.ndarray, origin, ndim: int, axes) -> np.ndarray | None:
    """The ``ndim`` connectivity the component machinery can use, or None."""
    s = np.asarray(structure, bool)
    if s.shape != (3,) * s.ndim or any(origin):
        return None
    if not s[(1,) * s.ndim] or not np.array_equal(s, s[(slice(None, None, -1),) * s.ndim]):
        return None
    return embed(s, ndim, axes) if len(axes) < ndim else s


def _whole(x, mask, *, structure, border_value, origin, axes):
    """Run scipy's propagation on the whole array, in one task."""
    args = [x.rechunk(x.shape)]
    if mask is not None:
        args.append(mask.rechunk(x.shape))

    def run(block, *m):
        mask = m[0] if m else None
        kw = dict(structure=structure, mask=mask, border_value=border_value, origin=list(origin),
                  axes=axes)  # fmt: skip
        full = np.shape(structure) if axes is None or len(axes) == block.ndim else None
        if full is None:
            full = [1] * block.ndim
            for a, n in zip(sorted(axes), np.shape(structure), strict=True):
                full[a] = n
        if all(s <= n for s, n in zip(full, block.shape, strict=True)):
            return ndi.binary_dilation(block, iterations=-1, **kw)
        # scipy's repeated pass reads and writes past an array smaller than the
        # structure (wrong answers or a crash); its meaning is one pass repeated
        out = np.asarray(block, bool)
        while True:
            new = ndi.binary_dilation(out, iterations=1, **kw)
            if np.array_equal(new, out):
                return new
            out = new

    out = da.map_blocks(run, *args, dtype=bool, meta=np.empty((0,) * x.ndim, bool))
    return out.rechunk(x.chunks)


def propagate(x: da.Array | None, structure, mask, border_value: int, origin, axes,
              like: da.Array | None = None) -> da.Array:  # fmt: skip
    """``scipy.ndimage.binary_dilation(x, structure, -1, mask, None, border_value, origin)``.

    ``structure`` is over ``axes`` (validated), ``mask`` a dask array or None; ``x``
    None stands for no seeds at all (an array of zeros like ``like``), as in hole
    filling, and saves their passes.
    """
    if x is None:
        x_ = da.zeros(like.shape, dtype=bool, chunks=like.chunks)
    else:
        x_ = x if x.dtype.kind == "b" else x != 0
    s = _component_structure(structure, origin, x_.ndim, axes)
    if s is None:
        return _whole(
            x_, mask, structure=structure, border_value=border_value, origin=origin, axes=axes
        )
    if mask is None:
        m = da.ones(x_.shape, dtype=bool, chunks=x_.chunks)
    else:
        m = (mask if mask.dtype.kind == "b" else mask != 0).rechunk(x_.chunks)
    outside_seed = None if x is None else x_ & ~m
    kernel = functools.partial(ndi.binary_dilation, structure=s, border_value=border_value)
    step = make_step(
        "seed_dilation",
        kernel,
        ndim=x_.ndim,
        axes=tuple(range(x_.ndim)),
        reach=(1,) * x_.ndim,
        modes=("constant",) * x_.ndim,
        dtype=bool,
        params=(s, border_value),
    )
    if x is None:
        # no seeds: only the edge seeds (a mask pixel with a structure neighbour outside)
        seed = m & apply(da.zeros(x_.shape, dtype=bool, chunks=x_.chunks), step)
    else:
        seed = m & (x_ | apply(outside_seed, step))
    reached, _ = connected(m, s, resolver=resolve_flags, dtype=bool, seed=seed, kind="propagation")
    return reached if outside_seed is None else outside_seed | reached


_HOW = """How exactness is kept: see :mod:`batchimg.label` -- for a structure
    symmetric about its centre, holding the centre, with origin 0 (every structure of
    ``generate_binary_structure``), the filled set is a per-component flag computed
    across chunks (one pass over the blocks, one small resolve; memory one block
    per task). Any other structure runs scipy on the whole array in one task."""


def binary_propagation(
    input: Any,
    structure: Any = None,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Propagate seeds through a mask, equal to ``scipy.ndimage.binary_propagation``.

    A dilation by ``structure`` repeated inside ``mask`` until nothing changes:
    a mask component (connected by ``structure``) is filled when it holds a seed,
    touches a seed outside the mask, or -- with ``border_value=1`` -- touches the
    array's edge; pixels outside the mask keep the input's value.

    {how}

    Parameters
    ----------
    input : array_like
        Binary seeds (nonzero is True).
    structure : array_like, optional
        Structuring element over ``axes``; default connectivity 1.
    mask : array_like, optional
        Array of the input's shape; only its nonzero pixels change. ``None`` is the
        whole array.
    output : numpy.ndarray, optional
        An array of the input's shape to fill and return (another value is ignored,
        as in scipy).
    border_value : int, optional
        Value beyond the array's edge (read as ``bool``).
    origin : int or sequence of int, optional
        Shift of the structuring element.
    axes : int or sequence of int, optional
        Axes to propagate along; the others are independent images.

    Returns
    -------
    dask.array.Array or numpy.ndarray
        The lazy ``bool`` result, or ``output`` filled.

    Raises
    ------
    ParameterRuntimeError, ParameterIndexError, InputTypeError, InputRuntimeError
        As :func:`batchimg.morphology.binary_dilation`.

    See Also
    --------
    scipy.ndimage.binary_propagation : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> mask = np.zeros((5, 8), bool); mask[1:4, 1:3] = mask[1:4, 5:7] = True
    >>> seeds = np.zeros_like(mask); seeds[2, 2] = True
    >>> out = binary_propagation(seeds, mask=mask).compute()
    >>> bool((out == ndi.binary_propagation(seeds, mask=mask)).all())
    True
    """
    x = C.as_input(input)
    C.check_output_array(output, x.shape)
    C.check_dtype(x.dtype)
    dtype = C.binary_output_dtype(output)
    if x.ndim == 0:
        s = C.binary_structure(structure, 0)
        m = None if mask is None else C.check_mask(mask, 0, ())
        out = _whole(x != 0, m, structure=s, border_value=C.normalize_border_value(border_value),
                     origin=(), axes=None)  # fmt: skip
        return C.deliver(out.astype(dtype), output)
    axes = P.normalize_axes(axes, x.ndim)
    s = C.binary_structure(structure, len(axes), reflected=True)
    o = C.normalize_origin(origin, s.shape, index_error=True, axes=axes, ndim=x.ndim)
    m = None if mask is None else C.check_mask(mask, x.ndim, x.shape)
    bv = C.normalize_border_value(border_value)
    out = propagate(x, s, m, bv, o, axes)
    return C.deliver(out if dtype.kind == "b" else out.astype(dtype), output)


def binary_fill_holes(
    input: Any, structure: Any = None, output: Any = None, origin: Any = 0, *, axes: Any = None
) -> Any:
    """Fill holes, equal to ``scipy.ndimage.binary_fill_holes`` on the whole array.

    A hole is a background region that the array's edge does not reach by
    propagation through the background (``structure`` gives the connectivity of the
    background); every pixel of it becomes foreground. scipy computes it as the
    complement of ``binary_propagation`` from the edge through the background, and
    so does this.

    {how}

    Parameters
    ----------
    input : array_like
        Binary input (nonzero is foreground).
    structure : array_like, optional
        Structuring element over ``axes``; default connectivity 1.
    output : numpy.ndarray, optional
        An array of the input's shape to fill; then ``None`` is returned, as in scipy.
    origin : int or sequence of int, optional
        Shift of the structuring element.
    axes : int or sequence of int, optional
        Axes to fill along; the others are independent images.

    Returns
    -------
    dask.array.Array or None
        The lazy ``bool`` result, or None when ``output`` was filled.

    Raises
    ------
    ParameterRuntimeError, ParameterIndexError, InputTypeError, InputRuntimeError
        As :func:`batchimg.morphology.binary_dilation`.

    See Also
    --------
    scipy.ndimage.binary_fill_holes : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> ring = np.zeros((7, 7), bool); ring[1:6, 1:6] = True; ring[3, 3] = False
    >>> bool((binary_fill_holes(ring).compute() == ndi.binary_fill_holes(ring)).all())
    True
    """
    x = C.as_input(input)
    C.check_output_array(output, x.shape)
    C.check_dtype(x.dtype)
    dtype = C.binary_output_dtype(output)
    if x.ndim == 0:
        zeros = da.zeros((), dtype=bool)
        outside = binary_propagation(zeros, structure, x == 0, None, 1, origin, axes=axes)
    else:
        axes = P.normalize_axes(axes, x.ndim)
        s = C.binary_structure(structure, len(axes), reflected=True)
        o = C.normalize_origin(origin, s.shape, index_error=True, axes=axes, ndim=x.ndim)
        outside = propagate(None, s, x == 0, 1, o, axes, like=x)
    out = ~outside
    return C.deliver(out if dtype.kind == "b" else out.astype(dtype), output, filled="none")


binary_propagation.__doc__ = binary_propagation.__doc__.replace("{how}", _HOW)
binary_fill_holes.__doc__ = binary_fill_holes.__doc__.replace("{how}", _HOW)


def reconstruct_by_propagation(
    input: Any, structure: Any = None, *, iterations: int = 1
) -> da.Array:
    """Erosion then propagation back into the image: the scipy lecture notes' cleanup.

    Equal to ``scipy.ndimage.binary_propagation(scipy.ndimage.binary_erosion(input,
    structure, iterations), structure, mask=input)`` on the whole array: objects
    too thin to survive the erosion vanish, every other object comes back whole
    (an opening by reconstruction).

    Parameters
    ----------
    input : array_like
        Binary input (nonzero is True).
    structure : array_like, optional
        Structuring element for both steps; default connectivity 1.
    iterations : int, optional
        Erosion iterations (>= 1).

    Returns
    -------
    dask.array.Array
        bool array, lazy.

    Raises
    ------
    InvalidParameterError
        For ``iterations < 1``.

    See Also
    --------
    scipy.ndimage.binary_erosion, scipy.ndimage.binary_propagation : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> img = np.zeros((8, 8), bool); img[1:5, 1:5] = True; img[6, 1:7] = True
    >>> out = reconstruct_by_propagation(img).compute()
    >>> expected = ndi.binary_propagation(ndi.binary_erosion(img), mask=img)
    >>> bool((out == expected).all())
    True
    """
    x = C.as_input(input)
    C.check_dtype(x.dtype)
    x = x != 0
    s = C.binary_structure(structure, x.ndim)
    iterations = P.normalize_int(iterations, "iterations", minimum=1)
    kernel = functools.partial(ndi.binary_erosion, structure=s, iterations=iterations)
    erode = make_step(
        "binary_erosion",
        kernel,
        ndim=x.ndim,
        axes=tuple(range(x.ndim)),
        reach=tuple(iterations * (n // 2) for n in s.shape),
        modes=("constant",) * x.ndim,
        dtype=bool,
        params=(s, iterations),
    )
    return propagate(apply(x, erode), s, x, 0, (0,) * x.ndim, tuple(range(x.ndim)))
