"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands in on file
descriptor 3, replies and events out on 4, each message JSON ending in a NUL byte), so tests need no browser
download and no websocket package. Protocol reference: https://chromedevtools.github.io/devtools-protocol/.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BINARIES = ("chromium", "chromium-browser", "google-chrome")


def chromium_binary() -> str | None:
    return next((path for path in map(shutil.which, BINARIES) if path), None)


def _moved_above_9(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    """One headless Chromium with one page, attached as a flat session. Use as a context manager."""

    def __init__(self, binary: str, width: int = 1200, height: int = 1400, timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self.events: list[dict] = []
        self._profile = tempfile.TemporaryDirectory(prefix="placement-chromium-")
        to_browser, self._command_fd = os.pipe()
        self._reply_fd, from_browser = os.pipe()
        # Chromium's ends moved above 9, so that putting them on 3 and 4 overwrites neither.
        to_browser, from_browser = (_moved_above_9(fd) for fd in (to_browser, from_browser))
        args = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", f"--user-data-dir={self._profile.name}"]
        # The shell puts the pipe ends on descriptors 3 and 4, where Chromium looks for them.
        script = f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser} {to_browser}<&- {from_browser}>&-'
        self._process = subprocess.Popen(["bash", "-c", script, binary, *args], pass_fds=(to_browser, from_browser),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Page", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._call("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._command_fd, self._reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def call(self, method: str, params: dict | None = None) -> dict:
        """A command to the page's session; its result (RuntimeError with the protocol's error)."""
        return self._call(method, params, self._session)

    def _call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._command_fd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _receive(self) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reply_fd], [], [], left)[0]:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self._reply_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method: str) -> dict:
        """The first event `method` of the page's session, waiting for it."""
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == self._session:
                    self.events.remove(event)
                    return event
            self.events.append(self._receive())

    def open(self, path: Path) -> None:
        """Load a local file and wait for its load event."""
        self.call("Page.navigate", {"url": Path(path).resolve().as_uri()})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (RuntimeError if it throws)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        """The whole page as PNG bytes."""
        return base64.b64decode(self.call("Page.captureScreenshot", {"format": "png",
                                                                      "captureBeyondViewport": True})["data"])

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and error log entries of the page so far."""
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                out.append(json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(params["entry"].get("text", ""))
        return out

    def requested_urls(self) -> list[str]:
        """Every URL the page asked the network stack for so far."""
        return [event["params"]["request"]["url"] for event in self.events
                if event.get("method") == "Network.requestWillBeSent"]
