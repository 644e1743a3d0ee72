"""A pytest plugin for a peer's test run: every test's outcome, written as JSON.

Loaded with ``-p peers.outcomes`` in the subprocess; the file named by the
environment variable ``BATCHIMG_PEER_OUTCOMES`` receives::

    {"tests": {nodeid: {"outcome": ..., "message": ..., "calls": [...], "notes": [...]}},
     "errors": [{"nodeid": ..., "message": ...}], "exitstatus": int}

``outcome`` is one of passed, failed, skipped, xfailed, xpassed (a failure in setup
or teardown makes the test failed). ``calls`` and ``notes`` come from
:data:`peers.swap.RECORD` when the swap was used.
"""

from __future__ import annotations

import json
import os
import sys

_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "xpassed": 3, "failed": 4}
_TESTS: dict[str, dict] = {}
_ERRORS: list[dict] = []


def _message(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        text = str(report.longrepr[2])
    else:
        text = str(report.longrepr or "")
    text = " ".join(text.split())
    return text[:300]


def pytest_runtest_logreport(report) -> None:
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    elif report.failed:
        outcome = "failed"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "passed"
    entry = _TESTS.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
    if _RANK[outcome] > _RANK[entry["outcome"]]:
        entry["outcome"] = outcome
        entry["message"] = _message(report) if outcome != "xpassed" else ""
        entry["when"] = report.when


def pytest_collectreport(report) -> None:
    if report.failed:
        _ERRORS.append({"nodeid": report.nodeid, "message": _message(report)})


def pytest_sessionfinish(session, exitstatus) -> None:
    swap = sys.modules.get("peers.swap")
    record = swap.RECORD if swap is not None else {}
    for nodeid, entry in _TESTS.items():
        seen = record.get(nodeid, {})
        entry["calls"] = sorted(seen.get("calls", ()))
        entry["notes"] = list(seen.get("notes", ()))
    path = os.environ["BATCHIMG_PEER_OUTCOMES"]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"tests": _TESTS, "errors": _ERRORS, "exitstatus": int(exitstatus)}, f)
