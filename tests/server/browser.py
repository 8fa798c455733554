"""A headless Chromium driven over the DevTools protocol on a pipe (stdlib only): open a page, collect what its
console reports (console errors, uncaught exceptions, failed loads, blocked resources), take a screenshot."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, EXECUTABLES) if p), None)


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class _Pipe:
    """Chromium reads commands from its fd 3 and writes replies and events to its fd 4, each JSON + NUL."""

    def __init__(self, exe: str, profile: str) -> None:
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def wire() -> None:  # runs in the child before exec: put the pipe ends where Chromium expects them
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            pass_fds=(3, 4),
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._next_id, self.events = b"", 0, []

    def send(
        self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30
    ) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._write, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._drain(deadline):
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.extend(self._drain(deadline))

    def _drain(self, deadline: float) -> list[dict]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)


def open_page(exe: str, url: str, width: int = 1400, height: int = 2400, settle: float = 0.5) -> PageReport:
    """Load `url` in a fresh headless Chromium at `width`×`height` and report its console and a screenshot."""
    report = PageReport()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        pipe = _Pipe(exe, profile)
        try:
            targets = pipe.send("Target.getTargets")["targetInfos"]
            page = next(t["targetId"] for t in targets if t["type"] == "page")
            session = pipe.send("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Page"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            pipe.events.clear()
            pipe.send("Page.navigate", {"url": url}, session=session)
            pipe.wait_for("Page.loadEventFired")
            time.sleep(settle)  # late console messages (e.g. deferred resource failures)
            shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)
            report.screenshot = base64.b64decode(shot["data"])
            pipe.send("Runtime.evaluate", {"expression": "1"}, session=session)  # flush pending events
        finally:
            pipe.close()
    for event in pipe.events:
        _classify(event, report)
    return report


def _classify(event: dict, report: PageReport) -> None:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled":
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
        (report.errors if params.get("type") in ("error", "assert") else report.messages).append(text)
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        report.errors.append(
            details.get("exception", {}).get("description") or details.get("text", "exception")
        )
    elif method == "Log.entryAdded":
        entry = params.get("entry", {})
        (report.errors if entry.get("level") == "error" else report.messages).append(entry.get("text", ""))


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
