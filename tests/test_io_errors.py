"""open_input's errors: one line, naming the input and what to pass, before any output.

One table lists every bad input and the message it must get; where the message asks
for ``axes=``, a second table shows that passing it opens the input.
"""

from __future__ import annotations

import os

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import zarr
from helpers import assert_same
from test_io_axes import ome_tiff_tczyx, ome_zarr_04

from batchimg.errors import InputError, InputNotFoundError, InvalidParameterError
from batchimg.io import Axes, open_input
from batchimg.io.axes import normalize_unit
from batchimg.io.regions import Transposed

UM = "micrometer"


# --------------------------------------------------------------------------- errors


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _mkdir(path) -> str:
    path.mkdir()
    return str(path)


def _h5(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("grp/vol", data=np.zeros((3, 4, 5), np.uint8))
        f.create_dataset("rgb", data=np.zeros((8, 8, 3), np.uint8))
        f.create_dataset("odd", data=np.zeros((3, 4, 5), np.uint8))
        f["odd"].dims[0].label = "plane"
        f["odd"].dims[1].label = "y"
        f["odd"].dims[2].label = "x"
    return str(path)


def _group(tmp_path):
    g = zarr.open_group(tmp_path / "g.zarr", mode="w")
    g.create_array("raw", shape=(6, 8), chunks=(3, 4), dtype="i4")
    g.create_group("labels").create_array("0", shape=(4, 4), chunks=(2, 2), dtype="u4")
    return str(tmp_path / "g.zarr")


def _raw(tmp_path, shape=(8, 8, 3)):
    path = tmp_path / "v.raw"
    np.zeros(shape, np.uint8).tofile(path)
    return str(path)


def _zarr_plain(tmp_path, shape=(8, 8, 4), **kw):
    z = zarr.create_array(tmp_path / "p.zarr", shape=shape, chunks=shape, dtype="u1", **kw)
    return str(tmp_path / "p.zarr") if z is not None else None


def _npy4(tmp_path):
    np.save(tmp_path / "four.npy", np.zeros((2, 3, 8, 8), np.uint8))
    return str(tmp_path / "four.npy")


def _png(tmp_path):
    iio.imwrite(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    return str(tmp_path / "a.png")


def _ome(tmp_path):
    return ome_tiff_tczyx(tmp_path)[0]


def _pyramid(tmp_path):
    return ome_zarr_04(tmp_path)[0]


def _vol_raw(tmp_path):
    return _raw(tmp_path, (4, 8, 8))


def _tiff(tmp_path, shape, **kw):
    tifffile.imwrite(tmp_path / "t.tif", np.zeros(shape, np.uint8), **kw)
    return str(tmp_path / "t.tif")


def _tiff_a(tmp_path):
    return _tiff(tmp_path, (2, 8, 8), metadata={"axes": "AYX"})


def _tiff_cs(tmp_path):
    return _tiff(tmp_path, (2, 8, 8, 3), photometric="rgb", metadata={"axes": "CYXS"})


def _ome_4_names(tmp_path):
    """An OME-Zarr image whose multiscales names 4 axes for 5-D arrays."""
    path = _pyramid(tmp_path)
    g = zarr.open_group(path, mode="r+")
    ms = g.attrs["multiscales"]
    ms[0]["axes"] = ms[0]["axes"][1:]
    g.attrs["multiscales"] = ms
    return path


def _ome_missing_level(tmp_path):
    import shutil

    path = _pyramid(tmp_path)
    shutil.rmtree(os.path.join(path, "s1"))
    return path


def _dims(tmp_path, names):
    z = zarr.create_array(tmp_path / "d.zarr", shape=(2, 8, 8), chunks=(1, 8, 8), dtype="u1",
                          dimension_names=names)  # fmt: skip
    z[:] = 1
    return str(tmp_path / "d.zarr")


def _h5_text(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("names", data=np.array([b"a", b"b"]))
    return f"{path}:/names"


def _xarray(tmp_path, dims):
    import xarray as xr

    return xr.DataArray(np.zeros((2, 8, 8), np.uint8), dims=dims)


RAW = {"raw_shape": (8, 8, 3), "raw_dtype": "uint8"}
VOL = {"raw_shape": (4, 8, 8), "raw_dtype": "uint8"}

ERRORS = [
    # HDF5: no dataset, a group, a missing dataset, not HDF5, labels that name nothing known
    (_h5, {}, InvalidParameterError,
     r"dataset must name a dataset of the HDF5 file '.*f\.h5'; got None; it holds '/grp/vol' "
     r"\(3, 4, 5\) uint8, '/odd' .*, '/rgb' \(8, 8, 3\) uint8\. Hint: pass '.*f\.h5:/grp/vol'"),
    (lambda p: _h5(p) + ":/grp", {}, InvalidParameterError,
     r"got the group '/grp'; it holds '/grp/vol' \(3, 4, 5\) uint8\.$"),
    (lambda p: _h5(p) + ":/nope", {}, InputNotFoundError, r"has no dataset '/nope'; it holds"),
    (lambda p: _h5(p) + ":/odd", {}, InputError,
     r"axes must be given for '.*f\.h5:/odd': its DIMENSION_LABELS \['plane', 'y', 'x'\] do not "
     r"name each axis once as one of t, c, z, y, x\. Hint: pass --axes"),
    (lambda p: _h5(p) + ":/rgb", {}, InputError, r"its last axis has 3 entries.*--axes yxc"),
    (lambda p: _write(p / "x.h5", b"nope") + ":/a", {}, InputError,
     r"x\.h5' could not be read as an HDF5 file"),
    (lambda p: str(p / "missing.h5"), {}, InputNotFoundError, r"HDF5 file .* does not exist"),
    # Zarr: a group without an array, a path inside that does not exist, levels
    (_group, {}, InvalidParameterError,
     r"dataset must name an array of the Zarr group '.*g\.zarr'.*got None; it holds "
     r"'labels/0', 'raw'\. Hint: pass '.*g\.zarr/labels/0' or dataset='labels/0'\."),
    (_group, {"level": 0}, InvalidParameterError, r"so level= alone cannot pick one"),
    (lambda p: _group(p) + "/rwa", {}, InputNotFoundError,
     r"zarr store '.*g\.zarr' has no array or group at 'rwa'; it holds 'labels/0', 'raw'\."),
    (_group, {"dataset": "labels"}, InvalidParameterError,
     r"dataset must name an array of the Zarr group '.*labels'"),
    (_pyramid, {"level": 2}, InvalidParameterError,
     r"level must be an index from 0 to 1 or a dataset path of the multiscale image .*; got 2\. "
     r"Its levels are 0: 's0' \(2, 3, 4, 16, 12\), 1: 's1' \(2, 3, 4, 8, 6\)\."),
    (lambda p: _pyramid(p) + "/s1", {"level": 0}, InvalidParameterError,
     r"level must be left out for .*s1', which is level 1 \('s1'\) of its multiscale image"),
    (lambda p: _zarr_plain(p, (8, 8)), {"level": 1}, InvalidParameterError,
     r"level must be left out for .*p\.zarr': it is a single array"),
    (lambda p: _zarr_plain(p), {}, InputError, r"'.*p\.zarr' \(shape \(8, 8, 4\)\): its last axis "
     r"has 4 entries"),
    (lambda p: _zarr_plain(p, (8, 8), dimension_names=("row", "x")), {}, InputError,
     r"dimension_names \['row', 'x'\] do not name each axis once as one of t, c, z, y, x"),
    # axes that do not fit
    (_vol_raw, {**VOL, "axes": "yx"}, InvalidParameterError,
     r"axes must have one letter per axis of '.*v\.raw' \(shape \(4, 8, 8\)\), which has 3; got "
     r"'yx' \(2 letters\)\."),
    (_vol_raw, {**VOL, "axes": "zqx"}, InvalidParameterError,
     r"axes must be letters from 't', 'c', 'z', 'y', 'x'; got 'zqx' \('q' is not one\)"),
    (_vol_raw, {**VOL, "axes": "zyy"}, InvalidParameterError,
     r"axes must name each axis once; got 'zyy' \('y' twice\)"),
    (_vol_raw, {**VOL, "axes": 3}, InvalidParameterError, r"axes must be a string of axis"),
    (_ome, {"axes": "tczy"}, InvalidParameterError, r"which has 5; got 'tczy' \(4 letters\)"),
    # scale, unit and channel names that do not fit
    (_vol_raw, {**VOL, "axes": "cyx", "scale": [2.0, 0.5, 0.5]}, InvalidParameterError,
     r"scale must have one value per spatial axis \(2: y, x\); got \[2\.0, 0\.5, 0\.5\] for "
     r"'.*v\.raw' \(shape \(4, 8, 8\)\), axes 'cyx'\. Hint: scale is given per spatial axis"),
    (_vol_raw, {**VOL, "scale": [1, -2, 1]}, InvalidParameterError,
     r"scale must be positive numbers; got -2"),
    (_vol_raw, {**VOL, "scale": "big"}, InvalidParameterError, r"scale must have one value"),
    (_vol_raw, {**VOL, "unit": "parsecs"}, InvalidParameterError,
     r"unit must be a length unit such as 'micrometer'.*; got 'parsecs'"),
    (_vol_raw, {**VOL, "unit": ["um", "um"]}, InvalidParameterError,
     r"unit must be one unit name or one per spatial axis \(3: z, y, x\)"),
    (_ome, {"channel_names": ["a"]}, InvalidParameterError,
     r"channel_names must have one name per channel \(3\); got \['a'\] \(1\) for '.*cells\.ome"),
    (_ome, {"channel_names": ["a", "a", "b"]}, InvalidParameterError,
     r"channel_names must be distinct"),
    (_vol_raw, {**VOL, "channel_names": ["a"]}, InvalidParameterError,
     r"channel_names needs a channel axis, but '.*v\.raw' \(shape \(4, 8, 8\)\) has axes 'zyx'"),
    # input that says nothing where every axis spatial is a guess
    (_raw, RAW, InputError,
     r"axes must be given for '.*v\.raw' \(shape \(8, 8, 3\)\): its last axis has 3 entries, "
     r"which may be colour channels or a 3-D volume, and the file does not say\. Hint: pass "
     r"--axes \(axes=\.\.\.\), e\.g\. --axes yxc for channels or --axes zyx for a volume\."),
    (_npy4, {}, InputError, r"it has 4 axes and says nothing about them .* --axes czyx"),
    (lambda p: np.zeros((5, 6, 4)), {}, InputError, r"the array \(shape \(5, 6, 4\)\): its last"),
    # options that do not apply
    (_png, {"dataset": "x"}, InvalidParameterError, r"dataset must be left out for '.*a\.png'"),
    (_png, {"level": 1}, InvalidParameterError, r"level must be left out for '.*a\.png'"),
    (_ome, {"dataset": 3}, InvalidParameterError,
     r"series \(dataset\) must be an index from 0 to 0; got 3 for '.*', which has series 0: "
     r"\(2, 3, 4, 12, 10\) TCZYX\."),
    (_ome, {"level": 1}, InvalidParameterError, r"level must be an index from 0 to 0"),
    (_vol_raw, {**VOL, "as_gray": True}, InvalidParameterError, r"as_gray must be False for"),
    (lambda p: np.zeros((4, 5)), {"level": 0}, InvalidParameterError,
     r"level must be left out for an in-memory array"),
    (_vol_raw, {"raw_dtype": "uint8"}, InvalidParameterError,
     r"a raw input needs its shape and dtype; got shape=None"),
    (_vol_raw, {"raw_shape": "4,8,x", "raw_dtype": "u1"}, InvalidParameterError,
     r"raw_shape must be comma-separated integers"),
    (_vol_raw, {"raw_shape": (4, 8, 9), "raw_dtype": "u1"}, InputError,
     r"has 256 bytes, but shape \(4, 8, 9\) of uint8 at offset 0 needs 288"),
    (lambda p: _write(p / "o.npy", b"\x93NUMPYxx"), {}, InputError,
     r"o\.npy' could not be read as a \.npy file"),
    # more: bad values, unreadable or odd files, options given twice
    (_vol_raw, {**VOL, "scale": [1, "x", 1]}, InvalidParameterError,
     r"scale must be positive numbers; got 'x'"),
    (_vol_raw, {**VOL, "axes": "cyx", "channel_names": "abc"}, InvalidParameterError,
     r"channel_names must be a list of names; got 'abc'"),
    (lambda p: _write(p / "bad.tif", b"II*\x00garbage"), {}, InputError,
     r"bad\.tif' could not be read as a TIFF file"),
    (_tiff_a, {}, InputError,
     r"axes must be given for '.*t\.tif': its axes are 'AYX', and 'A' is not one of T, C, Z, Y, X"),
    (_tiff_cs, {}, InputError, r"its axes 'CYXS' have two channel axes \(C and S\)"),
    (lambda p: _mkdir(p / "empty.zarr"), {},
     InputError, r"empty\.zarr' must be a Zarr store \(an array or a group\)"),
    (_ome_missing_level, {"level": 1}, InputError,
     r"the multiscale image '.*' names level 's1', but it holds no array there"),
    (_ome_4_names, {}, InputError,
     r"has 5 axes, but its multiscales metadata names 4 \(\['c', 'z', 'y', 'x'\]\)"),
    (lambda p: _dims(p, ("c", "c", "x")), {}, InputError, r"do not name each axis once"),
    (_h5_text, {}, InputError, r"s\.h5:/names must be a numeric array of at least one axis"),
    (lambda p: _h5(p) + ":/rgb", {"dataset": "/grp/vol"}, InvalidParameterError,
     r"dataset must be given once; got '.*f\.h5:/rgb' and dataset='/grp/vol'"),
    (lambda p: str(p / "none.npy"), {}, InputNotFoundError, r"npy file '.*none\.npy' does not"),
    (lambda p: _xarray(p, ("row", "y", "x")), {}, InputError,
     r"the DataArray \(dims \('row', 'y', 'x'\), shape \(2, 8, 8\)\): its dims"),
    # URLs
    (lambda p: "s3://bucket/img.zarr", {}, InputError,
     r"input must be a local path; got the URL 's3://bucket/img\.zarr'.*--allow-remote"),
    (lambda p: "https://example.org/a.tif", {"allow_remote": True}, InputError,
     r"input must be a Zarr store to be read from a URL; got 'https://example\.org/a\.tif'"),
    # tiff axes tifffile cannot name for us
    (lambda p: tifffile.imwrite(p / "q.tif", np.zeros((2, 3, 8, 8), np.uint8),
                               photometric="minisblack") or str(
        p / "q.tif"), {}, InputError, r"it has 4 axes and says nothing about them"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "kw", "error", "match"), ERRORS)
def test_bad_input_gets_a_one_line_error(tmp_path, make, kw, error, match):
    source = make(tmp_path)
    with pytest.raises(error, match=match) as info:
        open_input(source, **kw)
    assert "\n" not in str(info.value)


CHANNEL_ERRORS = [
    (Axes.from_stored("zyx"), "dapi", None, r"no channel axis \(axes 'zyx'\); got 'dapi'"),
    (Axes.from_stored("cyx", channel_names=["DAPI", "GFP"]), "dapi", None,
     r"channel must be one of 'DAPI', 'GFP' or an index from 0 to 1; got 'dapi'\."),
    (Axes.from_stored("cyx", channel_names=["DAPI", "GFP"]), 2, None,
     r"channel must be a channel name or an index from 0 to 1; got 2\."),
    (Axes.from_stored("cyx"), "x", 3, r"an index from 0 to 2 \(no channel names\); got 'x'"),
    (Axes.from_stored("cyx"), True, 3, r"got True"),
    (Axes.from_stored("cyx"), -1, 3, r"got -1"),
]  # fmt: skip


@pytest.mark.parametrize(("axes", "channel", "n", "match"), CHANNEL_ERRORS)
def test_channel_index_errors(axes, channel, n, match):
    with pytest.raises(InvalidParameterError, match=match):
        axes.channel_index(channel, n)


def test_axes_helpers():
    ax = Axes.from_stored("zyxc", {"z": 2.0, "y": 0.5, "x": 0.5}, {"z": "um", "y": "µm"},
                          ["r", "g", "b"], "user")  # fmt: skip
    assert ax.names == "czyx" and ax.stored == "zyxc" and ax.transpose == (3, 0, 1, 2)
    assert ax.spatial == "zyx" and ax.batch == "c" and ax.channel_axis == 0
    assert ax.spatial_indices == (1, 2, 3) and ax.spatial_scale == (2.0, 0.5, 0.5)
    assert ax.spatial_units == (UM, UM, None)
    assert ax.channel_index("g") == 1 and ax.channel_index(2) == 2 and ax.index("z") == 1
    gray = ax.drop("c")
    assert gray.names == "zyx" and gray.stored == "zyx" and gray.channel_names is None
    assert [normalize_unit(u) for u in ("um", "μm", "NM", "pixel", None, "furlong")] == [
        UM, UM, "nanometer", None, None, "furlong"]  # fmt: skip
    with pytest.raises(InvalidParameterError, match=r"names must be distinct letters of 'tczyx' "):
        Axes("yxc", (1, 1, 1), (None,) * 3)
    with pytest.raises(InvalidParameterError, match=r"scale and units must have one entry per"):
        Axes("yx", (1,), (None, None))
    with pytest.raises(InvalidParameterError, match=r"channel_names needs a 'c' axis"):
        Axes("yx", (1, 1), (None, None), ("a",))
    with pytest.raises(InvalidParameterError, match=r"stored must hold the letters of names"):
        Axes("yx", (1, 1), (None, None), stored="zx")
    with pytest.raises(InvalidParameterError, match=r"ndim must be 1, 2 or 3"):
        Axes.default(4)
    with pytest.raises(InvalidParameterError, match=r"axis must be one of \('c', 'z'"):
        ax.index("t")


RESCUED = [
    # (maker, what the file says that batchimg refuses, axes that open it, expected names)
    (_tiff_a, "zyx", "zyx"),
    (_tiff_cs, "zyxc", "czyx"),
    (_ome_4_names, "ctzyx", "tczyx"),
    (lambda p: _dims(p, ("row", "y", "x")), "cyx", "cyx"),
    (lambda p: _h5(p) + ":/odd", "tyx", "tyx"),
    (lambda p: _xarray(p, ("row", "y", "x")), "zyx", "zyx"),
    (lambda p: _raw(p), "yxc", "cyx"),
]


@pytest.mark.parametrize(("make", "axes", "names"), RESCUED)
def test_the_user_can_always_name_the_axes(tmp_path, make, axes, names):
    source = make(tmp_path)
    kw = RAW if isinstance(source, str) and source.endswith(".raw") else {}
    x = open_input(source, axes=axes, **kw)
    assert x.axes.names == names and x.axes.origin == "user" and x.axes.stored == axes


def test_a_tiff_series_other_than_the_first(tmp_path):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.arange(4 * 6 * 5, dtype=np.uint8).reshape(4, 6, 5), photometric="minisblack")
        tw.write(np.arange(30, dtype=np.uint16).reshape(6, 5), photometric="minisblack")
    first = open_input(path)
    assert first.kind == "volume" and first.axes.names == "zyx"
    second = open_input(path, dataset=1)
    assert second.kind == "collection" and second.axes.names == "yx"
    assert second.description["series"] == 1
    assert_same(second.data, tifffile.imread(path, series=1)[None])
    os.remove(path)
    with pytest.raises(InputNotFoundError, match=r"image file '.*two\.tif' does not exist"):
        second.image_reader(str(path))


def test_region_keys_are_ints_and_slices():
    r = Transposed(np.arange(24).reshape(2, 3, 4), (2, 0, 1))
    np.testing.assert_array_equal(
        r[..., 1], np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1)[..., 1]
    )
    with pytest.raises(TypeError, match=r"a region must be ints and slices, one per axis"):
        r[[0, 1]]
    with pytest.raises(IndexError, match=r"a region must have at most 3 entries"):
        r[0, 0, 0, 0]
    with pytest.raises(IndexError, match=r"index 4 is out of bounds for axis 0 of \(4, 2, 3\)"):
        r[4]
