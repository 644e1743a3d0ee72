"""Run a peer's test unit twice (original and through batchimg) and compare per test id."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from peers.rewrite import rewrite_source
from peers.suites import Unit, cache_dir

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
RUN_TIMEOUT_S = 1500
MODES = ("original", "batchimg")


@dataclass
class Run:
    """The outcomes of one pytest run of a unit (ids without the package folder)."""

    tests: dict[str, dict]
    errors: list[dict]
    exitstatus: int
    seconds: float
    log: str
    cached: bool = False
    cpu_seconds: float = 0.0

    def passed(self) -> set[str]:
        return {t for t, e in self.tests.items() if e["outcome"] == "passed"}


@dataclass
class Comparison:
    """What a unit's two runs say against the lists of exceptions."""

    regressions: dict[str, str] = field(default_factory=dict)  # not listed anywhere
    stale: dict[str, str] = field(default_factory=dict)  # list entries that are wrong
    failing: dict[str, str] = field(default_factory=dict)  # every original-passing failure

    def problems(self) -> list[str]:
        lines = [
            f"passes with the original, not through batchimg: {t}\n    {m}"
            for t, m in sorted(self.regressions.items())
        ]
        lines += [f"stale list entry {t}: {m}" for t, m in sorted(self.stale.items())]
        return lines


def _ini(unit: Unit) -> str:
    markers = "\n".join(f"    {m}" for m in unit.suite.ini_markers)
    return "[pytest]\naddopts = -p no:cacheprovider\ntimeout = 600\n" + (
        f"markers =\n{markers}\n" if markers else ""
    )


def _copy(src: Path, dest: Path, transform) -> list[str]:
    """Copy a file or folder; test modules (``test_*.py``) pass through ``transform``."""
    changed: list[str] = []
    if src.is_dir():
        for path in sorted(src.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            changed += _copy(path, dest / path.relative_to(src), transform)
        return changed
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.name.startswith("test_") and src.suffix == ".py":
        text, done = transform(src.read_text(encoding="utf-8"))
        dest.write_text(text, encoding="utf-8")
        changed += [f"{src.name}: {line}" for line in done]
    else:
        shutil.copyfile(src, dest)
    return changed


def build(unit: Unit, mode: str, where: Path) -> tuple[Path, list[str]]:
    """Lay a unit's files out in ``where`` for ``mode``; return the run's folder and the swaps."""
    suite = unit.suite
    root = suite.root()
    if where.exists():
        shutil.rmtree(where)
    package = where / suite.package
    package.mkdir(parents=True)
    (where / "pytest.ini").write_text(_ini(unit), encoding="utf-8")
    plugins = ", ".join(repr(p) for p in suite.plugins)
    (where / "conftest.py").write_text(
        f"pytest_plugins = [{plugins}]\n" if plugins else "", encoding="utf-8"
    )

    def transform(text):
        if mode == "original":
            return text, []
        return rewrite_source(text, suite.targets)

    for item in suite.support:
        if (root / item).exists():
            _copy(root / item, package / item, lambda text: (text, []))
    changed = _copy(root / unit.path, package / unit.path, transform)
    if mode == "batchimg" and not changed:
        raise RuntimeError(f"{unit.id}: no import of {suite.targets} to swap")
    return where, changed


#: Packages whose versions key the cache of original runs (with the files run).
KEY_PACKAGES = (
    "numpy", "scipy", "dask", "dask-image", "scikit-image", "pandas", "pytest", "hypothesis",
    "pytest-timeout",
)  # fmt: skip


def _write_rerun(folder: Path, env: dict, command: list[str]) -> None:
    """``rerun.sh``: the run again by hand; pytest's own arguments (``-k``, ``-x``) are appended."""
    env = {**env, "BATCHIMG_PEER_OUTCOMES": str(folder / "rerun-outcomes.json")}
    keep = ["PYTHONPATH", "BATCHIMG_PEER_OUTCOMES", "BATCHIMG_PEER_ADAPT", "DASK_SCHEDULER"]
    keep += ["PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONDONTWRITEBYTECODE"]
    lines = ["#!/bin/sh", f"cd {shlex.quote(str(folder))}"]
    lines.append("unset SCIPY_ARRAY_API")
    lines += [f"export {k}={shlex.quote(env[k])}" for k in keep if k in env]
    lines.append(shlex.join(command).replace(" -q ", " ") + ' "$@"')
    (folder / "rerun.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cache_key(unit: Unit, folder: Path) -> str:
    digest = hashlib.sha256(f"{unit.id}\n{sys.version}\n".encode())
    for name in KEY_PACKAGES:
        try:
            digest.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name} absent\n".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def run(
    unit: Unit, mode: str, where: Path, timeout: float = RUN_TIMEOUT_S, env: dict | None = None
) -> Run:
    """Build and run one unit in one mode in a pytest subprocess (``env``: extra variables).

    The original run does not involve batchimg, so its outcomes are kept in the cache
    folder under a key made of the files run and the versions of Python and of
    :data:`KEY_PACKAGES`; a later run with the same key reads them back
    (``BATCHIMG_PEER_RERUN=1`` runs the original again).
    """
    folder, _ = build(unit, mode, where)
    cached = None
    if mode == "original":
        cached = cache_dir() / "outcomes" / f"{_cache_key(unit, folder)}.json"
        if cached.exists() and os.environ.get("BATCHIMG_PEER_RERUN") != "1":
            data = json.loads(cached.read_text(encoding="utf-8"))
            result = Run(
                **data, log="(outcomes of an earlier run with the same files)", cached=True
            )
            _save(result, folder)
            return result
    out = folder / "outcomes.json"
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIPY_ARRAY_API", "PYTEST_"))}
    env.pop("BATCHIMG_PEER_ADAPT", None)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["BATCHIMG_PEER_OUTCOMES"] = str(out)
    env["DASK_SCHEDULER"] = "synchronous"  # the small graphs of a test run fastest in-thread
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # only the plugins named here: whatever else is installed (napari's, xdist ...)
    # stays out of both runs
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [
        sys.executable, "-m", "pytest", "-q", "--tb=native", "-p", "peers.outcomes",
        "-p", "pytest_timeout", "-p", "hypothesis.extra.pytestplugin",
        "-c", str(folder / "pytest.ini"), "--rootdir", str(folder),
        str(Path(unit.suite.package) / unit.path),
    ]  # fmt: skip
    # --tb=native: pytest's own tracebacks parse the test file for every entry of every
    # failure (90% of a run of scipy's 135 kB test_filters.py while most tests fail).
    _write_rerun(folder, env, command)
    start, cpu = time.perf_counter(), _child_cpu()
    done = subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds, cpu = time.perf_counter() - start, _child_cpu() - cpu
    log = done.stdout + done.stderr
    (folder / "pytest.log").write_text(log, encoding="utf-8")
    if not out.exists():
        raise RuntimeError(
            f"{unit.id} ({mode}): pytest wrote no outcomes; its output ends:\n{log[-3000:]}"
        )
    data = json.loads(out.read_text(encoding="utf-8"))
    prefix = unit.suite.package + "/"
    tests = {k.removeprefix(prefix): v for k, v in data["tests"].items()}
    result = Run(tests, data["errors"], data["exitstatus"], seconds, log, cpu_seconds=cpu)
    if cached is not None and not result.errors:
        cached.parent.mkdir(parents=True, exist_ok=True)
        keep = {
            "tests": tests,
            "errors": [],
            "exitstatus": result.exitstatus,
            "seconds": seconds,
            "cpu_seconds": cpu,
        }
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(keep), encoding="utf-8")
        os.replace(partial, cached)
    _save(result, folder)
    return result


