"""Readers and writers: contents equal the decoded files exactly, graphs stay lazy and small."""

from __future__ import annotations

import os
import pickle

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pandas as pd
import PIL.Image
import pytest
import tifffile
import zarr
from helpers import assert_same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchimg.errors import InputError, InputNotFoundError, InvalidParameterError
from batchimg.io import (
    ImageStack,
    RawFile,
    images,
    natural_sort_key,
    open_images,
    open_raw,
    open_zarr,
    read_header,
    read_image,
    read_table,
    write_table,
    write_table_parts,
)

# --------------------------------------------------------------------------- helpers


def rng():
    return np.random.default_rng(1234)


def write_pngs(folder, n, shape=(6, 7), dtype=np.uint8, stem="img"):
    """Write ``n`` random PNGs named stem0..stem{n-1}; return their arrays by name."""
    folder.mkdir(parents=True, exist_ok=True)
    g = rng()
    out = {}
    for i in range(n):
        a = g.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
        path = str(folder / f"{stem}{i}.png")
        iio.imwrite(path, a)
        out[path] = a
    return out


def graph_nbytes(x) -> int:
    return len(pickle.dumps(dict(x.__dask_graph__())))


def forbid_pixel_reads(monkeypatch):
    """Make every pixel-decoding entry point fail; headers stay readable."""

    def fail(*args, **kwargs):
        raise AssertionError("pixels were read while building the graph")

    monkeypatch.setattr(images, "read_image", fail)
    monkeypatch.setattr(iio, "imread", fail)
    monkeypatch.setattr(tifffile, "imread", fail)
    monkeypatch.setattr(tifffile.TiffFile, "asarray", fail)
    monkeypatch.setattr(PIL.Image.Image, "load", fail)


# --------------------------------------------------------------------------- images


def test_natural_sort_key_orders_numbers_by_value():
    names = ["img10.png", "img2.png", "img1.png", "IMG3.png", "img2b.png", "a/img20.png"]
    assert sorted(names, key=natural_sort_key) == [
        "a/img20.png",
        "img1.png",
        "img2.png",
        "img2b.png",
        "IMG3.png",
        "img10.png",
    ]


@pytest.mark.parametrize("images_per_chunk", [1, 3, 12, "auto"])
def test_directory_stack_equals_decoded_files_in_natural_order(tmp_path, images_per_chunk):
    arrays = write_pngs(tmp_path, 12)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    stack = open_images(tmp_path, images_per_chunk=images_per_chunk)
    expected_paths = [str(tmp_path / f"img{i}.png") for i in range(12)]
    assert stack.paths == expected_paths
    assert len(stack) == 12
    data, paths = stack
    assert paths == expected_paths
    per = 12 if images_per_chunk == "auto" else images_per_chunk
    assert data.chunks[0][0] == per and data.chunks[1:] == ((6,), (7,))
    assert_same(data, np.stack([arrays[p] for p in expected_paths]))
    assert_same(data, np.stack([iio.imread(p) for p in expected_paths]))


def test_glob_and_list_sources(tmp_path):
    arrays = write_pngs(tmp_path / "a", 3)
    arrays |= write_pngs(tmp_path / "b", 2, stem="x")
    stack = open_images(str(tmp_path / "*" / "*.png"))
    assert [os.path.relpath(p, tmp_path) for p in stack.paths] == [
        os.path.join("a", "img0.png"),
        os.path.join("a", "img1.png"),
        os.path.join("a", "img2.png"),
        os.path.join("b", "x0.png"),
        os.path.join("b", "x1.png"),
    ]
    # a list keeps the caller's order; a single file is a stack of one
    chosen = [tmp_path / "b" / "x1.png", str(tmp_path / "a" / "img0.png")]
    listed = open_images(chosen)
    assert listed.paths == [str(p) for p in chosen]
    assert_same(listed.data, np.stack([arrays[str(p)] for p in chosen]))
    assert open_images(chosen[0]).shape == (1, 6, 7)


def test_auto_chunks_pack_a_few_megabytes(tmp_path):
    write_pngs(tmp_path, 3, shape=(2, 3))
    assert open_images(tmp_path).data.numblocks == (1, 1, 1)
    per = images._chunks_along_images(10_000, 512 * 512, "auto")
    assert per[0] == images.AUTO_CHUNK_BYTES // (512 * 512) and sum(per) == 10_000
    assert images._chunks_along_images(5, 100 * 2**20, "auto") == (1,) * 5


