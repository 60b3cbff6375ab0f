"""A small typed asyncio client for Toxiproxy's HTTP API (v2), and its server process.

Every request has an explicit timeout, and every failure raises
:class:`ToxiproxyError` naming the Toxiproxy address, the operation and the
proxy, so a fault that could not be applied is never silent. See
``docs/decisions.md`` for why this replaces ``toxiproxy-python``.

Toxiproxy's stream names: ``upstream`` carries bytes from the client to the
proxied server, ``downstream`` the answers back.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from harness.infra.procs import kill_and_reap, spawn

Stream = Literal["upstream", "downstream"]
STREAMS: tuple[Stream, Stream] = ("upstream", "downstream")
DEFAULT_TIMEOUT = 5.0
BINARY_ENV = "AFCHECK_TOXIPROXY"
_REPO_BINARY = Path(__file__).resolve().parents[2] / "tools" / "bin" / "toxiproxy-server"


class ToxiproxyError(Exception):
    """A Toxiproxy request failed: unreachable, timed out, or refused (with its status)."""

    def __init__(self, api: str, operation: str, message: str, status: int | None = None) -> None:
        self.api = api
        self.operation = operation
        self.status = status
        where = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"toxiproxy at {api}: {operation} failed{where}: {message}")


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: Stream
    toxicity: float
    attributes: dict[str, Any]

    @staticmethod
    def from_json(data: dict[str, Any]) -> Toxic:
        return Toxic(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=data.get("stream", "downstream"),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[Toxic] = field(default_factory=list)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Proxy:
        return Proxy(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data.get("enabled", True)),
            toxics=[Toxic.from_json(t) for t in data.get("toxics") or []],
        )


class ToxiproxyClient:
    """Talks to one Toxiproxy API (``http://host:port``). Use as an async context manager
    or call :meth:`close`."""

    def __init__(self, api: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.api = api.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ToxiproxyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=32, force_close=False),
            )
        return self._session

    async def _request(
        self, method: str, path: str, operation: str, body: Any = None, ok: tuple[int, ...] = ()
    ) -> Any:
        """One API call; returns the decoded JSON (or None for an empty body)."""
        url = f"{self.api}{path}"
        try:
            async with asyncio.timeout(self.timeout):
                async with self._get_session().request(method, url, json=body) as resp:
                    text = await resp.text()
                    if resp.status >= 400 and resp.status not in ok:
                        raise ToxiproxyError(self.api, operation, _error_text(text), resp.status)
                    if resp.status in ok or not text.strip():
                        return None
                    return await _decode(resp, text, self.api, operation)
        except TimeoutError as exc:
            raise ToxiproxyError(
                self.api, operation, f"no answer within {self.timeout:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ToxiproxyError(self.api, operation, f"{type(exc).__name__}: {exc}") from exc

    async def version(self) -> str:
        data = await self._request("GET", "/version", "version")
        if isinstance(data, dict):
            return str(data.get("version", ""))
        return str(data)

    async def proxies(self) -> dict[str, Proxy]:
        data = await self._request("GET", "/proxies", "list proxies")
        return {name: Proxy.from_json(p) for name, p in (data or {}).items()}

    async def create_proxy(self, name: str, listen: str, upstream: str) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": True}
        data = await self._request("POST", "/proxies", f"create proxy {name}", body)
        return Proxy.from_json(data)

    async def delete_proxy(self, name: str) -> None:
        await self._request("DELETE", f"/proxies/{name}", f"delete proxy {name}", ok=(404,))

    async def set_enabled(self, name: str, enabled: bool) -> None:
        verb = "enable" if enabled else "disable"
        await self._request(
            "POST", f"/proxies/{name}", f"{verb} proxy {name}", {"enabled": enabled}
        )

    async def toxics(self, proxy: str) -> list[Toxic]:
        data = await self._request("GET", f"/proxies/{proxy}/toxics", f"list toxics of {proxy}")
        return [Toxic.from_json(t) for t in data or []]

    async def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        stream: Stream,
        attributes: dict[str, Any],
        toxicity: float = 1.0,
        replace: bool = True,
    ) -> None:
        """Add a toxic; with ``replace`` an existing toxic of that name is updated instead."""
        body = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes,
        }
        operation = f"add {type} toxic {name} to {proxy}"
        try:
            await self._request("POST", f"/proxies/{proxy}/toxics", operation, body)
        except ToxiproxyError as exc:
            if exc.status != 409 or not replace:
                raise
            update = {"toxicity": toxicity, "attributes": attributes}
            await self._request("POST", f"/proxies/{proxy}/toxics/{name}", operation, update)

    async def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic; a toxic that is already gone is not an error."""
        path = f"/proxies/{proxy}/toxics/{name}"
        await self._request("DELETE", path, f"remove toxic {name} from {proxy}", ok=(404,))

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        await self._request("POST", "/reset", "reset")


async def _decode(resp: aiohttp.ClientResponse, text: str, api: str, operation: str) -> Any:
    try:
        return await resp.json(content_type=None)
    except ValueError as exc:
        raise ToxiproxyError(api, operation, f"answer is not JSON: {text[:200]!r}") from exc


def _error_text(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return text.strip()[:200]


def find_binary() -> str:
    """Where ``toxiproxy-server`` is: ``$AFCHECK_TOXIPROXY``, the repo's tools/bin, or PATH."""
    candidates = [os.environ.get(BINARY_ENV), str(_REPO_BINARY), shutil.which("toxiproxy-server")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "toxiproxy-server not found: run `bash tools/install-toxiproxy.sh` "
        f"or set {BINARY_ENV} to the binary"
    )


class ToxiproxyServer:
    """One ``toxiproxy-server`` child process on 127.0.0.1, in its own process group.

    ``keep_fds`` are handed to the process (the locks of its API and proxy
    ports, so those stay claimed for as long as it runs)."""

    def __init__(
        self, port: int, log_path: str, seed: int | None = None, keep_fds: Sequence[int] = ()
    ) -> None:
        self.port = port
        self.log_path = log_path
        self.seed = seed
        self.keep_fds = tuple(keep_fds)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, within: float = 15.0) -> None:
        """Start the server and wait (up to ``within`` seconds) until its API answers."""
        cmd = [find_binary(), "-host", "127.0.0.1", "-port", str(self.port)]
        if self.seed is not None:
            cmd += ["-seed", str(self.seed)]
        self.proc = spawn(cmd, self.log_path, keep_fds=self.keep_fds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with ToxiproxyClient(self.api, timeout=1.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise ToxiproxyError(
                        self.api,
                        "start",
                        f"exited with {self.proc.returncode}; see {self.log_path}",
                    )
                try:
                    await client.version()
                    return
                except ToxiproxyError as exc:
                    if loop.time() > deadline:
                        self.stop()
                        raise ToxiproxyError(
                            self.api, "start", f"API not answering after {within:g} s"
                        ) from exc
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        """Kill the server's process group and reap it (idempotent, synchronous)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        kill_and_reap(proc)
