"""Run one contender in a child process and measure wall time and peak RSS.

Peak RSS is the largest sum of the resident set sizes of the child and all its
descendants, sampled every 20 ms (so worker processes count too).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time

import psutil


def machine() -> str:
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_child(args: list[str], timeout: float, extra_pids=()) -> dict:
    """Run ``python args...``; return wall seconds, peak RSS (bytes), its JSON output.

    The wall time ends when the child process exits, as a shell's ``time`` sees a
    command end: processes it leaves behind that still hold its output pipes (a worker
    server closing down) are not waited for, though their output is still read.
    ``extra_pids``: further processes (a cluster's workers) whose RSS counts too.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    ps = psutil.Process(proc.pid)
    extra = []
    for pid in extra_pids:
        try:
            extra.append(psutil.Process(pid))
        except psutil.Error:
            pass
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(ps) + sum(_tree_rss(e) for e in extra))
            time.sleep(0.02)

    texts: dict[str, str] = {}

    def drain(name, stream):
        texts[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s), daemon=True)
        for n, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    for r in readers:
        r.start()
    try:
        proc.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        for p in [*ps.children(recursive=True), ps]:
            try:
                p.kill()
            except psutil.Error:
                pass
        proc.wait()
        timed_out = True
    wall = time.perf_counter() - start
    stop.set()
    t.join()
    for r in readers:
        r.join(60)
    out, err = texts.get("out", ""), texts.get("err", "")
    result = {"wall": wall, "peak_rss": peak, "timed_out": timed_out, "rc": proc.returncode}
    if not timed_out:
        if proc.returncode != 0:
            raise RuntimeError(f"{args} failed:\n{err[-3000:]}")
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if lines:
            result.update(json.loads(lines[-1]))
    return result


def fmt_bytes(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
