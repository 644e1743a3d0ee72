"""``DIR/report.html``: one self-contained page to judge a run's segmentation and numbers.

The page embeds every picture as a PNG data URI and needs no server, no network
and no script: it opens from the folder in any browser. It shows

- a sample of the inputs with the label outlines drawn over them, one colour per
  label (collections: the first and last image, the images with the fewest and
  most regions, the failed ones by name; volumes: the planes through the middle of
  each axis, a maximum projection, and a full-resolution detail of a plane too big
  to show whole); without labels, the saved steps side by side with the input;
- the regions per image (collections), a histogram of every measured property
  with its unit, and the table's first rows;
- the workflow as run (its steps, how each is computed, the YAML), the input,
  the chunking, the scheduler, wall time, throughput, peak memory, the phases,
  the library versions, and the failed inputs.

It reads only what it shows (see :mod:`batchimg.workflow.report_reads` for the
bounds), so it costs little next to the run. A section that cannot be drawn says
why instead: the report never fails a run.
"""

from __future__ import annotations

import html
import logging
import math
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import report_draw as D
from . import report_reads as R
from .folder import ERRORS, MARKER, REPORT, RESULT

log = logging.getLogger("batchimg")

#: Failed images shown by name before the rest are left to the errors table.
MAX_FAILED_SHOWN = 12
#: Images of a collection drawn one bar each (more: a histogram of the counts).
MAX_BARS = 300
#: How each road computes, in words, for a collection and for a volume.
_ROADS = {
    "collection": {
        "local": "on each image, in memory",
        "per-image": "from each image itself",
        "statistic": "once, over the whole collection",
        "components": "on each image, in memory",
        "regions": "per region of each image",
    },
    "volume": {
        "local": "per block with its halo",
        "per-image": "from the whole volume",
        "statistic": "once, over the whole volume",
        "components": "connected across blocks",
        "regions": "per region, whole across blocks",
    },
}
#: The longest side of a picture in a row of saved steps (display pixels).
STEP_SHOWN = 360
_PLAN_STEP = re.compile(r"^step (\d+) (.+?): (\S+), reads (\S+), gives (.+)$")


