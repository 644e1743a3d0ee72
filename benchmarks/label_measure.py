"""Labels + region measurements on a large volume: batchimg vs scipy vs dask-image.

    .venv/bin/python benchmarks/label_measure.py            # 256x1024x1024, 128^3 chunks
    .venv/bin/python benchmarks/label_measure.py --quick    # 64x256x256, a smoke run

Data (seeded, made once under benchmarks/data/): uint8 noise smoothed with a
Gaussian (sigma 1.5), and its mask ``> 143`` -- about 100,000 regions at full
size. Each contender runs in its own process (wall time and peak RSS of the
process tree):

- scipy: ``ndi.label`` + ``sum_labels`` + ``center_of_mass`` on the whole
  in-memory arrays (files read with ``np.fromfile``);
- batchimg: raw files opened lazily, labels written to Zarr, and area, bbox,
  centroid and centroid_weighted measured in the same two bounded passes;
- dask-image: ``ndmeasure.label`` + ``area`` + ``center_of_mass`` with the
  threaded scheduler, stopped after ``--daskimage-timeout`` seconds.

The table goes to stdout and to ``benchmarks/label_measure.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

THRESHOLD = 143


def make_data(shape, chunks, folder: Path) -> tuple[Path, Path]:
    import dask
    import dask.array as da

    from batchimg import filters, io

    folder.mkdir(parents=True, exist_ok=True)
    tag = "x".join(map(str, shape))
    noise, smooth, mask = (folder / f"{n}-{tag}.raw" for n in ("noise", "smooth", "mask"))
    if smooth.exists() and mask.exists():
        return smooth, mask
    out = np.lib.format.open_memmap if False else np.memmap
    arr = out(noise, dtype=np.uint8, mode="w+", shape=shape)
    for z in range(0, shape[0], 16):
        rng = np.random.default_rng([1234, z])
        arr[z : z + 16] = rng.integers(0, 256, (min(16, shape[0] - z), *shape[1:]), np.uint8)
    arr.flush()
    del arr
    x = io.open_raw(noise, shape=shape, dtype="uint8", chunks=chunks)
    g = filters.gaussian_filter(x, 1.5)
    s_out = np.memmap(smooth, dtype=np.uint8, mode="w+", shape=shape)
    m_out = np.memmap(mask, dtype=np.uint8, mode="w+", shape=shape)
    with dask.config.set(scheduler="threads"):
        da.store([g, (g > THRESHOLD).astype(np.uint8)], [s_out, m_out], lock=False)
    s_out.flush()
    m_out.flush()
    noise.unlink()
    return smooth, mask


def child_scipy(args) -> dict:
    import scipy.ndimage as ndi

    shape = tuple(args.shape)
    t = time.perf_counter()
    intensity = np.fromfile(args.smooth, np.uint8).reshape(shape)
    mask = np.fromfile(args.mask, np.uint8).reshape(shape)
    labels, n = ndi.label(mask)
    index = np.arange(1, n + 1)
    area = ndi.sum_labels(np.ones_like(mask), labels, index)
    com = ndi.center_of_mass(intensity, labels, index)
    return {
        "n": int(n),
        "area_sum": float(np.sum(area)),
        "com0": float(com[0][0]) if n else 0,
        "inner": time.perf_counter() - t,
    }


def child_batchimg(args) -> dict:
    import dask
    import zarr

    from batchimg import io
    from batchimg.label import label_measure_store

    shape = tuple(args.shape)
    t = time.perf_counter()
    chunks = (args.chunk,) * 3
    mask = io.open_raw(args.mask, shape=shape, dtype="uint8", chunks=chunks)
    intensity = io.open_raw(args.smooth, shape=shape, dtype="uint8", chunks=chunks)
    with tempfile.TemporaryDirectory(dir=HERE / "data") as tmp:
        out = zarr.create_array(
            store=f"{tmp}/labels.zarr", shape=shape, chunks=chunks, dtype="int32"
        )
        with dask.config.set(scheduler="threads"):
            table, n = label_measure_store(
                mask,
                intensity=intensity,
                properties=["label", "area", "bbox", "centroid", "centroid_weighted"],
                labels_out=out,
            )
    return {
        "n": int(n),
        "area_sum": float(table["area"].sum()),
        "com0": float(table["centroid_weighted-0"].iloc[0]) if n else 0,
        "inner": time.perf_counter() - t,
    }


def child_daskimage(args) -> dict:
    import dask
    import dask.array as da
    from dask_image import ndmeasure

    shape = tuple(args.shape)
    t = time.perf_counter()
    chunks = (args.chunk,) * 3
    mask = da.from_array(np.memmap(args.mask, np.uint8, mode="r", shape=shape), chunks=chunks)
    intensity = da.from_array(
        np.memmap(args.smooth, np.uint8, mode="r", shape=shape), chunks=chunks
    )
    with dask.config.set(scheduler="threads"):
        labels, n = ndmeasure.label(mask)
        labels = labels.persist()
        n = int(n.compute())
        index = np.arange(1, n + 1)
        area = ndmeasure.area(mask, labels, index)
        com = ndmeasure.center_of_mass(intensity, labels, index)
        area, com = dask.compute(area, com)
    return {
        "n": n,
        "area_sum": float(np.sum(area)),
        "com0": float(com[0][0]) if n else 0,
        "inner": time.perf_counter() - t,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--shape", type=int, nargs=3)
    p.add_argument("--chunk", type=int, default=128)
    p.add_argument("--daskimage-timeout", type=float, default=900)
    p.add_argument("--child", choices=["scipy", "batchimg", "daskimage"])
    p.add_argument("--smooth")
    p.add_argument("--mask")
    args = p.parse_args()
    if args.child:
        result = globals()[f"child_{args.child}"](args)
        print(json.dumps(result))
        return
    from _harness import fmt_bytes, machine, run_child

    shape = tuple(args.shape or ((64, 256, 256) if args.quick else (256, 1024, 1024)))
    chunk = 64 if args.quick and args.chunk == 128 else args.chunk
    t = time.perf_counter()
    smooth, mask = make_data(shape, (chunk,) * 3, HERE / "data")
    print(f"data ready in {time.perf_counter() - t:.1f} s: {smooth}, {mask}", flush=True)
    common = [
        "--shape",
        *map(str, shape),
        "--chunk",
        str(chunk),
        "--smooth",
        str(smooth),
        "--mask",
        str(mask),
    ]
    rows = {}
    for name in ("scipy", "batchimg", "daskimage"):
        timeout = args.daskimage_timeout if name == "daskimage" else 3600
        if args.quick and name == "daskimage":
            timeout = min(timeout, 60)
        r = run_child([__file__, "--child", name, *common], timeout)
        rows[name] = r
        state = "timed out" if r["timed_out"] else f"{r.get('n')} labels"
        print(f"{name}: {r['wall']:.1f} s, peak {fmt_bytes(r['peak_rss'])}, {state}", flush=True)
    ref = rows["scipy"]
    assert rows["batchimg"]["n"] == ref["n"], "batchimg's label count differs from scipy's"
    assert rows["batchimg"]["area_sum"] == ref["area_sum"]
    nvox = int(np.prod(shape))
    lines = [
        "# Labels + measurements on a volume",
        "",
        "Command: `.venv/bin/python benchmarks/label_measure.py"
        + (" --quick" if args.quick else "")
        + "`",
        "",
        f"Machine: {machine()}",
        "",
        f"Volume {shape} uint8, {chunk}^3 chunks, {ref['n']:,} regions. "
        "Wall time of the whole child process (start-up and file reading included); "
        "peak RSS of its process tree.",
        "",
        "| contender | wall (s) | Mvoxel/s | peak RSS | batchimg time / this |",
        "|---|---:|---:|---:|---:|",
    ]
    ours = rows["batchimg"]["wall"]
    for name, r in rows.items():
        wall = r["wall"]
        if r["timed_out"]:
            lines.append(
                f"| {name} | > {wall:.0f} (stopped) | < {nvox / wall / 1e6:.1f} | "
                f"{fmt_bytes(r['peak_rss'])} | < {ours / wall:.3f} |"
            )
        else:
            lines.append(
                f"| {name} | {wall:.1f} | {nvox / wall / 1e6:.1f} | "
                f"{fmt_bytes(r['peak_rss'])} | {ours / wall:.3f} |"
            )
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        (HERE / "label_measure.md").write_text(text)


if __name__ == "__main__":
    main()
