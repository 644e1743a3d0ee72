"""A run's output folder: ``result.zarr``, the measurement table, ``summary.png``, ``_COMPLETE``.

Layout of ``DIR``::

    DIR/result.zarr/            Zarr v3 group; attributes["batchimg"] records the workflow
                                text, the inputs, library versions and the UTC time
      <step>                    one array per saved step (Blosc-compressed, chunked
                                like the computation)
      labels/                   OME-Zarr labels group: attributes["ome"]["labels"] = ["labels"]
        labels/                 the label image as an OME-Zarr multiscale with one
          0                     dataset and "image-label" metadata (colors, source)
    DIR/measurements.csv        one row per region (or .parquet)
    DIR/summary.png             regions per image (collections) or the area histogram
    DIR/_COMPLETE               JSON, written last: fingerprints, versions, time

Everything is written into ``DIR/.partial-<id>/`` first and renamed into place at
the end; ``_COMPLETE`` is removed when a run starts and written only after every
other file is in place, so an interrupted run never looks complete. A run that
raised leaves ``DIR/_FAILED`` (its error); inputs that failed are listed in
``DIR/errors.csv``. :func:`open_result` refuses a folder that is not complete. The
staging folder's bookkeeping (see :mod:`.journal`) lets ``--resume`` continue it.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, InputNotFoundError

RESULT = "result.zarr"
MARKER = "_COMPLETE"
SUMMARY = "summary.png"
#: Path of the label image inside result.zarr.
LABELS_PATH = "labels/labels/0"
#: How many label colours the OME ``image-label`` metadata lists.
MAX_COLORS = 255


def versions() -> dict[str, str]:
    """Return the versions of batchimg and the libraries that shape its results."""
    import dask
    import numpy
    import scipy
    import zarr

    from .. import __version__

    return {
        "batchimg": __version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "dask": dask.__version__,
        "zarr": zarr.__version__,
    }


def utc_now() -> str:
    """Return the current UTC time in ISO 8601."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def make_folder(output: str | os.PathLike) -> str:
    """Create the output folder (refusing a file of that name); return its path."""
    output = os.fspath(output)
    if os.path.exists(output) and not os.path.isdir(output):
        raise InputError(f"output must be a folder; got the file {output!r}.")
    os.makedirs(output, exist_ok=True)
    return output


def prepare(output: str | os.PathLike, resume_from: str | None = None) -> str:
    """Create ``output``, mark it incomplete, and return its staging folder.

    The markers ``_COMPLETE`` and ``_FAILED`` and a previous ``errors.csv`` are
    removed first. A fresh staging folder is made, unless ``resume_from`` names the
    staging folder of an interrupted run to continue; other staging folders are
    removed.
    """
    from .journal import ERRORS, FAILED_MARKER

    output = make_folder(output)
    for name in (MARKER, FAILED_MARKER, ERRORS):
        path = os.path.join(output, name)
        if os.path.exists(path):
            os.remove(path)
    keep = None if resume_from is None else os.path.basename(os.path.normpath(resume_from))
    for entry in os.listdir(output):
        if entry.startswith(".partial-") and entry != keep:
            shutil.rmtree(os.path.join(output, entry), ignore_errors=True)
    if keep is not None:
        return os.path.join(output, keep)
    staging = os.path.join(output, f".partial-{uuid.uuid4().hex[:12]}")
    os.makedirs(staging)
    return staging


def _codecs():
    # Blosc LZ4 with byte shuffle: measured twice as fast as zstd level 3 per image
    # (labels and step images of 512x512), which matters when writes sit on the
    # critical path of thousands of small tasks; label images still compress well.
    from zarr.codecs import BloscCodec

    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]


def create_group(path: str, attrs: dict[str, Any]):
    """Create the Zarr v3 result group at ``path`` with ``attrs``."""
    import zarr

    group = zarr.open_group(path, mode="w", zarr_format=3)
    group.attrs.update(attrs)
    return group


#: Runtime settings of the arrays a run writes: every chunk is written as it comes.
#: (zarr otherwise compares each chunk with the fill value first, to skip empty ones:
#: a third of the cost of writing a chunk of images and labels, for chunks that are
#: rarely empty here.)
WRITE_CONFIG = {"write_empty_chunks": True}


def create_array(group, name: str, shape, chunks, dtype, attrs: dict | None = None):
    """Create a compressed array ``name`` in ``group``, chunked as given."""
    arr = group.create_array(
        name,
        shape=tuple(int(s) for s in shape),
        chunks=tuple(int(c) for c in chunks),
        dtype=np.dtype(dtype),
        compressors=_codecs(),
        fill_value=0,
        config=WRITE_CONFIG,
    )
    if attrs:
        arr.attrs.update(attrs)
    return arr


def _axes(ndim: int, collection: bool) -> list[dict[str, str]]:
    space = [{"name": n, "type": "space", "unit": "pixel"} for n in "zyx"[3 - min(ndim, 3) :]]
    if collection:
        # OME-Zarr has no "image index" axis type; viewers step through "t"
        space = [{"name": "t", "type": "time"}] + space[1:] if ndim == 3 else space
    return space[-ndim:]


