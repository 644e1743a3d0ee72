"""distance_transform_edt on a volume: batchimg on chunks against scipy on the whole array.

    .venv/bin/python benchmarks/distance.py            # 256x1024x1024, 128^3 chunks
    .venv/bin/python benchmarks/distance.py --quick    # 64x256x256, a smoke run

Data (seeded, made once under benchmarks/data/, the recipe of label_measure.py): the
mask of uint8 noise smoothed with a Gaussian (sigma 1.5), ``> 143`` -- about 100,000
regions at full size -- in a raw uint8 file. Each contender runs in its own process
(wall time and peak RSS of the tree), reads the mask and writes the float64
distances to a raw file:

- ``scipy``: ``np.fromfile``, ``scipy.ndimage.distance_transform_edt`` on the whole
  array, ``tofile``;
- ``batchimg``: :func:`batchimg.io.open_raw` with ``--chunk``-cubed chunks,
  :func:`batchimg.morphology.distance_transform_edt`, stored block by block into a
  ``numpy.memmap`` (threaded scheduler, one thread per core).

The two outputs are compared bit for bit (``--no-check`` skips it). The table goes
to stdout and to ``benchmarks/distance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's batchimg, not an installed one
sys.path.insert(0, str(HERE))


def child_scipy(args) -> dict:
    import scipy.ndimage as ndi

    shape = tuple(args.shape)
    t = time.perf_counter()
    mask = np.fromfile(args.mask, np.uint8).reshape(shape)
    dist = ndi.distance_transform_edt(mask)
    dist.tofile(args.out)
    return {"inner": time.perf_counter() - t}


def child_batchimg(args) -> dict:
    import dask
    import dask.array as da

    from batchimg import io
    from batchimg.morphology import distance_transform_edt

    shape = tuple(args.shape)
    t = time.perf_counter()
    mask = io.open_raw(args.mask, shape=shape, dtype="uint8", chunks=(args.chunk,) * 3)
    dist = distance_transform_edt(mask)
    out = np.memmap(args.out, dtype=np.float64, mode="w+", shape=shape)
    with dask.config.set(scheduler="threads"):
        da.store(dist, out, lock=False)
    out.flush()
    return {"inner": time.perf_counter() - t, "chunks": str(dist.chunksize)}


def _equal(a: Path, b: Path) -> bool:
    """Whether two raw files hold the same bytes (read a slab at a time)."""
    step = 1 << 26
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(step), fb.read(step)
            if x != y:
                return False
            if not x:
                return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="64x256x256: a smoke run")
    p.add_argument("--shape", type=int, nargs=3, default=None)
    p.add_argument("--chunk", type=int, default=128)
    p.add_argument("--no-check", action="store_true", help="skip the bit-for-bit comparison")
    p.add_argument("--report", default=str(HERE / "distance.md"))
    p.add_argument("--child", choices=["scipy", "batchimg"])
    p.add_argument("--mask")
    p.add_argument("--out")
    args = p.parse_args()
    if args.child:
        fn = child_scipy if args.child == "scipy" else child_batchimg
        print(json.dumps(fn(args)))
        return

    from _harness import fmt_bytes, machine, run_child
    from label_measure import make_data

    shape = tuple(args.shape or ((64, 256, 256) if args.quick else (256, 1024, 1024)))
    if args.quick:
        args.chunk = min(args.chunk, 64)
    data = HERE / "data"
    _, mask = make_data(shape, (args.chunk,) * 3, data)
    tag = "x".join(map(str, shape))
    rows, outs = {}, {}
    for name in ("batchimg", "scipy"):
        outs[name] = data / f"edt-{name}-{tag}.raw"
        cmd = [__file__, "--child", name, "--mask", str(mask), "--out", str(outs[name])]
        cmd += ["--shape", *map(str, shape), "--chunk", str(args.chunk)]
        rows[name] = run_child(cmd, 7200)
        print(f"{name}: {rows[name]['wall']:.1f} s, {fmt_bytes(rows[name]['peak_rss'])}")
    same = None if args.no_check else _equal(outs["batchimg"], outs["scipy"])
    for f in outs.values():
        f.unlink(missing_ok=True)
    if same is False:
        raise SystemExit("batchimg's distances differ from scipy's")
    ours, ref = rows["batchimg"], rows["scipy"]
    n = int(np.prod(shape))
    cmd = "`.venv/bin/python benchmarks/distance.py" + (" --quick" if args.quick else "") + "`"
    lines = [
        "# distance_transform_edt on a volume",
        "",
        f"Command: {cmd}",
        "",
        f"Machine: {machine()}",
        "",
        f"Mask {shape} uint8 ({n / 2**20:.0f} Mi voxels, "
        f"{float(np.fromfile(mask, np.uint8, count=min(n, 1 << 24)).mean()):.1%} foreground "
        f"in the first 16 Mi), float64 distances written to a raw file; batchimg on "
        f"{args.chunk}^3 chunks (task chunks {ours.get('chunks')}), threaded scheduler, "
        f"{os.cpu_count()} threads. Wall: the whole child process; inner: reading, the "
        "transform and writing.",
        "",
        "| contender | wall (s) | inner (s) | peak RSS | wall / scipy's |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("scipy", "scipy, whole array in memory"), ("batchimg", "batchimg")):
        r = rows[name]
        lines.append(
            f"| {label} | {r['wall']:.1f} | {r['inner']:.1f} | {fmt_bytes(r['peak_rss'])} "
            f"| {r['wall'] / ref['wall']:.2f} |"
        )
    lines += [
        "",
        "Distances equal bit for bit: "
        + ("not checked (--no-check)" if same is None else "yes")
        + ".",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.report).write_text(text)


if __name__ == "__main__":
    main()
