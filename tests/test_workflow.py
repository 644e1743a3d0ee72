"""Workflow files: validation messages, the engines against scipy, outputs and atomicity."""

import json
import threading

import dask
import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import tifffile
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from batchimg.errors import WorkflowError
from batchimg.workflow import Workflow, check, info, load_workflow, parse_workflow, run
from batchimg.workflow.demo import blobs, bundled_workflows
from batchimg.workflow.plan import ImageSpec, compile_plan

LABELS_PATH = "labels/labels/0"

SEED = """name: seed
steps:
  - gaussian_filter: {sigma: 1}
  - gaussian_gradient_magnitude: {sigma: 1}
  - threshold: {value: 4}
  - binary_opening: {structure: {shape: [3, 3]}}
  - label: {}
  - filter_regions: {where: "area > 5"}
measure: [area, centroid, bbox]
save: [gaussian_filter]
"""


def _write(tmp_path, text, name="wf.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _images(folder, n=3, shape=(48, 64)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        iio.imwrite(folder / f"img{i}.png", blobs(shape, seed=10 + i))
    return folder


def _seed_scipy(img, sigma=1, value=4, area=5):
    g = ndi.gaussian_filter(img, sigma)
    m = ndi.gaussian_gradient_magnitude(g, sigma)
    mask = ndi.binary_opening(m > value, np.ones((3,) * img.ndim))
    lab, _ = ndi.label(mask)
    sizes = np.bincount(lab.ravel())
    keep = np.flatnonzero(sizes > area)
    keep = keep[keep > 0]
    return g, ndi.label(np.isin(lab, keep))[0]


# ---------------------------------------------------------------------------
# validation: one test per message

BAD = [
    ("steps:\n  - gausian_filter: {sigma: 2}\n",
     r"wf\.yaml, step 1 'gausian_filter': unknown operation; did you mean 'gaussian_filter'\?"),
    ("steps:\n  - gaussian_filter: {sigmaa: 2}\n",
     r"step 1 'gaussian_filter': unknown parameter 'sigmaa'; did you mean 'sigma'\?"),
    ("steps:\n  - gaussian_filter: {sigma: big}\n",
     r"step 1 'gaussian_filter': sigma must be a number >= 0 or a list of numbers >= 0; "
     r"got 'big'\."),
    ("steps:\n  - gaussian_filter: {}\n",
     r"step 1 'gaussian_filter': parameter 'sigma' is required"),
    ("steps:\n  - median_filter: {size: 3}\n  - binary_opening: {}\n",
     r"step 2 'binary_opening': binary operation on the float output of step 1 'median_filter' "
     r"with no threshold"),
    ("steps:\n  - gaussian_filter: {sigma: 1}\n  - label: {}\n",
     r"step 2 'label': binary operation on the float output of step 1"),
    ("steps:\n  - threshold: {value: 1}\n  - filter_regions: {}\n",
     r"step 2 'filter_regions': needs a label image; add a 'label' step before it\."),
    ("steps:\n  - threshold: {value: 1}\nmeasure: [area]\n",
     r"wf\.yaml: measure needs a label image; got measure \['label', 'area'\] with no 'label'"),
    ("steps:\n  - threshold: {value: 1}\n  - label: {}\nmeasure: [areaa]\n",
     r"measure must name region properties; got unknown property 'areaa'\. Did you mean 'area'\?"),
    ("steps:\n  - gaussian_filter: {sigma: 1}\nsave: [gaussian]\n",
     r"save must name steps of the workflow; got 'gaussian'\. Did you mean 'gaussian_filter'\?"),
    ("steps:\n  - gaussian_filter: {sigma: 1, from: inptu}\n",
     r"step 1 'gaussian_filter': from must name 'input' or an earlier step; got 'inptu'"),
    ("steps:\n  - binary_opening: {structure: {size: 3}}\n",
     r"step 1 'binary_opening': structure must be \{shape: \[\.\.\.\]\}"),
    ("stesp: []\n", r"wf\.yaml: unknown key 'stesp'"),
    ("steps: [\n", r"wf\.yaml: not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD)
def test_validation_errors(tmp_path, body, message):
    path = _write(tmp_path, "name: bad\n" + body)
    with pytest.raises(WorkflowError, match=message):
        load_workflow(path)


def test_sigma_with_wrong_number_of_axes_is_found_once_ndim_is_known(tmp_path):
    wf = load_workflow(_write(tmp_path, "name: s\nsteps:\n  - gaussian_filter: {sigma: [1, 2]}\n"))
    check(wf)  # fits a 2-D input
    check(wf, np.zeros((8, 8), np.uint8))
    message = r"step 1 'gaussian_filter': sigma must be a number or have one value per axis \(3\)"
    with pytest.raises(WorkflowError, match=message):
        check(wf, np.zeros((8, 8, 8), np.uint8))
    with pytest.raises(WorkflowError, match=r"step 1 'gaussian_filter': sigma must"):
        run(wf, np.zeros((4, 8, 8), np.uint8), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # found before any output is made


def test_names_of_repeated_steps_and_python_api():
    wf = Workflow(
        "twice",
        [{"median_filter": {"size": 3}}, {"median_filter": {"size": 5}},
         {"median_filter": {"size": 3, "from": "input"}}],
        save=["median_filter_2", "median_filter_3"],
    )  # fmt: skip
    assert [s.name for s in wf.steps] == ["median_filter", "median_filter_2", "median_filter_3"]
    assert wf.steps[2].source == "input"
    assert parse_workflow(wf.to_yaml()).steps == wf.steps
    with pytest.raises(AttributeError):
        wf.name = "other"


# ---------------------------------------------------------------------------
# running


@pytest.mark.parametrize("path", bundled_workflows(), ids=lambda p: p.name)
@pytest.mark.parametrize("kind", ["collection", "volume"])
def test_every_bundled_workflow_runs_end_to_end(tmp_path, path, kind):
    wf = load_workflow(path)
    three = "3d" in path.name
    if kind == "volume":
        source = blobs((16, 24, 24) if three else (40, 44), n=3)
        chunks = (8, 16, 24) if three else (16, 24)
    elif three:
        pytest.skip("volume_3d.yaml's 3x3x3 structure needs 3-D images")
    else:
        source, chunks = _images(tmp_path / "images", n=2, shape=(40, 40)), 1
    result = run(wf, source, tmp_path / "out", chunks=chunks)
    d = info(tmp_path / "out")
    assert d["complete"]
    for name in wf.save:
        assert f"{name}/0" in d["arrays"]
    if wf.label_step is not None:
        assert LABELS_PATH in d["arrays"]
        assert d["rows"] == result.n_regions
    assert "0" in d["arrays"]  # the input itself, the root image


def test_collection_equals_scipy_per_image_and_global_labels(tmp_path):
    folder = _images(tmp_path / "images", n=3)
    wf = parse_workflow(SEED)
    result = run(wf, folder, tmp_path / "out", chunks=2)
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    labels = group[LABELS_PATH][:]
    stack = np.stack([iio.imread(folder / f"img{i}.png") for i in range(3)])
    expected = [_seed_scipy(img) for img in stack]
    for i, (g, lab) in enumerate(expected):
        np.testing.assert_array_equal(labels[i], lab)
        np.testing.assert_array_equal(group["gaussian_filter/0"][i], g)
    table = pd.read_csv(tmp_path / "out" / "measurements.csv")
    assert list(table.columns[:3]) == ["image", "label", "global_label"]
    assert len(table) == sum(int(lab.max()) for _, lab in expected) == result.n_regions
    s = np.zeros((3, 3, 3), bool)
    s[1] = ndi.generate_binary_structure(2, 1)
    glob, n = ndi.label(np.stack([lab for _, lab in expected]) > 0, s)
    assert table["global_label"].tolist() == list(range(1, n + 1))
    first = table.iloc[0]
    assert glob[0][labels[0] == first["label"]].tolist()[0] == first["global_label"]
    meta = dict(group.attrs)["batchimg"]
    assert meta["workflow_name"] == "seed" and "versions" in meta and "gaussian_filter" in meta[
        "workflow"]  # fmt: skip
    ome = dict(group["labels/labels"].attrs)["ome"]
    assert ome["multiscales"][0]["datasets"][0]["path"] == "0"
    assert ome["image-label"]["source"] == {"image": "../../"}
    assert dict(group["labels"].attrs)["ome"]["labels"] == ["labels"]


@pytest.mark.parametrize("method", ["otsu", "mean"])
def test_a_collection_wide_threshold_is_skimages_on_the_stacked_images(tmp_path, method):
    import skimage.filters

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(5):  # brightness differs from image to image: per image would differ
        img = (blobs((24, 28), seed=i).astype(np.float64) * (0.4 + 0.15 * i)).astype(np.uint8)
        noisy = np.clip(img + rng.integers(0, 9, img.shape), 0, 255).astype(np.uint8)
        iio.imwrite(folder / f"img{i}.png", noisy)
    stack = np.stack([iio.imread(folder / f"img{i}.png") for i in range(5)])
    wf = parse_workflow(
        f"name: w\nsteps:\n  - threshold: {{method: {method}, per_image: false}}\n"
        "  - label: {}\nmeasure: [area]\n"
    )
    result = run(wf, folder, tmp_path / "out", chunks=2)  # groups of 2, 2 and 1 images
    want = getattr(skimage.filters, f"threshold_{method}")(stack)
    got = result.statistics["threshold"]
    assert got == want
    labels = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")[LABELS_PATH][:]
    for img, lab in zip(stack, labels, strict=True):
        np.testing.assert_array_equal(lab, ndi.label(img > want)[0])


def test_volume_equals_scipy_on_the_whole_volume(tmp_path):
    vol = blobs((20, 40, 36), n=3)
    wf = parse_workflow(SEED.replace("[3, 3]", "[3, 3, 3]"))
    result = run(wf, vol, tmp_path / "out", chunks=(7, 16, 13), table="m.parquet")
    _assert_seed_volume(tmp_path / "out", vol, result)


def _assert_seed_volume(out, vol, result):
    """The saved step, labels and table of a 3-D seed run equal scipy's; return the table."""
    group = zarr.open_group(out / "result.zarr", mode="r")
    g, lab = _seed_scipy(vol)
    np.testing.assert_array_equal(group[LABELS_PATH][:], lab)
    np.testing.assert_array_equal(group["gaussian_filter/0"][:], g)
    table = result.table
    assert len(table) == lab.max() == result.n_regions
    np.testing.assert_array_equal(table["area"], np.bincount(lab.ravel())[1:])
    return table, lab


@pytest.mark.parametrize("store", ["raw", "zarr"])
@pytest.mark.parametrize(
    "chunks",
    [(20, 40, 36), (7, 16, 13), (3, 5, 40), (20, 9, 4)],
    ids=["one-block", "uneven", "thinner-than-halo", "thin-columns"],
)
def test_volume_in_a_file_runs_each_block_from_its_own_region(tmp_path, monkeypatch, store, chunks):
    # raw and Zarr volumes: each pass-1 task reads its block and halo from the file
    # and runs the whole chain (nothing held for neighbours); same bits as scipy
    import batchimg.workflow.volume as volume

    vol = blobs((20, 40, 36), n=3)
    if store == "raw":
        path = tmp_path / "vol.raw"
        vol.tofile(path)
        kw = dict(raw_shape=vol.shape, raw_dtype=vol.dtype.str)
    else:
        path = tmp_path / "vol.zarr"
        zarr.create_array(store=str(path), shape=vol.shape, chunks=(8, 8, 8), dtype=vol.dtype)[
            :
        ] = vol
        kw = {}
    calls = []
    real = volume.compute_region

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(volume, "compute_region", counting)
    text = SEED.replace("[3, 3]", "[3, 3, 3]").replace(
        "measure: [area, centroid, bbox]", "measure: [area, centroid, intensity_mean]"
    )
    result = run(parse_workflow(text), str(path), tmp_path / "out", chunks=chunks, **kw)
    table, lab = _assert_seed_volume(tmp_path / "out", vol, result)
    index = np.arange(1, lab.max() + 1)
    np.testing.assert_allclose(table["intensity_mean"], ndi.mean(vol, lab, index), rtol=1e-12)
    blocks = np.prod([-(-s // c) for s, c in zip(vol.shape, chunks, strict=True)])
    assert len(calls) == blocks


def test_saved_step_is_computed_once(tmp_path, monkeypatch):
    # every 1-D Gaussian pass of the run: per block, the smoothing step's 3 and the
    # gradient magnitude's 8 (3 derivatives of 3 passes, the last two sharing their
    # first), each once, though the smoothing is saved and read by the next step
    calls = []
    lock = threading.Lock()
    real = ndi.gaussian_filter1d

    def counting(*args, **kwargs):
        with lock:
            calls.append(1)
        return real(*args, **kwargs)

    vol = blobs((16, 32, 32), n=3)
    wf = parse_workflow(SEED.replace("[3, 3]", "[3, 3, 3]"))
    monkeypatch.setattr(ndi, "gaussian_filter1d", counting)
    run(wf, vol, tmp_path / "out", chunks=(8, 16, 16), scheduler="threads")
    assert len(calls) == 8 * (3 + 8)


def test_collection_threshold_per_image_false_uses_one_threshold(tmp_path):
    from skimage.filters import threshold_otsu

    folder = _images(tmp_path / "images", n=3)
    stack = np.stack([iio.imread(folder / f"img{i}.png") for i in range(3)])
    stack[1] //= 2
    iio.imwrite(folder / "img1.png", stack[1])
    for per_image, expected in [
        (False, stack > threshold_otsu(stack)),
        (None, np.stack([im > threshold_otsu(im) for im in stack])),
    ]:
        params = {"method": "otsu"} | ({} if per_image is None else {"per_image": per_image})
        wf = Workflow("t", [{"threshold": params}], save=["threshold"])
        run(wf, folder, tmp_path / "out")
        got = zarr.open_array(tmp_path / "out" / "result.zarr" / "threshold" / "0", mode="r")[:]
        np.testing.assert_array_equal(got, expected)


def test_interrupted_run_never_looks_complete(tmp_path, monkeypatch):
    from batchimg.workflow import omezarr

    vol = blobs((8, 16, 16), n=2)
    wf = parse_workflow(SEED.replace("[3, 3]", "[3, 3, 3]"))
    run(wf, vol, tmp_path / "out")
    assert info(tmp_path / "out")["complete"]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(omezarr.ResultZarr, "finish", broken)
    with pytest.raises(OSError, match="disk full"):
        run(wf, vol, tmp_path / "out")
    d = info(tmp_path / "out")
    assert d["state"] == "failed" and not (tmp_path / "out" / "_COMPLETE").exists()
    monkeypatch.undo()
    run(wf, vol, tmp_path / "out")
    marker = json.loads((tmp_path / "out" / "_COMPLETE").read_text())
    assert marker["workflow_fingerprint"] == wf.fingerprint()
    assert {"input_fingerprint", "versions", "time"} <= set(marker)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".partial")]


def test_building_a_run_plan_reads_no_pixels(tmp_path):
    wf = parse_workflow(SEED.replace("[3, 3]", "[3, 3, 3]"))
    calls = []

    def refuse(block):
        calls.append(1)
        raise AssertionError("a pixel was read")

    x = dask.array.zeros((8, 16, 16), dtype=np.uint8, chunks=8).map_blocks(
        refuse, dtype=np.uint8, meta=np.empty((0, 0, 0), np.uint8)
    )
    plan = check(wf, x)
    assert plan.kind == "volume" and plan.labels == "filter_regions" and calls == []
    assert compile_plan(wf, ImageSpec((8, 16, 16), "uint8"), "volume").stages


# ---------------------------------------------------------------------------
# region filters after label: renumbering (filter_regions) and value-keeping
# (remove_small_objects, scikit-image's semantics) chains, every road


def _region_chain_oracle(mask, chain, scale):
    """scipy's labels of one image, then each filter of ``chain`` as scikit-image does."""
    from skimage.measure import regionprops_table
    from skimage.morphology import remove_small_objects
    from skimage.segmentation import clear_border, relabel_sequential

    lab = ndi.label(mask)[0]
    for op, *arg in chain:
        if op == "rso":
            lab = remove_small_objects(lab, max_size=arg[0])
        elif op == "clear_border":
            lab = clear_border(lab)
        else:  # filter_regions "prop > value", in physical units, renumbered
            prop, value = arg
            t = regionprops_table(lab, properties=["label", prop], spacing=scale)
            keep = np.zeros(lab.max() + 1, bool)
            keep[t["label"][t[prop] > value]] = True
            lab = relabel_sequential(np.where(keep[lab], lab, 0))[0]
    return lab


_CHAINS = {
    "rso": [("rso", 8)],
    "filter-then-rso": [("filter", "area", 4.5), ("rso", 12)],
    "rso-then-filter": [("rso", 4), ("filter", "area", 15.0)],
    "clear-border-then-rso": [("clear_border",), ("rso", 6)],
    "perimeter-filter": [("filter", "perimeter", 9.0)],
    "rso-then-solidity-filter": [("rso", 3), ("filter", "solidity", 0.8)],
}
_PROPS = {
    "one-pass": ["label", "area"],
    "whole-regions": ["label", "area", "perimeter", "solidity", "euler_number"],
}


def _chain_steps(chain, props):
    steps = ["  - threshold: {value: 0.55}", "  - label: {}"]
    for op, *arg in chain:
        steps.append(
            f"  - remove_small_objects: {{max_size: {arg[0]}}}"
            if op == "rso"
            else "  - clear_border: {}"
            if op == "clear_border"
            else f'  - filter_regions: {{where: "{arg[0]} > {arg[1]}"}}'
        )
    return "name: chain\nsteps:\n" + "\n".join(steps) + f"\nmeasure: [{', '.join(props)}]\n"


_CHAIN_CASES = [
    (chain, props, kind)
    for chain in _CHAINS
    for props in _PROPS
    for kind in ("volume", "time-lapse", "collection")
    if props == "one-pass" or kind != "collection"
]


@pytest.mark.parametrize(
    ("chain", "props", "kind"), _CHAIN_CASES, ids=["-".join(c) for c in _CHAIN_CASES]
)
def test_region_filter_chains_equal_scikit_image(tmp_path, chain, props, kind):
    """Label, then filters that renumber or keep values, measured: scikit-image's answers.

    Filters and properties that need whole regions or neighbouring labels (perimeter,
    solidity, Euler number) take their own stages in a volume; the others are resolved
    and measured with the labels.
    """
    from skimage.measure import regionprops_table

    rng = np.random.default_rng(3)
    frames = ndi.gaussian_filter(rng.random((3, 72, 64)), (0, 1.3, 1.3))
    frames = (frames - frames.min()) / np.ptp(frames)
    scale = (1.5, 1.5)  # perimeters need one pixel size on every axis (scikit-image)
    wf = parse_workflow(_chain_steps(_CHAINS[chain], _PROPS[props]))
    if kind == "volume":
        source, opts = frames[0], {"chunks": (17, 20), "axes": "yx"}
    elif kind == "time-lapse":
        source, opts = frames, {"chunks": (17, 20), "axes": "tyx"}
    else:
        folder = tmp_path / "images"
        folder.mkdir()
        for i, f in enumerate(frames):
            tifffile.imwrite(folder / f"img{i}.tif", f)
        source, opts = folder, {"chunks": 2}
    result = run(wf, source, tmp_path / "out", scale=list(scale), **opts)
    labels = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")[LABELS_PATH][:]
    mask = frames > 0.55
    expected = [_region_chain_oracle(m, _CHAINS[chain], scale) for m in mask]
    if kind == "volume":
        labels, expected = labels[None], expected[:1]
    table = result.table
    offset = 0
    for i, (got, lab) in enumerate(zip(labels, expected, strict=True)):
        np.testing.assert_array_equal(got, lab)
        if kind == "collection":
            rows = table[table["image"].str.endswith(f"img{i}.tif")]
        else:
            rows = table if kind == "volume" else table[table["t"] == i]
        ids = np.unique(lab[lab > 0])
        assert len(ids) > 5 and (ids.max() > len(ids)) == (_CHAINS[chain][-1][0] == "rso")
        want = regionprops_table(lab, properties=_PROPS[props], spacing=scale)
        for col, values in want.items():
            np.testing.assert_allclose(rows[col].astype(float), values, rtol=1e-12, err_msg=col)
        if kind != "volume":  # a single image has no global_label column
            assert rows["global_label"].tolist() == (ids + offset).tolist()
        offset += int(lab.max())
    assert result.n_regions == len(table)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_collection_fills_holes_as_scipy_by_one_labelling(data):
    """The per-image hole filling (one label of the background) is scipy's, any structure."""
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    conn = data.draw(st.integers(1, ndim))
    structure = data.draw(
        st.sampled_from(["connectivity", "ones", "corners"] if ndim > 1 else ["connectivity"])
    )
    if structure == "connectivity":
        s, text = ndi.generate_binary_structure(ndim, conn), f"{{connectivity: {conn}}}"
    elif structure == "ones":
        s, text = np.ones((3,) * ndim, bool), f"{{shape: {[3] * ndim}}}"
    else:  # corners only, no face neighbours: scipy's own road
        s = np.zeros((3,) * ndim, bool)
        s[(slice(None, None, 2),) * ndim] = True
        s[(1,) * ndim] = True
        text = str(s.astype(int).tolist())
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < rng.random()
    wf = parse_workflow(
        "name: t\nsteps:\n  - threshold: {value: 0}\n"
        f"  - binary_fill_holes: {{structure: {text}}}\n"
    )
    kernel = check(wf, mask.astype(np.uint8), axes="zyx"[-ndim:]).steps[1].kernel
    np.testing.assert_array_equal(kernel(mask), ndi.binary_fill_holes(mask, s), strict=True)


@pytest.mark.parametrize(
    "name, per_voxel, block",
    [
        # a uint8 chain labelled in int32: labels counted on the core only
        ("volume_3d.yaml", 24.0, (256, 128, 128)),
        ("segmentation.yaml", 24.0, (256, 128, 256)),
        ("denoising.yaml", 16.0, (256, 128, 256)),
        # no halo: no larger than 4 Mi voxels, as a larger block saves nothing
        ("cleanup.yaml", 24.0, (16, 256, 1024)),
    ],
)
def test_volume_blocks_fit_the_budget_with_the_least_halo(monkeypatch, name, per_voxel, block):
    from batchimg.workflow import chunking
    from batchimg.workflow.plan import block_bytes_per_voxel, overlapped, volume_halo

    monkeypatch.setattr(chunking, "cores", lambda: 2)
    shape = (256, 1024, 1024)
    wf = load_workflow(next(p for p in bundled_workflows() if p.name == name))
    plan = compile_plan(wf, ImageSpec(shape, "uint8", axes="zyx"), "volume")
    assert block_bytes_per_voxel(plan) == per_voxel
    budget = 512 * 2**20
    got = chunking.auto_block(shape, volume_halo(plan), per_voxel, budget=budget)
    assert got == block
    # the two running blocks fit the budget
    halo = volume_halo(plan)
    assert 2 * overlapped(got, halo, shape) * per_voxel <= budget


@pytest.mark.parametrize(
    "measure, reads_input",
    [("[area, extent, equivalent_diameter_area]", False), ("[area, intensity_mean]", True)],
)
def test_a_label_stage_reads_the_intensity_image_only_for_intensity_properties(
    measure, reads_input
):
    # cleanup.yaml's label stage reads the stored reconstruction; the input (the
    # intensity image) only when a measured property reads intensities
    wf = parse_workflow(
        "name: c\nsteps:\n  - threshold: {method: otsu}\n"
        "  - reconstruct_by_propagation: {iterations: 2}\n  - label: {}\n"
        f"measure: {measure}\n"
    )
    plan = compile_plan(wf, ImageSpec((32, 64, 64), "uint8", axes="zyx"), "volume")
    (stage,) = [s for s in plan.stages if s.reason.startswith("step 3 label")]
    assert plan.measures_intensity == reads_input
    assert ("input" in stage.roots) == reads_input, stage.roots
    assert "reconstruct_by_propagation" in stage.roots