def label_colors(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Distinct RGBA colours for labels ``1..min(n, MAX_COLORS)`` (seeded, shuffled hues)."""
    import matplotlib

    k = min(int(n), MAX_COLORS)
    rng = np.random.default_rng(seed)
    hues = rng.permutation(max(k, 1))[:k] / max(k, 1)
    rgb = matplotlib.colors.hsv_to_rgb(np.stack([hues, np.full(k, 0.8), np.full(k, 0.95)], -1))
    return [
        {"label-value": i + 1, "rgba": [int(255 * c) for c in rgb[i]] + [255]} for i in range(k)
    ]


def create_labels(group, shape, chunks, dtype, *, collection: bool, n_colors: int = MAX_COLORS):
    """Create the OME-Zarr label image ``labels/labels/0`` and its metadata; return the array."""
    ndim = len(shape)
    labels = group.require_group("labels")
    labels.attrs.update({"ome": {"version": "0.5", "labels": ["labels"]}})
    image = labels.require_group("labels")
    image.attrs.update(
        {
            "ome": {
                "version": "0.5",
                "multiscales": [
                    {
                        "name": "labels",
                        "axes": _axes(ndim, collection),
                        "datasets": [
                            {
                                "path": "0",
                                "coordinateTransformations": [
                                    {"type": "scale", "scale": [1.0] * ndim}
                                ],
                            }
                        ],
                    }
                ],
                "image-label": {
                    "version": "0.5",
                    "colors": label_colors(n_colors),
                    "source": {"image": "../../"},
                },
            }
        }
    )
    return create_array(image, "0", shape, chunks, dtype)


def _import_plotting() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def prefetch_plotting() -> None:
    """Import matplotlib in a background thread while the run computes.

    The import takes about half a second; :func:`summary_png` runs after the last
    task, so without this it would add that to every run's wall time.
    """
    import threading

    threading.Thread(target=_import_plotting, name="batchimg-import", daemon=True).start()


def summary_png(
    path: str,
    table,
    *,
    collection: bool,
    paths: Sequence[str] | None,
    counts: Sequence[int] | None = None,
) -> None:
    """Draw the run's summary: regions per image, or the histogram of region areas.

    For a collection, ``counts`` (regions per image, in ``paths`` order) is used
    when given; otherwise they are counted from ``table``'s ``image`` column.
    """
    _import_plotting()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    if collection and paths is not None:
        if counts is not None:
            counts = np.asarray(counts, int)
        else:
            counts = np.zeros(len(paths), int)
            if table is not None and len(table):
                index = {p: i for i, p in enumerate(paths)}
                for p, c in table["image"].value_counts().items():
                    counts[index[p]] = c
        if len(paths) <= 50:
            ax.bar(np.arange(len(paths)), counts, color="tab:blue")
        else:  # one artist, not one bar per image (1,000 bars take over a second)
            ax.stairs(counts, np.arange(len(paths) + 1) - 0.5, fill=True, color="tab:blue")
        ax.set_xlabel("image")
        ax.set_ylabel("regions")
        ax.set_title(f"Regions per image ({int(counts.sum())} in {len(paths)} images)")
        if len(paths) <= 20:
            ax.set_xticks(np.arange(len(paths)))
            ax.set_xticklabels([os.path.basename(p) for p in paths], rotation=45, ha="right")
    else:
        if table is not None and "area" in table and len(table):
            ax.hist(table["area"].to_numpy(), bins=min(50, max(len(table) // 2, 5)))
            ax.set_title(f"Region areas ({len(table)} regions)")
        else:
            ax.set_title("Region areas (no regions measured)")
        ax.set_xlabel("area (pixels)")
        ax.set_ylabel("regions")
    fig.tight_layout()
    fig.savefig(path)


def finish(output: str, staging: str, marker: dict[str, Any]) -> None:
    """Move every staged file into ``output``, then write the ``_COMPLETE`` marker last.

    The staging folder's bookkeeping (``run.json``, the manifest and part files) is
    removed, not moved.
    """
    from .journal import BOOKKEEPING

    for entry in sorted(os.listdir(staging)):
        if entry in BOOKKEEPING:
            continue
        target = os.path.join(output, entry)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
        os.replace(os.path.join(staging, entry), target)
    shutil.rmtree(staging)
    tmp = os.path.join(output, f".{MARKER}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(marker, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(output, MARKER))


def info(output: str | os.PathLike) -> dict[str, Any]:
    """Describe a run's output folder: arrays, table rows, workflow, versions, completeness.

    Parameters
    ----------
    output : str or os.PathLike
        The folder given to ``batchimg run --output``.

    Returns
    -------
    dict
        ``state`` (``"complete"``, ``"incomplete"`` or ``"failed"``: the run
        raised, ``failure`` holds its error), ``complete`` (bool), ``marker`` (the
        ``_COMPLETE`` content or None), ``failed_inputs`` (rows of ``errors.csv``),
        ``arrays`` (path -> (shape, dtype)), ``table`` (path or None), ``rows``,
        ``workflow`` (its name) and ``versions``.

    Raises
    ------
    InputNotFoundError
        If ``output`` is not a folder.
    """
    import zarr

    output = os.fspath(output)
    if not os.path.isdir(output):
        raise InputNotFoundError(f"output folder {output!r} does not exist.")
    marker_path = os.path.join(output, MARKER)
    marker = None
    if os.path.isfile(marker_path):
        try:
            with open(marker_path, encoding="utf-8") as f:
                marker = json.load(f)
        except (OSError, ValueError):
            marker = None
    from .journal import ERRORS, FAILED_MARKER, LOCK, read_json

    failure = None if marker is not None else read_json(os.path.join(output, FAILED_MARKER))
    errors_path = os.path.join(output, ERRORS)
    failed_inputs = None
    if os.path.isfile(errors_path):
        with open(errors_path, encoding="utf-8", newline="") as f:
            failed_inputs = max(sum(1 for _ in csv.reader(f)) - 1, 0)
    state = "complete" if marker is not None else ("failed" if failure else "incomplete")
    out: dict[str, Any] = {
        "output": output,
        "state": state,
        "failure": failure,
        "failed_inputs": failed_inputs,
        "lock": read_json(os.path.join(output, LOCK)),
        "complete": marker is not None,
        "marker": marker,
        "arrays": {},
        "table": None,
        "rows": None,
        "workflow": None,
        "versions": None,
        "partial": sorted(e for e in os.listdir(output) if e.startswith(".partial-")),
    }
    result = os.path.join(output, RESULT)
    if os.path.isdir(result):
        try:
            group = zarr.open_group(result, mode="r")
            meta = dict(group.attrs).get("batchimg", {})
            out["workflow"] = meta.get("workflow_name")
            out["versions"] = meta.get("versions")
            for name, arr in group.arrays():
                out["arrays"][name] = (tuple(arr.shape), str(arr.dtype))
            try:
                arr = group[LABELS_PATH]
                out["arrays"][LABELS_PATH] = (tuple(arr.shape), str(arr.dtype))
            except KeyError:
                pass
        except Exception as exc:  # an unreadable store is reported, not raised
            out["error"] = f"{result!r} could not be read: {exc}"
    for name in ("measurements.csv", "measurements.parquet"):
        path = os.path.join(output, name)
        if os.path.isfile(path):
            from ..io import read_table

            out["table"] = path
            out["rows"] = len(read_table(path))
    if marker is not None:
        out["workflow"] = out["workflow"] or marker.get("workflow")
        out["versions"] = out["versions"] or marker.get("versions")
    return out


@dataclass(frozen=True)
class Result:
    """A finished run's outputs, opened for reading.

    Parameters
    ----------
    output : str
        The folder.
    group : zarr.Group or None
        ``result.zarr``, read-only (None when an incomplete folder has none yet).
    table : pandas.DataFrame or None
        The measurements.
    state : str
        ``"complete"``, ``"incomplete"`` or ``"failed"``.
    info : dict
        :func:`info` of the folder.
    """

    output: str
    group: Any
    table: Any
    state: str
    info: dict

    @property
    def labels(self):
        """The label image (a zarr array), or None."""
        if self.group is None:
            return None
        try:
            return self.group[LABELS_PATH]
        except KeyError:
            return None


def open_result(output: str | os.PathLike, *, allow_incomplete: bool = False) -> Result:
    """Open a run's output folder for reading, refusing one that is not complete.

    Parameters
    ----------
    output : str or os.PathLike
        The folder given to ``batchimg run --output``.
    allow_incomplete : bool, optional
        Open an incomplete or failed folder anyway, with a warning.

    Returns
    -------
    Result

    Raises
    ------
    InputError
        If the folder has no ``_COMPLETE`` marker (an interrupted or failed run)
        and ``allow_incomplete`` is false.
    InputNotFoundError
        If the folder does not exist.
    """
    import warnings

    import zarr

    d = info(output)
    if d["state"] != "complete":
        why = (
            "the run failed" if d["state"] == "failed" else "the run was interrupted or is running"
        )
        if d["failure"]:
            why += f" ({d['failure'].get('exception')}: {d['failure'].get('message')})"
        text = (
            f"output folder {os.fspath(output)!r} is {d['state']}: {why}; its files may be partial."
        )
        if not allow_incomplete:
            raise InputError(
                text + " Hint: resume it with 'batchimg run ... --resume', or pass "
                "allow_incomplete=True to read it anyway."
            )
        warnings.warn(text, UserWarning, stacklevel=2)
    path = os.path.join(os.fspath(output), RESULT)
    group = zarr.open_group(path, mode="r") if os.path.isdir(path) else None
    table = None
    if d["table"]:
        from ..io import read_table

        table = read_table(d["table"])
    return Result(os.fspath(output), group, table, d["state"], d)


__all__ = [
    "LABELS_PATH",
    "Result",
    "MARKER",
    "RESULT",
    "create_array",
    "create_group",
    "create_labels",
    "finish",
    "info",
    "label_colors",
    "make_folder",
    "open_result",
    "prepare",
    "summary_png",
    "versions",
]
