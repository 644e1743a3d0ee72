"""Workflows on real microscopy layouts: time, channels, physical sizes, OME-Zarr out.

The oracle is scipy (and scikit-image) looped over the (time, channel) sub-arrays.
"""

import re
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import tifffile
import zarr
from helpers import ome_zarr_writer
from skimage.filters import threshold_otsu
from skimage.measure import regionprops_table

from batchimg.errors import WorkflowError
from batchimg.workflow import Workflow, info, run
from batchimg.workflow.demo import blobs

SCALE = (2.0, 0.5, 0.25)  # z, y, x in micrometres


def _tczyx(shape=(2, 2, 6, 20, 24)):
    t, c = shape[:2]
    out = np.zeros(shape, np.uint8)
    for i in range(t):
        for j in range(c):
            out[i, j] = blobs(shape[2:], n=3, seed=100 + 10 * i + j)
    return out


def _ome_tiff(path, data, axes="TCZYX"):
    tifffile.imwrite(
        path, data, ome=True,
        metadata={"axes": axes, "PhysicalSizeZ": SCALE[0], "PhysicalSizeY": SCALE[1],
                  "PhysicalSizeX": SCALE[2], "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm",
                  "PhysicalSizeZUnit": "µm", "Channel": {"Name": ["nuclei", "membrane"]}},
    )  # fmt: skip


SEGMENT = Workflow(
    "nuclei",
    [{"gaussian_filter": {"sigma": 1}},
     {"threshold": {"method": "otsu", "channel": "nuclei"}},
     {"label": {}}],
    measure=["area", "centroid", "bbox"],
    save=["gaussian_filter", "threshold"],
)  # fmt: skip


@pytest.mark.parametrize("chunks", [None, (3, 8, 10)])
def test_a_tczyx_ome_tiff_runs_per_time_point_and_channel_like_a_scipy_loop(tmp_path, chunks):
    data = _tczyx()
    _ome_tiff(tmp_path / "cells.ome.tif", data)
    result = run(SEGMENT, tmp_path / "cells.ome.tif", tmp_path / "out", chunks=chunks)
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    smooth = group["gaussian_filter/0"][:]
    mask = group["threshold/0"][:]
    labels = group["labels/labels/0"][:]
    assert smooth.shape == data.shape and labels.shape == (2, *data.shape[2:])
    rows = []
    offset = 0
    for t in range(2):
        g = np.stack([ndi.gaussian_filter(data[t, c], 1) for c in range(2)])
        np.testing.assert_array_equal(smooth[t], g)
        m = g[0] > threshold_otsu(g[0])
        np.testing.assert_array_equal(mask[t], m)
        lab, n = ndi.label(m)  # scipy on each time point: never across time or channels
        np.testing.assert_array_equal(labels[t], lab)
        table = pd.DataFrame(regionprops_table(lab, properties=["label", "area", "centroid"],
                                               spacing=SCALE))  # fmt: skip
        table.insert(0, "t", t)
        table.insert(2, "global_label", table["label"] + offset)
        offset += n
        rows.append(table)
    expected = pd.concat(rows, ignore_index=True)
    got = result.table
    assert list(got.columns[:4]) == ["t", "label", "global_label", "area"]
    for column in expected.columns:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-12, err_msg=column)
    assert result.statistics["threshold"]["(0,)"] == pytest.approx(
        threshold_otsu(ndi.gaussian_filter(data[0, 0], 1))
    )


def _readme_workflow(name: str) -> str:
    """The YAML block of the README that defines workflow ``name`` (the docs run as tests)."""
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if b.startswith(f"name: {name}\n")]
    return block


def _nuclei_oracle(stack):
    """The README's nuclei-tracking steps with scipy/scikit-image on one CZYX image."""
    from skimage.morphology import remove_small_objects

    g = np.stack([ndi.gaussian_filter(ch, 1) for ch in stack])
    lab, found = ndi.label(ndi.binary_fill_holes(g[0] > threshold_otsu(g[0])))
    lab = remove_small_objects(lab, max_size=19)
    props = ["label", "area", "centroid", "intensity_mean"]
    # every channel of the input: scikit-image's multichannel intensity (channel last)
    table = pd.DataFrame(regionprops_table(lab, np.moveaxis(stack, 0, -1), properties=props,
                                           spacing=SCALE))  # fmt: skip
    assert 0 < len(table) < found  # the data has nuclei to keep and specks to remove
    return g, lab, table


