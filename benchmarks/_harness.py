"""Run one contender in a child process and measure wall time and peak RSS.

Peak RSS is the largest sum of the resident set sizes of the child and all its
descendants (each process once), sampled every 20 ms (so worker processes count
too); the descendants are listed again every 0.25 s.
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


class _Tree:
    """The RSS of some processes and their descendants, cheap to sample often.

    Listing a process's descendants scans every process of the machine (1.5 ms here);
    done every 20 ms for each of a cluster's processes it took a third of a core, in
    the process that hosts a LocalCluster's scheduler. The descendants are listed
    again only every :data:`REFRESH` seconds; in between, only their RSS is read.
    """

    REFRESH = 0.25

    def __init__(self, roots: list[psutil.Process]):
        self.roots = roots
        self.procs: list[psutil.Process] = []
        self.listed = -1e9

    def rss(self) -> int:
        now = time.perf_counter()
        if now - self.listed > self.REFRESH:
            self.listed = now
            procs = {}
            for root in self.roots:  # a process under two roots counts once
                try:
                    procs.update({p.pid: p for p in (root, *root.children(recursive=True))})
                except psutil.Error:
                    pass
            self.procs = list(procs.values())
        total = 0
        for p in self.procs:
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
    tree = _Tree([ps, *extra])
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree.rss())
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
