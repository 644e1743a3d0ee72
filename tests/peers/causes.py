"""Name the cause of a peer test's failure through batchimg, from its message and notes.

The causes are short and stable (numbers and reprs taken out), so that failures
group by cause in the report and in :mod:`peers.known_failures`.
"""

from __future__ import annotations

import re

_WHO = r"(scipy|skimage)"


def clean(text: str, limit: int = 70) -> str:
    text = re.sub(r"batchimg\.errors\.", "", text)
    text = re.sub(r"; got .*", "", text)
    text = re.sub(r"\((\d+)\)", "(n)", text)
    text = re.sub(r"\b\d+(\.\d+)?\b", "n", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def functions(calls: list[str]) -> list[str]:
    """The batchimg functions a test ran, from its recorded calls."""
    return sorted(c.split(":", 1)[1] for c in calls if c.startswith("batchimg:"))


def cause(entry: dict | None) -> str:
    """The cause of one failing test (``entry`` from :mod:`peers.outcomes`, None: not collected).

    >>> cause({"message": "TypeError: label() got an unexpected keyword argument 'output'"})
    'output= not accepted'
    >>> cause({"message": "TypeError: f() takes 1 positional argument but 2 were given"})
    'positional parameter is keyword-only'
    >>> note = "sum: error type differs: scipy RuntimeError, ours InputError (x)"
    >>> cause({"message": "InputError: x", "notes": [note]})
    'error type differs: scipy RuntimeError, ours InputError'
    """
    if entry is None:
        return "not collected through batchimg"
    message = entry.get("message", "")
    notes = entry.get("notes", [])
    found = re.search(r"unexpected keyword argument '(\w+)'", message)
    if found:
        return f"{found.group(1)}= not accepted"
    if re.search(r"takes .*positional arguments? but .* given", message):
        return "positional parameter is keyword-only"
    if re.search(r"real-valued|complex", message) and "Error" in message.split(":")[0]:
        return "complex input refused"
    for note in notes:
        found = re.search(rf"error type differs: {_WHO} (\w+), ours (\w+)", note)
        if found:
            return f"error type differs: {found.group(1)} {found.group(2)}, ours {found.group(3)}"
    found = re.search(r"Regex pattern did not match.*?Expected regex: '([^']*)'", message)
    if found:
        return f"error message differs (expected match {found.group(1)!r})"
    for note in notes:
        found = re.search(rf"ours returns where {_WHO} raises (\w+)", note)
        if found:
            return f"no error where {found.group(1)} raises {found.group(2)}"
    found = re.search(r"DID NOT RAISE <class '(\w+\.)*(\w+)'>|DID NOT RAISE (\w+)", message)
    if found:
        what = found.group(2) or found.group(3)
        return f"no error where the test expects {what}"
    for note in notes:
        found = re.search(rf"ours raises (\w+) where {_WHO} returns \((.*)\)", note)
        if found:
            return f"refuses what {found.group(2)} accepts: {clean(found.group(3))}"
    for note in notes:
        found = re.search(r"^\w+: (.*)", note)
        if found and "computing ours" not in note:
            text = re.sub(r"\(\d+ of \d+ elements\)", "", found.group(1)).strip()
            text = re.sub(r"^\w+(-\d+)?: ", "", text)  # a regionprops column name
            return clean(text, 80)
    if message.startswith("Skipped"):
        return "skipped through batchimg"
    return clean(message) or "fails"
