"""batchimg at scale: the seed pipeline and every bundled workflow vs their anchors.

    .venv/bin/python benchmarks/run.py             # full size (~45 min on 2 cores)
    .venv/bin/python benchmarks/run.py --quick     # tiny sizes, a smoke run (< 2 min)

One command makes its own seeded data under ``benchmarks/data/`` (git-ignored) and
runs every contender on the same work, each in its own child process (wall time of
the whole process and peak RSS of its process tree, see ``_harness.py``):

- **collection**: 1,000 PNGs 512x512 (seeded smooth noise, stretched to uint8),
  ``batchimg run workflows/ascent_edges.yaml`` through the real CLI (writing
  result.zarr and measurements.csv) vs a plain scipy loop, a
  ``ThreadPoolExecutor(os.cpu_count())`` loop (both read with imageio, run the
  seed pipeline with scipy including ``ndi.label``, the size filter and
  ``center_of_mass``, and write nothing) and dask-image (stopped after a timeout);
- **volume**: a 256x1024x1024 uint8 raw volume, ``batchimg run
  workflows/volume_3d.yaml --input vol.raw --raw-shape ...`` vs scipy on the whole
  in-memory array and dask-image (threaded scheduler, stopped after a timeout);
- **workflows**: every bundled workflow on 2,000 PNGs 256x256 against a thread pool of
  its own scipy / scikit-image calls (``anchors.py``), and every 3-D one on the volume
  against those calls on the whole array, with batchimg's peak at 1x and 4x the volume;
- **scaling**: the volume at 1x, 2x and 4x its size (the base volume repeated
  along the plane axis) and the collection at 250, 1,000 and 4,000 files;
- **cluster**: the collection through a ``LocalCluster`` of 2 worker processes
  (1 thread each) started here, ``batchimg run --scheduler tcp://...``, each run
  against a local run of the same work made just before it.

The anchors read the pipeline's parameters from the same workflow files. The
table goes to stdout and to ``benchmarks/results.md`` (``--out``), written after
each section so a stopped run keeps what it measured.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

COLLECTION_WF = ROOT / "workflows" / "ascent_edges.yaml"
VOLUME_WF = ROOT / "workflows" / "volume_3d.yaml"
#: the bundled workflows of 2-D images, and those that run on volumes
COLLECTION_WORKFLOWS = (
    "ascent_edges.yaml",
    "segmentation.yaml",
    "denoising.yaml",
    "cleanup.yaml",
    "nuclei.yaml",
)
VOLUME_WORKFLOWS = ("volume_3d.yaml", "segmentation.yaml", "denoising.yaml", "cleanup.yaml")


# ---------------------------------------------------------------------------
# the seed pipeline's parameters, read from a workflow file


def seed_params(path: Path) -> dict:
    import yaml

    spec = yaml.safe_load(Path(path).read_text())
    steps = [next(iter(s.items())) for s in spec["steps"]]
    p = dict(steps)
    where = p["filter_regions"]["where"]
    assert where.startswith("area >"), where
    return {
        "sigma": p["gaussian_filter"]["sigma"],
        "grad_sigma": p["gaussian_gradient_magnitude"]["sigma"],
        "threshold": p["threshold"]["value"],
        "structure": p["binary_opening"]["structure"]["shape"],
        "min_area": int(where.split(">")[1]),
    }


def scipy_seed(image: np.ndarray, p: dict) -> tuple[int, int]:
    """The seed pipeline on one in-memory array; return (regions kept, their area)."""
    import scipy.ndimage as ndi

    g = ndi.gaussian_filter(image, p["sigma"])
    m = ndi.gaussian_gradient_magnitude(g, p["grad_sigma"])
    del g
    mask = ndi.binary_opening(m > p["threshold"], structure=np.ones(p["structure"], bool))
    del m
    labels, n = ndi.label(mask)
    area = np.bincount(labels.ravel(), minlength=n + 1)
    keep = area > p["min_area"]
    keep[0] = False
    k = int(keep.sum())
    new = np.zeros(n + 1, labels.dtype)
    new[keep] = np.arange(1, k + 1, dtype=labels.dtype)
    labels = new[labels]
    ndi.center_of_mass(mask, labels, np.arange(1, k + 1))
    return k, int(area[keep].sum())


# ---------------------------------------------------------------------------
# data


def _blobs(rng, shape, factor) -> np.ndarray:
    """Smooth seeded noise, stretched to uint8: blobs with soft edges."""
    import scipy.ndimage as ndi

    coarse = rng.standard_normal(tuple(-(-s // factor) + 2 for s in shape)).astype(np.float32)
    coarse = ndi.gaussian_filter(coarse, 1.0)
    coarse = (coarse - coarse.mean()) / (coarse.std() + 1e-9)
    coarse = np.clip(coarse * 60 + 128, 0, 255).astype(np.uint8)
    out = ndi.zoom(coarse, factor, order=1, output=np.uint8, grid_mode=True, mode="nearest")
    return np.ascontiguousarray(out[tuple(slice(0, s) for s in shape)])


def _write_png(i: int, shape, folder: Path) -> None:
    import imageio.v3 as iio

    path = folder / f"img{i:05d}.png"
    if not path.exists():
        image = _blobs(np.random.default_rng([1234, i]), shape, 8)
        tmp = folder / f".tmp{i:05d}.png"
        iio.imwrite(tmp, image)
        os.replace(tmp, path)


def make_collection(folder: Path, n_max: int, counts, shape) -> dict[int, Path]:
    """``n_max`` PNGs in ``folder/all``; a folder of hard links for each count."""
    every = folder / "all"
    every.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(lambda i: _write_png(i, shape, every), range(n_max)))
    out = {}
    for n in counts:
        sub = folder / f"n{n}"
        if not sub.exists():
            tmp = folder / f".n{n}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            for i in range(n):
                os.link(every / f"img{i:05d}.png", tmp / f"img{i:05d}.png")
            tmp.rename(sub)
        out[n] = sub
    return out


def make_volume(folder: Path, shape, repeats) -> dict[int, Path]:
    """A seeded blob volume, and the same repeated ``r`` times along axis 0."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = "x".join(map(str, shape))
    base = folder / f"vol-{tag}.raw"
    if not base.exists():
        vol = _blobs(np.random.default_rng(1234), shape, 6)
        vol.tofile(str(base) + ".tmp")
        os.replace(str(base) + ".tmp", base)
        del vol
    out = {1: base}
    for r in repeats:
        if r == 1:
            continue
        path = folder / f"vol-{tag}-x{r}.raw"
        if not path.exists():
            with open(str(path) + ".tmp", "wb") as f:
                for _ in range(r):
                    with open(base, "rb") as src:
                        shutil.copyfileobj(src, f, 64 * 2**20)
            os.replace(str(path) + ".tmp", path)
        out[r] = path
    return out


