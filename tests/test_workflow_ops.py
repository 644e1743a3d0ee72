"""Every workflow operation, in both engines, equals its scipy / scikit-image function.

One workflow per operation (a threshold or a label first where the operation reads a
mask or labels) saves the operation's output; the oracle is the function of the same
name in scipy.ndimage or scikit-image on the whole in-memory image, with the same
parameters (batchimg's own for the few operations that have no scipy counterpart).
The table below must name every operation :func:`operations` lists.
"""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import scipy.ndimage as ndi
import zarr

from batchimg.errors import WorkflowError
from batchimg.workflow import Workflow, run
from batchimg.workflow.demo import blobs
from batchimg.workflow.registry import operations

W3 = [[1, 2, 1], [0, 1, 0], [-1, 0, 2]]

#: operation -> (workflow parameters, the oracle's keyword arguments or None: the same)
CASES = {
    "astype": ({"dtype": "float32"}, None),
    "binary_closing": ({}, None),
    "binary_dilation": ({"iterations": 2}, None),
    "binary_erosion": ({"structure": {"connectivity": 2}}, {"structure": np.ones((3, 3))}),
    "binary_fill_holes": ({}, None),
    "binary_hit_or_miss": (
        {"structure1": [[0, 1, 0], [1, 1, 1], [0, 1, 0]]},
        {"structure1": np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])},
    ),
    "binary_opening": ({"structure": {"shape": [3, 3]}}, {"structure": np.ones((3, 3))}),
    "binary_propagation": ({}, None),
    "black_tophat": ({"size": 3}, None),
    "clear_border": ({"buffer_size": 1}, None),
    "convolve": ({"weights": W3}, {"weights": np.array(W3, float)}),
    "convolve1d": ({"weights": [1, 2, 3], "axis": 0}, None),
    "correlate": ({"weights": W3, "mode": "nearest"}, {"weights": np.array(W3, float),
                                                       "mode": "nearest"}),
    "correlate1d": ({"weights": [1, 0, -1]}, None),
    "filter_regions": ({"where": "area > 30"}, None),
    "gaussian_filter": ({"sigma": 1.5}, None),
    "gaussian_filter1d": ({"sigma": 2, "axis": 0}, None),
    "gaussian_gradient_magnitude": ({"sigma": 1}, None),
    "gaussian_laplace": ({"sigma": 1, "mode": "mirror"}, None),
    "grey_closing": ({"size": [3, 2]}, None),
    "grey_dilation": ({"size": 3}, None),
    "grey_erosion": ({"footprint": {"connectivity": 1}},
                     {"footprint": ndi.generate_binary_structure(2, 1)}),
    "grey_opening": ({"size": 3}, None),
    "invert": ({}, None),
    "label": ({"structure": {"connectivity": 2}}, {"structure": np.ones((3, 3))}),
    "laplace": ({}, None),
    "maximum_filter": ({"size": 4}, None),
    "maximum_filter1d": ({"size": 3}, None),
    "median_filter": ({"size": 3}, None),
    "minimum_filter": ({"size": 3, "mode": "constant", "cval": 7}, None),
    "minimum_filter1d": ({"size": 5, "axis": 0}, None),
    "morphological_gradient": ({"size": 3}, None),
    "morphological_laplace": ({"size": 3}, None),
    "percentile_filter": ({"percentile": 30, "size": 3}, None),
    "prewitt": ({"axis": 0}, None),
    "rank_filter": ({"rank": 2, "size": 3}, None),
    "reconstruct_by_propagation": ({"iterations": 2}, None),
    "remove_small_objects": ({"max_size": 30}, None),
    "rescale": ({}, None),
    "rgb_to_gray": ({}, None),
    "sobel": ({}, None),
    "threshold": ({"method": "otsu"}, None),
    "uniform_filter": ({"size": 3}, None),
    "uniform_filter1d": ({"size": 4}, None),
    "unsharp_mask": ({"sigma": 1, "amount": 0.5}, None),
    "white_tophat": ({"size": 3}, None),
}  # fmt: skip


def _oracle(op: str, image: np.ndarray, kwargs: dict) -> np.ndarray:
    """The operation on one whole in-memory image, without batchimg (where it can be)."""
    import skimage.color
    import skimage.filters
    import skimage.measure
    import skimage.morphology
    import skimage.segmentation

    from batchimg import point

    if hasattr(ndi, op) and op != "label":
        return getattr(ndi, op)(image, **kwargs)
    if op == "label":
        return ndi.label(image, **kwargs)[0]
    if op == "threshold":
        return image > skimage.filters.threshold_otsu(image)
    if op == "reconstruct_by_propagation":
        seed = ndi.binary_erosion(image, iterations=kwargs["iterations"])
        return ndi.binary_propagation(seed, mask=image)
    if op == "clear_border":
        return skimage.segmentation.clear_border(image, **kwargs)
    if op == "remove_small_objects":
        return skimage.morphology.remove_small_objects(image, **kwargs)
    if op == "filter_regions":  # kept regions renumbered in raster order: label of the kept mask
        t = skimage.measure.regionprops_table(image, properties=["label", "area"])
        keep = np.isin(image, t["label"][t["area"] > 30])
        return ndi.label(keep)[0].astype(image.dtype)
    if op == "rgb_to_gray":
        return skimage.color.rgb2gray(image)
    if op == "unsharp_mask":  # the lecture notes' recipe, spelled out
        blurred = ndi.gaussian_filter(image.astype(np.float64), kwargs["sigma"])
        return image + kwargs["amount"] * (image - blurred)
    # batchimg's own point operations, on the whole numpy image
    return np.asarray(getattr(point, op)(image, **kwargs))


