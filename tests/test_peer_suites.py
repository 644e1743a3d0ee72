"""The peers' own test suites (scipy.ndimage, scikit-image, dask-image) through batchimg.

See tests/peers: each unit runs in a pytest subprocess as the peer wrote it and with
batchimg's same-named functions swapped in; a test that passes with the original
must pass through batchimg, unless it is a reviewed exception (peers/excepted.py)
or a known failure (peers/known_failures.py, strict).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import types

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage
from peers import harness, suites, swap
from peers.excepted import EXCEPTED
from peers.known_failures import KNOWN_FAILURES, MISSING_FUNCTIONS
from peers.rewrite import rewrite_source


def _param(unit: suites.Unit):
    return pytest.param(unit, id=unit.id, marks=[pytest.mark.slow] if unit.slow else [])


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("unit", [_param(u) for u in suites.UNITS])
def test_peer_suite(unit, tmp_path):
    try:
        unit.suite.root()
    except suites.SourceUnavailable as exc:
        pytest.skip(f"{unit.suite.name} {unit.suite.version}'s tests are unavailable: {exc}")
    original = harness.run(unit, "original", tmp_path / "original")
    assert not original.errors, f"the original run does not collect: {original.errors}"
    assert original.passed(), f"no test of {unit.id} passes with the original:\n{original.log}"
    swapped = harness.run(unit, "batchimg", tmp_path / "batchimg")
    suite = unit.suite.name
    result = harness.compare(
        unit, original, swapped, EXCEPTED.get(suite, {}), KNOWN_FAILURES.get(suite, {})
    )
    print(f"{unit.id}: original {original.seconds:.1f} s, batchimg {swapped.seconds:.1f} s")
    problems = result.problems()
    assert not problems, (
        f"{unit.id}: {len(problems)} problems (fix batchimg, or update "
        "tests/peers/known_failures.py):\n" + "\n".join(problems[:60])
    )


# ---------------------------------------------------------------------------
# the lists


def test_scipy_functions_exist_in_batchimg():
    missing = swap.missing_functions()
    assert set(swap.scipy_functions()) >= set(MISSING_FUNCTIONS)
    new = sorted(set(missing) - set(MISSING_FUNCTIONS))
    assert not new, f"scipy.ndimage functions missing from batchimg: {new}"
    done = sorted(set(MISSING_FUNCTIONS) - set(missing))
    assert not done, f"batchimg offers these now; delete them from MISSING_FUNCTIONS: {done}"


@pytest.mark.parametrize("name", ["known_failures", "excepted"])
def test_list_entries_name_units_and_causes(name):
    lists = KNOWN_FAILURES if name == "known_failures" else EXCEPTED
    names = {s.name for s in suites.SUITES}
    assert set(lists) <= names
    for suite, entries in lists.items():
        paths = [u.path for u in suites.UNITS if u.suite.name == suite]
        for test, why in entries.items():
            assert any(test.startswith(p) for p in paths), f"{suite}: {test} is in no unit"
            assert why.strip(), f"{suite}: {test} has no cause"
    for suite in names:
        both = set(KNOWN_FAILURES.get(suite, {})) & set(EXCEPTED.get(suite, {}))
        assert not both, f"{suite}: listed as known failure and as exception: {sorted(both)}"


# ---------------------------------------------------------------------------
# the harness itself


def _run(tests, errors=()):
    return harness.Run(
        {t: {"outcome": o, "message": o, "calls": [], "notes": []} for t, o in tests.items()},
        list(errors),
        0,
        0.0,
        "",
    )


_UNIT = suites.Unit(suites.SCIPY, "test_x.py", slow=False)


@pytest.mark.parametrize(
    ("swapped", "excepted", "known", "regressions", "stale"),
    [
        ({"test_x.py::a": "passed"}, {}, {}, [], []),
        ({"test_x.py::a": "failed"}, {}, {}, ["test_x.py::a"], []),
        ({}, {}, {}, ["test_x.py::a"], []),  # not collected through batchimg
        ({"test_x.py::a": "failed"}, {"test_x.py::*": "why"}, {}, [], []),
        ({"test_x.py::a": "failed"}, {}, {"test_x.py::a": "cause"}, [], []),
        ({"test_x.py::a": "passed"}, {}, {"test_x.py::a": "cause"}, [], ["test_x.py::a"]),
        ({"test_x.py::a": "passed"}, {}, {"test_x.py::b": "cause"}, [], ["test_x.py::b"]),
        ({"test_x.py::a": "passed"}, {"test_x.py::zz*": "why"}, {}, [], ["test_x.py::zz*"]),
        ({"test_x.py::a": "skipped"}, {}, {}, ["test_x.py::a"], []),
    ],
)
def test_compare(swapped, excepted, known, regressions, stale):
    original = _run({"test_x.py::a": "passed", "test_x.py::b": "failed", "test_x.py::c": "skipped"})
    result = harness.compare(_UNIT, original, _run(swapped), excepted, known)
    assert sorted(result.regressions) == regressions
    assert sorted(result.stale) == stale


def test_pattern_takes_brackets_literally():
    p = harness.pattern("t.py::f[a-*]")
    assert p.match("t.py::f[a-1-b]")
    assert not p.match("t.py::fa")


_SOURCE = '''\
"""A peer's test file."""
from __future__ import annotations
import numpy as np
from scipy import ndimage, signal
import scipy.ndimage as ndi
from scipy.ndimage import label as lb, _filters
import scipy.ndimage