# ---------------------------------------------------------------------------
# children (each runs in its own process and prints one JSON line)


def _pngs(folder: str) -> list[str]:
    return sorted(glob.glob(os.path.join(folder, "*.png")))


def batchimg_command(a: dict) -> list[str]:
    """The command line a user types: this environment's ``batchimg`` script, ``run``."""
    script = str(Path(sys.executable).with_name("batchimg"))
    args = [script, "run", a["workflow"], "--input", a["input"], "--output", a["output"]]
    if a.get("raw_shape"):
        args += ["--raw-shape", ",".join(map(str, a["raw_shape"])), "--raw-dtype", "uint8"]
    if a.get("scheduler"):
        args += ["--scheduler", a["scheduler"]]
    if a.get("chunks"):
        args += ["--chunks", a["chunks"]]
    return [*args, "--quiet"]


def regions_of(output: str) -> dict:
    """The regions (count, total area) of a finished run's table."""
    path = os.path.join(output, "measurements.csv")
    if not os.path.exists(path):  # a workflow without labels
        return {"n": 0, "area": 0}
    import pandas as pd

    table = pd.read_csv(path, usecols=["area"])
    return {"n": len(table), "area": int(table["area"].sum())}


def _one_file(path: str, p: dict) -> tuple[int, int]:
    import imageio.v3 as iio

    return scipy_seed(iio.imread(path), p)


def child_scipy_loop(a: dict) -> dict:
    p = seed_params(COLLECTION_WF)
    res = [_one_file(f, p) for f in _pngs(a["input"])]
    return {"n": sum(r[0] for r in res), "area": sum(r[1] for r in res)}


def child_thread_pool(a: dict) -> dict:
    p = seed_params(COLLECTION_WF)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        res = list(pool.map(lambda f: _one_file(f, p), _pngs(a["input"])))
    return {"n": sum(r[0] for r in res), "area": sum(r[1] for r in res)}