def test_building_the_graph_reads_headers_only(tmp_path, monkeypatch):
    write_pngs(tmp_path, 300, shape=(4, 5))
    tifffile.imwrite(tmp_path / "t.tif", np.zeros((4, 5), np.uint8))
    forbid_pixel_reads(monkeypatch)
    stack = open_images(tmp_path / "*.png", images_per_chunk=7)
    assert stack.shape == (300, 4, 5) and stack.data.numblocks == (43, 1, 1)
    assert len(open_images(tmp_path / "t.tif")) == 1
    # the graph holds the recipe: one small object for all 300 paths, no pixels
    assert graph_nbytes(stack.data) < 64 * 1024
    # and the same call gives the same graph name
    assert open_images(tmp_path / "*.png", images_per_chunk=7).data.name == stack.data.name
    with pytest.raises(AssertionError, match="pixels were read"):
        stack.data[0].compute()


def test_graph_names_follow_files_and_options(tmp_path):
    write_pngs(tmp_path, 4)
    name = open_images(tmp_path).data.name
    assert name.startswith("open_images-")
    assert open_images(tmp_path, images_per_chunk=2).data.name != name
    assert open_images(tmp_path, as_gray=True).data.name != name
    path = tmp_path / "img0.png"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert open_images(tmp_path).data.name != name


def test_tasks_read_each_file_once_through_read_image(tmp_path, monkeypatch):
    write_pngs(tmp_path, 5)
    calls = []

    def counting(path, *, as_gray=False):
        calls.append(path)
        return read_image(path, as_gray=as_gray)

    stack = open_images(tmp_path, images_per_chunk=2)
    monkeypatch.setattr(images, "read_image", counting)
    stack.data.compute()
    assert sorted(calls) == sorted(stack.paths)
    calls.clear()
    stack.data[3, 1:4].compute()
    assert calls == stack.paths[2:4]  # only the chunk holding image 3


def test_indexing_the_stack(tmp_path):
    arrays = write_pngs(tmp_path, 6)
    data, paths = open_images(tmp_path, images_per_chunk=4)
    whole = np.stack([arrays[p] for p in paths])
    assert_same(data[4], whole[4])
    assert_same(data[1:5:2, ::2, 3], whole[1:5:2, ::2, 3])
    assert_same(data[[5, 0, 3]], whole[[5, 0, 3]])
    assert_same(data[..., 1], whole[..., 1])
    np.testing.assert_array_equal(data[data > 100].compute(), whole[whole > 100], strict=True)


def _save_mode(path, mode, shape=(5, 6), **kwargs):
    g = rng()
    base = g.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    PIL.Image.fromarray(base, "RGB").convert(mode).save(path, **kwargs)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("gray.png", "L"),
        ("bilevel.png", "1"),
        ("gray_alpha.png", "LA"),
        ("palette.png", "P"),
        ("rgb.png", "RGB"),
        ("rgba.png", "RGBA"),
        ("gray.jpg", "L"),
        ("rgb.jpeg", "RGB"),
        ("cmyk.jpg", "CMYK"),
        ("rgb.bmp", "RGB"),
        ("gray.bmp", "L"),
        ("palette.bmp", "P"),
    ],
)
def test_header_predicts_the_decoded_image(tmp_path, name, mode):
    path = str(tmp_path / name)
    _save_mode(path, mode)
    decoded = iio.imread(path)
    assert read_header(path) == (decoded.shape, decoded.dtype)
    assert_same(read_image(path), decoded)
    assert_same(open_images([path]).data[0], decoded)