def _chain(op: str, reads: str) -> list[dict]:
    first = {"binary": [{"threshold": {"value": 128}}],
             "labels": [{"threshold": {"value": 128}}, {"label": {}}]}.get(reads, [])  # fmt: skip
    return first


def test_the_table_names_every_operation():
    assert sorted(CASES) == sorted(operations())


@pytest.mark.parametrize("kind", ["volume", "collection"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_every_operation_equals_its_function(tmp_path, op, kind):
    spec = operations()[op]
    params, kwargs = CASES[op]
    rgb = op == "rgb_to_gray"
    images = [blobs((37, 45), n=4, seed=s) for s in (1, 2)]
    if rgb:
        images = [np.stack([im, im[::-1], im[:, ::-1]], axis=-1) for im in images]
    if op == "unsharp_mask":
        kwargs = params
    steps = [*_chain(op, spec.reads), {op: params}]
    wf = Workflow(op, steps, save=[op])
    if kind == "volume":
        source, opts, inputs = images[0], {"chunks": (11, 14)}, images[:1]
    else:
        folder = tmp_path / "images"
        folder.mkdir()
        for i, im in enumerate(images):
            iio.imwrite(folder / f"im{i}.png", im)
        source, opts, inputs = folder, {"chunks": 1}, images
    if rgb:
        opts["axes"] = "yxc" if kind == "volume" else None
    run(wf, source, tmp_path / "out", **{k: v for k, v in opts.items() if v is not None})
    # the workflow's labels are the labels layer, whatever ``save`` says
    path = "labels/labels/0" if spec.gives == "labels" else f"{op}/0"
    got = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")[path][:]
    if kind == "volume":
        got = got[None]
    for g, image in zip(got, inputs, strict=True):
        x = image
        if spec.reads in ("binary", "labels"):
            x = image > 128
        if spec.reads == "labels":
            x = ndi.label(x)[0]
        want = _oracle(op, x, params if kwargs is None else kwargs)
        want = np.asarray(want)
        if op == "rgb_to_gray":
            np.testing.assert_allclose(g, want, rtol=0, atol=4 * np.finfo(float).eps)
            continue
        if op in ("label", "remove_small_objects", "clear_border", "filter_regions"):
            np.testing.assert_array_equal(g, want)
            continue
        assert g.dtype == want.dtype, (g.dtype, want.dtype)
        np.testing.assert_array_equal(g, want)


RING = [[0, 1, 0], [1, 0, 1], [0, 1, 0]]  # no centre: scipy's own propagation


@pytest.mark.parametrize("kind", ["volume", "collection"])
def test_reconstruct_by_propagation_for_every_kind_of_structure(tmp_path, kind):
    # a centred symmetric structure keeps the mask's components that hold a seed (one
    # labelling); the ring without a centre takes scipy's propagation: same bits
    images = [blobs((37, 45), n=5, seed=s) > 100 for s in (3, 4)]
    structures = [None, np.ones((3, 3), int).tolist()] + ([RING] if kind == "collection" else [])
    for k, structure in enumerate(structures):
        for iterations in (1, 3):
            params = {"iterations": iterations}
            if structure is not None:
                params["structure"] = structure
            steps = [{"threshold": {"value": 0}}, {"reconstruct_by_propagation": params}]
            wf = Workflow("r", steps, save=["reconstruct_by_propagation"])
            out = tmp_path / f"out{k}-{iterations}"
            if kind == "volume":
                np.save(tmp_path / "v.npy", images[0].astype(np.uint8))
                run(wf, np.load(tmp_path / "v.npy"), out, chunks=(11, 14))
                inputs = images[:1]
            else:
                folder = tmp_path / "images"
                folder.mkdir(exist_ok=True)
                for i, im in enumerate(images):
                    iio.imwrite(folder / f"im{i}.png", im.astype(np.uint8))
                run(wf, folder, out, chunks=1)
                inputs = images
            got = zarr.open_group(out / "result.zarr", mode="r")["reconstruct_by_propagation/0"][:]
            got = got[None] if kind == "volume" else got
            s = None if structure is None else np.asarray(structure, bool)
            for g, image in zip(got, inputs, strict=True):
                seed = ndi.binary_erosion(image, s, iterations=iterations)
                want = ndi.binary_propagation(seed, s, mask=image)
                np.testing.assert_array_equal(g, want, err_msg=f"{structure} {iterations}")


def test_reconstruct_by_propagation_without_a_centre_is_refused_on_a_volume(tmp_path):
    steps = [{"threshold": {"value": 0}}, {"reconstruct_by_propagation": {"structure": RING}}]
    with pytest.raises(
        WorkflowError,
        match=r"step 2 'reconstruct_by_propagation': a structure without its centre is not "
        r"supported on a volume .* got \[\[0, 1, 0\], \[1, 0, 1\], \[0, 1, 0\]\]\. Hint: "
        r"include the centre",
    ):
        run(Workflow("r", steps), blobs((20, 24), n=3), tmp_path / "out")