def _daskimage_seed(x, p: dict, per_image: bool):
    """The seed pipeline with dask-image's ndfilters, ndmorph and ndmeasure.

    ``per_image``: ``x`` is a stack of 2-D images; filters get sigma 0 along the
    stack axis (no mixing) and labels get no connectivity along it. The gradient
    magnitude is spelled out as scipy computes it (dask-image's own would treat the
    stack axis as a derivative axis).
    """
    import dask
    import dask.array as da
    from dask_image import ndfilters, ndmeasure, ndmorph

    nd = x.ndim
    lead = (0,) if per_image else ()
    sig = (*((0,) * len(lead)), *((p["sigma"],) * (nd - len(lead))))
    gsig = (*((0,) * len(lead)), *((p["grad_sigma"],) * (nd - len(lead))))
    g = ndfilters.gaussian_filter(x, sig)
    m = None
    for ax in range(len(lead), nd):
        order = [0] * nd
        order[ax] = 1
        d = ndfilters.gaussian_filter(g, gsig, order=tuple(order))
        m = d * d if m is None else m + d * d
    m = da.sqrt(m).astype(x.dtype)
    st = np.zeros((3,) * nd, bool) if per_image else None
    opening = np.ones(p["structure"], bool)
    if per_image:
        opening = opening[None]
        st[1] = ndi_cross(nd - 1)
    mask = ndmorph.binary_opening(m > p["threshold"], structure=opening)
    labels, n = ndmeasure.label(mask, structure=st)
    labels = labels.persist()
    n = int(n.compute())
    index = np.arange(1, n + 1)
    area = np.asarray(ndmeasure.area(mask, labels, index).compute())
    keep = index[area > p["min_area"]]
    com = ndmeasure.center_of_mass(mask, labels, keep)
    dask.compute(com)
    return len(keep), int(area[area > p["min_area"]].sum())


def ndi_cross(ndim: int) -> np.ndarray:
    import scipy.ndimage as ndi

    return ndi.generate_binary_structure(ndim, 1)


def child_daskimage_collection(a: dict) -> dict:
    import dask
    from dask_image.imread import imread

    p = seed_params(COLLECTION_WF)
    with dask.config.set(scheduler="threads"):
        x = imread(os.path.join(a["input"], "*.png"))
        n, area = _daskimage_seed(x, p, per_image=True)
    return {"n": n, "area": area}


def child_anchor_pool(a: dict) -> dict:
    """A thread pool over the files of the workflow's own scipy / scikit-image calls."""
    import imageio.v3 as iio
    from anchors import anchor_image, load_steps

    steps, props = load_steps(a["workflow"])
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        res = list(pool.map(lambda f: anchor_image(iio.imread(f), steps, props), _pngs(a["input"])))
    return {"n": sum(r[0] for r in res), "area": sum(r[1] for r in res)}


def child_anchor_volume(a: dict) -> dict:
    """The workflow's own scipy / scikit-image calls on the whole volume in memory."""
    from anchors import anchor_image, load_steps

    steps, props = load_steps(a["workflow"])
    vol = np.fromfile(a["input"], np.uint8).reshape(a["raw_shape"])
    n, area = anchor_image(vol, steps, props)
    return {"n": n, "area": area}


def child_scipy_volume(a: dict) -> dict:
    p = seed_params(VOLUME_WF)
    vol = np.fromfile(a["input"], np.uint8).reshape(a["raw_shape"])
    n, area = scipy_seed(vol, p)
    return {"n": n, "area": area}


def child_daskimage_volume(a: dict) -> dict:
    import dask
    import dask.array as da

    p = seed_params(VOLUME_WF)
    shape = tuple(a["raw_shape"])
    mm = np.memmap(a["input"], np.uint8, mode="r", shape=shape)
    x = da.from_array(mm, chunks=a.get("dask_chunks", "auto"))
    with dask.config.set(scheduler="threads"):
        n, area = _daskimage_seed(x, p, per_image=False)
    return {"n": n, "area": area}


# ---------------------------------------------------------------------------
# the parent


class Report:
    def __init__(self, out: Path, command: str, quick: bool):
        from _harness import machine

        self.out = out
        self.lines = [
            "# batchimg at scale: the seed pipeline vs scipy, a thread pool and dask-image",
            "",
            f"Command: `{command}`",
            "",
            f"Machine: {machine()}",
            "",
            "Each contender runs in its own child process (batchimg's is the `batchimg run` "
            "command itself): wall time of the whole process until it exits, as a shell's "
            "`time` sees it (interpreter start-up, imports, reading and, for batchimg, "
            "writing result.zarr and the CSV; batchimg's modules byte-compiled first, as an "
            "installed package's are); peak RSS is the largest sum over the child's "
            "process tree "
            "(sampled every 20 ms). *batchimg speed-up* is this row's wall time divided by "
            "batchimg's on the same work (> 1: batchimg is faster).",
            "",
        ]
        if quick:
            self.lines += ["**Quick run** (tiny sizes; a smoke test, not a measurement).", ""]

    def add(self, *lines: str) -> None:
        self.lines += list(lines)
        self.write()

    def replace_from(self, mark: int, *lines: str) -> None:
        """Replace what was added since ``len(self.lines) == mark`` (a growing section)."""
        del self.lines[mark:]
        self.add(*lines)

    def write(self) -> None:
        text = "\n".join(self.lines) + "\n"
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(text)


