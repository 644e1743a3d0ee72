"""open_input and the axis model: every format's axes, scale, units and pixels, read lazily.

Each case writes a file with the format's own writer (tifffile, ome-zarr-py, zarr,
h5py, imageio, numpy, xarray) and says what open_input must find. The pixels are
compared exactly with the format's own reader, transposed to canonical order, and
regions read through ``Input.reader`` with the same slice of the whole array.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings

import dask.array as da
import h5py
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import zarr
from helpers import assert_same, ome_zarr_writer

from batchimg.errors import InputError, InvalidParameterError
from batchimg.io import Axes, Input, open_input

UM = "micrometer"


def rng():
    return np.random.default_rng(1234)


def ints(shape, dtype=np.uint16, high=1000):
    return rng().integers(0, high, size=shape).astype(dtype)


def graph_nbytes(x) -> int:
    return len(pickle.dumps(dict(x.__dask_graph__())))


# --------------------------------------------------------------------------- writers
# each returns (source, open_input keywords, the canonical-order pixels)


def ome_tiff_tczyx(tmp_path):
    a = ints((2, 3, 4, 12, 10))
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, a, metadata={
        "axes": "TCZYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0,
        "PhysicalSizeZUnit": "nm", "TimeIncrement": 3.0, "TimeIncrementUnit": "ms",
        "Channel": {"Name": ["DAPI", "GFP", "RFP"]},
    })  # fmt: skip
    return str(path), {}, tifffile.imread(path)


def ome_tiff_zcyx(tmp_path):
    a = ints((5, 2, 12, 10), np.uint8, 255)
    path = tmp_path / "zc.ome.tif"
    tifffile.imwrite(path, a, metadata={"axes": "ZCYX", "PhysicalSizeX": 0.5,
                                        "PhysicalSizeY": 0.5})  # fmt: skip
    return str(path), {}, tifffile.imread(path).transpose(1, 0, 2, 3)


def ome_tiff_cyx(tmp_path):
    a = ints((2, 12, 10))
    path = tmp_path / "two.ome.tif"
    tifffile.imwrite(path, a, metadata={"axes": "CYX", "Channel": {"Name": ["a", "b"]}})
    return str(path), {}, tifffile.imread(path)[None]


def imagej_zcyx(tmp_path):
    a = rng().random((5, 3, 12, 10)).astype(np.float32)
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, a, imagej=True, resolution=(4.0, 2.0),
                     metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "micron"})  # fmt: skip
    return str(path), {}, tifffile.imread(path).transpose(1, 0, 2, 3)


def imagej_tcyx(tmp_path):
    a = ints((4, 2, 12, 10), np.uint8, 255)
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, a, imagej=True, metadata={"axes": "TCYX", "finterval": 2.5})
    return str(path), {}, tifffile.imread(path)


def plain_tiff_stack(tmp_path):
    a = ints((6, 12, 10))
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, a)
    return str(path), {}, tifffile.imread(path)


def rgb_tiff(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    a = ints((12, 10, 3), np.uint8, 255)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, a, photometric="rgb")
    return str(path), {}, tifffile.imread(path).transpose(2, 0, 1)[None]


def ome_tiff_collection(tmp_path):
    """Three CYX OME-TIFFs: a collection; the first file's metadata names the axes."""
    g = rng()
    arrays = [g.integers(0, 1000, (2, 12, 10), dtype=np.uint16) for _ in range(3)]
    for i, a in enumerate(arrays):
        tifffile.imwrite(tmp_path / f"field{i}.ome.tif", a, metadata={
            "axes": "CYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2,
            "Channel": {"Name": ["nuclei", "membrane"]}})  # fmt: skip
    return str(tmp_path / "field*.ome.tif"), {}, np.stack(arrays)