def test_sixteen_bit_png_and_tiff(tmp_path):
    g = rng()
    a = g.integers(0, 65535, size=(3, 9, 8), endpoint=True, dtype=np.uint16)
    pngs = [str(tmp_path / f"p{i}.png") for i in range(3)]
    for p, img in zip(pngs, a, strict=True):
        iio.imwrite(p, img)
    assert_same(open_images(pngs).data, a)
    assert_same(open_images(pngs).data, np.stack([iio.imread(p) for p in pngs]))

    tiffs = [str(tmp_path / f"t{i}.tif") for i in range(3)]
    for p, img in zip(tiffs, a, strict=True):
        tifffile.imwrite(p, img)
    assert_same(open_images(tmp_path / "*.tif").data, a)

    # float, RGB and multi-page TIFFs: the first series, as imageio decodes it
    f = g.standard_normal((2, 4, 5)).astype(np.float32)
    rgb = g.integers(0, 65535, size=(4, 5, 3), endpoint=True, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "f.tiff", f)
    tifffile.imwrite(tmp_path / "rgb.TIF", rgb, photometric="rgb")
    assert_same(open_images([tmp_path / "f.tiff"]).data[0], iio.imread(tmp_path / "f.tiff"))
    assert_same(open_images([tmp_path / "f.tiff"]).data[0], f)
    assert_same(open_images([tmp_path / "rgb.TIF"]).data[0], rgb)


def test_as_gray_matches_skimage(tmp_path):
    from skimage.color import rgb2gray, rgba2rgb
    from skimage.util import img_as_float

    g = rng()
    rgb = [g.integers(0, 256, size=(5, 6, 3), dtype=np.uint8) for _ in range(3)]
    paths = [str(tmp_path / f"c{i}.png") for i in range(3)]
    for p, img in zip(paths, rgb, strict=True):
        iio.imwrite(p, img)
    stack = open_images(paths, as_gray=True, images_per_chunk=2)
    assert stack.dtype == np.float64 and stack.shape == (3, 5, 6)
    assert_same(stack.data, np.stack([rgb2gray(iio.imread(p)) for p in paths]))

    rgba = g.integers(0, 256, size=(5, 6, 4), dtype=np.uint8)
    iio.imwrite(tmp_path / "a.png", rgba)
    gray = g.integers(0, 256, size=(5, 6), dtype=np.uint8)
    iio.imwrite(tmp_path / "g.png", gray)
    mixed = open_images([tmp_path / "a.png", tmp_path / "g.png", paths[0]], as_gray=True)
    assert_same(mixed.data[0], rgb2gray(rgba2rgb(iio.imread(tmp_path / "a.png"))))
    assert_same(mixed.data[1], img_as_float(gray))
    assert_same(mixed.data[2], rgb2gray(rgb[0]))

    _save_mode(tmp_path / "la.png", "LA")
    with pytest.raises(InputError, match=r"as_gray=True needs gray, RGB or RGBA.*la\.png"):
        open_images([tmp_path / "la.png"], as_gray=True)


def test_mixed_shapes_are_refused_naming_the_files(tmp_path):
    write_pngs(tmp_path, 6, shape=(6, 7))
    write_pngs(tmp_path, 2, shape=(3, 3), stem="small")
    write_pngs(tmp_path, 1, shape=(6, 7, 3), stem="z_rgb")
    write_pngs(tmp_path, 2, shape=(6, 7), dtype=np.uint16, stem="z_wide")
    first = str(tmp_path / "img0.png")
    with pytest.raises(
        InputError,
        match=(
            r"images must all have the shape and dtype of the first, "
            + repr(first).replace("\\", "\\\\").replace(".", r"\.")
            + r" \(\(6, 7\) uint8\); 5 of 11 files differ: '[^']*small0\.png' has \(3, 3\) "
            r"uint8, '[^']*small1\.png' has \(3, 3\) uint8, '[^']*z_rgb0\.png' has "
            r"\(6, 7, 3\) uint8 and 2 more\. Hint: group_by_shape=True"
        ),
    ):
        open_images(tmp_path)