def _run(name: str, args: dict, timeout: float, extra_pids=()) -> dict:
    """Run a contender in a child process: ``batchimg`` is the command itself."""
    from _harness import fmt_bytes, run_child

    if name == "batchimg":
        r = run_child(batchimg_command(args), timeout, extra_pids)
        if not r["timed_out"]:
            r.update(regions_of(args["output"]))
    else:
        r = run_child([__file__, "--child", name, "--args", json.dumps(args)], timeout, extra_pids)
    state = "stopped" if r["timed_out"] else f"{r.get('n')} regions"
    print(f"  {name}: {r['wall']:.1f} s, peak {fmt_bytes(r['peak_rss'])}, {state}", flush=True)
    return r


def _row(label: str, r: dict, units: float, unit: str, ref: dict | None) -> str:
    from _harness import fmt_bytes

    wall = r["wall"]
    if r["timed_out"]:
        ratio = "" if ref is None else f"> {wall / ref['wall']:.1f}"
        return (
            f"| {label} | > {wall:.0f} (stopped) | < {units / wall:,.1f} {unit} | "
            f"{fmt_bytes(r['peak_rss'])} | {ratio} | - |"
        )
    ratio = "" if ref is None else f"{wall / ref['wall']:.2f}"
    return (
        f"| {label} | {wall:.1f} | {units / wall:,.1f} {unit} | {fmt_bytes(r['peak_rss'])} | "
        f"{ratio} | {r.get('n', '-'):,} |"
    )


HEADER = (
    "| contender | wall (s) | throughput | peak RSS | batchimg speed-up | regions |",
    "|---|---:|---:|---:|---:|---:|",
)


def _check(ours: dict, ref: dict, what: str) -> None:
    if ours.get("timed_out") or ref.get("timed_out"):
        return
    if (ours["n"], ours["area"]) != (ref["n"], ref["area"]):
        raise SystemExit(
            f"{what}: batchimg found {ours['n']} regions (area {ours['area']}), "
            f"scipy {ref['n']} (area {ref['area']})"
        )


def _paired(ours_once, anchor_once, repeat: int, what: str, anchor_over_ours=False):
    """Run the two contenders in turn, ``repeat`` times each (A B A B ...).

    Returns both lists of results and the median of the pair-by-pair ratios (the
    anchor's wall over batchimg's with ``anchor_over_ours``, else batchimg's over the
    anchor's): a machine that slows down for a minute spoils one pair, not the figure.
    """
    ours, anchor, ratios = [], [], []
    for _ in range(repeat):
        ours.append(ours_once())
        anchor.append(anchor_once())
        _check(ours[-1], anchor[-1], what)
        a, b = ours[-1]["wall"], anchor[-1]["wall"]
        ratios.append(b / a if anchor_over_ours else a / b)
    return ours, anchor, float(np.median(ratios))


def _walls(results: list[dict]) -> str:
    """The wall times of repeated runs, in the order they ran: ``12.1, 11.8``."""
    return ", ".join(f"{r['wall']:.1f}" for r in results)


