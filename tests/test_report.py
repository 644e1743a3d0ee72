"""report.html: what it samples, what it reads (bounded), what it shows, in a real browser."""

import base64
import html.parser
import io
import json
import logging
import math
import os
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import zarr
from browser import BrowserError, Chromium, find_chromium
from click.testing import CliRunner
from PIL import Image

from batchimg.cli import main
from batchimg.workflow import Workflow, load_workflow, run
from batchimg.workflow import report_reads as R
from batchimg.workflow.demo import DEMO_RUNS, blobs, bundled_workflow, make_demo_data
from batchimg.workflow.omezarr import ResultZarr
from batchimg.workflow.plan import ImageSpec, compile_plan
from batchimg.workflow.report import rebuild_report, write_report
from batchimg.workflow.report_draw import (
    bar_chart,
    column_unit,
    display_grid,
    edges,
    histogram_bins,
    nice_ticks,
    palette,
    picture,
)

SECTIONS = ("samples", "workflow", "run")
LABELLED = ("counts", "properties", "table")


class _Page(html.parser.HTMLParser):
    """The ids, images and text of a report (the standard library's parser)."""

    def __init__(self, text):
        super().__init__()
        self.ids, self.images, self.text, self.scripts = [], [], [], 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "img":
            self.images.append(a)
        if tag in ("script", "link", "iframe"):
            self.scripts += 1

    def handle_data(self, data):
        self.text.append(data)


def _decode(uri):
    """The pixels of a data URI: a PNG decoded by Pillow, an SVG's declared size."""
    head, data = uri.split(",", 1)
    raw = base64.b64decode(data)
    if head == "data:image/png;base64":
        return Image.open(io.BytesIO(raw)).size
    assert head == "data:image/svg+xml;base64", head
    svg = raw.decode()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    return tuple(int(svg.split(f'{k}="')[1].split('"')[0]) for k in ("width", "height"))


