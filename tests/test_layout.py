"""The house rules of the code: layers, no private names across subpackages, packaging."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "batchimg"


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _subpackage(module: str) -> str:
    """A module's own subpackage: batchimg.label._merge -> batchimg.label."""
    parts = module.split(".")
    path = PACKAGE.joinpath(*parts[1:])
    return module if path.is_dir() else ".".join(parts[:-1])


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_import_linter_contracts_hold():
    exe = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(exe), "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_no_private_name_is_imported_across_subpackages():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _resolve(module, node, path.name == "__init__.py")
            for alias in node.names:
                if not alias.name.startswith("_") or alias.name.startswith("__"):
                    continue
                sub = PACKAGE.joinpath(*f"{target}.{alias.name}".split(".")[1:])
                if sub.is_dir() or sub.with_suffix(".py").exists():
                    continue  # a private module: the private_modules contract covers it
                if _subpackage(target) != _subpackage(module):
                    found.append(f"{module} imports {target}.{alias.name}")
    assert found == []


def test_every_package_is_shipped_with_the_workflows_and_the_license():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {_module(p) for p in PACKAGE.rglob("__init__.py")} | {"batchimg.workflows"}
    assert listed == on_disk
    assert config["tool"]["setuptools"]["package-dir"]["batchimg.workflows"] == "workflows"
    assert config["project"]["license"] == "BSD-3-Clause"
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert (PACKAGE / "py.typed").exists()
    assert "dask-image" not in " ".join(config["project"]["dependencies"])


@pytest.mark.parametrize("statement", ["import batchimg", "import batchimg.cli"])
def test_importing_batchimg_loads_no_heavy_module(statement):
    code = (
        f"{statement}, sys; heavy = ('numpy', 'dask', 'pandas', 'pyarrow', 'scipy', 'zarr', "
        "'skimage', 'matplotlib', 'distributed'); print([m for m in heavy if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_the_help_imports_little():
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "from batchimg.cli import main; main(['--help'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    total = 0
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "| batchimg.cli" in line:
            total = int(line.split("|")[1])  # cumulative microseconds
    assert 0 < total < 500_000, proc.stderr[-2000:]