# ---------------------------------------------------------------------------
# the page


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _bytes(n: float | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns


def _num(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}" if v != int(v) or abs(v) >= 1e6 else str(int(v))
    return str(v)


def _range(a: np.ndarray) -> str:
    if a.size == 0:
        return "empty"
    if a.dtype == bool:
        return f"{int(a.sum())} of {a.size} true"
    return f"values {_num(a.min())} to {_num(a.max())}"


def _kv(rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "grid") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _img(uri: str, alt: str, cls: str = "") -> str:
    return f'<img src="{uri}" alt="{_e(alt)}"' + (f' class="{cls}"' if cls else "") + ">"


def _card(title: str, caption: str, plain: str | None, outlined: str | None) -> str:
    if outlined is not None:
        pic = (
            f'<div class="stack" title="hover to hide the outlines">{_img(plain, title)}'
            f"{_img(outlined, title + ' with label outlines', 'over')}</div>"
        )
    elif plain is not None:
        pic = _img(plain, title)
    else:
        pic = '<div class="missing">no pixels</div>'
    return (
        f'<figure class="card">{pic}<figcaption><b>{_e(title)}</b><br>{caption}</figcaption>'
        "</figure>"
    )


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2327;
background:#f6f7f9}
header{background:#22313f;color:#fff;padding:14px 24px}
header h1{margin:0 0 4px;font-size:22px}header p{margin:0;opacity:.85}
nav{padding:6px 24px;background:#e8ecf0;position:sticky;top:0;z-index:2}
nav a{margin-right:14px;color:#22313f}
main{padding:0 24px 40px}section{margin-top:26px}
h2{font-size:18px;border-bottom:2px solid #22313f;padding-bottom:3px}
.note{color:#555}.warn{color:#a0301e}.bad{color:#ffb3a7;font-weight:bold}
.cards{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.card{margin:0;background:#fff;padding:8px;border:1px solid #d5dae0;border-radius:4px}
.card img{display:block;image-rendering:pixelated;max-width:min(100%,92vw)}
.card figcaption{font-size:12.5px;max-width:480px;margin-top:6px}
.stack{position:relative}.stack .over{position:absolute;left:0;top:0}
.stack:hover .over{opacity:0}
.row{display:flex;gap:8px;flex-wrap:wrap;align-items:flex-start;margin-bottom:10px}
.missing{width:200px;height:120px;display:flex;align-items:center;justify-content:center;
background:#eee;color:#777}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #d5dae0;padding:3px 7px;text-align:left;vertical-align:top}
.grid th{background:#e8ecf0}.kv th{background:#f0f2f5;width:200px}
.scroll{overflow-x:auto;max-width:100%}
pre{background:#fff;border:1px solid #d5dae0;padding:8px;overflow-x:auto}
.chart{max-width:100%}.charts{display:flex;flex-wrap:wrap;gap:10px}
.row{flex-wrap:nowrap;overflow-x:auto}
"""


class _Page:
    """The report's sections, each drawn from what is known; failures noted, not raised."""

    def __init__(self, folder: str, marker: dict) -> None:
        import zarr

        self.folder = folder
        self.marker = marker
        self.group = zarr.open_group(os.path.join(folder, RESULT), mode="r")
        self.meta = dict(self.group.attrs).get("batchimg", {})
        self.layers = R.pyramids(self.group)
        self.inp = marker.get("input") or {}
        self.kind = marker.get("kind") or self.meta.get("input_kind", "volume")
        self.unit = self.inp.get("unit")
        self.scale = tuple(self.inp.get("scale") or ())
        self.channel = self._channel()
        self.images = list((self.meta.get("input") or {}).get("images") or [])
        self.problems: list[str] = []
        table = marker.get("table")
        self.table_path = os.path.join(folder, table) if table else None
        self.errors, self.n_errors, self.failed_paths = R.read_errors(os.path.join(folder, ERRORS))
        self.summary = None

    def _channel(self) -> int:
        for line in self.meta.get("plan") or []:
            m = re.search(r"reads input\[c=(\d+)\]", line)
            if m:
                return int(m.group(1))
        return 0

    def section(self, sid: str, title: str, draw) -> str:
        try:
            body = draw()
        except Exception as exc:  # a broken section must not lose the run or the report
            log.warning(f"report: the section {title!r} could not be drawn: {exc}")
            self.problems.append(title)
            body = f'<p class="warn">This section could not be drawn: {_e(exc)}</p>'
        if body is None:
            return ""
        return f'<section id="{sid}"><h2>{_e(title)}</h2>{body}</section>'

    # -- sampled pictures ----------------------------------------------------

    def _aspect(self, layer: R.Pyramid, view: R.View) -> float:
        i, j = layer.axes.index(view.rows), layer.axes.index(view.cols)
        s = layer.scales[view.level]
        return float(s[i] / s[j]) if s[j] else 1.0

    def _level_note(self, layer: R.Pyramid, view: R.View) -> str:
        parts = []
        if view.level:
            f = {a: layer.factor(view.level, a) for a in (view.rows, view.cols)}
            parts.append(f"pyramid level {view.level} (1/{max(f.values())} of full resolution)")
        if view.crop:
            parts.append("centre crop")
        return "; ".join(parts)

    def _read(self, view: R.View, names: Sequence[str]) -> dict[str, np.ndarray]:
        """The input, the labels (if any) and the layers ``names`` of ``view``."""
        want = ["input"] + (["labels"] if "labels" in self.layers else []) + list(names)
        return {n: R.read_view(self.group, self.layers[n], view, self.channel) for n in want}

    def _steps_row(self, view: R.View, arrays: dict, names: Sequence[str]) -> str:
        """The input and the saved steps ``names`` side by side."""
        aspect = self._aspect(self.layers["input"], view)
        cells = []
        for name in ["input", *names]:
            a = arrays[name]
            if self.layers[name].is_labels:
                uri, _ = D.picture(None, a, aspect, STEP_SHOWN)
            else:
                uri, _ = D.picture(a, None, aspect, STEP_SHOWN)
            dtype = self.layers[name].dtype
            title = "input" if name == "input" else f"saved step {name}"
            cells.append(_card(title, _e(f"{dtype}, {_range(a)}"), uri, None))
        return f'<div class="row">{"".join(cells)}</div>'

    def _views(self) -> list[tuple[str, R.View, dict]]:
        """``(title, view, info)`` of every sampled picture."""
        inp = self.layers["input"]
        spatial = inp.spatial()
        shape0 = dict(zip(inp.axes, inp.shapes[0], strict=True))
        out = []

        def with_detail(title, rows, cols, fixed, info):
            view = R.plane_view(inp, rows, cols, fixed)
            out.append((title, view, info))
            detail = R.detail_view(inp, rows, cols, fixed, view.level)
            if detail is not None:
                what = "full-resolution" if detail.level == 0 else f"level {detail.level}"
                out.append((f"{title}: {what} detail", detail, {**info, "detail": True}))

        if self.kind == "collection":
            rows, cols = spatial[-2:]
            fixed = {a: shape0[a] // 2 for a in spatial[:-2]}
            n = len(self.images) or shape0["image"]
            for i, (roles, slot) in enumerate(
                R.sample_slots(n, self.counts(), self.failed_slots())
            ):
                name = os.path.basename(self.images[slot]) if self.images else f"image {slot}"
                title = f"{roles}: {name}"
                if i == 0:
                    with_detail(title, rows, cols, {"image": slot, **fixed}, {"slot": slot})
                else:
                    view = R.plane_view(inp, rows, cols, {"image": slot, **fixed})
                    out.append((title, view, {"slot": slot}))
            return out
        if len(spatial) < 3:
            with_detail("the whole image", *spatial[-2:], {}, {})
            return out
        z, y, x = spatial[-3:]
        other = {a: shape0[a] // 2 for a in spatial[:-3]}
        for axis, (r, c) in ((z, (y, x)), (y, (z, x)), (x, (z, y))):
            mid = shape0[axis] // 2
            title = f"plane {axis} = {mid} of {shape0[axis]} (the middle)"
            if axis == z:
                with_detail(title, r, c, {**other, axis: mid}, {})
            else:
                out.append((title, R.plane_view(inp, r, c, {**other, axis: mid}), {}))
        proj = R.projection_view(inp, z, y, x, other)
        out.append((f"maximum projection along {z}", proj, {"projection": True}))
        return out

    def _caption(self, title: str, view: R.View, info: dict, labels) -> str:
        inp = self.layers["input"]
        bits = []
        sides = []
        for a in (view.rows, view.cols):
            n = inp.size(view.level, a)
            sides.append(len(range(*view.crop[a].indices(n))) if a in view.crop else n)
        shown = f"{view.rows} × {view.cols}: {sides[0]} × {sides[1]} values"
        sym = D.unit_symbol(self.unit)
        if sym:
            scale = inp.scales[view.level]
            r, c = (
                sides[i] * scale[inp.axes.index(a)] for i, a in enumerate((view.rows, view.cols))
            )
            shown += f" ({r:.4g} × {c:.4g} {_e(sym)})"
        bits.append(shown)
        note = self._level_note(inp, view)
        if note:
            bits.append(note)
        if info.get("projection"):
            bits.append("labels: the largest label along each line of sight")
        if "slot" in info and self.counts() is not None and not info.get("detail"):
            bits.append(f"<b>{self.counts()[info['slot']]} regions</b> in the table")
        elif labels is not None:
            n = int(np.unique(labels[labels != 0]).size)
            bits.append(f"{n} region{'s' if n != 1 else ''} in this picture")
        if "c" in inp.axes:
            names = self.inp.get("channel_names") or []
            ch = names[self.channel] if self.channel < len(names) else self.channel
            bits.append(f"channel {_e(ch)}")
        return "<br>".join(bits)

    def samples(self) -> str:
        saved = [n for n in self.meta.get("saved") or [] if n in self.layers]
        views = self._views()
        parts = []
        if "labels" in self.layers:
            cards, steps = [], ""
            for i, (title, view, info) in enumerate(views):
                arrays = self._read(view, saved if i == 0 else ())
                aspect = self._aspect(self.layers["input"], view)
                plain, outlined = D.picture(arrays["input"], arrays["labels"], aspect)
                caption = self._caption(title, view, info, arrays["labels"])
                cards.append(_card(title, caption, plain, outlined))
                if i == 0 and saved:
                    steps = f"<h3>Saved steps: {_e(title)}</h3>" + self._steps_row(
                        view, arrays, saved
                    )
            parts.append(
                '<p class="note">Each region is outlined in its own colour (a label has the same '
                "colour in every picture). Hover over a picture to see the input without "
                "outlines.</p>"
            )
            parts.append(f'<div class="cards">{"".join(cards)}</div>')
            parts.append(self._failed_cards())
            parts.append(steps)
        else:
            parts.append(
                '<p class="note">This workflow makes no labels: each row shows the input and '
                "every saved step of the same picture, side by side, each with its own grey "
                "scale (0.5 to 99.8 percentile).</p>"
            )
            for title, view, info in views:
                arrays = self._read(view, saved)
                parts.append(f"<h3>{_e(title)}</h3>")
                parts.append(f'<p class="note">{self._caption(title, view, info, None)}</p>')
                parts.append(self._steps_row(view, arrays, saved))
            parts.append(self._failed_cards())
        return "".join(parts)

    def _failed_cards(self) -> str:
        if not self.n_errors:
            return ""
        cards = []
        for row in self.errors[:MAX_FAILED_SHOWN]:
            name = os.path.basename(row.get("path", "")) or row.get("path", "?")
            caption = (
                f"{_e(row.get('exception'))} at {_e(row.get('step'))}: {_e(row.get('message'))}"
            )
            cards.append(_card(f"failed: {name}", caption, None, None))
        more = self.n_errors - len(cards)
        tail = f'<p class="note">and {more} more failed inputs (see below)</p>' if more > 0 else ""
        return f'<h3>Failed inputs</h3><div class="cards">{"".join(cards)}</div>{tail}'

    # -- numbers -------------------------------------------------------------

    def table_summary(self):
        if self.summary is None and self.table_path and os.path.isfile(self.table_path):
            self.summary = R.summarize_table(self.table_path)
        return self.summary

    def counts(self) -> list[int] | None:
        """Regions per slot of a collection (None without a table, or if it cannot be read)."""
        if self.kind != "collection":
            return None
        if getattr(self, "_counts", None) is None:
            try:
                summary = self.table_summary()
            except Exception:  # the table's sections say why; the pictures go on without
                return None
            if summary is None:
                return None
            by_path = summary.counts or {}
            self._counts = [int(by_path.get(p, 0)) for p in self.images]
        return self._counts

    def failed_slots(self) -> list[int]:
        where = {p: i for i, p in enumerate(self.images)}
        return sorted(where[p] for p in self.failed_paths if p in where)

    def count_chart(self) -> str | None:
        if self.kind != "collection" or self.table_summary() is None:  # raises if unreadable
            return None
        counts = self.counts()
        c = np.asarray(counts, np.int64)
        failed = sorted(set(self.failed_slots()))
        ok = np.ones(c.size, bool)
        ok[failed] = False
        good = c[ok]
        stats = (
            f"{good.size} images: fewest {good.min()}, median {np.median(good):g}, "
            f"most {good.max()} regions" + (f"; {len(failed)} failed (red ticks)" if failed else "")
        )
        if c.size <= MAX_BARS:
            svg = D.bar_chart(
                np.where(ok, c, 0),
                title="regions per image",
                xlabel="image (in file order, from 0)",
                ylabel="regions",
                marks=failed,
                width=max(420, min(1100, 60 + 12 * c.size)),
                height=240,
            )
        else:
            edges, _ = D.histogram_bins(good, float(good.min()), float(good.max()))
            hist, _ = np.histogram(good, edges)
            svg = D.bar_chart(
                hist,
                edges=edges,
                title=f"regions per image, over {good.size} images",
                xlabel="regions in an image",
                ylabel="images",
                width=640,
                height=240,
            )
        return (
            f'<p>{_e(stats)}</p><img class="chart" src="{D.svg_uri(svg)}" alt="regions per image">'
        )

    def properties(self) -> str | None:
        s = self.table_summary()
        if s is None:
            return None
        if not s.properties:
            return '<p class="note">The table has no measured property besides positions.</p>'
        ndim = sum(1 for a in self.inp.get("axes", "") if a in "zyx") or 2
        physical = True  # both engines measure with the input's pixel sizes
        charts, rows = [], []
        for col, smp in s.properties.items():
            unit = D.column_unit(col, ndim, self.unit, self.scale or None, physical)
            v = smp.values
            median = float(np.median(v)) if v.size else math.nan
            if smp.n and smp.max > smp.min:
                edges, log_x = D.histogram_bins(v, smp.min, smp.max)
                hist, _ = np.histogram(v, edges)
                svg = D.bar_chart(
                    hist,
                    edges=edges,
                    title=col,
                    xlabel=f"{col} ({unit})" if unit else col,
                    ylabel="regions" if smp.exact else "regions (sample)",
                    log_x=log_x,
                )
                charts.append(f'<img class="hist" src="{D.svg_uri(svg)}" alt="{_e(col)}">')
            rows.append(
                [
                    _e(col),
                    _e(unit),
                    smp.n,
                    _e(_num(smp.min if smp.n else math.nan)),
                    _e(_num(median)) + ("" if smp.exact else " (sample)"),
                    _e(_num(smp.mean)),
                    _e(_num(smp.max if smp.n else math.nan)),
                ]
            )
        note = ""
        if any(not p.exact for p in s.properties.values()):
            note += (
                f'<p class="note">Histograms and medians of a uniform sample of {R.SAMPLE} of the '
                f"{s.rows} regions; count, min, mean and max are exact.</p>"
            )
        stats = _table(["property", "unit", "regions", "min", "median", "mean", "max"], rows)
        return f'<div class="charts">{"".join(charts)}</div>{note}{stats}'

    def first_rows(self) -> str | None:
        s = self.table_summary()
        if s is None:
            return None
        head = s.head
        cols = list(head.columns)
        rows = []
        for rec in head.itertuples(index=False):
            cells = []
            for c, v in zip(cols, rec, strict=True):
                if c == "image":
                    cells.append(f'<span title="{_e(v)}">{_e(os.path.basename(str(v)))}</span>')
                else:
                    cells.append(_e(_num(v)))
            rows.append(cells)
        name = os.path.basename(s.path)
        return (
            f"<p>{_e(name)}: {s.rows} rows, {len(cols)} columns; the first {len(rows)}:</p>"
            f'<div class="scroll">{_table(cols, rows)}</div>'
        )

    # -- the run ---------------------------------------------------------------

    def workflow(self) -> str:
        stats = self.marker.get("statistics") or {}
        rows = []
        for line in self.meta.get("plan") or []:
            m = _PLAN_STEP.match(line)
            if not m:
                continue
            number, call, road, reads, gives = m.groups()
            name = call.split("(")[0]
            how = _ROADS.get(self.kind, {}).get(road, road)
            for key, value in stats.items():
                if key == name or key.startswith(name):
                    how += f": <b>{_e(_num(value) if not isinstance(value, list) else value)}</b>"
            rows.append([number, f"<code>{_e(call)}</code>", how, _e(reads), _e(gives)])
        plan = _table(["step", "operation", "computed", "reads", "gives"], rows)
        engine = [
            line for line in self.meta.get("plan") or [] if line.startswith(("engine", "stage"))
        ]
        text = self.meta.get("workflow") or ""
        return (
            f"{plan}<p>{'<br>'.join(_e(line) for line in engine)}</p>"
            f"<details open><summary>The workflow file as run</summary><pre>{_e(text)}</pre>"
            "</details>"
        )

    def run(self) -> str:
        m, inp = self.marker, self.inp
        desc = self.meta.get("input") or {}
        n, failed = int(m.get("n_inputs") or 1), int(m.get("failed_inputs") or 0)
        shape = inp.get("shape") or list(self.layers["input"].shapes[0])
        itemsize = np.dtype(inp.get("dtype") or self.layers["input"].dtype).itemsize
        nbytes = math.prod(shape) * itemsize * max(n - failed, 0)
        seconds = float(m.get("seconds") or 0.0)
        scale = inp.get("scale") or []
        sym = D.unit_symbol(inp.get("unit")) or "(no unit)"
        if self.kind == "collection":
            where = os.path.commonpath(self.images) if self.images else "?"
            source = f"{n} images under {_e(where)}"
            chunks = m.get("chunks")
            tasks = f"{chunks} image(s) per task, {-(-n // int(chunks))} tasks" if chunks else "?"
            speed = f"{(n - failed) / seconds:.3g} images/s, " if seconds else ""
        else:
            source = _e(desc.get("path") or desc.get("format") or "an array")
            block = m.get("chunks") or []
            spatial = [s for a, s in zip(inp.get("axes", ""), shape, strict=False) if a in "zyx"]
            nblocks = math.prod(-(-s // b) for s, b in zip(spatial, block, strict=False))
            tasks = f"blocks of {' × '.join(map(str, block))} ({nblocks} blocks)"
            speed = ""
        speed += f"{_bytes(nbytes / seconds)}/s of input" if seconds else "?"
        rows = [
            ("input", source),
            ("kind", _e(self.kind)),
            ("axes, shape, dtype", _e(f"{inp.get('axes')} {tuple(shape)} {inp.get('dtype')}")),
            ("pixel size", _e(f"{tuple(scale)} {sym}")),
        ]
        if inp.get("channel_names"):
            rows.append(("channels", _e(", ".join(inp["channel_names"]))))
        rows += [
            ("chunking", _e(tasks)),
            ("scheduler", _e(m.get("scheduler", "?"))),
            ("wall time", _e(f"{seconds:.2f} s")),
            ("throughput", _e(speed)),
            ("peak memory", _e(_bytes(m.get("peak_rss_bytes")) + " (resident, this process)")),
            ("failed inputs", _e(f"{failed} of {n}")),
            ("finished", _e(m.get("time", "?"))),
            ("workflow fingerprint", _e(m.get("workflow_fingerprint", "?"))),
        ]
        stats = m.get("statistics") or {}
        for k, v in stats.items():
            rows.append((f"computed: {k}", _e(v)))
        versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
        rows.append(("versions", _e(versions)))
        phases = [
            [_e(p["label"]), p["units"], f"{p['seconds']:.2f} s"] for p in m.get("phases") or []
        ]
        ph = _table(["phase", "units", "time"], phases) if phases else ""
        return _kv(rows) + (f"<h3>Phases</h3>{ph}" if ph else "")

    def errors_table(self) -> str | None:
        if not self.n_errors:
            return None
        rows = [
            [f'<span title="{_e(r.get("path"))}">{_e(os.path.basename(r.get("path", "")))}</span>']
            + [_e(r.get(k, "")) for k in ("step", "exception", "message")]
            for r in self.errors
        ]
        more = ""
        if self.n_errors > len(rows):
            more = f'<p class="note">The first {len(rows)} of {self.n_errors}; all in {ERRORS}.</p>'
        return _table(["input", "step", "exception", "message"], rows) + more

    # -- the whole page ------------------------------------------------------------

    def render(self) -> str:
        m = self.marker
        has_labels = "labels" in self.layers
        sections = [
            ("samples", "Segmentation" if has_labels else "Steps", self.samples),
            ("counts", "Regions per image", self.count_chart),
            ("properties", "Measured properties", self.properties),
            ("table", "Table", self.first_rows),
            ("workflow", "Workflow as run", self.workflow),
            ("run", "Run", self.run),
            ("errors", "Failed inputs", self.errors_table),
        ]
        body = [self.section(sid, title, draw) for sid, title, draw in sections]
        nav = "".join(
            f'<a href="#{sid}">{_e(title)}</a>'
            for (sid, title, _), b in zip(sections, body, strict=True)
            if b
        )
        n, failed = int(m.get("n_inputs") or 1), int(m.get("failed_inputs") or 0)
        what = f"{n} images" if self.kind == "collection" else "a volume"
        rows = m.get("rows")
        line = [what]
        if rows is not None:
            line.append(f"{rows} regions")
        if failed:
            line.append(f'<span class="bad">{failed} failed</span>')
        line.append(f"{float(m.get('seconds') or 0):.1f} s")
        line.append(_e(m.get("time", "")))
        problems = ""
        if self.problems:
            problems = (
                f'<p class="warn">Not drawn: {_e(", ".join(self.problems))} '
                "(see the sections for why).</p>"
            )
        title = f"batchimg report: {m.get('workflow') or self.meta.get('workflow_name', '?')}"
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{_e(title)}</h1><p>{' · '.join(line)}</p></header>"
            f"<nav>{nav}</nav><main>{problems}{''.join(body)}</main></body></html>"
        )


def write_report(folder: str | os.PathLike, *, marker: dict | None = None) -> str:
    """Write ``folder/report.html`` from the run's outputs in ``folder``; return its path.

    Parameters
    ----------
    folder : str or os.PathLike
        A run's staging folder while it runs (``marker`` given), or a finished
        output folder (``marker`` None: read from its ``_COMPLETE``).
    marker : dict, optional
        The run record (workflow, input, chunks, scheduler, seconds, phases...).

    Returns
    -------
    str
        The report's path.

    Raises
    ------
    InputError
        When ``marker`` is None and ``folder`` holds no complete run.
    """
    from ..errors import InputError
    from ..io.atomic import atomic_write, read_json

    folder = os.fspath(folder)
    if marker is None:
        marker = read_json(os.path.join(folder, MARKER))
        if not isinstance(marker, dict):
            raise InputError(
                f"output folder {folder!r} holds no complete run (no {MARKER} marker); its "
                "report cannot be written. Hint: finish the run with batchimg run ... --resume."
            )
    if not os.path.isdir(os.path.join(folder, RESULT)):
        raise InputError(f"output folder {folder!r} has no {RESULT}; there is nothing to report.")
    page = _Page(folder, marker).render()
    path = os.path.join(folder, REPORT)
    atomic_write(path, page.encode("utf-8"))
    return path


def rebuild_report(output: str | os.PathLike) -> str:
    """Write ``output/report.html`` again from the finished run there (``batchimg report``).

    The folder's lock is held while it is written, so no run starts meanwhile; a
    ``report.html`` that batchimg did not write is never replaced.

    Returns
    -------
    str
        The report's path.

    Raises
    ------
    InputNotFoundError
        If ``output`` does not exist.
    InputError
        If it holds no complete run, is in use by a run, or holds a report.html
        batchimg did not write.
    """
    from ..errors import InputError
    from . import folder as F

    out = F.OutputFolder(output)
    state = F.info(out.path)["state"]
    if state != "complete":
        raise InputError(
            f"output folder {out.path!r} is {state}; it has no {MARKER} marker, so there is no "
            "finished run to report. Hint: finish the run with batchimg run ... --resume."
        )
    message = out.lock.acquire()
    if message:
        log.info(message)
    try:
        out.prepare([REPORT], overwrite=False)
        return write_report(out.path)
    finally:
        out.lock.release()


__all__ = ["rebuild_report", "write_report"]