def test_group_by_shape(tmp_path):
    a = write_pngs(tmp_path, 3, shape=(6, 7))
    b = write_pngs(tmp_path, 2, shape=(3, 3), stem="small")
    c = write_pngs(tmp_path, 2, shape=(6, 7), dtype=np.uint16, stem="wide")
    groups = open_images(tmp_path, group_by_shape=True)
    assert list(groups) == [
        ((6, 7), np.dtype(np.uint8)),
        ((3, 3), np.dtype(np.uint8)),
        ((6, 7), np.dtype(np.uint16)),
    ]
    for stack, arrays in zip(groups.values(), (a, b, c), strict=True):
        assert isinstance(stack, ImageStack)
        assert stack.paths == list(arrays)
        assert_same(stack.data, np.stack(list(arrays.values())))
    # one shape gives a dict of one
    assert len(open_images(tmp_path / "img*.png", group_by_shape=True)) == 1


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(InputNotFoundError, match=r"image source '.*nowhere' does not exist"):
        open_images(tmp_path / "nowhere")
    with pytest.raises(InputNotFoundError, match=r"directory '.*' holds no image files"):
        open_images(tmp_path)
    with pytest.raises(InputNotFoundError, match=r"glob pattern '.*\*\.png' matches no files"):
        open_images(str(tmp_path / "*.png"))
    write_pngs(tmp_path, 2)
    with pytest.raises(InputNotFoundError, match=r"image files '.*gone0\.png', '.*gone1\.png'"):
        open_images([tmp_path / "img0.png", tmp_path / "gone0.png", tmp_path / "gone1.png"])
    with pytest.raises(InputNotFoundError, match=r"empty list"):
        open_images([])
    with pytest.raises(InputNotFoundError, match=r"image file '.*gone\.png' does not exist"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(InvalidParameterError, match=r"source must be a directory.*got 42"):
        open_images(42)
    with pytest.raises(InvalidParameterError, match=r"images_per_chunk must be 'auto' or a"):
        open_images(tmp_path, images_per_chunk=0)
    with pytest.raises(InvalidParameterError, match=r"images_per_chunk .*got 'big'"):
        open_images(tmp_path, images_per_chunk="big")


def test_corrupt_files_are_named(tmp_path):
    write_pngs(tmp_path, 2)
    (tmp_path / "img5.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(InputError, match=r"'.*img5\.png' could not be read as an image"):
        open_images(tmp_path)
    (tmp_path / "img5.png").unlink()
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError, match=r"'.*bad\.tif' could not be read as an image"):
        open_images(tmp_path / "bad.tif")


def test_a_file_changed_after_opening_is_reported(tmp_path):
    write_pngs(tmp_path, 3)
    stack = open_images(tmp_path)
    iio.imwrite(tmp_path / "img1.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(InputError, match=r"'.*img1\.png' decoded to shape \(2, 2\) of uint8, but"):
        stack.data.compute()


# --------------------------------------------------------------------------- raw


@pytest.fixture
def raw_volume(tmp_path):
    vol = rng().integers(0, 65535, size=(10, 12, 14), endpoint=True).astype(">u2")
    header = b"HEAD" * 4
    path = tmp_path / "vol.raw"
    path.write_bytes(header + vol.tobytes(order="C"))
    return path, vol, len(header)


@pytest.mark.parametrize(
    "chunks", ["auto", (10, 12, 14), (5, 6, 7), (3, 5, 4), (1, 12, 14), ((2, 8), (12,), (1, 13))]
)
def test_raw_equals_fromfile(raw_volume, chunks):
    path, vol, offset = raw_volume
    x = open_raw(path, shape=(10, 12, 14), dtype=">u2", offset=offset, chunks=chunks)
    expected = np.fromfile(path, dtype=">u2", offset=offset).reshape(10, 12, 14)
    assert_same(x, expected)
    assert_same(x, vol)
    assert_same(x[3, 2:9, ::3], vol[3, 2:9, ::3])


@pytest.mark.parametrize("dtype", ["uint8", "<i4", ">f8", "float32"])
def test_raw_fortran_order_and_dtypes(tmp_path, dtype):
    vol = (rng().standard_normal((7, 5, 6)) * 100).astype(dtype)
    path = tmp_path / "f.raw"
    path.write_bytes(vol.tobytes(order="F"))
    x = open_raw(str(path), shape=vol.shape, dtype=dtype, order="F", chunks=(3, 2, 4))
    expected = np.fromfile(path, dtype=dtype).reshape(vol.shape, order="F")
    assert_same(x, np.ascontiguousarray(expected))
    assert_same(x, vol)
    block = x.blocks[1, 1, 0].compute()
    assert block.flags.c_contiguous and block.flags.owndata and type(block) is np.ndarray
    one_d = open_raw(path, shape=vol.size, dtype=dtype, chunks=50)
    assert_same(one_d, vol.ravel(order="F"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_raw_reads_equal_numpy_for_any_window(tmp_path, monkeypatch, data):
    # every layout, dtype, window and run threshold (widened rows, direct runs, one
    # element); the reads never memory-map the file
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple))
    dtype = data.draw(st.sampled_from(["uint8", ">u2", "<f8"]))
    order = data.draw(st.sampled_from("CF"))
    vol = (np.arange(np.prod(shape)).reshape(shape) * 7 % 251).astype(dtype)
    path = tmp_path / "v.raw"
    path.write_bytes(b"HEAD" + vol.tobytes(order=order))
    runs = (
        data.draw(st.sampled_from([1, 16, 1 << 16])),
        data.draw(st.sampled_from([1, 64, 1 << 20])),
    )
    key = []
    for n in shape:
        if data.draw(st.booleans()):
            key.append(data.draw(st.integers(-n, n - 1)))
        else:
            key.append(slice(data.draw(st.integers(0, n)), data.draw(st.integers(0, n))))
    key = tuple(key)
    stored = RawFile(str(path), shape, np.dtype(dtype), 4, order)
    with monkeypatch.context() as m:
        m.setattr("batchimg.io.raw._MIN_RUN", runs[0])
        m.setattr("batchimg.io.raw._MAX_RUN", runs[1])
        if not all(isinstance(k, int) for k in key):
            m.setattr("numpy.memmap", None)
        got = stored[key]
    np.testing.assert_array_equal(got, vol[key], strict=True)
    assert got.flags.c_contiguous


def test_raw_file_cut_short_while_read_says_so(raw_volume, tmp_path):
    path, _, offset = raw_volume
    x = open_raw(path, shape=(10, 12, 14), dtype=">u2", offset=offset, chunks=(5, 12, 14))
    with open(path, "r+b") as f:
        f.truncate(offset + 5 * 12 * 14 * 2 + 100)
    assert_same(x[:5], np.fromfile(path, ">u2", 5 * 12 * 14, offset=offset).reshape(5, 12, 14))
    with pytest.raises(InputError, match=r"^'.*vol\.raw' ended at byte 1796, inside the volume"):
        x[5:].compute()


def test_raw_size_mismatch_message(tmp_path, monkeypatch):
    path = tmp_path / "vol.raw"
    path.write_bytes(b"\0" * 1999998)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        InputError,
        match=r"^'vol\.raw' has 1999998 bytes, but shape \(100, 100, 100\) of uint16 at "
        r"offset 0 needs 2000000\.$",
    ):
        open_raw("vol.raw", shape=(100, 100, 100), dtype="uint16")
    with pytest.raises(InputError, match=r"has 1999998 bytes, but shape \(10,\) of >u2 at offset"):
        open_raw("vol.raw", shape=10, dtype=">u2", offset=4)


def test_raw_bad_parameters(raw_volume, tmp_path):
    path, _, offset = raw_volume
    with pytest.raises(InputNotFoundError, match=r"raw file '.*missing\.raw' does not exist"):
        open_raw(tmp_path / "missing.raw", shape=(2,), dtype="u1")
    with pytest.raises(InputError, match=r"must be a file holding a raw volume"):
        open_raw(tmp_path, shape=(2,), dtype="u1")
    with pytest.raises(InvalidParameterError, match=r"offset must be >= 0; got -4"):
        open_raw(path, shape=(10, 12, 14), dtype=">u2", offset=-4)
    with pytest.raises(InvalidParameterError, match=r"shape must be >= 1.*got \(10, 0, 14\)"):
        open_raw(path, shape=(10, 0, 14), dtype=">u2")
    with pytest.raises(InvalidParameterError, match=r"shape must be whole numbers"):
        open_raw(path, shape=(10, 12.5, 14), dtype=">u2")
    with pytest.raises(InvalidParameterError, match=r"shape must be a non-empty tuple"):
        open_raw(path, shape=(), dtype=">u2")
    with pytest.raises(InvalidParameterError, match=r"dtype must be a numpy dtype"):
        open_raw(path, shape=(10, 12, 14), dtype="not-a-dtype")
    with pytest.raises(InvalidParameterError, match=r"dtype must be a fixed-size numeric"):
        open_raw(path, shape=(10, 12, 14), dtype=object)
    with pytest.raises(InvalidParameterError, match=r"order must be one of 'C', 'F'; got 'K'"):
        open_raw(path, shape=(10, 12, 14), dtype=">u2", offset=offset, order="K")
    with pytest.raises(InvalidParameterError, match=r"chunks must be dask chunks"):
        open_raw(path, shape=(10, 12, 14), dtype=">u2", offset=offset, chunks=((3, 3), 12, 14))


def test_raw_graph_of_a_gibibyte_stays_tiny(tmp_path):
    path = tmp_path / "big.raw"
    shape = (1024, 1024, 512)  # 1 GiB of uint16, a sparse file
    with open(path, "wb") as f:
        f.truncate(2 * 1024 * 1024 * 512)
    x = open_raw(path, shape=shape, dtype="uint16", chunks=(64, 256, 256))
    assert x.npartitions == 16 * 4 * 2
    assert graph_nbytes(x) < 64 * 1024
    for _, value in x.__dask_graph__().items():
        assert not isinstance(value, np.ndarray)
    assert_same(x[1000, 5:9, 500:503], np.zeros((4, 3), np.uint16))


def test_raw_graph_names_are_deterministic(raw_volume):
    path, _, offset = raw_volume
    kw = {"shape": (10, 12, 14), "dtype": ">u2", "offset": offset}
    name = open_raw(path, **kw).name
    assert name.startswith("open_raw-")
    assert open_raw(str(path), **kw).name == name
    assert open_raw(path, **kw, chunks=(5, 6, 7)).name != name
    assert open_raw(path, **kw, order="F").name != name
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert open_raw(path, **kw).name != name


# --------------------------------------------------------------------------- zarr


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_round_trip_with_storage_chunks(tmp_path, zarr_format):
    vol = rng().integers(0, 1000, size=(20, 30, 25)).astype(np.uint16)
    z = zarr.create_array(
        tmp_path / "v.zarr",
        shape=vol.shape,
        chunks=(7, 10, 25),
        dtype="u2",
        zarr_format=zarr_format,
    )
    z[:] = vol
    x = open_zarr(tmp_path / "v.zarr")
    assert x.chunks == ((7, 7, 6), (10, 10, 10), (25,))
    assert_same(x, vol)
    assert_same(x, zarr.open_array(tmp_path / "v.zarr", mode="r")[...])
    assert graph_nbytes(x) < 64 * 1024
    assert open_zarr(str(tmp_path / "v.zarr")).name == x.name


def test_zarr_graph_holds_no_data(tmp_path):
    z = zarr.create_array(
        tmp_path / "big.zarr", shape=(256, 256, 128), chunks=(64, 128, 128), dtype="u2"
    )
    z[:64] = 7  # 4 MiB written, the rest is fill value
    x = open_zarr(tmp_path / "big.zarr")
    assert graph_nbytes(x) < 64 * 1024
    assert_same(x[60:70, 0, :2], np.array([[7, 7]] * 4 + [[0, 0]] * 6, dtype=np.uint16))


def test_zarr_sharded_arrays_chunk_by_shard(tmp_path):
    vol = rng().standard_normal((40, 40)).astype(np.float32)
    z = zarr.create_array(
        tmp_path / "s.zarr", shape=vol.shape, chunks=(5, 5), shards=(20, 40), dtype="f4"
    )
    z[:] = vol
    x = open_zarr(tmp_path / "s.zarr")
    assert x.chunks == ((20, 20), (40,))
    assert_same(x, vol)


def test_zarr_groups_and_errors(tmp_path):
    g = zarr.open_group(tmp_path / "g.zarr", mode="w")
    raw = g.create_array("raw", shape=(6, 8), chunks=(3, 4), dtype="i4")
    raw[:] = np.arange(48, dtype=np.int32).reshape(6, 8)
    g.create_group("labels").create_array("0", shape=(4,), chunks=(2,), dtype="u4")
    assert_same(open_zarr(tmp_path / "g.zarr", "raw"), np.arange(48, dtype=np.int32).reshape(6, 8))
    assert open_zarr(tmp_path / "g.zarr", component="labels/0").shape == (4,)

    with pytest.raises(InputNotFoundError, match=r"zarr store '.*nothere\.zarr' does not exist"):
        open_zarr(tmp_path / "nothere.zarr")
    with pytest.raises(
        InputNotFoundError, match=r"has no such array at 'rwa'; it holds 'labels/0', 'raw'\.$"
    ):
        open_zarr(tmp_path / "g.zarr", "rwa")
    with pytest.raises(InputNotFoundError, match=r"has a group, not an array at 'labels'"):
        open_zarr(tmp_path / "g.zarr", "labels")
    with pytest.raises(
        InvalidParameterError, match=r"component must name an array of the group .*got None"
    ):
        open_zarr(tmp_path / "g.zarr")
    zarr.create_array(tmp_path / "a.zarr", shape=(2,), chunks=(2,), dtype="u1")
    with pytest.raises(InputNotFoundError, match=r"is a single array, with no component 'x'"):
        open_zarr(tmp_path / "a.zarr", "x")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match=r"'.*plain' must be a Zarr store"):
        open_zarr(tmp_path / "plain")