def _ome_zarr(tmp_path, version, **kw):
    writer = ome_zarr_writer()
    from ome_zarr.format import FormatV04, FormatV05

    fmt = FormatV04() if version == "0.4" else FormatV05()
    a = ints((2, 3, 4, 16, 12))
    path = tmp_path / f"img{version}.zarr"
    root = zarr.open_group(path, mode="w", zarr_format=fmt.zarr_format)
    channel = {"color": "FFFFFF", "window": {"start": 0, "end": 999, "min": 0, "max": 999}}
    writer.write_image(
        a, root, axes="tczyx", fmt=fmt, scale_factors=(2,),
        scale={"t": 3.0, "c": 1.0, "z": 2.0, "y": 0.5, "x": 0.5},
        axes_units={"t": "second", "z": UM, "y": UM, "x": UM},
        storage_options={"chunks": (1, 1, 2, 8, 12)},
        omero={"channels": [{"label": n, **channel} for n in ("DAPI", "GFP", "RFP")]},
    )  # fmt: skip
    level = kw.pop("level", None)
    inside = kw.pop("inside", None)
    source = str(path / inside) if inside else str(path)
    kw = {"level": level} if level is not None else {}
    full = zarr.open_array(path / ("s1" if inside or level else "s0"), mode="r")[...]
    return source, kw, full


def ome_zarr_04(tmp_path):
    return _ome_zarr(tmp_path, "0.4")


def ome_zarr_05(tmp_path):
    return _ome_zarr(tmp_path, "0.5")


def ome_zarr_05_level(tmp_path):
    return _ome_zarr(tmp_path, "0.5", level=1)


def ome_zarr_04_level_path(tmp_path):
    return _ome_zarr(tmp_path, "0.4", inside="s1")


def zarr_dimension_names(tmp_path):
    a = ints((12, 10, 3), np.uint8, 255)
    z = zarr.create_array(tmp_path / "yxc.zarr", shape=a.shape, chunks=(5, 10, 3), dtype="u1",
                          dimension_names=("y", "x", "c"))  # fmt: skip
    z[:] = a
    return str(tmp_path / "yxc.zarr"), {}, a.transpose(2, 0, 1)


def zarr_v2_array_dimensions(tmp_path):
    a = ints((3, 12, 10))
    z = zarr.create_array(tmp_path / "v2.zarr", shape=a.shape, chunks=(1, 6, 10), dtype="u2",
                          zarr_format=2)  # fmt: skip
    z[:] = a
    z.attrs["_ARRAY_DIMENSIONS"] = ["time", "y", "x"]
    return str(tmp_path / "v2.zarr"), {}, a


def zarr_group_dataset(tmp_path):
    a = ints((4, 12, 10))
    g = zarr.open_group(tmp_path / "g.zarr", mode="w")
    g.create_group("images").create_array("raw", shape=a.shape, chunks=(2, 12, 10),
                                          dtype="u2")[:] = a  # fmt: skip
    return str(tmp_path / "g.zarr"), {"dataset": "images/raw"}, a


def zarr_path_inside(tmp_path):
    source, _, a = zarr_group_dataset(tmp_path)
    return source + "/images/raw", {}, a


def hdf5_labelled(tmp_path):
    a = ints((3, 12, 10))
    path = tmp_path / "vol.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("grp/vol", data=a.transpose(1, 2, 0), chunks=(6, 10, 1))
        for dim, label in zip(d.dims, "yxz", strict=True):
            dim.label = label
        d.attrs["element_size_um"] = [0.5, 0.25, 2.0]
    return f"{path}:/grp/vol", {}, a


def hdf5_unlabelled(tmp_path):
    a = ints((5, 12, 10))
    path = tmp_path / "plain.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=a)  # contiguous: read in slabs
    return str(path), {"dataset": "/data"}, a


def hdf5_ilastik(tmp_path):
    a = ints((12, 10, 2), np.uint8, 255)
    path = tmp_path / "ilastik.h5"
    tags = {
        "axes": [
            {"key": "y", "typeFlags": 2, "resolution": 0.5, "description": ""},
            {"key": "x", "typeFlags": 2, "resolution": 0.5, "description": ""},
            {"key": "c", "typeFlags": 1, "resolution": 0, "description": ""},
        ]
    }
    with h5py.File(path, "w") as f:
        f.create_dataset("exported_data", data=a, chunks=(6, 10, 2))
        f["exported_data"].attrs["axistags"] = json.dumps(tags)
    return f"{path}:exported_data", {}, a.transpose(2, 0, 1)


