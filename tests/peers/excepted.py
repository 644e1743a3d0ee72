"""Reviewed exceptions: peer tests whose outcome through batchimg is not looked at.

Each entry is a test-id pattern (``*`` matches anything; ids are relative to the
suite's test folder, as pytest prints them) and the reason it does not apply to
batchimg. Only tests of behaviour that the peer has and scipy.ndimage does not belong
here: batchimg follows scipy, so where dask-image expects its own error for a call
that scipy accepts (or answers with another error), batchimg cannot pass both. Each
reason states what scipy does with the same call (checked with scipy 1.17).
A pattern that matches no test of the original run fails the suite (stale entry).

What batchimg does not pass *yet* is not an exception: it goes in
:mod:`peers.known_failures`.
"""

from __future__ import annotations

_ORDER = "test_dask_image/test_ndfilters/test__order.py::test_order_filter_params"
_MORPH = "test_dask_image/test_ndmorph/test_ndmorph.py"
_FIND = "test_dask_image/test_ndmeasure/test_find_objects.py"

_SCIPY_ACCEPTS_FLOAT_SIZE = (
    "dask-image refuses a float size (TypeError); scipy's minimum/maximum_filter accept size=1.0"
)
_SCIPY_ACCEPTS_ORIGIN = (
    "dask-image refuses this origin; scipy's filters accept it (a float origin, or origin=1 "
    "with size=1 for minimum/maximum_filter, or a complex one for minimum/maximum_filter)"
)

_FIND_OBJECTS = (
    "dask-image's find_objects returns a dask DataFrame of bounding boxes; scipy's returns a "
    "list of tuples of slices, which batchimg's follows"
)

EXCEPTED: dict[str, dict[str, str]] = {
    "scipy.ndimage": {},
    "scikit-image": {
        "measure/test_regionprops.py::test_regionprops_table_equal_to_original": (
            "asserts bit-for-bit equality of float intensity-weighted columns (a weighted "
            "centroid: 5.54054054054054 vs 5.540540540540541): batchimg sums a region's "
            "weighted moments block by block, in another order than scikit-image's one pass, "
            "and states and tests a bound of 1e-9 relative for those columns (README, "
            "tests/test_measure.py, which also asserts the integer columns exact)"
        ),
    },
    "dask-image": {
        # dask-image's own parameter validation, stricter than scipy's
        f"{_ORDER}[TypeError-1.0-None-0-minimum_filter-extra_kwargs0]": _SCIPY_ACCEPTS_FLOAT_SIZE,
        f"{_ORDER}[TypeError-1.0-None-0-maximum_filter-extra_kwargs2]": _SCIPY_ACCEPTS_FLOAT_SIZE,
        f"{_ORDER}[TypeError-1-None-0.0-*]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[TypeError-1-None-origin11-*]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[TypeError-1-None-(1+0j)-minimum_filter-extra_kwargs0]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[TypeError-1-None-(1+0j)-maximum_filter-extra_kwargs2]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[TypeError-1-None-origin13-minimum_filter-extra_kwargs0]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[TypeError-1-None-origin13-maximum_filter-extra_kwargs2]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[ValueError-1-None-1-minimum_filter-extra_kwargs0]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[ValueError-1-None-1-maximum_filter-extra_kwargs2]": _SCIPY_ACCEPTS_ORIGIN,
        f"{_ORDER}[RuntimeError-None-footprint6-0-minimum_filter-extra_kwargs0]": (
            "dask-image raises RuntimeError for an empty footprint; scipy's minimum_filter "
            "raises ValueError ('All-zero footprint is not supported')"
        ),
        f"{_ORDER}[RuntimeError-None-footprint6-0-maximum_filter-extra_kwargs2]": (
            "dask-image raises RuntimeError for an empty footprint; scipy's maximum_filter "
            "raises ValueError ('All-zero footprint is not supported')"
        ),
        "test_dask_image/test_ndfilters/test__smooth.py::test_uniform_filter_params"
        "[TypeError-3.0-0]": (
            "dask-image refuses a float size (TypeError); scipy's uniform_filter accepts size=3.0"
        ),
        f"{_MORPH}::test_errs_binary_ops[RuntimeError-input0-structure0-0-binary_closing]": (
            "dask-image raises RuntimeError for a structure of another rank; scipy's "
            "binary_closing raises IndexError"
        ),
        f"{_MORPH}::test_errs_binary_ops[RuntimeError-input0-structure0-0-binary_dilation]": (
            "dask-image raises RuntimeError for a structure of another rank; scipy's "
            "binary_dilation raises IndexError"
        ),
        f"{_MORPH}::test_errs_binary_ops[TypeError-input1-2.0-0-*]": (
            "dask-image raises TypeError for structure=2.0; scipy raises IndexError "
            "(dilation, closing) or RuntimeError (erosion, opening)"
        ),
        f"{_MORPH}::test_errs_binary_ops[TypeError-input2-structure2-0.0-*]": (
            "dask-image raises TypeError for origin=0.0; scipy raises IndexError (a float "
            "origin cannot index the structure)"
        ),
        f"{_MORPH}::test_errs_binary_ops_iter[NotImplementedError-*]": (
            "dask-image does not implement iterations < 1; scipy repeats until nothing changes"
        ),
        f"{_MORPH}::test_errs_binary_ops_expanded[NotImplementedError-*]": (
            "dask-image does not implement brute_force=True; scipy accepts it"
        ),
        f"{_FIND}::test_find_objects": _FIND_OBJECTS,
        f"{_FIND}::test_3d_find_objects": _FIND_OBJECTS,
        f"{_FIND}::test_empty_chunk": _FIND_OBJECTS,
        f"{_FIND}::test_find_objects_with_empty_chunks": _FIND_OBJECTS,
        "test_dask_image/test_ndmeasure/test_core.py::test_label_wrap[*]": (
            "wrap_axes is a dask-image-only parameter of label (scipy has none)"
        ),
    },
}