# ---------------------------------------------------------------------------
# the demo runs, shared by the page and browser tests


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Every bundled workflow run on tiny demo data; the collections with one broken file."""
    root = tmp_path_factory.mktemp("demo")
    data = make_demo_data(
        root / "data", n_images=5, image_shape=(80, 96), volume_shape=(24, 40, 48)
    )
    (root / "data" / "images" / "blobs_99.png").write_bytes(b"not a png")
    out = {}
    for file, kind in DEMO_RUNS.items():
        wf = load_workflow(bundled_workflow(file))
        dest = root / wf.name
        if kind == "images":
            r = run(wf, data["images"], dest)
            assert len(r.failed) == 1
        else:
            run(wf, data["volume"], dest, raw_shape=(24, 40, 48), raw_dtype="uint8")
        out[wf.name] = (dest, wf)
    return out


def test_every_demo_run_writes_a_self_contained_report(demo):
    for name, (dest, wf) in demo.items():
        text = (dest / "report.html").read_text(encoding="utf-8")
        page = _Page(text)
        labelled = wf.label_step is not None
        want = SECTIONS + (LABELLED if labelled else ())
        if name == "volume-3d":
            want = tuple(s for s in want if s != "counts")
        else:
            want += ("errors",)
        assert set(want) <= set(page.ids), (name, page.ids)
        assert page.scripts == 0, name
        assert "could not be drawn" not in text, name
        assert (
            "http://" not in text.replace("http://www.w3.org/2000/svg", "")
            and "https://" not in text
        )
        assert page.images, name
        for img in page.images:
            w, h = _decode(img["src"])
            assert w > 0 and h > 0, (name, img["alt"])
        words = " ".join(page.text)
        assert "scipy" in words and "wall time" in words and "peak memory" in words
        if name != "volume-3d":
            assert "blobs_99.png" in words  # the failed input, by name, with its error
            assert (
                "first" in words and "last" in words and "fewest regions" in words or not labelled
            )
        else:
            assert "maximum projection along z" in words and "plane y = 20 of 40" in words
        if not labelled:  # the saved steps side by side with the input
            assert "saved step median_filter" in words and "saved step gaussian_filter" in words


def test_rebuilt_report_equals_the_runs_own(demo, tmp_path):
    dest = demo["segmentation"][0]
    first = (dest / "report.html").read_bytes()
    (dest / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", str(dest)])
    assert result.exit_code == 0, result.output
    assert "report written to" in result.output
    assert (dest / "report.html").read_bytes() == first


# ---------------------------------------------------------------------------
# the browser


@pytest.fixture(scope="module")
def chromium():
    exe = find_chromium()
    if exe is None:
        pytest.skip("Chromium not found (apt-get install chromium, or set BATCHIMG_CHROMIUM)")
    try:
        browser = Chromium(exe)
    except (BrowserError, OSError) as exc:
        pytest.skip(f"Chromium {exe} could not be started: {exc}")
    yield browser
    browser.close()


_CHECK = """(async () => {
  await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
  return {
    images: [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]),
    sections: [...document.querySelectorAll("section")].map(s => s.id),
    headings: [...document.querySelectorAll("h2")].map(h => h.textContent),
    width: document.documentElement.scrollWidth,
  };
})()"""


@pytest.mark.slow
def test_reports_in_headless_chromium(demo, chromium, tmp_path):
    shots = os.environ.get("BATCHIMG_SCREENSHOTS") or str(tmp_path)
    os.makedirs(shots, exist_ok=True)
    for name, (dest, _) in demo.items():
        t0 = time.perf_counter()
        session = chromium.open((dest / "report.html").as_uri())
        found = chromium.evaluate(session, _CHECK)
        assert chromium.problems(session) == [], name
        assert found["images"], name
        for alt, complete, w, h in found["images"]:
            assert complete and w > 0 and h > 0, (name, alt)
        assert set(SECTIONS) <= set(found["sections"]), (name, found["sections"])
        if name != "denoising":
            assert {"properties", "table"} <= set(found["sections"]), name
        shot = chromium.screenshot(session, os.path.join(shots, f"report-{name}.png"))
        with Image.open(shot) as im:
            assert im.size[0] >= 1000 and im.size[1] > 1500, (name, im.size)
            # the page is drawn: far from one colour
            assert np.asarray(im.convert("L")).std() > 20, name
        assert time.perf_counter() - t0 < 30, name


# ---------------------------------------------------------------------------
# sampling


@pytest.mark.parametrize(
    ("n", "counts", "failed", "expected"),
    [
        (1, [4], [], [("first, fewest regions, most regions, last", 0)]),
        (
            4,
            [2, 9, 0, 5],
            [],
            [("first", 0), ("most regions", 1), ("fewest regions", 2), ("last", 3)],
        ),
        (4, [0, 9, 0, 9], [], [("first, fewest regions", 0), ("most regions", 1), ("last", 3)]),
        # failed images are not sampled: they show by name (their slot holds no pixels)
        (
            5,
            [0, 3, 0, 8, 0],
            [0, 4],
            [("first", 1), ("fewest regions", 2), ("most regions, last", 3)],
        ),
        (3, None, [], [("first", 0), ("last", 2)]),
        (3, [1, 1, 1], [0, 1, 2], []),
    ],
)
def test_sample_slots(n, counts, failed, expected):
    assert R.sample_slots(n, counts, failed) == expected


def test_sample_is_exact_below_its_size_and_uniform_above():
    s = R.Sample(k=100)
    s.add(np.array([3.0, np.nan, 1.0]))
    s.add(np.array([2.0, np.inf]))
    assert (s.n, s.missing, s.min, s.max, s.mean, s.exact) == (3, 2, 1.0, 3.0, 2.0, True)
    assert sorted(s.values) == [1.0, 2.0, 3.0]
    rng = np.random.default_rng(1234)
    big = R.Sample(k=2000, seed=1)
    values = np.arange(200_000, dtype=float)
    cuts = np.sort(rng.choice(values.size, 40, replace=False))
    for part in np.split(values, cuts):
        big.add(part)
    assert big.values.size == 2000 and not big.exact
    assert (big.n, big.min, big.max, big.mean) == (200_000, 0.0, 199_999.0, 99_999.5)
    # uniform: every tenth of the range holds about a tenth of the sample
    per_tenth = np.bincount((big.values // 20_000).astype(int), minlength=10)
    assert per_tenth.min() > 140 and per_tenth.max() < 260, per_tenth


def test_property_columns_leave_out_identifiers_and_positions():
    numeric = ["t", "c", "label", "global_label", "area", "centroid-0", "bbox-3",
               "moments_hu-1", "intensity_mean", "extent", "coords"]  # fmt: skip
    assert R.property_columns(numeric) == ["area", "intensity_mean", "extent"]


# ---------------------------------------------------------------------------
# pictures and units


def test_outlines_are_inner_boundaries_in_each_labels_own_colour():
    lab = np.zeros((8, 10), np.int32)
    lab[1:5, 1:5] = 1
    lab[1:5, 5:9] = 2  # touching regions keep both their boundaries
    e = edges(lab)
    assert e[1:5, 1:5].sum() == 12 and e[1:5, 5:9].sum() == 12
    assert not e[lab == 0].any()
    assert edges(lab, 2)[2:4, 2:4].sum() == 4 and not edges(lab, 2)[lab == 0].any()
    plain, outlined = picture(np.arange(80, dtype=np.uint8).reshape(8, 10), lab)
    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(outlined.split(",")[1]))))
    zoom = rgb.shape[0] // 8
    assert rgb.shape == (8 * zoom, 10 * zoom, 3) and zoom >= 8
    assert tuple(rgb[1 * zoom, 1 * zoom]) == tuple(palette(np.array([1]))[0])
    assert tuple(rgb[1 * zoom, 8 * zoom]) == tuple(palette(np.array([2]))[0])
    assert plain.startswith("data:image/png;base64,")


def test_consecutive_labels_get_distinct_colours():
    c = palette(np.arange(1, 2001)).astype(int)
    assert (np.abs(np.diff(c, axis=0)).sum(axis=1) > 120).all()
    assert (palette(np.array([7, 7])) == palette(np.array([7]))).all()


@pytest.mark.parametrize(
    ("shape", "aspect", "size"),
    [((20, 30), 1.0, (200, 300)), ((24, 48), 4.0, (480, 240)), ((2000, 100), 1.0, (1024, 51)),
     ((1, 1), 1.0, (10, 10)), ((300, 200), 1.0, (600, 400)), ((700, 500), 1.0, (700, 500))],
)  # fmt: skip
def test_display_grid_keeps_physical_proportions(shape, aspect, size):
    # small planes are enlarged by a whole factor (at most 10), big ones shrunk to 1024
    ri, ci, _ = display_grid(shape, aspect)
    assert (len(ri), len(ci)) == size
    for idx, n in ((ri, shape[0]), (ci, shape[1])):
        assert idx[0] == 0 and (np.diff(idx) >= 0).all() and n - 1 - idx[-1] < n / len(idx) + 1


@pytest.mark.parametrize(
    ("column", "ndim", "unit", "scale", "physical", "expected"),
    [
        ("area", 3, "micrometer", (2.0, 0.5, 0.5), True, "µm³"),
        ("area", 3, None, (1.0, 1.0, 1.0), True, "voxels"),
        ("area", 3, None, (2.0, 1.0, 1.0), True, "scale units³"),
        ("area_filled", 2, "nanometer", (0.5, 0.5), False, "pixels; 1 pixel = 0.25 nm²"),
        (
            "equivalent_diameter_area",
            2,
            "micrometer",
            (0.5, 0.5),
            False,
            "pixels; 1 pixel = 0.5 µm",
        ),
        ("equivalent_diameter_area", 2, "micrometer", (0.5, 0.25), False, "pixels"),
        ("axis_major_length", 3, "millimeter", (1, 1, 1), True, "mm"),
        ("intensity_mean", 2, "micrometer", (1, 1), False, "grey levels"),
        ("orientation", 2, None, None, False, "radians"),
        ("eccentricity", 2, "micrometer", (1, 1), True, ""),
    ],
)
def test_column_units(column, ndim, unit, scale, physical, expected):
    assert column_unit(column, ndim, unit, scale, physical) == expected


def test_tables_are_in_physical_units_in_both_engines(tmp_path):
    # what column_unit's ``physical`` stands for, checked on the engines themselves
    wf = Workflow("u", [{"threshold": {"value": 100}}, {"label": {}}], measure=["area"])
    vol = blobs((8, 24, 24), n=2)
    v = run(wf, vol, tmp_path / "v", scale=(2.0, 0.5, 0.5), unit="micrometer", report=False)
    lab = zarr.open_group(tmp_path / "v" / "result.zarr", mode="r")["labels/labels/0"][:]
    np.testing.assert_allclose(v.table["area"], np.bincount(lab.ravel())[1:] * 0.5)
    folder = tmp_path / "images"
    folder.mkdir()
    iio.imwrite(folder / "a.png", blobs((24, 24), seed=3))
    c = run(wf, folder, tmp_path / "c", scale=(0.5, 0.5), unit="micrometer", report=False)
    lab = zarr.open_group(tmp_path / "c" / "result.zarr", mode="r")["labels/labels/0"][0]
    np.testing.assert_allclose(c.table["area"], np.bincount(lab.ravel())[1:] * 0.25)


def test_charts_are_svg_with_round_ticks():
    assert nice_ticks(0, 0.37) == [0.0, 0.1, 0.2, 0.3]
    assert nice_ticks(17, 1234, 4) == [500.0, 1000.0]
    e, log_x = histogram_bins(np.geomspace(1, 1e5, 50), 1.0, 1e5)
    assert log_x and e[0] == 1 and e[-1] == pytest.approx(1e5)
    svg = bar_chart([3, 0, 5], title="regions <per> image", marks=[1])
    assert svg.count("<rect") == 3 and "regions &lt;per&gt; image" in svg and "#c0392b" in svg
    assert "<text" in bar_chart([1, 2], edges=[1, 10, 100], log_x=True)


# ---------------------------------------------------------------------------
# bounded reads


def _big_volume(folder, shape, block):
    """A result folder of a ``shape`` uint8 volume: metadata only (every chunk is empty)."""
    wf = Workflow("big", [{"gaussian_filter": {"sigma": 1}}, {"threshold": {"value": 100}},
                          {"label": {}}], measure=["area"], save=["gaussian_filter"])  # fmt: skip
    plan = compile_plan(wf, ImageSpec(shape, np.uint8, "zyx"), "volume")
    attrs = {"workflow_name": "big", "workflow": wf.to_yaml(), "saved": list(plan.saved),
             "labels": "labels/labels", "plan": plan.describe(), "input_kind": "volume",
             "input": {"kind": "volume", "path": "big.raw"}}  # fmt: skip
    os.makedirs(folder)
    result = ResultZarr(os.path.join(folder, "result.zarr"), plan, None, block, attrs=attrs)
    result.create()
    result.pyramid_tasks()  # makes the levels' arrays; the tasks are never run
    result.finish(0)
    return {
        "workflow": "big", "kind": "volume", "n_inputs": 1, "seconds": 100.0, "chunks": block,
        "table": None, "rows": None, "failed_inputs": 0, "scheduler": "threads (2 workers)",
        "input": {"axes": "zyx", "shape": list(shape), "dtype": "uint8",
                  "scale": [1.0, 1.0, 1.0], "unit": None, "channel_names": []},
    }  # fmt: skip


@pytest.fixture
def chunk_reads(monkeypatch):
    """Every chunk key read from a local store, as (array path, chunk index)."""
    from zarr.storage import LocalStore

    reads = []
    original = LocalStore.get

    async def get(self, key, *args, **kwargs):
        if key.startswith("c/") or "/c/" in key:
            path, _, index = key.rpartition("c/")
            reads.append((path.rstrip("/"), index))
        return await original(self, key, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "get", get)
    return reads


def _values_read(folder, reads):
    group = zarr.open_group(os.path.join(folder, "result.zarr"), mode="r")
    per_array = {}
    for path, _ in set(reads):
        arr = group[path]
        per_array[path] = per_array.get(path, 0) + math.prod(arr.chunks)
    return per_array


def test_report_of_a_big_volume_reads_a_bounded_part_whatever_its_size(tmp_path, chunk_reads):
    block = (32, 256, 256)
    read = {}
    for shape in ((512, 4096, 4096), (1024, 8192, 8192)):  # 8 GiB and 64 GiB of uint8
        folder = str(tmp_path / f"v{shape[0]}")
        marker = _big_volume(folder, shape, block)
        chunk_reads.clear()
        t0 = time.perf_counter()
        path = write_report(folder, marker=marker)
        assert time.perf_counter() - t0 < 60
        text = Path(path).read_text(encoding="utf-8")
        assert "could not be drawn" not in text
        assert "full-resolution detail" in text and "pyramid level" in text
        per_array = _values_read(folder, chunk_reads)
        read[shape] = per_array
        for layer in ("", "labels/labels/", "gaussian_filter/"):
            # level 0: only the chunks of the 512 x 512 detail (3 x 3 chunks at most)
            assert per_array.get(layer + "0", 0) <= 9 * math.prod(block), layer
        # per layer: four planes or details within the budget, and a projection
        bound = 3 * (4 * R.READ_BUDGET + R.PROJECTION_VOXELS)
        assert sum(per_array.values()) <= bound < math.prod(shape) / 10
    small, big = read.values()
    assert small.keys() != big.keys()  # other levels...
    assert sum(small.values()) == sum(big.values())  # ... 8 times the volume, the same reads


def test_plane_views_fall_back_to_a_centre_crop_without_a_small_level(tmp_path):
    group = zarr.open_group(str(tmp_path / "r.zarr"), mode="w", zarr_format=3)
    arr = group.create_array("0", shape=(3000, 5000), chunks=(500, 500), dtype="u1",
                             dimension_names=["y", "x"])  # fmt: skip
    arr[1400:1600, 2400:2600] = 7
    p = R.pyramid(group, "", "input", False)
    view = R.plane_view(p, "y", "x", {}, "")
    assert view.level == 0 and view.crop == {"y": slice(988, 2012), "x": slice(1988, 3012)}
    plane = R.read_view(group, p, view)
    assert plane.shape == (1024, 1024) and plane[512, 512] == 7


@pytest.mark.parametrize("chunks", [(3, 12, 16), (3, 5, 7), (20, 5, 3)])
def test_views_stream_by_chunks_and_transpose_to_rows_cols(tmp_path, chunks):
    # a projection reads a chunk-thick slab at a time, and every read a row of chunks
    # at a time: the same values as numpy on the whole volume
    rng = np.random.default_rng(1234)
    vol = rng.integers(0, 2**31, (20, 12, 16), dtype=np.int32)
    group = zarr.open_group(str(tmp_path / "r.zarr"), mode="w", zarr_format=3)
    group.create_array("0", data=vol, chunks=chunks, dimension_names=["z", "y", "x"])
    p = R.pyramid(group, "", "input", False)
    for axis, rows, cols in (("z", "y", "x"), ("y", "z", "x"), ("x", "y", "z"), ("z", "x", "y")):
        proj = R.projection_view(p, axis, rows, cols, {}, "")
        want = vol.max(axis="zyx".index(axis))
        kept = [a for a in "zyx" if a != axis]
        want = want if kept == [rows, cols] else want.T
        np.testing.assert_array_equal(R.read_view(group, p, proj), want, err_msg=axis + rows)
    side = R.plane_view(p, "z", "y", {"x": 5}, "")
    np.testing.assert_array_equal(R.read_view(group, p, side), vol[:, :, 5])
    top = R.plane_view(p, "x", "y", {"z": 7}, "")
    np.testing.assert_array_equal(R.read_view(group, p, top), vol[7].T)
    crop = R.View(0, "y", "x", {"z": 2}, None, {"y": slice(3, 11), "x": slice(1, 14)})
    np.testing.assert_array_equal(R.read_view(group, p, crop), vol[2, 3:11, 1:14])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_is_streamed_in_parts_and_only_the_needed_columns(tmp_path, monkeypatch, suffix):
    rng = np.random.default_rng(1234)
    n = 30_000
    images = [f"/data/img_{i:03d}.png" for i in range(50)]
    df = pd.DataFrame({
        "image": rng.choice(images, n), "label": np.arange(n), "global_label": np.arange(n),
        "area": rng.integers(1, 500, n).astype(float), "centroid-0": rng.random(n),
        "bbox-0": rng.integers(0, 9, n), "intensity_mean": rng.normal(100, 5, n),
    })  # fmt: skip
    path = str(tmp_path / f"measurements{suffix}")
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    monkeypatch.setattr(R, "TABLE_ROWS", 4000)
    monkeypatch.setattr(R, "SAMPLE", 1000)
    parts, original = [], R.table_parts

    def spy(p, columns, rows=None):
        for part in original(p, columns, rows):
            parts.append((tuple(part.columns), len(part)))
            yield part

    monkeypatch.setattr(R, "table_parts", spy)
    s = R.summarize_table(path)
    assert {cols for cols, _ in parts} == {("image", "area", "intensity_mean")}
    assert max(rows for _, rows in parts) == 4000 and sum(rows for _, rows in parts) == n
    assert s.rows == n and len(s.head) == R.FIRST_ROWS
    assert s.counts == df["image"].value_counts().to_dict()
    area = s.properties["area"]
    assert area.values.size == 1000 and not area.exact
    assert (area.n, area.min, area.max) == (n, df["area"].min(), df["area"].max())
    assert area.mean == pytest.approx(df["area"].mean(), rel=1e-12)


# ---------------------------------------------------------------------------
# the run and the command


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        iio.imwrite(folder / f"b{i}.png", blobs((40, 48), seed=i))
    return folder


SEG = Workflow("seg", [{"threshold": {"method": "otsu"}}, {"label": {}}], measure=["area"])


def test_a_run_writes_the_report_last_and_no_report_skips_it(tmp_path, images):
    r = run(SEG, images, tmp_path / "out")
    marker = json.loads((tmp_path / "out" / "_COMPLETE").read_text())
    assert "report.html" in marker["files"]
    assert (tmp_path / "out" / "report.html").stat().st_mtime <= (
        tmp_path / "out" / "_COMPLETE"
    ).stat().st_mtime
    assert f"{r.n_regions} regions" in (tmp_path / "out" / "report.html").read_text()
    run(SEG, images, tmp_path / "out", report=False)
    assert not (tmp_path / "out" / "report.html").exists()  # the stale report is removed
    result = CliRunner().invoke(
        main, ["run", str(bundled_workflow("segmentation.yaml")), "-i", str(images),
               "-o", str(tmp_path / "cli"), "--no-report", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "cli" / "report.html").exists()
    # a report written later is batchimg's: the next run may replace it
    rebuild_report(tmp_path / "cli")
    ledger = json.loads((tmp_path / "cli" / ".batchimg.json").read_text())
    assert "report.html" in ledger["files"]
    run(SEG, images, tmp_path / "cli")


def test_report_command_errors(tmp_path, images):
    runner = CliRunner()
    missing = tmp_path / "missing"
    r = runner.invoke(main, ["report", str(missing)])
    assert r.exit_code == 1
    assert f"Error: output folder {str(missing)!r} does not exist." in r.output
    (tmp_path / "empty").mkdir()
    r = runner.invoke(main, ["report", str(tmp_path / "empty")])
    assert r.exit_code == 1 and "is empty; it has no _COMPLETE marker" in r.output
    run(SEG, images, tmp_path / "out", report=False)
    (tmp_path / "out" / "report.html").write_text("my notes")
    r = runner.invoke(main, ["report", str(tmp_path / "out")])
    assert r.exit_code == 1 and "holds 'report.html', which batchimg did not write" in r.output
    assert (tmp_path / "out" / "report.html").read_text() == "my notes"
    with pytest.raises(ValueError, match=r"holds no complete run \(no _COMPLETE marker\)"):
        write_report(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"has no result.zarr; there is nothing to report"):
        write_report(tmp_path / "empty", marker={})


def test_a_section_that_cannot_be_drawn_says_why_and_the_run_completes(
    tmp_path, images, monkeypatch, caplog
):
    def broken(path, **kw):
        raise RuntimeError("the table is unreadable")

    monkeypatch.setattr(R, "summarize_table", broken)
    with caplog.at_level(logging.WARNING, logger="batchimg"):
        r = run(SEG, images, tmp_path / "out")
    assert (tmp_path / "out" / "_COMPLETE").exists() and r.n_regions > 0
    text = (tmp_path / "out" / "report.html").read_text()
    assert "This section could not be drawn: the table is unreadable" in text
    assert "Not drawn: Regions per image, Measured properties, Table" in text
    assert "report: the section 'Measured properties' could not be drawn" in caplog.text
    assert "first: b0.png" in text and "last: b2.png" in text  # pictures, without counts


def test_collection_of_big_images_shows_a_pyramid_level_and_a_detail(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        iio.imwrite(folder / f"big{i}.png", blobs((1100, 600), n=12, seed=i))
    wf = Workflow("seg", [{"threshold": {"method": "otsu"}}, {"label": {}}], measure=["area"])
    run(wf, folder, tmp_path / "out")
    text = (tmp_path / "out" / "report.html").read_text()
    page = _Page(text)
    sizes = [_decode(i["src"]) for i in page.images if i["src"].startswith("data:image/png")]
    assert max(max(s) for s in sizes) <= 1024
    assert "pyramid level 1 (1/2 of full resolution)" in text
    assert "big0.png: full-resolution detail" in text


# ---------------------------------------------------------------------------
# batchimg preview: titles say what differs from the full run


def _preview_text(monkeypatch, tmp_path, workflow, source, **kw):
    """The heading and panel titles of the figure ``preview`` draws (whitespace folded)."""
    from matplotlib.figure import Figure

    from batchimg.workflow.preview import preview

    seen = {}
    original = Figure.savefig

    def savefig(fig, *args, **kwargs):
        seen["head"] = " ".join(fig.get_suptitle().split())
        seen["panels"] = [" ".join(ax.get_title().split()) for ax in fig.axes]
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    preview(workflow, source, tmp_path / "p.png", **kw)
    assert (tmp_path / "p.png").stat().st_size > 0
    return seen["head"], seen["panels"]


VOLUME_SEG = Workflow(
    "vseg",
    [{"gaussian_filter": {"sigma": 1}}, {"threshold": {"method": "otsu"}}, {"label": {}},
     {"filter_regions": {"where": "area > 20"}}, {"binary_dilation": {}}],
    measure=["area"],
)  # fmt: skip


def test_volume_preview_titles_say_which_steps_saw_only_the_slab(monkeypatch, tmp_path):
    from batchimg.workflow.preview import Slab, differences, preview_titles

    vol = blobs((60, 32, 32), n=3)
    plan = compile_plan(VOLUME_SEG, ImageSpec(vol.shape, vol.dtype), "volume")
    slab = Slab("z", 30, 25, 36, 60)  # the reach: gaussian 4 planes, dilation 1
    diff = differences(plan, slab)
    assert set(diff) == {"threshold", "label", "filter_regions", "binary_dilation"}
    assert diff["threshold"] == (
        "slab only: threshold from planes z = 25-35 of 60; the full run computes it over the "
        "whole volume"
    )
    assert diff["label"] == (
        "slab only: labelled on planes z = 25-35 of 60; the full run labels the whole volume, "
        "so objects joined outside these planes, and the label numbers, differ"
    )
    assert diff["filter_regions"].startswith("slab only: regions measured on planes z = 25-35")
    assert diff["binary_dilation"] == "slab only: reads filter_regions, computed on the slab"
    titles = preview_titles(plan, slab)
    assert titles["gaussian_filter"] == "gaussian_filter(sigma=1)"
    assert titles[""].startswith("plane z = 30, computed from planes z = 25-35 of 60 only")
    # the figure itself, for a plane whose slab is thin, and one whose slab is the volume
    head, panels = _preview_text(monkeypatch, tmp_path, VOLUME_SEG, vol, plane=30)
    assert head.startswith("plane z = 30, computed from planes z = 25-35 of 60 only")
    assert panels[:2] == ["input", "gaussian_filter(sigma=1)"]
    assert panels[2] == "threshold(method='otsu') " + diff["threshold"]
    assert panels[-1] == "region areas in this plane (of the slab's labels) (2 regions)"
    small = blobs((6, 32, 32), n=3)
    head, _ = _preview_text(monkeypatch, tmp_path, VOLUME_SEG, small, plane=3)
    assert head.startswith("plane z = 3 of 6, computed from the whole volume: every panel")
    assert differences(plan, Slab("z", 3, 0, 60, 60)) == {}
    flat = compile_plan(
        Workflow("f", [{"threshold": {"method": "otsu"}}, {"label": {}}]),
        ImageSpec((32, 32), np.uint8),
        "volume",
    )
    assert differences(flat, Slab("y", 0, 0, 0, 0)) == {}
    assert preview_titles(flat, Slab("y", 0, 0, 0, 0))[""].startswith("the whole image: every")


def test_collection_preview_titles_name_collection_wide_thresholds(monkeypatch, tmp_path):
    from batchimg.workflow.preview import differences, preview_titles

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        iio.imwrite(folder / f"b{i}.png", blobs((32, 32), seed=i))
    whole = Workflow("w", [{"threshold": {"method": "otsu", "per_image": False}}, {"label": {}}])
    each = Workflow("e", [{"threshold": {"method": "otsu"}}, {"label": {}}])
    spec = ImageSpec((32, 32), np.uint8)
    diff = differences(compile_plan(whole, spec, "collection"), None)
    assert diff == {
        "threshold": "threshold of this image only: the full run computes one threshold over "
        "the whole collection",
        "label": "reads threshold, which differs from the full run (above)",
    }
    assert differences(compile_plan(each, spec, "collection"), None) == {}
    titles = preview_titles(compile_plan(whole, spec, "collection"), None, "b1.png (image 1 of 2)")
    assert titles[""] == (
        "b1.png (image 1 of 2): each panel is what the full run computes for this image, except "
        "where its title says otherwise"
    )
    head, _ = _preview_text(monkeypatch, tmp_path, each, folder, image=1)
    assert head == "b1.png (image 1 of 2): each panel is what the full run computes for this image"


def test_a_preview_that_says_every_panel_is_the_full_runs_is(tmp_path):
    from batchimg.workflow.preview import preview_arrays

    small = blobs((6, 32, 32), n=3)
    wf = Workflow(VOLUME_SEG.name, VOLUME_SEG.steps, measure=["area"],
                  save=["threshold", "binary_dilation"])  # fmt: skip
    run(wf, small, tmp_path / "out", chunks=(3, 16, 16), report=False)
    group = zarr.open_group(tmp_path / "out" / "result.zarr", mode="r")
    arrays = preview_arrays(wf, small, plane=3)
    for name, path in (("threshold", "threshold/0"), ("binary_dilation", "binary_dilation/0"),
                       ("filter_regions", "labels/labels/0")):  # fmt: skip
        np.testing.assert_array_equal(arrays[name], group[path][3], err_msg=name)