def inner():
    from scipy.ndimage import uniform_filter
    return uniform_filter
'''


def test_rewrite_swaps_every_import_form():
    new, changed = rewrite_source(_SOURCE, ["scipy.ndimage"])
    assert len(changed) == 5
    assert new.splitlines()[1] == "from __future__ import annotations"
    assert new.splitlines()[2].startswith("import peers.swap as _peer_swap")
    assert "from scipy import signal" in new
    namespace = {}
    exec(compile(new, "peer_test.py", "exec"), namespace)
    shim = swap.module("scipy.ndimage")
    assert namespace["ndimage"] is shim and namespace["ndi"] is shim
    assert namespace["scipy"].ndimage is shim
    assert namespace["lb"] is shim.label is not scipy.ndimage.label
    assert namespace["inner"]() is shim.uniform_filter
    assert namespace["_filters"] is sys.modules["scipy.ndimage._filters"]
    assert namespace["signal"] is sys.modules["scipy.signal"]
    # a name batchimg lacks stays scipy's own (recorded); private helpers are scipy's
    assert shim.correlate1d.__wrapped__ is scipy.ndimage.correlate1d
    assert shim._ni_support is sys.modules["scipy.ndimage._ni_support"]


def test_rewrite_refuses_a_shared_line():
    with pytest.raises(ValueError, match="shares its line"):
        rewrite_source("import os; from scipy import ndimage\n", ["scipy.ndimage"])


def test_swap_from_a_private_module_and_unswapped_names():
    from skimage.measure import label as skimage_label

    assert swap.swap_from("skimage.measure._regionprops", "regionprops_table") is (
        swap.module("skimage.measure").regionprops_table
    )
    assert swap.swap_from("skimage.morphology", "label") is skimage_label
    package = swap.import_as("dask_image")
    assert isinstance(package, types.ModuleType)
    assert package.ndmeasure is swap.module("dask_image.ndmeasure")
    assert package.ndmeasure.find_objects is not sys.modules["dask_image.ndmeasure"].find_objects


def test_eager_wrapper_chunks_images_and_computes(monkeypatch):
    monkeypatch.setattr(swap, "RECORD", {})
    seen = {}

    def ours(image, size=None, footprint=None, *, mode="reflect", labels=None):
        seen.update(image=image, size=size, footprint=footprint, mode=mode)
        return image + 1, da.zeros((), dtype=np.int64)

    def peer(input, size=None, footprint=None, output=None, mode="reflect"):
        return np.asarray(input) + 1, np.int64(0)

    wrapper = swap.eager_wrapper("scipy", "f", peer, ours)
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "t.py::chunks (call)")
    image = np.arange(60.0).reshape(10, 6)
    footprint = np.ones((3, 3), bool)
    out, zero = wrapper(image, 3, footprint, mode="wrap")
    assert isinstance(seen["image"], da.Array)
    assert seen["image"].chunks == ((1, 3, 6), (1, 2, 3))
    assert seen["footprint"] is footprint and seen["size"] == 3 and seen["mode"] == "wrap"
    assert type(out) is np.ndarray and (out == image + 1).all() and zero == 0
    assert swap.RECORD["t.py::chunks"] == {"calls": {"batchimg:f"}, "notes": []}


def test_eager_wrapper_notes_how_ours_differs(monkeypatch):
    def peer(input):
        if input.ndim == 0:
            raise RuntimeError("no 0-d")
        return np.asarray(input, np.float64)

    def ours(image):
        if image.ndim == 0:
            raise ValueError("0-d refused")
        return image.astype(np.float32)

    monkeypatch.setattr(swap, "RECORD", {})
    wrapper = swap.eager_wrapper("scipy", "g", peer, ours)
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "t.py::notes (call)")
    wrapper(np.ones(3))
    with pytest.raises(ValueError, match="0-d refused"):
        wrapper(np.array(1.0))
    assert swap.RECORD["t.py::notes"]["notes"] == [
        "g: dtype differs: scipy float64, ours float32",
        "g: error type differs: scipy RuntimeError, ours ValueError (0-d refused)",
    ]


def test_difference_names_what_differs():
    assert swap.difference(np.array([1, 2]), np.array([1, 3])) == "values differ (1 of 2 elements)"
    assert swap.difference(np.zeros(2), np.zeros((2, 1))).startswith("shape differs")
    assert swap.difference(np.array([np.nan]), np.array([1.0])) == (
        "values differ where NaN is involved"
    )
    assert swap.difference({"a": np.ones(1)}, {"b": np.ones(1)}).startswith("keys differ")
    assert swap.difference([slice(0, 1)], [slice(0, 2)]).startswith("differs: peer slice")


_PEER_TESTS = """\
import numpy as np
from scipy import ndimage
from scipy.ndimage import _filters

X = np.arange(10.0)


def test_same_answer():
    assert np.round(ndimage.uniform_filter(X, 3, mode="nearest"), 9).tolist()[1:3] == [1.0, 2.0]


def test_is_scipy_itself():
    assert ndimage.uniform_filter is _filters.uniform_filter


def test_fails_both():
    assert ndimage.uniform_filter(X, 3).sum() < 0
"""


def test_harness_runs_a_suite_both_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("BATCHIMG_PEER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BATCHIMG_PEER_RERUN", raising=False)
    peer = tmp_path / "peer"
    peer.mkdir()
    (peer / "test_peer.py").write_text(_PEER_TESTS, encoding="utf-8")
    suite = suites.Suite(
        name="scipy.ndimage",
        distribution="scipy",
        targets=("scipy.ndimage",),
        package="synthetic_tests",
        support=(),
        locate=lambda suite: peer,
    )
    unit = suites.Unit(suite, "test_peer.py", slow=False)
    original = harness.run(unit, "original", tmp_path / "original")
    swapped = harness.run(unit, "batchimg", tmp_path / "batchimg")
    outcomes = {t.split("::")[1]: e["outcome"] for t, e in swapped.tests.items()}
    assert original.passed() == {
        "test_peer.py::test_same_answer",
        "test_peer.py::test_is_scipy_itself",
    }
    assert outcomes == {"test_same_answer": "passed", "test_is_scipy_itself": "failed",
                        "test_fails_both": "failed"}  # fmt: skip
    assert swapped.tests["test_peer.py::test_same_answer"]["calls"] == ["batchimg:uniform_filter"]
    result = harness.compare(unit, original, swapped, {}, {})
    assert list(result.regressions) == ["test_peer.py::test_is_scipy_itself"]
    known = {"test_peer.py::test_is_scipy_itself": "identity"}
    assert not harness.compare(unit, original, swapped, {}, known).problems()
    assert "2 failed, 1 passed" in swapped.log
    rerun = subprocess.run(
        ["sh", str(tmp_path / "batchimg" / "rerun.sh"), "-k", "same_answer"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rerun.returncode == 0 and "1 passed, 2 deselected" in rerun.stdout, rerun.stdout
    again = harness.run(unit, "original", tmp_path / "again")
    assert again.cached and not original.cached and again.tests == original.tests
    (peer / "test_peer.py").write_text(_PEER_TESTS + "\n\ndef test_new():\n    pass\n")
    changed = harness.run(unit, "original", tmp_path / "changed")
    assert not changed.cached and "test_peer.py::test_new" in changed.passed()


def _sdist(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_sdist_unpacks_only_the_tests_of_a_cached_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("BATCHIMG_PEER_CACHE", str(tmp_path))
    _sdist(
        tmp_path / "peer_dist-1.0.tar.gz",
        {
            "peer_dist-1.0/PKG-INFO": "Name: peer-dist\n",
            "peer_dist-1.0/tests/test_a.py": "def test_a():\n    pass\n",
            "peer_dist-1.0/src/peer/big.c": "int main;\n",
        },
    )
    top = suites.sdist("peer-dist", "1.0")
    assert top == tmp_path / "peer_dist-1.0"
    assert sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()) == [
        "PKG-INFO",
        "tests/test_a.py",
    ]
    assert suites.sdist("peer-dist", "1.0") == top  # the unpacked copy answers


def test_sdist_refuses_an_archive_that_is_no_source_distribution(tmp_path, monkeypatch):
    monkeypatch.setenv("BATCHIMG_PEER_CACHE", str(tmp_path))
    _sdist(tmp_path / "peer_dist-2.0.tar.gz", {"peer_dist-2.0/tests/test_a.py": ""})
    with pytest.raises(suites.SourceUnavailable, match="is not a source distribution"):
        suites.sdist("peer-dist", "2.0")