# --------------------------------------------------------------------------- tables


@pytest.fixture
def table():
    g = rng()
    return pd.DataFrame(
        {
            "label": np.arange(1, 8, dtype=np.int64),
            "area": g.integers(1, 500, size=7),
            "centroid-0": g.standard_normal(7) * 1e3,
            "intensity_mean": g.random(7) / 3,
            "name": [f"cell{i}" for i in range(7)],
        }
    )


@pytest.mark.parametrize("name", ["cells.csv", "cells.parquet", "deep/er/cells.csv.gz"])
def test_table_round_trip(tmp_path, table, name):
    path = tmp_path / name
    assert write_table(table, path) == str(path)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, table, check_exact=True, check_dtype=False)
    for col in ("centroid-0", "intensity_mean"):
        np.testing.assert_array_equal(back[col].to_numpy(), table[col].to_numpy())
    assert os.listdir(path.parent) == [name.rsplit("/", 1)[-1]]
    assert write_table(table.to_dict(orient="list"), path) == str(path)
    pd.testing.assert_frame_equal(read_table(path), back)


@pytest.mark.parametrize("name", ["cells.csv", "cells.parquet", "cells.csv.gz", "cells.csv.bz2"])
def test_table_written_in_parts_equals_the_whole(tmp_path, table, name):
    # parts of 3, 0, 4 rows: appended CSV under one header, Parquet row groups
    path = tmp_path / name
    parts = [table.iloc[:3], table.iloc[3:3], table.iloc[3:]]
    assert write_table_parts(iter(parts), path) == (str(path), len(table))
    pd.testing.assert_frame_equal(read_table(path), table, check_exact=True, check_dtype=False)
    assert os.listdir(tmp_path) == [name]


