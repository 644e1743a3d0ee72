"""``watershed_ift``: scipy's image foresting transform, with scipy's answers."""

from __future__ import annotations

from typing import Any

import dask
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize

from .. import _conventions as C
from .._lazy import da
from ..errors import InputRuntimeError, InputTypeError, ParameterRuntimeError

#: The marker (and output array) dtypes scipy accepts.
_INTEGRAL = frozenset(np.dtype(t) for t in ("int8", "int16", "int32", "int64", "intc", "intp"))


def _run(image, markers, *, structure, dtype):
    return ndi.watershed_ift(
        image, markers, structure=structure, output=np.zeros(image.shape, dtype)
    )


def watershed_ift(input: Any, markers: Any, structure: Any = None, output: Any = None) -> Any:
    """Watershed by image foresting transform, equal to ``scipy.ndimage.watershed_ift``.

    Every pixel gets the label of the marker it is joined to by the path whose
    highest ``input`` value is lowest, with scipy's tie-breaking (its queue order),
    for any chunking.

    How exactness is kept: the transform is one priority-queue flood over the whole
    image, so a label can travel any distance and the order in which ties are
    settled is global; it runs scipy on the whole array in one task. Memory: the
    input, markers and output in one piece plus scipy's per-pixel queue records
    (about ``40`` bytes per pixel in all for int64 markers); time: scipy's.

    Parameters
    ----------
    input : array_like
        uint8 or uint16 image (numpy or dask), e.g. a gradient magnitude.
    markers : array_like
        Signed integer seeds of the input's shape; nonzero pixels are markers
        (negative markers are processed as in scipy).
    structure : array_like, optional
        3x...x3 connectivity; default ``generate_binary_structure(input.ndim, 1)``.
    output : numpy.ndarray, optional
        A signed integer array of the input's shape to fill and return; anything else
        is ignored, as in scipy (the labels have the markers' dtype).

    Returns
    -------
    dask.array.Array or numpy.ndarray
        The lazy labels, or ``output`` filled.

    Raises
    ------
    InputTypeError
        For an input that is not uint8 or uint16.
    ParameterRuntimeError
        For a structure of another rank or not 3 wide, or an output array that is
        not of a signed integer dtype or of another shape.
    InputRuntimeError
        For markers of another shape or not of a signed integer dtype.

    See Also
    --------
    scipy.ndimage.watershed_ift : the oracle.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi, dask.array as da
    >>> image = (np.arange(64).reshape(8, 8) * 7 % 13).astype(np.uint8)
    >>> markers = np.zeros((8, 8), np.int16); markers[1, 1] = 1; markers[6, 6] = 2
    >>> out = watershed_ift(da.from_array(image, chunks=3), markers)
    >>> bool((out.compute() == ndi.watershed_ift(image, markers)).all())
    True
    """
    x = C.as_input(input)
    if x.dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise InputTypeError(
            f"input must be uint8 or uint16; got dtype {x.dtype}. Hint: rescale it, e.g. "
            "with batchimg.point.rescale, and convert with astype('uint16')."
        )
    if structure is None:
        s = ndi.generate_binary_structure(x.ndim, 1)
    else:
        s = np.asarray(structure).astype(bool)
        if s.ndim != x.ndim:
            raise ParameterRuntimeError(
                f"structure must have {x.ndim} dimensions, as many as the input; got an "
                f"array of shape {s.shape}."
            )
        if s.shape != (3,) * x.ndim:
            raise ParameterRuntimeError(
                f"structure must have shape {(3,) * x.ndim} (3 on every axis); got {s.shape}."
            )
    s = np.array(s, order="C")
    m = C.as_input(markers, "markers")
    if m.shape != x.shape:
        raise InputRuntimeError(f"markers must have the input's shape {x.shape}; got {m.shape}.")
    if m.dtype not in _INTEGRAL:
        raise InputRuntimeError(
            f"markers must have a signed integer dtype (int8 to int64); got dtype {m.dtype}."
        )
    if isinstance(output, np.ndarray):
        if output.dtype not in _INTEGRAL:
            raise ParameterRuntimeError(
                f"output must have a signed integer dtype (int8 to int64); got {output.dtype}."
            )
        C.check_output_array(output, x.shape)
        dtype = output.dtype
    else:
        C.Output(output)  # a dtype is checked but, as in scipy, the markers' dtype is used
        dtype = m.dtype
    token = tokenize("watershed_ift", x.name, m.name, s, np.dtype(dtype).str)
    task = dask.delayed(_run, pure=True)(
        x.rechunk(x.shape),
        m.rechunk(x.shape),
        structure=s,
        dtype=dtype,
        dask_key_name=f"watershed_ift-{token}",
    )
    labels = da.from_delayed(task, shape=x.shape, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype))
    return C.deliver(labels.rechunk(x.chunks), output)
