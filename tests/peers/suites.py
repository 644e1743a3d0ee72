"""Where each peer's test files come from, and which of them run.

scipy ships its tests in the wheel (``scipy/ndimage/tests``). scikit-image and
dask-image do not, so the source distribution of the *installed* version is fetched
from the package index's JSON API (PEP 691; its sha256 checked) into a cache folder
outside the repository, and unpacked there once. Where that API is not available,
pip fetches it (``pip download <dist>==<version> --no-deps --no-binary <dist>``;
pip prepares the sdist's metadata before saving it, which for scikit-image means a
build, about 6.5 minutes on 2 cores); afterwards the cache answers. The cache is
``$BATCHIMG_PEER_CACHE``, else ``$XDG_CACHE_HOME/batchimg-peers`` (``~/.cache/batchimg-peers``).

``python tests/peers/suites.py`` fetches what is missing (a CI step before pytest).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FETCH_TIMEOUT_S = 1200


class SourceUnavailable(Exception):
    """A peer's test files cannot be had (no network, no such release); tests skip."""


@dataclass(frozen=True)
class Suite:
    """One peer's test suite.

    ``package`` is the folder the test files are copied into (the test ids start
    there, without it); ``support`` lists the files and folders copied besides the
    units, relative to the suite's root; ``plugins`` the pytest plugins the peer's
    own conftest provides; ``locate`` finds the suite's root folder.
    """

    name: str
    distribution: str
    targets: tuple[str, ...]
    package: str
    support: tuple[str, ...]
    locate: Callable[[Suite], Path]
    plugins: tuple[str, ...] = ()
    ini_markers: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return importlib.metadata.version(self.distribution)

    def root(self) -> Path:
        """The folder that holds the suite's test files (fetching the sdist if needed)."""
        return self.locate(self)


def installed_tests(suite: Suite) -> Path:
    """scipy's installed ``scipy/ndimage/tests``."""
    spec = importlib.util.find_spec("scipy.ndimage.tests")
    if spec is None or not spec.submodule_search_locations:
        raise SourceUnavailable("scipy is installed without its tests (scipy/ndimage/tests)")
    return Path(spec.submodule_search_locations[0])


def sdist_tests(suite: Suite) -> Path:
    """The ``tests`` folder of the installed version's source distribution."""
    top = sdist(suite.distribution, suite.version)
    return top / ("tests/skimage" if suite.distribution == "scikit-image" else "tests")


@dataclass(frozen=True)
class Unit:
    """One test file or folder of a suite, run as one test of ours."""

    suite: Suite
    path: str
    slow: bool

    @property
    def id(self) -> str:
        return f"{self.suite.name}:{self.path}"


SCIPY = Suite(
    name="scipy.ndimage",
    distribution="scipy",
    targets=("scipy.ndimage",),
    package="ndimage_tests",
    # the tests package (``types``, ``float_types``...), the data of test_measurements
    support=("__init__.py", "data", "dots.png"),
    locate=installed_tests,
    plugins=("scipy.conftest",),
)
SKIMAGE = Suite(
    name="scikit-image",
    distribution="scikit-image",
    targets=("skimage.measure", "skimage.segmentation", "skimage.morphology"),
    package="skimage_tests",
    support=("conftest.py",),
    locate=sdist_tests,
)
DASK_IMAGE = Suite(
    name="dask-image",
    distribution="dask-image",
    targets=("dask_image.ndfilters", "dask_image.ndmorph", "dask_image.ndmeasure"),
    package="dask_image_tests",
    support=("__init__.py", "test_dask_image/__init__.py"),
    locate=sdist_tests,
    ini_markers=("cupy: needs cupy",),
)
SUITES = (SCIPY, SKIMAGE, DASK_IMAGE)

UNITS = (
    Unit(SCIPY, "test_filters.py", slow=True),
    Unit(SCIPY, "test_morphology.py", slow=True),
    Unit(SCIPY, "test_measurements.py", slow=False),
    Unit(SKIMAGE, "measure/test_regionprops.py", slow=False),
    Unit(SKIMAGE, "segmentation/test_clear_border.py", slow=False),
    Unit(SKIMAGE, "morphology/test_misc.py", slow=False),
    Unit(DASK_IMAGE, "test_dask_image/test_ndfilters", slow=True),
    Unit(DASK_IMAGE, "test_dask_image/test_ndmorph", slow=False),
    Unit(DASK_IMAGE, "test_dask_image/test_ndmeasure", slow=True),
)


