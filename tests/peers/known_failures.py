"""What batchimg does not pass yet in the peers' suites: test id -> short cause.

THE list to shrink. When a change makes a test pass, delete its entry: the harness
fails on an entry whose test passes through batchimg (like a strict xfail), so the
list cannot go stale. The goal is an empty list; a failure that is a genuine,
reviewed exception belongs in :mod:`peers.excepted`, with its reason.

Ids are relative to the suite's test folder, as pytest prints them; a cause reads
``<batchimg functions>: <what differs>`` (``python tests/peers/report.py`` groups
them). The first version of this file was written by
``python tests/peers/report.py --write-known-failures``.
"""
# ruff: noqa: E501

KNOWN_FAILURES: dict[str, dict[str, str]] = {
    "scipy.ndimage": {
        "test_measurements.py::test_histogram03[numpy]": "(no batchimg call): ValueError: The truth value of an array with more than one element ...",
    },
    "scikit-image": {
        "measure/test_regionprops.py::test_regionprops_table_equal_to_original": "regionprops_table: AssertionError: Items are not equal: ACTUAL: np.float64(n) DESIRED:...",
        "morphology/test_misc.py::test_remove_small_objects_deprecated_min_size": "remove_small_objects: AssertionError: Warning with wrong stacklevel: Expected: /tmp/peers...",
    },
    "dask-image": {
        "test_dask_image/test_ndmeasure/test_core.py::test_histogram[0-1-5-shape10-chunks10-True-ind10]": "(no batchimg call): ValueError: The truth value of an array with more than one element ...",
        "test_dask_image/test_ndmeasure/test_core.py::test_histogram[0-1-5-shape6-chunks6-True-ind6]": "(no batchimg call): ValueError: The truth value of an array with more than one element ...",
        "test_dask_image/test_ndmeasure/test_core.py::test_histogram[0-1-5-shape7-chunks7-True-ind7]": "(no batchimg call): ValueError: The truth value of an array with more than one element ...",
        "test_dask_image/test_ndmeasure/test_core.py::test_histogram[0-1-5-shape8-chunks8-True-ind8]": "(no batchimg call): ValueError: The truth value of an array with more than one element ...",
        "test_dask_image/test_ndmeasure/test_core.py::test_histogram[0-1-5-shape9-chunks9-True-ind9]": "(no batchimg call): ValueError: The truth value of an array with more than one element ...",
    },
}

#: scipy.ndimage's public filters, morphology and measurements functions that
#: batchimg does not offer yet: name -> scipy module.
MISSING_FUNCTIONS: dict[str, str] = {}
