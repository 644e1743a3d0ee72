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
        "test_measurements.py::TestFindObjects::test_find_objects02[numpy]": "find_objects: refuses what scipy accepts: multiple indices are not supported for 0d arrays",
        "test_measurements.py::test_center_of_mass01[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass02[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass03[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass04[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass05[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass06[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass07[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_measurements.py::test_center_of_mass08[numpy]": "center_of_mass: type differs: scipy tuple, ours ndarray",
    },
    "scikit-image": {
        "measure/test_regionprops.py::test_extra_properties_table": "regionprops_table: extra_properties= not accepted",
        "measure/test_regionprops.py::test_multichannel_centroid_weighted_table": "regionprops_table: refuses what skimage accepts: intensity_image must have the label image's shape (n, n)",
        "measure/test_regionprops.py::test_regionprops_table": "regionprops_table: type differs: skimage dict, ours DataFrame",
        "measure/test_regionprops.py::test_regionprops_table_deprecated_scalar_property": "regionprops_table: refuses what skimage accepts: properties must be among label, area, bbox, centroid, centroid_weig...",
        "measure/test_regionprops.py::test_regionprops_table_deprecated_vector_property": "regionprops_table: refuses what skimage accepts: properties must be among label, area, bbox, centroid, centroid_weig...",
        "measure/test_regionprops.py::test_regionprops_table_equal_to_original": "regionprops_table: InvalidParameterError: properties must be a non-empty sequence of p...",
        "measure/test_regionprops.py::test_regionprops_table_no_regions": "regionprops_table: separator= not accepted",
        "morphology/test_misc.py::test_float_input": "remove_small_objects: error type differs: skimage TypeError, ours InputError",
        "morphology/test_misc.py::test_in_place": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_labeled_image": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_negative_input": "remove_small_objects: no error where skimage raises ValueError",
        "morphology/test_misc.py::test_one_connectivity": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[bool-bool]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[bool-int32]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[bool-int]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[int-bool]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[int-int32]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[int-int]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[int32-bool]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[int32-int32]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_out[int32-int]": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_remove_small_objects_deprecated_min_size": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_single_label_warning": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_two_connectivity": "remove_small_objects: max_size= not accepted",
        "morphology/test_misc.py::test_uint_image": "remove_small_objects: max_size= not accepted",
        "segmentation/test_clear_border.py::test_clear_border": "clear_border: positional parameter is keyword-only",
        "segmentation/test_clear_border.py::test_clear_border_3d": "clear_border: positional parameter is keyword-only",
        "segmentation/test_clear_border.py::test_clear_border_non_binary_inplace": "clear_border: out= not accepted",
        "segmentation/test_clear_border.py::test_clear_border_non_binary_inplace_3d": "clear_border: out= not accepted",
        "segmentation/test_clear_border.py::test_clear_border_non_binary_out": "clear_border: out= not accepted",
        "segmentation/test_clear_border.py::test_clear_border_non_binary_out_3d": "clear_border: out= not accepted",
    },
    "dask-image": {
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape10-chunks10-True-ind10-center_of_mass]": "center_of_mass: type differs: scipy list, ours ndarray",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape11-chunks11-True-ind11-center_of_mass]": "center_of_mass: type differs: scipy list, ours ndarray",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-center_of_mass]": "center_of_mass: type differs: scipy tuple, ours ndarray",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-maximum]": "maximum: values differ",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-mean]": "mean: values differ where NaN is involved",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-minimum]": "minimum: values differ",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-standard_deviation]": "standard_deviation: values differ where NaN is involved",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-sum_labels]": "sum_labels: values differ",
        "test_dask_image/test_ndmeasure/test_core.py::test_measure_props[shape3-chunks3-True-0-variance]": "variance: values differ where NaN is involved",
    },
}

#: scipy.ndimage's public filters, morphology and measurements functions that
#: batchimg does not offer yet: name -> scipy module.
MISSING_FUNCTIONS: dict[str, str] = {}
