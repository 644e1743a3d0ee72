"""Whether an interrupted run can be resumed: what changed since it started, in words."""

from __future__ import annotations

import json
import os
from typing import Any


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def workflow_changes(old: dict, new: dict) -> list[str]:
    """Say how workflow record ``new`` differs from ``old`` (empty when equal)."""
    out = []
    if old.get("name") != new.get("name"):
        out.append(f"name {old.get('name')!r} -> {new.get('name')!r}")
    a, b = old.get("steps", []), new.get("steps", [])
    for i in range(max(len(a), len(b))):
        if i >= len(a):
            out.append(f"step {i + 1} {b[i][0]!r} added")
        elif i >= len(b):
            out.append(f"step {i + 1} {a[i][0]!r} removed")
        elif a[i] != b[i]:
            if a[i][0] != b[i][0]:
                out.append(f"step {i + 1} {a[i][0]!r} -> {b[i][0]!r}")
            else:
                what = f"{_short(a[i][1])} -> {_short(b[i][1])}"
                if a[i][2] != b[i][2]:
                    what = f"from {a[i][2]!r} -> {b[i][2]!r}"
                out.append(f"step {i + 1} {a[i][0]!r}: {what}")
    for key in ("measure", "save", "input"):
        if old.get(key) != new.get(key):
            out.append(f"{key} {old.get(key)} -> {new.get(key)}")
    return out


def input_changes(old: dict, new: dict) -> list[str]:
    """Say how input description ``new`` differs from ``old`` (paths, sizes, mtimes)."""
    if "images" in old and "images" in new:
        a = dict(zip(old["images"], zip(old["sizes"], old["mtimes_ns"], strict=True), strict=True))
        b = dict(zip(new["images"], zip(new["sizes"], new["mtimes_ns"], strict=True), strict=True))
        out = []
        added = [p for p in b if p not in a]
        removed = [p for p in a if p not in b]
        changed = [p for p in b if p in a and a[p] != b[p]]
        if added:
            out.append(f"{len(added)} file(s) added ({_names(added)})")
        if removed:
            out.append(f"{len(removed)} file(s) removed ({_names(removed)})")
        if changed:
            p = changed[0]
            out.append(
                f"{len(changed)} file(s) changed size or modification time ({_names(changed)}; "
                f"{os.path.basename(p)!r}: size {a[p][0]} -> {b[p][0]})"
            )
        if not out and list(a) != list(b):
            out.append("the order of the files changed")
        return out
    keys = sorted(set(old) | set(new))
    return [
        f"{k} {_short(old.get(k))} -> {_short(new.get(k))}"
        for k in keys
        if old.get(k) != new.get(k)
    ]


def _names(paths: list[str]) -> str:
    shown = ", ".join(repr(os.path.basename(p)) for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def changes(old: dict, new: dict) -> list[str]:
    """What differs between the recorded run ``old`` and the run about to start ``new``.

    Workflow (steps, parameters, measure, save, input section), input (files added or
    removed, sizes or modification times, axes), table name and kind of input are
    compared; an empty list means the run can be resumed.
    """
    problems = []
    wf = workflow_changes(old.get("workflow", {}), new["workflow"])
    if wf:
        problems.append("the workflow changed: " + "; ".join(wf))
    if old.get("input_kind") != new["input_kind"]:
        problems.append(
            f"the input changed from a {old.get('input_kind')} to a {new['input_kind']}"
        )
    else:
        inp = input_changes(old.get("input", {}), json.loads(json.dumps(new["input"], default=str)))
        if inp:
            problems.append("the inputs changed: " + "; ".join(inp))
    if old.get("table") != new["table"]:
        problems.append(f"the table changed: {old.get('table')!r} -> {new['table']!r}")
    return problems


__all__ = ["changes", "input_changes", "workflow_changes"]
