"""A small client of headless Chromium over the DevTools protocol, for the report's browser test.

Chromium talks the protocol over a pair of pipes (``--remote-debugging-pipe``: it
reads commands from file descriptor 3 and writes replies and events to 4, each a
JSON message ended by a NUL byte), so no port is opened and nothing but the
standard library is needed. :func:`find_chromium` looks for the browser;
:class:`Chromium` starts it with a fresh profile and no network features, opens
pages, evaluates script, collects console messages and takes screenshots.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
_TRAMPOLINE = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    "os.close(int(sys.argv[1])); os.close(int(sys.argv[2])); os.execv(sys.argv[3], sys.argv[3:])"
)
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The Chromium executable: ``$BATCHIMG_CHROMIUM``, Debian's, or one on PATH."""
    env = os.environ.get("BATCHIMG_CHROMIUM")
    for name in ((env,) if env else ()) + CANDIDATES:
        path = shutil.which(name) if not os.path.isabs(name) else name
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


class BrowserError(RuntimeError):
    """Chromium could not be started, died, or answered with an error."""


class Chromium:
    """One headless Chromium process, driven over its DevTools pipe.

    Parameters
    ----------
    executable : str
        The browser.
    width, height : int
        The window size (CSS pixels).
    timeout : float
        Seconds to wait for any answer.
    """

    def __init__(self, executable: str, width: int = 1280, height: int = 900, timeout=60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="batchimg-chromium-")
        to_browser, self._w = os.pipe()
        self._r, from_browser = os.pipe()

        args = [executable, *FLAGS, f"--user-data-dir={self.profile}"]
        args += [f"--window-size={width},{height}", "about:blank"]
        # a small Python puts the pipe ends at 3 and 4 (where Chromium looks) and
        # execs it; first they move above 9, out of the way of those numbers
        a = fcntl.fcntl(to_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        b = fcntl.fcntl(from_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser)
        os.close(from_browser)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(a), str(b), *args],
            pass_fds=(a, b),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        os.close(a)
        os.close(b)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        try:
            self.version = self.send("Browser.getVersion")["product"]
        except BaseException:
            self.close()
            raise

    # -- the protocol ---------------------------------------------------------

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command; return its result (raise :class:`BrowserError` on an error)."""
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            os.write(self._w, json.dumps(msg).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"Chromium is gone: {exc}; {self.stderr()}") from exc
        reply = self.wait(lambda m, i=self._id: m.get("id") == i)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, match) -> dict:
        """The next message ``match`` accepts; the others are kept in :attr:`events`."""
        end = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                msg = json.loads(raw)
                if match(msg):
                    return msg
                self.events.append(msg)
            left = end - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from Chromium in {self.timeout} s")
            if select.select([self._r], [], [], left)[0]:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed its pipe; {self.stderr()}")
                self._buf += chunk

    def stderr(self) -> str:
        """The last lines Chromium wrote to stderr."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    # -- pages ---------------------------------------------------------------------

    def open(self, url: str) -> str:
        """Open ``url`` in a new tab, wait for its load event; return the tab's session."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait(
            lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session
        )
        return session

    def evaluate(self, session: str, expression: str):
        """The value of a script expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self, session: str) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error log entries of a tab."""
        out = []
        for m in self.events:
            if m.get("sessionId") != session:
                continue
            p = m.get("params", {})
            if m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif m.get("method") == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m.get("method") == "Log.entryAdded" and p["entry"]["level"] in (
                "error",
                "warning",
            ):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
        return out

    def screenshot(self, session: str, path: str) -> str:
        """Write a PNG of the whole page (beyond the window) to ``path``."""
        size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.send(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            session=session,
        )["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self) -> None:
        """Close the browser and remove its profile."""
        try:
            os.write(self._w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait(5)
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
