"""One progress display for a whole run: labelled phases, a bar on a terminal, lines elsewhere.

On a terminal, :class:`Progress` draws one line that it rewrites::

    pass 1 of 2 (labels)  [##########----------]  32/64 blocks  0:12 left

Elsewhere (a batch job's log, a pipe) it logs a plain line every ``interval``
seconds and one when a phase ends, through the ``batchimg`` logger, so that
``-q`` silences it with the other messages. Phases shorter than ``delay`` seconds
draw nothing on a terminal.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO

log = logging.getLogger("batchimg")


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress of the labelled phases of one run.

    Parameters
    ----------
    enabled : bool
        Whether to report at all.
    stream : file, optional
        Where the terminal bar goes (standard error by default).
    tty : bool, optional
        Draw a bar (default: whether ``stream`` is a terminal); else log lines.
    interval : float
        Seconds between logged lines when not drawing a bar.
    delay : float
        Seconds a phase must last before the bar appears.
    """

    def __init__(
        self,
        enabled: bool = True,
        stream: IO[str] | None = None,
        tty: bool | None = None,
        interval: float = 10.0,
        delay: float = 1.0,
    ) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.interval = interval
        self.delay = delay
        self._lock = threading.Lock()
        self.label = ""
        self.total = 0
        self.done = 0
        self.unit = "task"
        self._t0 = 0.0
        self._last = 0.0
        self._drawn = False
        self.phases: list[tuple[str, int, float]] = []

    def start(self, label: str, total: int, unit: str = "task") -> None:
        """Begin a phase of ``total`` units."""
        with self._lock:
            self.label, self.total, self.done, self.unit = label, int(total), 0, unit
            self._t0 = self._last = time.monotonic()
            self._drawn = False

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        with self._lock:
            self.done = min(self.done + n, self.total)
            if not self.enabled:
                return
            now = time.monotonic()
            if self.tty:
                if now - self._t0 >= self.delay and (
                    now - self._last >= 0.1 or self.done == self.total
                ):
                    self._draw(now)
                    self._last = now
            elif now - self._last >= self.interval and self.done < self.total:
                log.info(self._text(now))
                self._last = now

    def finish(self) -> None:
        """End the phase: clear the bar, log how long it took."""
        with self._lock:
            elapsed = time.monotonic() - self._t0
            self.phases.append((self.label, self.total, elapsed))
            if not self.enabled:
                return
            if self._drawn:
                self.stream.write("\r" + " " * 100 + "\r")
                self.stream.flush()
            if elapsed >= self.delay or not self.tty:
                plural = "s" if self.total != 1 else ""
                log.info(f"{self.label}: {self.total} {self.unit}{plural} in {elapsed:.1f} s")

    def _eta(self, now: float) -> str:
        elapsed = now - self._t0
        if not self.done:
            return "?"
        return _clock(elapsed / self.done * (self.total - self.done))

    def _text(self, now: float) -> str:
        pct = 100 * self.done // max(self.total, 1)
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit}s ({pct}%), "
            f"{now - self._t0:.0f} s, {self._eta(now)} left"
        )

    def _draw(self, now: float) -> None:
        width = 20
        fill = width * self.done // max(self.total, 1)
        bar = "#" * fill + "-" * (width - fill)
        line = (
            f"{self.label}  [{bar}]  {self.done}/{self.total} {self.unit}s  {self._eta(now)} left"
        )
        self.stream.write("\r" + line[:99].ljust(99))
        self.stream.flush()
        self._drawn = True


__all__ = ["Progress"]
