"""Rewrite a peer's test file so that its imports of the target namespaces go through the swap.

Only the import statements that name a target module (or a module inside or above
one) change; every other line of the file stays as the peer wrote it. The forms::

    from scipy import ndimage                  ndimage = _peer_swap.swap_from("scipy", "ndimage")
    import scipy.ndimage as ndi                ndi = _peer_swap.import_as("scipy.ndimage")
    from scipy.ndimage import label as lb      lb = _peer_swap.swap_from("scipy.ndimage", "label")
    import dask_image.ndfilters                import dask_image.ndfilters
                                               dask_image = _peer_swap.import_as("dask_image")

(statements at any depth, keeping their indentation), plus one
``import peers.swap as _peer_swap`` after the docstring and ``__future__`` imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

SWAP_IMPORT = "import peers.swap as _peer_swap  # batchimg: the swapped namespaces"


def _related(name: str, targets: Iterable[str]) -> bool:
    """Whether module ``name`` is a target, inside one, or a package above one."""
    return any(name == t or name.startswith(t + ".") or t.startswith(name + ".") for t in targets)


def _inside(name: str, targets: Iterable[str]) -> bool:
    return any(name == t or name.startswith(t + ".") for t in targets)


def _statement(node: ast.stmt, targets: tuple[str, ...]) -> list[str] | None:
    """The replacement lines (without indentation) for an import node, or None to keep it."""
    if isinstance(node, ast.Import):
        if not any(_related(a.name, targets) for a in node.names):
            return None
        lines = []
        for a in node.names:
            if not _related(a.name, targets):
                lines.append(f"import {a.name}" + (f" as {a.asname}" if a.asname else ""))
            elif a.asname:
                lines.append(f"{a.asname} = _peer_swap.import_as({a.name!r})")
            else:
                top = a.name.split(".")[0]
                lines.append(f"import {a.name}")
                lines.append(f"{top} = _peer_swap.import_as({top!r})")
        return lines
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module is None:
            return None
        module = node.module
        if _inside(module, targets):
            touched = list(node.names)
        elif _related(module, targets):
            touched = [a for a in node.names if _related(f"{module}.{a.name}", targets)]
        else:
            return None
        if not touched:
            return None
        if any(a.name == "*" for a in touched):
            raise ValueError(f"line {node.lineno}: 'from {module} import *' cannot be swapped")
        kept = [a for a in node.names if a not in touched]
        lines = []
        if kept:
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept)
            lines.append(f"from {module} import {names}")
        for a in touched:
            lines.append(f"{a.asname or a.name} = _peer_swap.swap_from({module!r}, {a.name!r})")
        return lines
    return None


def rewrite_source(source: str, targets: Iterable[str]) -> tuple[str, list[str]]:
    """Return ``source`` with its target imports swapped, and the statements replaced.

    Raises ValueError when an import to swap shares a line with another statement
    (it could not be replaced alone) or is a star import.

    >>> new, changed = rewrite_source("import os\\nfrom scipy import ndimage\\n", ["scipy.ndimage"])
    >>> print(new)
    import peers.swap as _peer_swap  # batchimg: the swapped namespaces
    import os
    ndimage = _peer_swap.swap_from('scipy', 'ndimage')
    <BLANKLINE>
    >>> changed
    ['from scipy import ndimage']
    """
    targets = tuple(targets)
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    replacements = []
    for node in ast.walk(tree):
        new = _statement(node, targets) if isinstance(node, ast.Import | ast.ImportFrom) else None
        if new is None:
            continue
        first, last = lines[node.lineno - 1], lines[node.end_lineno - 1]
        before = first[: node.col_offset]
        after = last[node.end_col_offset :].strip()
        if before.strip() or (after and not after.startswith("#")):
            raise ValueError(
                f"line {node.lineno}: an import to swap shares its line; got {first!r}"
            )
        replacements.append((node.lineno, node.end_lineno, before, new))
    changed = []
    for start, end, indent, new in sorted(replacements, reverse=True):
        changed.append(" ".join(line.strip() for line in lines[start - 1 : end]))
        lines[start - 1 : end] = [indent + text + "\n" for text in new]
    insert_at = 0
    for node in tree.body:
        docstring = (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and node is tree.body[0]
        )
        if docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            insert_at = node.end_lineno
        else:
            break
    lines.insert(insert_at, SWAP_IMPORT + "\n")
    return "".join(lines), changed[::-1]
