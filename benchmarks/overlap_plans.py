"""Halo plans for the 3-D seed chain: which of "per-step", "fused", "auto" is faster.

    .venv/bin/python benchmarks/overlap_plans.py           # 256x512x512, 64^3/128^3/256^3 chunks
    .venv/bin/python benchmarks/overlap_plans.py --quick   # 64x128x128, 16^3/32^3/64^3 chunks

The chain is gaussian_filter (sigma 3) -> gaussian_gradient_magnitude (sigma 3) ->
threshold 10 -> binary_opening 3x3x3 (workflows/volume_3d.yaml) on seeded blobs,
computed with the threaded scheduler; every plan's output is checked identical to
the others'. The table (with the groups "auto" chose) goes to stdout and to
``benchmarks/overlap_plans.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def chain_steps(x):
    """The local steps of workflows/volume_3d.yaml, as the compiled plan builds them."""
    from batchimg.workflow import load_workflow
    from batchimg.workflow.plan import ImageSpec, compile_plan

    wf = load_workflow(HERE.parent / "workflows" / "volume_3d.yaml")
    plan = compile_plan(wf, ImageSpec(x.shape, x.dtype), "volume")
    steps = []
    for s in plan.steps:
        if s.step is None:
            break
        steps.append(s.step)
    return steps


def main() -> None:
    import dask
    import dask.array as da
    from _harness import machine
    from run import _blobs

    from batchimg._overlap import apply_chain, plan_chain

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    shape = (64, 128, 128) if args.quick else (256, 512, 512)
    sizes = (16, 32, 64) if args.quick else (64, 128, 256)
    vol = _blobs(np.random.default_rng(1234), shape, 6)
    lines = [
        "# Halo plans for the 3-D seed chain",
        "",
        "Command: `.venv/bin/python benchmarks/overlap_plans.py"
        + (" --quick" if args.quick else "")
        + "`",
        "",
        f"Machine: {machine()}",
        "",
        f"Volume {shape} uint8 blobs; gaussian sigma 3 -> gradient magnitude sigma 3 -> "
        "threshold 10 -> opening 3x3x3; threaded scheduler; best of 2.",
        "",
        "| chunks | per-step (s) | fused (s) | auto (s) | auto's groups |",
        "|---|---:|---:|---:|---|",
    ]
    for c in sizes:
        x = da.from_array(vol, chunks=(c,) * 3)
        steps = chain_steps(x)
        times, outs = {}, {}
        for plan in ("per-step", "fused", "auto"):
            best = float("inf")
            for _ in range(2):
                t = time.perf_counter()
                with dask.config.set(scheduler="threads"):
                    out = apply_chain(x, steps, plan=plan).compute()
                best = min(best, time.perf_counter() - t)
            times[plan], outs[plan] = best, out
        assert np.array_equal(outs["per-step"], outs["fused"])
        assert np.array_equal(outs["per-step"], outs["auto"])
        groups = " / ".join(
            "+".join(s.name for s in g) for g in plan_chain(x.chunks, steps, "auto")
        )
        lines.append(
            f"| {c}^3 | {times['per-step']:.2f} | {times['fused']:.2f} | "
            f"{times['auto']:.2f} | {groups} |"
        )
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        (HERE / "overlap_plans.md").write_text(text)


if __name__ == "__main__":
    main()