@pytest.mark.parametrize("road", ["volume", "volume-blocks", "collection"])
def test_the_readme_nuclei_tracking_example_equals_scikit_image(tmp_path, road):
    import anndata

    from batchimg.workflow import parse_workflow

    wf = parse_workflow(_readme_workflow("nuclei-tracking"))
    data = np.stack([np.stack([blobs((6, 32, 36), n=6, seed=200 + 10 * t + c) for c in range(2)])
                     for t in range(2)])  # fmt: skip
    if road == "collection":  # one CZYX OME-TIFF per time point
        source = tmp_path / "cells"
        source.mkdir()
        for t in range(2):
            meta = {
                "axes": "CZYX",
                "PhysicalSizeZ": SCALE[0],
                "PhysicalSizeY": SCALE[1],
                "PhysicalSizeX": SCALE[2],
                "Channel": {"Name": ["nuclei", "membrane"]},
            }
            tifffile.imwrite(source / f"t{t}.ome.tif", data[t], ome=True, metadata=meta)
        opts = {"chunks": 1}
    else:
        source = tmp_path / "cells.ome.tif"
        _ome_tiff(source, data)
        opts = {"chunks": (4, 11, 13)} if road == "volume-blocks" else {}
    result = run(wf, source, tmp_path / "out", **opts)
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    key = "t" if road != "collection" else "image"
    regions = anndata.read_zarr(tmp_path / "out" / "result.zarr" / "tables" / "regions")
    got = result.table
    offset = 0
    for t in range(2):
        g, lab, want = _nuclei_oracle(data[t])
        np.testing.assert_array_equal(group["gaussian_filter/0"][t], g)
        np.testing.assert_array_equal(group["labels/labels/0"][t], lab)
        rows = got[got[key] == t] if key == "t" else got[got[key].str.endswith(f"t{t}.ome.tif")]
        for col in want.columns:
            np.testing.assert_allclose(rows[col], want[col], rtol=1e-12, err_msg=col)
        np.testing.assert_array_equal(rows["global_label"], want["label"] + offset)
        offset += int(lab.max())
    assert {"intensity_mean-0", "intensity_mean-1"} <= set(regions.var_names)
    np.testing.assert_allclose(regions.to_df()["intensity_mean-1"], got["intensity_mean-1"])
    assert regions.obs["global_label"].tolist() == got["global_label"].tolist()


def test_labels_never_connect_across_time_or_channels(tmp_path):
    data = np.zeros((2, 3, 1, 10, 12), np.uint8)
    data[:, :, 0, 2:6, 3:8] = 200  # the same square at every time point and channel
    tifffile.imwrite(tmp_path / "sq.ome.tif", data, ome=True, metadata={"axes": "TCZYX"})
    wf = Workflow("sq", [{"threshold": {"value": 100}}, {"label": {}}], measure=["area"])
    result = run(wf, tmp_path / "sq.ome.tif", tmp_path / "out")
    labels = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")["labels/labels/0"][:]
    assert labels.shape == (
        2,
        3,
        10,
        12,
    )  # the file's singleton z is squeezed, as tifffile reads it
    assert set(np.unique(labels)) == {0, 1}  # label 1 in each (t, c) on its own
    table = result.table
    assert list(table[["t", "c"]].itertuples(index=False, name=None)) == [
        (t, c) for t in range(2) for c in range(3)]  # fmt: skip
    assert table["global_label"].tolist() == list(range(1, 7))
    assert (table["area"] == 20).all()