def _save(result: Run, folder: Path) -> None:
    data = {k: v for k, v in vars(result).items() if k != "log"}
    (folder / "run.json").write_text(json.dumps(data), encoding="utf-8")


def load(folder: Path) -> Run:
    """A run that :func:`run` made in ``folder`` (its ``run.json``), without running it again."""
    data = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    log = folder / "pytest.log"
    return Run(**data, log=log.read_text(encoding="utf-8") if log.exists() else "")


def pattern(text: str) -> re.Pattern:
    """A test-id pattern: ``*`` matches anything, every other character itself."""
    return re.compile(".*".join(re.escape(part) for part in text.split("*")) + r"\Z")


def _for_unit(unit: Unit, entries: dict[str, str]) -> dict[str, str]:
    prefix = unit.path + ("/" if not unit.path.endswith(".py") else "")
    return {k: v for k, v in entries.items() if k == unit.path or k.startswith(prefix)}


def describe(entry: dict | None, run: Run | None = None) -> str:
    """One line for a test's outcome through batchimg: outcome, message, notes."""
    if entry is None:
        errors = "; ".join(e["message"] for e in (run.errors if run else []))[:300]
        return "not collected through batchimg" + (f": {errors}" if errors else "")
    text = f"{entry['outcome']}: {entry['message']}"
    if entry.get("notes"):
        text += " | " + " | ".join(entry["notes"])
    return text


def compare(
    unit: Unit, original: Run, swapped: Run, excepted: dict[str, str], known: dict[str, str]
) -> Comparison:
    """Check the swapped run against the original and the two lists (for this unit).

    A test that passes with the original must pass through batchimg, unless an
    ``excepted`` pattern matches it (reviewed; its outcome is not looked at) or it is
    a ``known`` failure, which must then fail (strict: a passing known failure is
    stale). Entries that name no test passing with the original are stale too.
    """
    excepted = {k: pattern(k) for k in _for_unit(unit, excepted)}
    known = _for_unit(unit, known)
    result = Comparison()
    passing = original.passed()
    for test in sorted(passing):
        if any(p.match(test) for p in excepted.values()):
            continue
        entry = swapped.tests.get(test)
        ok = entry is not None and entry["outcome"] == "passed"
        if not ok:
            result.failing[test] = describe(entry, swapped)
        if test in known and ok:
            result.stale[test] = "passes through batchimg now; delete its entry"
        elif test not in known and not ok:
            result.regressions[test] = describe(entry, swapped)
    for test in known:
        if test not in passing:
            outcome = original.tests.get(test, {}).get("outcome", "absent")
            result.stale[test] = f"not a test that passes with the original (it is {outcome})"
    for text, p in excepted.items():
        if not any(p.match(t) for t in original.tests):
            result.stale[text] = "the exception matches no test of the original run"
    return result