def _read_through(paths) -> None:
    """Read every file under ``paths`` once, so that the page cache holds them for every run."""
    for top in map(Path, paths):
        for f in sorted(top.rglob("*")) if top.is_dir() else [top]:
            if f.is_file():
                with open(f, "rb") as fh:
                    while fh.read(1 << 24):
                        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, < 2 minutes")
    p.add_argument("--out", type=Path, default=HERE / "results.md")
    p.add_argument("--data", type=Path, default=HERE / "data" / "run")
    p.add_argument("--sections", default="collection,volume,workflows,scaling,cluster")
    p.add_argument("--daskimage-timeout", type=float, default=None)
    p.add_argument(
        "--repeat", type=int, default=2, help="runs of each contender, in turn (workflows)"
    )
    p.add_argument("--child")
    p.add_argument("--args")
    args = p.parse_args()
    if args.child:
        result = globals()[f"child_{args.child}"](json.loads(args.args))
        print(json.dumps(result))
        return
    sections = set(args.sections.split(","))
    repeat = max(1, args.repeat)
    quick = args.quick
    if quick:
        n_files, image_shape, counts = 40, (128, 128), (20, 40, 80)
        wf_files, wf_shape = 20, (96, 96)
        vol_shape, repeats = (32, 128, 128), (1, 2, 4)
        di_cap = args.daskimage_timeout or 30
        data = args.data if args.data != HERE / "data" / "run" else HERE / "data" / "quick"
    else:
        n_files, image_shape, counts = 1000, (512, 512), (250, 1000, 4000)
        wf_files, wf_shape = 2000, (256, 256)
        vol_shape, repeats = (256, 1024, 1024), (1, 2, 4)
        di_cap = args.daskimage_timeout or 600
        data = args.data
    work = data / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cmd = ".venv/bin/python benchmarks/run.py" + (" --quick" if quick else "")
    if args.sections != p.get_default("sections"):
        cmd += f" --sections {args.sections}"
    if args.daskimage_timeout is not None:
        cmd += f" --daskimage-timeout {args.daskimage_timeout:g}"
    if args.repeat != p.get_default("repeat"):
        cmd += f" --repeat {args.repeat}"
    report = Report(args.out, cmd, quick)

    t = time.perf_counter()
    need_coll = sections & {"collection", "scaling", "cluster"}
    folders = (
        make_collection(data / f"png-{image_shape[0]}", max(counts), (1, *counts), image_shape)
        if need_coll
        else {}
    )
    wf_folders = (
        make_collection(data / f"png-{wf_shape[0]}", wf_files, (wf_files,), wf_shape)
        if "workflows" in sections
        else {}
    )
    need_vol = sections & {"volume", "scaling", "workflows", "cluster"}
    vols = make_volume(data, vol_shape, repeats) if need_vol else {}
    # the first contender must not pay for the writeback of the data just made (a run's
    # fsync waits for the journal, which waits for every dirty page of the disk)
    os.sync()
    # as pip does when it installs a wheel: an editable checkout run where
    # PYTHONDONTWRITEBYTECODE is set would compile batchimg's modules in every process
    # (0.1-0.2 s each), while the anchors' libraries come byte-compiled
    import compileall

    compileall.compile_dir(str(ROOT / "batchimg"), quiet=1)
    print(f"data ready in {time.perf_counter() - t:.1f} s under {data}", flush=True)

    def out_dir(tag):
        d = work / tag
        shutil.rmtree(d, ignore_errors=True)
        return str(d)

    def batchimg_collection(n, tag, **kw):
        a = {"workflow": str(COLLECTION_WF), "input": str(folders[n]), "output": out_dir(tag)}
        a.update(kw)
        r = _run("batchimg", a, 3600)
        shutil.rmtree(a["output"], ignore_errors=True)
        return r

    def batchimg_volume(rep):
        shape = (vol_shape[0] * rep, *vol_shape[1:])
        a = {
            "workflow": str(VOLUME_WF),
            "input": str(vols[rep]),
            "raw_shape": shape,
            "output": out_dir(f"vol{rep}"),
        }
        r = _run("batchimg", a, 3600)
        shutil.rmtree(a["output"], ignore_errors=True)
        return r

    summary = {}
    coll_res: dict[int, dict] = {}
    vol_res: dict[int, dict] = {}
    if "collection" in sections:
        print(f"collection: {n_files} PNGs {image_shape}", flush=True)
        folder = str(folders[n_files])
        ours = coll_res[n_files] = batchimg_collection(n_files, "coll")
        loop = _run("scipy_loop", {"input": folder}, 3600)
        pool = _run("thread_pool", {"input": folder}, 3600)
        _check(ours, loop, "collection")
        _check(ours, pool, "collection")
        cap = min(di_cap, max(30.0, 10 * ours["wall"]))
        dimg = _run("daskimage_collection", {"input": folder}, cap)
        rows = [
            ("batchimg run ascent_edges.yaml (writes zarr + CSV)", ours),
            ("scipy loop (imageio + scipy, writes nothing)", loop),
            (f"ThreadPoolExecutor({os.cpu_count()}) loop (writes nothing)", pool),
            ("dask-image (imread + ndfilters + ndmorph + ndmeasure, threads)", dimg),
        ]
        report.add(
            f"## Collection: {n_files} PNGs {image_shape[0]}x{image_shape[1]} uint8",
            "",
            "`batchimg run workflows/ascent_edges.yaml --input DIR --output OUT` (gaussian "
            "sigma 3, gradient magnitude sigma 3, threshold 10, opening 3x3, label, area > 10, "
            "area/centroid/bbox; saves the smoothed images and the labels).",
            "",
            *HEADER,
            *(_row(lab, r, n_files, "files/s", None if r is ours else ours) for lab, r in rows),
            "",
        )
        summary["counts_collection"] = {
            k: (r.get("n"), r.get("area"))
            for k, r in (("batchimg", ours), ("scipy_loop", loop), ("thread_pool", pool))
        }
        summary["collection_vs_pool"] = pool["wall"] / ours["wall"]
        summary["collection_vs_daskimage"] = (dimg["wall"] / ours["wall"], dimg["timed_out"])

    if "volume" in sections:
        shape = vol_shape
        nvox = int(np.prod(shape))
        print(f"volume: {shape}", flush=True)
        ours = vol_res[1] = batchimg_volume(1)
        ref = _run("scipy_volume", {"input": str(vols[1]), "raw_shape": shape}, 3600)
        vol_res["scipy1"] = ref
        _check(ours, ref, "volume")
        cap = min(di_cap, max(30.0, 10 * ours["wall"]))
        dimg = _run(
            "daskimage_volume",
            {"input": str(vols[1]), "raw_shape": shape, "dask_chunks": [64, 256, 256]},
            cap,
        )
        rows = [
            ("batchimg run volume_3d.yaml (raw file -> zarr + CSV)", ours),
            ("scipy, whole array in memory (one process)", ref),
            ("dask-image (threads, 64x256x256 chunks)", dimg),
        ]
        report.add(
            f"## Volume: {'x'.join(map(str, shape))} uint8 raw ({nvox / 2**20:.0f} MiB)",
            "",
            "`batchimg run workflows/volume_3d.yaml --input vol.raw --raw-shape "
            f"{','.join(map(str, shape))} --raw-dtype uint8 --output OUT` (gaussian sigma 3, "
            "gradient magnitude sigma 3, threshold 10, opening 3x3x3, label, area > 10, "
            "area/centroid/bbox; saves the smoothed volume and the labels).",
            "",
            *HEADER,
            *(_row(lab, r, nvox / 1e6, "Mvox/s", None if r is ours else ours) for lab, r in rows),
            "",
        )
        summary["counts_volume"] = {
            k: (r.get("n"), r.get("area")) for k, r in (("batchimg", ours), ("scipy", ref))
        }
        summary["volume_vs_scipy"] = ours["wall"] / ref["wall"]
        summary["volume_vs_daskimage"] = (dimg["wall"] / ours["wall"], dimg["timed_out"])
        summary["volume_peak"] = ours["peak_rss"]

    if "cluster" in sections:
        from distributed import LocalCluster

        print("cluster", flush=True)
        # the local reference may run first: it must not be the only one to read cold files
        _read_through([folders[n_files], vols[1]])
        base = {
            "collection": (
                {"workflow": str(COLLECTION_WF), "input": str(folders[n_files])},
                lambda: batchimg_collection(n_files, "coll"),
                n_files,
                "files/s",
            ),
            "volume": (
                {"workflow": str(VOLUME_WF), "input": str(vols[1]), "raw_shape": vol_shape},
                lambda: batchimg_volume(1),
                int(np.prod(vol_shape)) / 1e6,
                "Mvox/s",
            ),
        }
        # each cluster run is paired with a local run made just before it: this machine's
        # speed drifts by tens of percent within minutes, so one local run at the start
        # is no reference for runs made minutes later
        found: dict[str, dict[str, tuple[dict, dict]]] = {k: {} for k in base}
        for preload in (False, True):
            kw = {"preload": ["batchimg.workflow.preload"]} if preload else {}
            for what, (a0, run_local, _, _) in base.items():
                # a fresh cluster per case, started before the runs (not timed)
                with LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    **kw,
                ) as cluster:
                    import psutil

                    pids = [c.pid for c in psutil.Process().children(recursive=True)]
                    runs = ("preload",) if preload else ("fresh", "warm")
                    for tag in runs:
                        local = run_local()
                        a = dict(a0, output=out_dir("cluster"), scheduler=cluster.scheduler_address)
                        r = _run("batchimg", a, 3600, pids)
                        found[what][tag] = (r, local)
                        shutil.rmtree(a["output"], ignore_errors=True)
                        _check(r, local, f"cluster {what}")
                        print(
                            f"  {what} {tag}: {r['wall']:.1f} s, local just before "
                            f"{local['wall']:.1f} s",
                            flush=True,
                        )
        labels = {
            "fresh": "batchimg --scheduler tcp://... (fresh workers)",
            "warm": "the same again (workers that ran it once)",
            "preload": "fresh workers started with --preload batchimg.workflow.preload",
        }
        for what, (_, _, units, unit) in base.items():
            rows = []
            for tag, (r, local) in found[what].items():
                rows.append(_row(labels[tag], r, units, unit, local))
                rows.append(_row("batchimg, local default, the run just before", local, units,
                                 unit, None))  # fmt: skip
            report.add(
                f"## Cluster: the {what} above through a LocalCluster "
                "(2 worker processes, 1 thread each)",
                "",
                "Each cluster is started before its runs (not timed); its processes' RSS is "
                "added to the client's. *fresh*: the first run on new workers (they import "
                "the engines when batchimg connects); *warm*: a second run on the same "
                "workers; *preload*: new workers that imported the engines when they started "
                "(`dask worker --preload batchimg.workflow.preload`). Each cluster run "
                "follows a local run of the same work (batchimg's default local scheduler, "
                "the cluster idle meanwhile); *wall / local* is the cluster run's wall time "
                "over that local run's (1.0: as fast as the local default; the target is at "
                "most 1.10).",
                "",
                "| run | wall (s) | throughput | peak RSS | wall / local | regions |",
                "|---|---:|---:|---:|---:|---:|",
                *rows,
                "",
            )
            for tag, (r, local) in found[what].items():
                summary[f"cluster_{what}_{tag}_vs_local"] = r["wall"] / local["wall"]
    if "workflows" in sections:
        from _harness import fmt_bytes

        print(f"workflows: {wf_files} PNGs {wf_shape}, volume {vol_shape} at 1x and 4x", flush=True)
        lines = [
            f"## Every bundled workflow: collection ({wf_files} PNGs {wf_shape[0]}x{wf_shape[1]})",
            "",
            "`batchimg run workflows/NAME.yaml --input DIR --output OUT` (writes result.zarr, "
            "the table and the report) against a `ThreadPoolExecutor("
            f"{os.cpu_count()})` over the files of the workflow's own scipy / scikit-image "
            "calls (`benchmarks/anchors.py`: imageio, the filters, `threshold_otsu`, "
            "`ndi.label`, `remove_small_objects`, `regionprops_table`; writes nothing). "
            "The two contenders run in turn, each `--repeat` times (A B A B ...); the walls "
            "are listed in the order they ran, and *speed-up* is the median of the "
            "pair-by-pair ratios, the pool's wall time / batchimg's (> 1: batchimg is "
            "faster), so that a minute of a slower machine spoils one pair, not the figure.",
            "",
            "| workflow | batchimg (s) | thread pool (s) | speed-up | batchimg peak | "
            "pool peak | regions |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        mark = len(report.lines)
        ratios = {}
        for name in COLLECTION_WORKFLOWS:
            wf = str(ROOT / "workflows" / name)
            folder = str(wf_folders[wf_files])

            def ours_once(wf=wf, folder=folder, name=name):
                a = {"workflow": wf, "input": folder, "output": out_dir(f"wf-{name}")}
                r = _run("batchimg", a, 3600)
                shutil.rmtree(a["output"], ignore_errors=True)
                return r

            ours, pool, ratios[name] = _paired(
                ours_once,
                lambda wf=wf, folder=folder: _run(
                    "anchor_pool", {"workflow": wf, "input": folder}, 3600
                ),
                repeat,
                f"collection {name}",
                anchor_over_ours=True,
            )
            lines.append(
                f"| {name} | {_walls(ours)} | {_walls(pool)} | {ratios[name]:.2f} | "
                f"{fmt_bytes(max(r['peak_rss'] for r in ours))} | "
                f"{fmt_bytes(max(r['peak_rss'] for r in pool))} | {ours[0]['n']:,} |"
            )
            report.replace_from(mark, *lines, "")
        summary["workflows_collection_vs_pool"] = ratios
        lines += [
            "",
            f"## Every 3-D workflow: volume ({'x'.join(map(str, vol_shape))} uint8 raw, and 4x)",
            "",
            "`batchimg run workflows/NAME.yaml --input vol.raw --raw-shape ... --raw-dtype "
            "uint8 --output OUT` against the workflow's own scipy / scikit-image calls on the "
            "whole volume in memory (`benchmarks/anchors.py`), and batchimg again on the "
            "volume repeated 4x along the plane axis: its peak must not grow with the data. "
            "batchimg at 1x and scipy run in turn, each `--repeat` times; *time ratio* is the "
            "median of the pair-by-pair ratios, batchimg's wall / scipy's (< 1: batchimg is "
            "faster); the 4x run is one run, for its peak.",
            "",
            "| workflow | batchimg 1x (s) | scipy 1x (s) | time ratio | batchimg peak 1x | "
            "batchimg 4x (s) | batchimg peak 4x | peak growth | scipy peak | regions |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        vratios, growth, peaks = {}, {}, {}
        for name in VOLUME_WORKFLOWS:
            wf = str(ROOT / "workflows" / name)

            def ours_at(rep, wf=wf, name=name):
                shape = (vol_shape[0] * rep, *vol_shape[1:])
                a = {
                    "workflow": wf,
                    "input": str(vols[rep]),
                    "raw_shape": shape,
                    "output": out_dir(f"wfv-{name}-{rep}"),
                }
                r = _run("batchimg", a, 3600)
                shutil.rmtree(a["output"], ignore_errors=True)
                return r

            ours, ref, vratios[name] = _paired(
                lambda: ours_at(1),
                lambda wf=wf: _run(
                    "anchor_volume",
                    {"workflow": wf, "input": str(vols[1]), "raw_shape": vol_shape},
                    3600,
                ),
                repeat,
                f"volume {name}",
            )
            big = ours_at(4)
            peak1 = max(r["peak_rss"] for r in ours)
            growth[name] = big["peak_rss"] / peak1 - 1
            peaks[name] = [peak1, big["peak_rss"]]
            lines.append(
                f"| {name} | {_walls(ours)} | {_walls(ref)} | {vratios[name]:.2f} | "
                f"{fmt_bytes(peak1)} | {big['wall']:.1f} | "
                f"{fmt_bytes(big['peak_rss'])} | {growth[name]:+.0%} | "
                f"{fmt_bytes(max(r['peak_rss'] for r in ref))} | {ours[0]['n']:,} |"
            )
            report.replace_from(mark, *lines, "")
        summary["workflows_volume_vs_scipy"] = vratios
        summary["workflows_volume_peak_growth"] = growth
        summary["workflows_volume_peaks"] = peaks

    if "scaling" in sections:
        from _harness import fmt_bytes

        print("scaling", flush=True)
        lines = [
            "## Scaling",
            "",
            "The volume is the base volume repeated along the plane axis; the collections "
            "are the first N files of the same generated set.",
            "",
            "*beyond the fixed cost*: (wall - the wall of the same command on one file) per "
            "file: what each further file costs, without the fixed cost of a run (interpreter "
            "start-up, imports, listing, writing the table and summary.png).",
            "",
            "| case | size | batchimg wall (s) | ns / voxel or ms / file | beyond the fixed cost "
            "| batchimg peak RSS | scipy wall (s) | scipy peak RSS |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for rep in repeats:
            shape = (vol_shape[0] * rep, *vol_shape[1:])
            nvox = int(np.prod(shape))
            ours = vol_res.get(rep) or batchimg_volume(rep)
            vol_res[rep] = ours
            if rep < 4:
                ref = vol_res.get(f"scipy{rep}") or _run(
                    "scipy_volume", {"input": str(vols[rep]), "raw_shape": shape}, 3600
                )
                vol_res[f"scipy{rep}"] = ref
                _check(ours, ref, f"volume x{rep}")
                sc = f"{ref['wall']:.1f} | {fmt_bytes(ref['peak_rss'])}"
            else:
                sc = "not run (see below) | -"
            lines.append(
                f"| volume x{rep} | {'x'.join(map(str, shape))} | {ours['wall']:.1f} | "
                f"{ours['wall'] / nvox * 1e9:.2f} ns | - | {fmt_bytes(ours['peak_rss'])} | {sc} |"
            )
        fixed = coll_res[1] = batchimg_collection(1, "coll1")
        lines.append(
            f"| collection | 1 file (the fixed cost) | {fixed['wall']:.1f} | - | - | "
            f"{fmt_bytes(fixed['peak_rss'])} | - | - |"
        )
        for n in counts:
            ours = coll_res.get(n) or batchimg_collection(n, f"coll{n}")
            coll_res[n] = ours
            lines.append(
                f"| collection | {n} files | {ours['wall']:.1f} | "
                f"{ours['wall'] / n * 1e3:.1f} ms | "
                f"{(ours['wall'] - fixed['wall']) / (n - 1) * 1e3:.1f} ms | "
                f"{fmt_bytes(ours['peak_rss'])} | - | - |"
            )
        lo, hi = min(repeats), max(repeats)
        v_lo = vol_res[lo]["wall"] / lo
        v_hi = vol_res[hi]["wall"] / hi
        c_lo = coll_res[min(counts)]["wall"] / min(counts)
        c_hi = coll_res[max(counts)]["wall"] / max(counts)
        summary["volume_per_voxel_change"] = v_hi / v_lo - 1
        summary["collection_per_file_change"] = c_hi / c_lo - 1
        f_lo = (coll_res[min(counts)]["wall"] - fixed["wall"]) / (min(counts) - 1)
        f_hi = (coll_res[max(counts)]["wall"] - fixed["wall"]) / (max(counts) - 1)
        summary["collection_per_further_file_change"] = f_hi / f_lo - 1
        summary["collection_fixed_cost"] = fixed["wall"]
        summary["volume_peaks"] = [vol_res[r]["peak_rss"] for r in repeats]
        summary["collection_peaks"] = [coll_res[n]["peak_rss"] for n in counts]
        s1 = vol_res.get("scipy1")
        extra = []
        if 4 in repeats and s1:
            est = s1["peak_rss"] * 4
            extra = [
                f"scipy is not run at 4x: its peak at 1x was {fmt_bytes(s1['peak_rss'])} "
                f"(the whole volume, uint8 intermediates, int32 labels, the relabelled copy "
                f"and center_of_mass's float64 temporaries), so 4x needs about "
                f"{fmt_bytes(est)}, more than this machine's RAM.",
                "",
            ]
        report.add(*lines, "", *extra)

    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps(summary, default=str))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