def test_a_cyx_collection_runs_each_channel_of_each_image(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    stacks = [np.stack([blobs((24, 30), seed=10 * i + c) for c in range(2)]) for i in range(3)]
    for i, s in enumerate(stacks):
        tifffile.imwrite(folder / f"cells{i}.ome.tif", s, ome=True, metadata={"axes": "CYX"})
    wf = Workflow("cyx", [{"median_filter": {"size": 3}}, {"threshold": {"method": "otsu"}},
                          {"label": {}}], measure=["area"], save=["median_filter"])  # fmt: skip
    result = run(wf, folder, tmp_path / "out", chunks=2)
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    med, labels = group["median_filter/0"][:], group["labels/labels/0"][:]
    assert med.shape == (3, 2, 24, 30)
    for i, s in enumerate(stacks):
        for c in range(2):
            m = ndi.median_filter(s[c], 3)
            np.testing.assert_array_equal(med[i, c], m)
            np.testing.assert_array_equal(labels[i, c], ndi.label(m > threshold_otsu(m))[0])
    assert list(result.table.columns[:4]) == ["image", "c", "label", "global_label"]


def test_rgb_collections_are_channels_or_grey(tmp_path):
    from skimage.color import rgb2gray

    folder = tmp_path / "rgb"
    folder.mkdir()
    rgb = [np.stack([blobs((20, 22), seed=3 * i + k) for k in range(3)], -1) for i in range(2)]
    for i, image in enumerate(rgb):
        iio.imwrite(folder / f"p{i}.png", image)
    per_channel = Workflow("rgb", [{"threshold": {"value": 120}}, {"label": {}}])
    run(per_channel, folder, tmp_path / "a")
    labels = zarr.open_group(tmp_path / "a" / "result.zarr", mode="r")["labels/labels/0"][:]
    assert labels.shape == (2, 3, 20, 22)  # regions never join across colours
    np.testing.assert_array_equal(labels[1, 2], ndi.label(rgb[1][..., 2] > 120)[0])
    grey = Workflow("grey", [{"rgb_to_gray": {}}, {"gaussian_filter": {"sigma": 1}}],
                    save=["gaussian_filter"])  # fmt: skip
    run(grey, folder, tmp_path / "b")
    smooth = zarr.open_group(tmp_path / "b" / "result.zarr", mode="r")["gaussian_filter/0"][:]
    np.testing.assert_allclose(smooth[0], ndi.gaussian_filter(rgb2gray(rgb[0]), 1), rtol=1e-12)
    run(Workflow("g", [{"gaussian_filter": {"sigma": 1}}], save=["gaussian_filter"]), folder,
        tmp_path / "c", gray=True)  # fmt: skip
    as_read = zarr.open_group(tmp_path / "c" / "result.zarr", mode="r")["0"][:]
    np.testing.assert_allclose(as_read[1], rgb2gray(rgb[1]), rtol=1e-12)


CHANNEL_ERRORS = [
    ({"channel": "dapi"}, r"channel must be one of the input's channels \['nuclei', 'membrane'\]"),
    ({"channel": 5}, r"channel must be in \[0, 1\]; got 5"),
]


@pytest.mark.parametrize(("extra", "message"), CHANNEL_ERRORS)
def test_a_channel_that_does_not_exist_is_one_error_before_any_output(tmp_path, extra, message):
    _ome_tiff(tmp_path / "c.ome.tif", _tczyx((1, 2, 2, 8, 8)))
    wf = Workflow("x", [{"threshold": {"value": 3, **extra}}])
    with pytest.raises(WorkflowError, match=rf"step 1 'threshold': {message}"):
        run(wf, tmp_path / "c.ome.tif", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    grey = tmp_path / "g.tif"
    tifffile.imwrite(grey, blobs((2, 8, 8), n=2))
    with pytest.raises(WorkflowError, match=r"channel 'dapi' needs an input with a channel axis"):
        run(Workflow("x", [{"threshold": {"value": 3, "channel": "dapi"}}]), grey, tmp_path / "o")


def _validate(path):
    """The readers of the field accept result.zarr: return what they found."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from ome_zarr_models.v05.image import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the readers' own deprecations
        Image.from_zarr(zarr.open_group(path, mode="r"))
        nodes = list(Reader(parse_url(str(path)))())
        from napari_ome_zarr import napari_get_reader

        layers = napari_get_reader(str(path))(str(path))
    return nodes, layers


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_in_standard_ome_zarr_out(tmp_path, version):
    import xarray as xr
    from ome_zarr.format import FormatV04, FormatV05

    write_image = ome_zarr_writer().write_image

    data = _tczyx((1, 2, 6, 20, 24))[0]  # czyx
    fmt = FormatV04() if version == "0.4" else FormatV05()
    store = tmp_path / "in.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(store, mode="w", zarr_format=2 if version == "0.4" else 3)
        write_image(data, root, axes="czyx", fmt=fmt, scale_factors=[])
        # physical sizes, set the way OME-Zarr records them (the writer keeps its own)
        attrs = dict(root.attrs)
        ms = (attrs["ome"] if version == "0.5" else attrs)["multiscales"]
        ms[0]["datasets"][0]["coordinateTransformations"] = [
            {"type": "scale", "scale": [1.0, *SCALE]}
        ]
        ms[0]["axes"] = [{"name": "c", "type": "channel"}] + [
            {"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"
        ]
        root.attrs.update(attrs)  # fmt: skip
    wf = Workflow("z", [{"gaussian_filter": {"sigma": 1}}, {"threshold": {"value": 120}},
                        {"label": {}}], measure=["area", "centroid"],
                  save=["gaussian_filter"])  # fmt: skip
    result = run(wf, store, tmp_path / "out")
    out = tmp_path / "out" / "result.zarr"
    nodes, layers = _validate(out)
    assert [type(s).__name__ for n in nodes for s in n.specs][:3] == ["Multiscales", "Labels",
                                                                      "Label"]  # fmt: skip
    assert [layer[2] for layer in layers] == ["image", "labels"]
    group = zarr.open_group(out, mode="r")
    ms = dict(group.attrs)["ome"]["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, *SCALE]
    assert [a.get("unit") for a in ms["axes"][1:]] == ["micrometer"] * 3
    for sub in ("", "labels/labels", "gaussian_filter"):
        arrays = [k for k, _ in zarr.open_group(out / sub if sub else out, mode="r").arrays()]
        for name in arrays:
            ds = xr.open_zarr(out, group=sub or None, consolidated=False,
                              drop_variables=[a for a in arrays if a != name])  # fmt: skip
            assert ds[name].dims == tuple(
                zarr.open_array(out / sub / name).metadata.dimension_names
            )
    import anndata

    table = anndata.read_zarr(out / "tables" / "regions")
    assert table.n_obs == result.n_regions and list(table.var_names[:2]) == ["area", "centroid-0"]
    assert table.uns["spatialdata_attrs"] == {"region": "labels", "region_key": "region",
                                              "instance_key": "label"}  # fmt: skip
    assert set(table.obs["region"]) == {"labels"}
    np.testing.assert_array_equal(table.obs["label"], result.table["label"])
    np.testing.assert_array_equal(table.to_df()["area"], result.table["area"])


@pytest.mark.parametrize("kind", ["collection", "volume"])
def test_every_result_is_valid_with_a_pyramid(tmp_path, kind):
    if kind == "volume":
        source = blobs((6, 700, 640), n=4)
    else:
        folder = tmp_path / "big"
        folder.mkdir()
        for i in range(2):
            iio.imwrite(folder / f"b{i}.png", blobs((600, 700), seed=i))
        source = folder
    wf = Workflow("p", [{"gaussian_filter": {"sigma": 1}}, {"threshold": {"value": 110}},
                        {"label": {}}], measure=["area"], save=["gaussian_filter"])  # fmt: skip
    run(wf, source, tmp_path / "out")
    out = tmp_path / "out" / "result.zarr"
    _validate(out)
    group = zarr.open_group(out, mode="r")
    for sub in ("", "labels/labels/", "gaussian_filter/"):
        full, half = group[f"{sub}0"], group[f"{sub}1"]
        assert half.shape[-2:] == tuple(-(-s // 2) for s in full.shape[-2:])
    labels0, labels1 = group["labels/labels/0"][:], group["labels/labels/1"][:]
    np.testing.assert_array_equal(labels1, labels0[..., ::2, ::2])  # no label value invented
    image0, image1 = group["0"][:], group["1"][:]  # the image: each window's rounded mean
    windows = image0.reshape(*image0.shape[:-2], image1.shape[-2], 2, image1.shape[-1], 2)
    want = np.rint(windows.astype(np.float64).mean(axis=(-3, -1))).astype(image0.dtype)
    np.testing.assert_array_equal(image1, want)
    assert set(np.unique(labels1)) <= set(np.unique(labels0))
    assert info(tmp_path / "out")["complete"]


def _window_means(a: np.ndarray) -> np.ndarray:
    """The rounded mean of every 2x2 window of the last two axes (edge windows partial)."""
    out = np.zeros((*a.shape[:-2], -(-a.shape[-2] // 2), -(-a.shape[-1] // 2)))
    for y in range(out.shape[-2]):
        for x in range(out.shape[-1]):
            out[..., y, x] = a[..., 2 * y : 2 * y + 2, 2 * x : 2 * x + 2].mean(axis=(-2, -1))
    return np.rint(out).astype(a.dtype)


@pytest.mark.parametrize("chunks", ["3,128,96", "3,125,101"])
def test_a_pyramid_level_is_the_same_whatever_the_blocks(tmp_path, chunks):
    # blocks that are multiples of the 2x2 step are downsampled a chunk at a time, the
    # others in slabs of planes; both give every window's mean (edge windows partial)
    source = blobs((5, 653, 611), n=4)
    wf = Workflow("p", [{"gaussian_filter": {"sigma": 1}}, {"threshold": {"value": 110}},
                        {"label": {}}], measure=["area"], save=["gaussian_filter"])  # fmt: skip
    run(wf, source, tmp_path / "out", chunks=chunks, report=False)
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    for sub in ("", "gaussian_filter/"):
        level0, level1 = group[f"{sub}0"], group[f"{sub}1"]
        assert level0.chunks[-2:] == tuple(map(int, chunks.split(",")[1:]))
        np.testing.assert_array_equal(level1[:], _window_means(level0[:]))
    labels0, labels1 = group["labels/labels/0"][:], group["labels/labels/1"][:]
    np.testing.assert_array_equal(labels1, labels0[..., ::2, ::2])