def test_table_parts_stopped_midway_leave_no_file(tmp_path, table):
    def parts():
        yield table.iloc[:3]
        raise KeyboardInterrupt

    for name in ("cells.csv", "cells.parquet"):
        with pytest.raises(KeyboardInterrupt):
            write_table_parts(parts(), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_interrupted_write_leaves_the_old_file(tmp_path, table, monkeypatch):
    path = tmp_path / "cells.csv"
    write_table(table.iloc[:2], path)
    before = path.read_bytes()

    def broken(self, target, *args, **kwargs):
        with open(target, "w") as f:
            f.write("label,area\n1,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(KeyboardInterrupt, match=r"^$"):
        write_table(table, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["cells.csv"]


def test_table_errors(tmp_path):
    with pytest.raises(InputNotFoundError, match=r"table '.*none\.csv' does not exist"):
        read_table(tmp_path / "none.csv")
    with pytest.raises(InvalidParameterError, match=r"df must be a pandas DataFrame.*got list"):
        write_table([1, 2], tmp_path / "x.csv")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"'.*bad\.parquet' could not be read as a Parquet"):
        read_table(tmp_path / "bad.parquet")


def test_dask_array_io_objects_pickle(tmp_path, raw_volume):
    # a graph shipped to a worker must survive pickling and still compute
    path, vol, offset = raw_volume
    x = open_raw(path, shape=vol.shape, dtype=">u2", offset=offset, chunks=(5, 6, 7))
    write_pngs(tmp_path / "imgs", 3)
    s = open_images(tmp_path / "imgs")
    for arr in (x, s.data):
        clone = pickle.loads(pickle.dumps(arr))
        assert isinstance(clone, da.Array)
        assert_same(clone, arr.compute())


def test_very_large_images_get_a_hint(tmp_path, monkeypatch):
    write_pngs(tmp_path, 1)  # 6 x 7 = 42 pixels, more than twice the limit below
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 20)
    with pytest.raises(InputError, match=r"img0\.png' could not be read.*MAX_IMAGE_PIXELS = None"):
        open_images(tmp_path)
