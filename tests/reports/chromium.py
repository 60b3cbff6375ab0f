"""Open a page in headless Chromium over the DevTools protocol and collect what went wrong.

Console errors, uncaught exceptions and browser log errors (a blocked
resource, a Content-Security-Policy violation) are gathered while the page
loads; a full-page PNG can be captured. The browser runs in its own process
group with a fresh profile and is killed on the way out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

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
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageResult:
    problems: list[str] = field(default_factory=list)  # console errors, exceptions, log errors
    evaluated: Any = None  # the value of the probe expression
    screenshot: bytes | None = None


class DevTools:
    """A minimal DevTools protocol session over one page's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, seconds: float = 20.0, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(seconds):
            while True:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"devtools {method}: socket closed ({message.type})")
                data = json.loads(message.data)
                if data.get("id") == ident:
                    if "error" in data:
                        raise RuntimeError(f"devtools {method}: {data['error']}")
                    result: dict[str, Any] = data.get("result", {})
                    return result
                if "method" in data:
                    self.events.append(data)

    async def wait_event(self, method: str, seconds: float) -> None:
        if any(e["method"] == method for e in self.events):
            return
        async with asyncio.timeout(seconds):
            while True:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"devtools: socket closed waiting for {method}")
                data = json.loads(message.data)
                if "method" in data:
                    self.events.append(data)
                    if data["method"] == method:
                        return

    async def drain(self, seconds: float) -> None:
        """Collect events for a while (late console errors)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    message = await self.ws.receive()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        return
                    data = json.loads(message.data)
                    if "method" in data:
                        self.events.append(data)


def problems_in(events: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for event in events:
        params = event.get("params", {})
        if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in (
            "error",
            "assert",
        ):
            args = " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
            )
            found.append(f"console.{params['type']}: {args}")
        elif event["method"] == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {})
            found.append(f"exception: {exc.get('description') or details.get('text')}")
        elif event["method"] == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                found.append(f"log {entry.get('source')}: {entry.get('text')}")
    return found


async def _devtools_port(profile: Path, proc: subprocess.Popen[bytes], seconds: float) -> int:
    marker = profile / "DevToolsActivePort"
    async with asyncio.timeout(seconds):
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"chromium exited with {proc.returncode} before DevTools was ready"
                )
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(marker.read_text().split("\n")[0])
            await asyncio.sleep(0.1)


async def _page_socket_url(session: aiohttp.ClientSession, port: int, seconds: float) -> str:
    async with asyncio.timeout(seconds):
        while True:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                targets = await resp.json(content_type=None)
            pages = [t for t in targets if t.get("type") == "page" and "webSocketDebuggerUrl" in t]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            await asyncio.sleep(0.1)


def open_page(
    path: Path,
    probe: str = "document.title",
    screenshot: bool = False,
    width: int = 1400,
    height: int = 3000,
    seconds: float = 90.0,
) -> PageResult:
    """Load ``path`` (a local file) and return its problems, the probe's value and a PNG."""
    binary = chromium_path()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    profile = Path(tempfile.mkdtemp(prefix="afcheck-chromium-"))
    args = [
        binary,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    page = Page(path.resolve().as_uri(), probe, screenshot, width, height)
    try:
        return asyncio.run(_visit(profile, proc, page, seconds))
    finally:
        _kill_group(proc)
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Page:
    url: str
    probe: str
    screenshot: bool
    width: int
    height: int


async def _visit(
    profile: Path, proc: subprocess.Popen[bytes], page: Page, seconds: float
) -> PageResult:
    result = PageResult()
    async with asyncio.timeout(seconds):
        port = await _devtools_port(profile, proc, seconds)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            url = await _page_socket_url(session, port, 15.0)
            async with session.ws_connect(url, max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.call("Runtime.enable")
                await tools.call("Log.enable")
                await tools.call("Page.enable")
                await tools.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=page.width,
                    height=page.height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                await tools.call("Page.navigate", url=page.url)
                await tools.wait_event("Page.loadEventFired", 30.0)
                await tools.drain(0.5)
                value = await tools.call(
                    "Runtime.evaluate", expression=page.probe, returnByValue=True
                )
                result.evaluated = value.get("result", {}).get("value")
                if page.screenshot:
                    shot = await tools.call("Page.captureScreenshot", format="png", seconds=30.0)
                    result.screenshot = base64.b64decode(shot["data"])
                result.problems = problems_in(tools.events)
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # the group may hold helpers (zygote, renderers) that outlive the main process
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
