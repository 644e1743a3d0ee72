"""Run the peers' suites and summarise them in Markdown (and, on request, the known failures).

Usage (from the repository root)::

    python tests/peers/report.py --out peer-report.md [--unit scipy.ndimage:test_filters.py ...]
        [--work DIR] [--write-known-failures]

Each unit runs twice (original, through batchimg) in ``--work`` (a temporary folder
by default). ``--write-known-failures`` rewrites ``tests/peers/known_failures.py``
from the failing tests of the units run (other units' entries are kept): a tool for
the baseline; every entry it adds must be reviewed like any other change.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

# this checkout's batchimg and tests/peers, whatever the current folder
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parents[1])]

from peers import harness, suites, swap  # noqa: E402
from peers.causes import cause, clean, functions  # noqa: E402
from peers.excepted import EXCEPTED  # noqa: E402
from peers.known_failures import KNOWN_FAILURES  # noqa: E402

HERE = Path(__file__).resolve().parent


def run_units(units, work: Path, adapt: bool = False, reuse: bool = False) -> dict:
    """unit id -> (unit, original Run, batchimg Run, Comparison); ``reuse``: read earlier runs."""
    results = {}
    for unit in units:
        slug = unit.id.replace("/", "_").replace(":", "_")
        if reuse:
            original = harness.load(work / slug / "original")
            swapped = harness.load(work / slug / "batchimg")
        else:
            original = harness.run(unit, "original", work / slug / "original")
            env = {"BATCHIMG_PEER_ADAPT": "1"} if adapt else None
            swapped = harness.run(unit, "batchimg", work / slug / "batchimg", env=env)
        suite = unit.suite.name
        comparison = harness.compare(
            unit, original, swapped, EXCEPTED.get(suite, {}), KNOWN_FAILURES.get(suite, {})
        )
        results[unit.id] = (unit, original, swapped, comparison)
        print(
            f"{unit.id}: {len(original.passed())} pass with the original "
            f"({original.seconds:.0f} s), {len(comparison.failing)} fail through batchimg "
            f"({swapped.seconds:.0f} s)",
            file=sys.stderr,
        )
    return results


def _excepted(unit, original) -> set[str]:
    patterns = [harness.pattern(p) for p in EXCEPTED.get(unit.suite.name, {})]
    return {t for t in original.passed() if any(p.match(t) for p in patterns)}


def _label(entry: dict | None) -> str:
    names = functions(entry["calls"]) if entry else []
    return " + ".join(names) if names else "(no batchimg call)"


def _table(rows, header) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _seconds(run) -> str:
    return f"{run.seconds:.0f} ({run.cpu_seconds:.0f})" + (" c" if run.cached else "")


def markdown(results: dict) -> str:
    """The report: per suite the counts, then the failures by function and by cause."""
    lines = ["# The peers' test suites through batchimg", ""]
    summary = []
    for unit, original, swapped, comparison in results.values():
        excepted = _excepted(unit, original)
        passing = original.passed()
        touched = {
            t
            for t in passing
            if any(c.startswith("batchimg:") for c in swapped.tests.get(t, {}).get("calls", []))
        }
        summary.append((
            unit.suite.name, f"`{unit.path}`", len(original.tests), len(passing),
            len(passing) - len(excepted) - len(comparison.failing), len(touched),
            len(comparison.failing), len(excepted),
            _seconds(original), _seconds(swapped),
        ))  # fmt: skip
    lines += _table(summary, [
        "suite", "unit", "tests", "pass (original)", "pass (batchimg)", "call batchimg",
        "fail (batchimg)", "excepted", "s original (cpu)", "s batchimg (cpu)",
    ])  # fmt: skip
    total_pass = sum(r[3] - r[7] for r in summary)
    total_ok = sum(r[4] for r in summary)
    share = 100 * total_ok / max(total_pass, 1)
    lines += ["", "Seconds are wall clock (CPU in brackets); c: the original's outcomes came from "
              "the cache of an earlier run with the same files and versions."]  # fmt: skip
    lines += [
        "",
        f"Overall: {total_ok} of {total_pass} tests that pass with the original (less the "
        f"excepted) pass through batchimg ({share:.1f}%).",
        "",
    ]
    for suite in suites.SUITES:
        units = [r for r in results.values() if r[0].suite is suite]
        if not units:
            continue
        lines += [f"## {suite.name} {suite.version}", ""]
        by_function, by_cause, pairs, missing, passing_notes = (Counter() for _ in range(5))
        for _unit, original, swapped, comparison in units:
            for test in comparison.failing:
                entry = swapped.tests.get(test)
                label, why = _label(entry), cause(entry)
                by_function[label] += 1
                by_cause[why] += 1
                pairs[(label, why)] += 1
            for test in original.passed():
                entry = swapped.tests.get(test) or {}
                calls = entry.get("calls", [])
                if calls and not any(c.startswith("batchimg:") for c in calls):
                    for c in calls:
                        missing[c.split(":", 1)[1]] += 1
                if entry.get("outcome") == "passed":
                    for note in entry.get("notes", []):
                        if "raises" in note:  # drop the error's message
                            note = re.sub(r" \(.*\)$", "", note)
                        passing_notes[clean(note, 100)] += 1
        lines += ["### Failures by function", ""]
        lines += _table(by_function.most_common(), ["function(s)", "tests"])
        lines += ["", "### Failures by cause", ""]
        lines += _table(by_cause.most_common(), ["cause", "tests"])
        lines += ["", "### Failures by function and cause", ""]
        lines += _table([(f, c, n) for (f, c), n in pairs.most_common()],
                        ["function(s)", "cause", "tests"])  # fmt: skip
        if missing:
            lines += ["", "### Passing only because the peer's own function runs (missing in "
                      "batchimg)", ""]  # fmt: skip
            lines += _table(missing.most_common(), ["peer function", "tests"])
        if passing_notes:
            lines += ["", "### Differences seen in tests that still pass", ""]
            lines += _table(passing_notes.most_common(), ["difference", "tests"])
        lines.append("")
    return "\n".join(lines)


def _q(text: str) -> str:
    """A Python string literal in double quotes, as ruff formats them."""
    return json.dumps(text)


def known_failures_source(results: dict) -> str:
    """The text of known_failures.py: this run's failures, other units' entries kept."""
    entries = {name: dict(items) for name, items in KNOWN_FAILURES.items()}
    for unit, _original, swapped, comparison in results.values():
        suite = entries.setdefault(unit.suite.name, {})
        prefix = unit.path
        for test in [t for t in suite if t.startswith(prefix)]:
            del suite[test]
        for test in comparison.failing:
            entry = swapped.tests.get(test)
            label = _label(entry)
            suite[test] = f"{label}: {cause(entry)}" if entry else cause(entry)
    template = (HERE / "known_failures.py").read_text(encoding="utf-8")
    head = template[: template.index("KNOWN_FAILURES: dict")]
    body = ["KNOWN_FAILURES: dict[str, dict[str, str]] = {"]
    for suite in suites.SUITES:
        body.append(f"    {_q(suite.name)}: {{")
        for test, why in sorted(entries.get(suite.name, {}).items()):
            body.append(f"        {_q(test)}: {_q(why)},")
        body.append("    },")
    body.append("}")
    body.append("")
    body.append("#: scipy.ndimage's public filters, morphology and measurements functions that")
    body.append("#: batchimg does not offer yet: name -> scipy module.")
    body.append("MISSING_FUNCTIONS: dict[str, str] = {")
    body += [f"    {_q(n)}: {_q(m)}," for n, m in sorted(swap.missing_functions().items())]
    body.append("}")
    return head + "\n".join(body) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unit", action="append", help="a unit id (default: all)")
    parser.add_argument("--work", type=Path, help="where the runs are laid out")
    parser.add_argument("--out", type=Path, help="the Markdown report (default: stdout)")
    parser.add_argument("--write-known-failures", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="read the runs already in --work instead of running"
    )
    parser.add_argument(
        "--adapt",
        action="store_true",
        help="diagnosis: respell each call for batchimg (keywords, output= filled by the "
        "harness) to see the failures behind the signature",
    )
    args = parser.parse_args(argv)
    if args.adapt and args.write_known_failures:
        parser.error("--write-known-failures takes the plain run, not --adapt")
    if args.reuse and not args.work:
        parser.error("--reuse reads the runs in --work; name it")
    units = [u for u in suites.UNITS if not args.unit or u.id in args.unit]
    with tempfile.TemporaryDirectory() as tmp:
        results = run_units(units, args.work or Path(tmp), adapt=args.adapt, reuse=args.reuse)
        text = markdown(results)
    if args.adapt:
        text = text.replace(
            "# The peers' test suites through batchimg",
            "# The peers' test suites through batchimg, calls adapted by the harness\n\n"
            "Diagnosis only: each call reached batchimg with its first argument positional, "
            "the others as keywords, and output=/out= filled from the result as the peer "
            "does, to show what fails behind the signature.",
        )

    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    if args.write_known_failures:
        (HERE / "known_failures.py").write_text(known_failures_source(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