def raw_with_axes(tmp_path):
    a = ints((12, 10, 3), np.uint8, 255)
    path = tmp_path / "rgb.raw"
    a.tofile(path)
    kw = {"raw_shape": "12,10,3", "raw_dtype": "uint8", "axes": "yxc", "scale": [0.5, 0.5],
          "unit": "um", "channel_names": ["r", "g", "b"]}  # fmt: skip
    return str(path), kw, a.transpose(2, 0, 1)


def npy_fortran(tmp_path):
    a = np.asfortranarray(ints((4, 12, 10)))
    path = tmp_path / "vol.npy"
    np.save(path, a)
    return str(path), {"scale": 2.0}, np.load(path)


def rgb_pngs(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    g = rng()
    arrays = [g.integers(0, 256, (12, 10, 3), dtype=np.uint8) for _ in range(3)]
    for i, a in enumerate(arrays):
        iio.imwrite(tmp_path / f"c{i}.png", a)
    return str(tmp_path / "c*.png"), {}, np.stack([a.transpose(2, 0, 1) for a in arrays])


def rgba_pngs(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    g = rng()
    arrays = [g.integers(0, 256, (12, 10, 4), dtype=np.uint8) for _ in range(2)]
    for i, a in enumerate(arrays):
        iio.imwrite(tmp_path / f"a{i}.png", a)
    return str(tmp_path), {}, np.stack([a.transpose(2, 0, 1) for a in arrays])


def gray_pngs(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    g = rng()
    arrays = [g.integers(0, 256, (12, 10), dtype=np.uint8) for _ in range(4)]
    for i, a in enumerate(arrays):
        iio.imwrite(tmp_path / f"g{i}.png", a)
    return (
        [str(tmp_path / f"g{i}.png") for i in (2, 0, 3, 1)],
        {},
        np.stack([arrays[i] for i in (2, 0, 3, 1)]),
    )


def xarray_numpy(tmp_path):
    import xarray as xr

    a = ints((2, 12, 10))
    arr = xr.DataArray(
        a.transpose(1, 2, 0),
        dims=("y", "x", "channel"),
        coords={"y": np.arange(12) * 0.5, "x": np.arange(10) * 0.25, "channel": ["nuc", "mem"]},
    )
    arr.y.attrs["units"] = "µm"
    arr.x.attrs["units"] = "µm"
    return arr, {}, a


def numpy_with_axes(tmp_path):
    a = ints((3, 2, 12, 10))
    return a, {"axes": "zcyx"}, a.transpose(1, 0, 2, 3)


#: name -> writer, kind, names, scale, units, channel_names, origin
CASES = {
    "ome-tiff tczyx": (ome_tiff_tczyx, "volume", "tczyx", (3.0, 1, 2.0, 0.5, 0.25),
                       ("millisecond", None, "nanometer", UM, UM), ("DAPI", "GFP", "RFP"),
                       "ome-tiff"),
    "ome-tiff zcyx": (ome_tiff_zcyx, "volume", "czyx", (1, 1, 0.5, 0.5), (None, None, UM, UM),
                      None, "ome-tiff"),
    "ome-tiff cyx": (ome_tiff_cyx, "collection", "cyx", (1, 1, 1), (None,) * 3, ("a", "b"),
                     "ome-tiff"),
    "ome-tiff collection": (ome_tiff_collection, "collection", "cyx", (1, 0.2, 0.2),
                            (None, UM, UM), ("nuclei", "membrane"), "ome-tiff"),
    "imagej zcyx": (imagej_zcyx, "volume", "czyx", (1, 1.5, 0.5, 0.25), (None, UM, UM, UM), None,
                    "imagej"),
    "imagej tcyx": (imagej_tcyx, "volume", "tcyx", (2.5, 1, 1, 1), ("second", None, None, None),
                    None, "imagej"),
    "plain tiff stack": (plain_tiff_stack, "volume", "zyx", (1, 1, 1), (None,) * 3, None, "tiff"),
    "rgb tiff": (rgb_tiff, "collection", "cyx", (1, 1, 1), (None,) * 3, ("R", "G", "B"),
                 "image file"),
    "ome-zarr 0.4": (ome_zarr_04, "volume", "tczyx", (3.0, 1, 2.0, 0.5, 0.5),
                     ("second", None, UM, UM, UM), ("DAPI", "GFP", "RFP"), "ome-zarr 0.4"),
    "ome-zarr 0.5": (ome_zarr_05, "volume", "tczyx", (3.0, 1, 2.0, 0.5, 0.5),
                     ("second", None, UM, UM, UM), ("DAPI", "GFP", "RFP"), "ome-zarr 0.5"),
    "ome-zarr 0.5 level 1": (ome_zarr_05_level, "volume", "tczyx", (3.0, 1, 2.0, 1.0, 1.0),
                             ("second", None, UM, UM, UM), ("DAPI", "GFP", "RFP"),
                             "ome-zarr 0.5"),
    "ome-zarr 0.4 level path": (ome_zarr_04_level_path, "volume", "tczyx",
                                (3.0, 1, 2.0, 1.0, 1.0), ("second", None, UM, UM, UM),
                                ("DAPI", "GFP", "RFP"), "ome-zarr 0.4"),
    "zarr dimension_names": (zarr_dimension_names, "volume", "cyx", (1, 1, 1), (None,) * 3, None,
                             "zarr dimension_names"),
    "zarr v2 _ARRAY_DIMENSIONS": (zarr_v2_array_dimensions, "volume", "tyx", (1, 1, 1),
                                  (None,) * 3, None, "zarr dimension_names"),
    "zarr group dataset=": (zarr_group_dataset, "volume", "zyx", (1, 1, 1), (None,) * 3, None,
                            "default"),
    "zarr store/path/inside": (zarr_path_inside, "volume", "zyx", (1, 1, 1), (None,) * 3, None,
                               "default"),
    "hdf5 labelled": (hdf5_labelled, "volume", "zyx", (2.0, 0.5, 0.25), (UM, UM, UM), None,
                      "hdf5"),
    "hdf5 unlabelled": (hdf5_unlabelled, "volume", "zyx", (1, 1, 1), (None,) * 3, None,
                        "default"),
    "hdf5 ilastik axistags": (hdf5_ilastik, "volume", "cyx", (1, 0.5, 0.5), (None,) * 3, None,
                              "hdf5"),
    "raw with user axes": (raw_with_axes, "volume", "cyx", (1, 0.5, 0.5), (None, UM, UM),
                           ("r", "g", "b"), "user"),
    "npy fortran order": (npy_fortran, "volume", "zyx", (2.0, 2.0, 2.0), (None,) * 3, None,
                          "default"),
    "rgb pngs": (rgb_pngs, "collection", "cyx", (1, 1, 1), (None,) * 3, ("R", "G", "B"),
                 "image file"),
    "rgba pngs": (rgba_pngs, "collection", "cyx", (1, 1, 1), (None,) * 3, ("R", "G", "B", "A"),
                  "image file"),
    "gray pngs, listed order": (gray_pngs, "collection", "yx", (1, 1), (None, None), None,
                                "image file"),
    "xarray numpy": (xarray_numpy, "volume", "cyx", (1, 0.5, 0.25), (None, UM, UM),
                     ("nuc", "mem"), "xarray"),
    "numpy with axes": (numpy_with_axes, "volume", "czyx", (1, 1, 1, 1), (None,) * 4, None,
                        "user"),
}  # fmt: skip


def _regions(shape, n=6):
    """A few regions of ``shape``: random slices, an int on the first axis, the whole."""
    g = rng()
    out = [tuple(slice(None) for _ in shape), (0,), (slice(None),) * (len(shape) - 1) + (-1,)]
    for _ in range(n):
        region = []
        for s in shape:
            a = int(g.integers(0, s))
            region.append(slice(a, int(g.integers(a + 1, s + 1))))
        out.append(tuple(region))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_every_format_gives_its_axes_and_its_pixels_in_canonical_order(tmp_path, case):
    write, kind, names, scale, units, channels, origin = CASES[case]
    source, kw, expected = write(tmp_path)
    x = open_input(source, **kw)
    assert isinstance(x, Input) and x.kind == kind
    assert x.axes.names == names
    assert x.axes.scale == pytest.approx(scale)
    assert x.axes.units == units
    assert x.axes.channel_names == channels
    assert x.axes.origin == origin
    assert x.data.shape == expected.shape
    assert_same(x.data, expected)
    assert x.image_shape == (expected.shape[1:] if kind == "collection" else expected.shape)
    # the description is JSON and the identity is stable
    assert json.loads(json.dumps(x.description)) == x.description
    again = open_input(source, **kw)
    assert again.fingerprint() == x.fingerprint() and again.data.name == x.data.name
    assert x.description["axes"] == x.axes.to_dict()
    assert Axes.from_dict(x.axes.to_dict()) == x.axes
    if kind == "collection":
        assert x.reader is None and len(x.paths) == len(expected) and x.failed == {}
        clone = pickle.loads(pickle.dumps(x.image_reader))
        for i, p in enumerate(x.paths):
            np.testing.assert_array_equal(clone(p), expected[i], strict=True)
        return
    assert x.image_reader is None and x.paths is None
    if isinstance(source, str):
        # volumes in a file read any region from the file, in canonical order
        reader = pickle.loads(pickle.dumps(x.reader))
        assert len(pickle.dumps(x.reader)) < 1024
        for region in _regions(expected.shape):
            np.testing.assert_array_equal(reader[region], expected[region], strict=True)
        assert graph_nbytes(x.data) < 64 * 1024
    else:
        assert x.reader is None


def test_ome_zarr_levels_and_storage_chunks(tmp_path):
    source, _, full = ome_zarr_05(tmp_path)
    x = open_input(source)
    assert x.data.chunksize == (1, 1, 2, 8, 12)
    assert x.description["level"] == "s0"
    low = open_input(source, level="s1")
    assert low.data.shape == (2, 3, 4, 8, 6) and low.description["level"] == "s1"
    assert low.axes.spatial_scale == (2.0, 1.0, 1.0)
    assert low.fingerprint() != x.fingerprint()
    assert_same(open_input(source, level=1).data, zarr.open_array(f"{source}/s1")[...])


def test_user_axes_scale_and_names_always_win(tmp_path):
    source, _, expected = ome_tiff_tczyx(tmp_path)
    x = open_input(source, scale=[1.0, 0.1, 0.1], unit="nm", channel_names=["a", "b", "c"])
    assert x.axes.scale == (3.0, 1.0, 1.0, 0.1, 0.1)
    assert x.axes.units == ("millisecond", None, "nanometer", "nanometer", "nanometer")
    assert x.axes.channel_names == ("a", "b", "c") and x.axes.origin == "ome-tiff"
    assert x.fingerprint() != open_input(source).fingerprint()
    # renaming the axes keeps the sizes of the axes that keep their name
    y = open_input(source, axes="ctzyx")
    assert y.axes.names == "tczyx" and y.axes.stored == "ctzyx" and y.axes.origin == "user"
    assert y.axes.scale == (3.0, 1.0, 2.0, 0.5, 0.25) and y.axes.channel_names is None
    assert_same(y.data, expected.transpose(1, 0, 2, 3, 4))
    # an RGB PNG collection told its axes as the file has them changes nothing
    src, _, rgb = rgb_pngs(tmp_path / "png")
    assert_same(open_input(src, axes="yxc").data, rgb)


def test_as_gray_collections_match_skimage(tmp_path):
    from skimage.color import rgb2gray, rgba2rgb

    src, _, rgb = rgb_pngs(tmp_path / "rgb")
    x = open_input(src, as_gray=True)
    assert x.axes.names == "yx" and x.axes.channel_names is None and x.data.dtype == np.float64
    expected = np.stack([rgb2gray(a.transpose(1, 2, 0)) for a in rgb])
    assert_same(x.data, expected)
    src, _, rgba = rgba_pngs(tmp_path / "rgba")
    expected = np.stack([rgb2gray(rgba2rgb(a.transpose(1, 2, 0))) for a in rgba])
    assert_same(open_input(src, as_gray=True).data, expected)
    src, _, one = rgb_tiff(tmp_path / "tif")
    assert_same(open_input(src, as_gray=True).data, rgb2gray(one[0].transpose(1, 2, 0))[None])


def test_a_dask_backed_dataarray_stays_lazy(tmp_path):
    import xarray as xr

    a = ints((3, 2, 12, 10))
    calls = []

    def counted(block):
        calls.append(block.shape)
        return block

    lazy = da.from_array(a, chunks=(1, 2, 6, 10)).map_blocks(
        counted, dtype=a.dtype, meta=np.empty((0,) * 4, a.dtype)
    )
    arr = xr.DataArray(lazy, dims=("z", "c", "y", "x"), coords={"z": [0.0, 2.0, 4.0]})
    x = open_input(arr, channel_names=["p", "q"])
    assert calls == [] and isinstance(x.data, da.Array)
    assert x.axes.names == "czyx" and x.axes.scale == (1.0, 2.0, 1.0, 1.0)
    assert x.axes.channel_names == ("p", "q") and x.axes.origin == "xarray"
    assert x.data.chunksize == (2, 1, 6, 10)
    assert calls == []
    assert_same(x.data, a.transpose(1, 0, 2, 3))
    assert calls
    # dims that name nothing (xarray's dim_0...) mean "no metadata"
    plain = xr.DataArray(da.from_array(a[:, 0]))
    assert open_input(plain).axes.origin == "default"


# --------------------------------------------------------------------------- laziness


def _count_tiff_chunks(monkeypatch):
    """Record the keys of the storage chunks (pages, strips, tiles) tifffile decodes."""
    from tifffile.zarr import ZarrTiffStore

    read = []
    real = ZarrTiffStore.get

    async def get(self, key, *args, **kwargs):
        if not key.rsplit("/", 1)[-1].startswith((".z", "zarr.json")):
            read.append(key)
        return await real(self, key, *args, **kwargs)

    monkeypatch.setattr(ZarrTiffStore, "get", get)
    return read


def test_a_multi_page_tiff_is_read_page_by_page(tmp_path, monkeypatch):
    a = ints((40, 32, 24))
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, a)
    read = _count_tiff_chunks(monkeypatch)
    monkeypatch.setattr(tifffile, "imread", lambda *a, **k: pytest.fail("imread while opening"))
    x = open_input(path)
    assert read == [] and x.kind == "volume"
    assert x.data.numblocks == (40, 1, 1)  # one task per page
    assert graph_nbytes(x.data) < 64 * 1024
    assert_same(x.data[10:12], a[10:12])
    assert sorted(read) == ["10.0.0", "11.0.0"]  # the two pages the block needs
    read.clear()
    np.testing.assert_array_equal(x.reader[5:8, 3:9, 2], a[5:8, 3:9, 2])
    assert sorted(read) == ["5.0.0", "6.0.0", "7.0.0"]


def test_a_tiled_tiff_is_read_tile_by_tile(tmp_path, monkeypatch):
    a = ints((3, 128, 96), np.uint8, 255)
    path = tmp_path / "tiles.ome.tif"
    tifffile.imwrite(path, a, tile=(32, 32), compression="zlib", metadata={"axes": "ZYX"})
    read = _count_tiff_chunks(monkeypatch)
    x = open_input(path)
    assert x.data.chunksize == (1, 32, 32) and x.data.numblocks == (3, 4, 3)
    np.testing.assert_array_equal(x.reader[1, 40:60, 70:90], a[1, 40:60, 70:90])
    assert read == ["1.1.2"]  # one tile of one page
    read.clear()
    assert_same(x.data, a)
    assert len(read) == 3 * 4 * 3


def test_opening_a_collection_reads_headers_only(tmp_path, monkeypatch):
    import PIL.Image

    src, _, expected = rgb_pngs(tmp_path)
    open_input(src)  # learns the layout of each Pillow mode once per process
    real = PIL.Image.Image.load

    def fail(self):
        raise AssertionError("pixels were read while opening")

    monkeypatch.setattr(PIL.Image.Image, "load", fail)
    x = open_input(src)
    assert graph_nbytes(x.data) < 64 * 1024
    with pytest.raises(InputError, match="could not be decoded.*pixels were read while opening"):
        x.data[0].compute()
    monkeypatch.setattr(PIL.Image.Image, "load", real)
    assert_same(x.data, expected)


def test_the_graph_of_a_large_raw_file_pickles_small(tmp_path):
    path = tmp_path / "big.raw"
    with open(path, "wb") as f:
        f.truncate(2**30)  # sparse: 1 GiB of zeros
    x = open_input(path, raw_shape=(256, 2048, 1024), raw_dtype="uint16", axes="cyx")
    assert x.axes.names == "cyx" and x.data.nbytes == 2**30
    assert x.data.chunksize == (4, 2048, 1024)  # 16 MiB slabs along the first axis
    assert graph_nbytes(x.data) < 64 * 1024 and len(pickle.dumps(x.reader)) < 1024
    assert int(x.reader[255, -1, -1]) == 0


def test_collections_collect_what_they_cannot_open(tmp_path):
    g = rng()
    for i in range(4):
        iio.imwrite(tmp_path / f"img{i}.png", g.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    (tmp_path / "img1.png").write_bytes(b"not a png")
    iio.imwrite(tmp_path / "img3.png", g.integers(0, 256, (12, 11, 3), dtype=np.uint8))
    with pytest.raises(InputError, match=r"img1\.png' could not be read as an image"):
        open_input(tmp_path)
    x = open_input(tmp_path, on_error="collect")
    assert [os.path.basename(p) for p in x.paths] == [f"img{i}.png" for i in range(4)]
    assert sorted(x.failed) == [1, 3] and x.data.shape == (2, 3, 12, 10)
    assert x.failed[1]["step"] == "open" and x.failed[1]["exception"] == "InputError"
    assert "has shape (12, 11, 3) of uint8" in x.failed[3]["message"]
    assert list(x.failed[3]) == ["path", "step", "exception", "message"]
    assert x.description["sizes"][1] == 9 and len(x.description["images"]) == 4
    with pytest.raises(InvalidParameterError, match=r"on_error must be 'raise' or 'collect'"):
        open_input(tmp_path, on_error="skip")


def test_a_file_changed_after_opening_is_named_by_the_image_reader(tmp_path):
    src, _, _ = gray_pngs(tmp_path)
    x = open_input(src)
    iio.imwrite(src[0], np.zeros((11, 10), np.uint8))
    with pytest.raises(InputError, match=r"g2\.png' decoded to shape \(11, 10\) of uint8, but"):
        x.image_reader(src[0])


def test_remote_zarr_is_read_when_allowed(tmp_path):
    pytest.importorskip("fsspec")
    a = ints((4, 6, 8))
    url = "memory://batchimg-test/remote.zarr"
    z = zarr.create_array(url, shape=a.shape, chunks=(2, 6, 8), dtype="u2",
                          dimension_names=("z", "y", "x"))  # fmt: skip
    z[:] = a
    with pytest.raises(InputError, match=r"got the URL 'memory://batchimg-test/remote\.zarr'"):
        open_input(url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = open_input(url, allow_remote=True)
    assert x.axes.origin == "zarr dimension_names" and x.description["path"] == url
    assert_same(x.data, a)
    np.testing.assert_array_equal(x.reader[1:3, 2], a[1:3, 2])