def cache_dir() -> Path:
    """The folder that keeps fetched source distributions (outside the repository)."""
    explicit = os.environ.get("BATCHIMG_PEER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "batchimg-peers"


#: The package index's JSON API (PEP 691) that lists a distribution's files.
SIMPLE_INDEX = os.environ.get("BATCHIMG_PEER_INDEX", "https://pypi.org/simple")


def _download_from_index(distribution: str, version: str, dest: Path) -> Path:
    """Fetch the sdist file straight from the index (no build), checking its sha256."""
    import hashlib
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{SIMPLE_INDEX}/{distribution}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        files = json.load(r)["files"]
    stems = {
        f"{distribution.replace('-', '_')}-{version}.tar.gz",
        f"{distribution}-{version}.tar.gz",
    }
    found = [f for f in files if f["filename"] in stems]
    if not found:
        raise SourceUnavailable(f"the index lists no sdist of {distribution}=={version}")
    entry = found[0]
    with urllib.request.urlopen(entry["url"], timeout=FETCH_TIMEOUT_S) as r:
        data = r.read()
    want = entry.get("hashes", {}).get("sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise SourceUnavailable(f"the sdist of {distribution}=={version} failed its sha256 check")
    path = dest / entry["filename"]
    path.write_bytes(data)
    return path


def _download(distribution: str, version: str, dest: Path) -> Path:
    try:
        return _download_from_index(distribution, version, dest)
    except (OSError, ValueError, KeyError, SourceUnavailable):
        pass  # no JSON index here: pip finds the file (building its metadata first)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"{distribution}=={version}",
        "--no-deps",
        "--no-binary",
        distribution,
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise SourceUnavailable(
            f"pip download {distribution}=={version} took over {FETCH_TIMEOUT_S} s"
        ) from exc
    archives = sorted(dest.glob("*.tar.gz"))
    if done.returncode or not archives:
        output = (done.stderr or done.stdout).splitlines()
        errors = [line for line in output if line.startswith("ERROR")] or output[-3:]
        tail = " ".join(" ".join(errors).split())[:400]
        raise SourceUnavailable(
            f"pip download {distribution}=={version} --no-binary {distribution} failed "
            f"(exit {done.returncode}): {tail}"
        )
    return archives[0]


def sdist(distribution: str, version: str) -> Path:
    """The unpacked source distribution of ``distribution==version`` (its top folder).

    Raises SourceUnavailable when it is not cached and cannot be fetched.
    """
    cache = cache_dir()
    stem = f"{distribution.replace('-', '_')}-{version}"
    unpacked = cache / stem
    if (unpacked / "PKG-INFO").exists():
        return unpacked
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"{stem}.tar.gz"
    if not archive.exists():
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            got = _download(distribution, version, Path(tmp))
            os.replace(got, archive)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        with tarfile.open(archive) as tar:
            members = [
                m for m in tar.getmembers() if m.name.split("/")[1:2] in (["tests"], ["PKG-INFO"])
            ]
            tar.extractall(tmp, members=members, filter="data")
        tops = [p for p in Path(tmp).iterdir() if p.is_dir()]
        if len(tops) != 1 or not (tops[0] / "PKG-INFO").exists():
            raise SourceUnavailable(f"{archive} is not a source distribution with one top folder")
        try:
            os.replace(tops[0], unpacked)
        except OSError:  # another run unpacked it meanwhile
            shutil.rmtree(tops[0], ignore_errors=True)
    return unpacked


def main() -> int:
    """Fetch every suite's sources that are not cached yet; print where they are."""
    for suite in SUITES:
        try:
            print(f"{suite.name} {suite.version}: {suite.root()}")
        except SourceUnavailable as exc:
            print(f"{suite.name}: unavailable: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
