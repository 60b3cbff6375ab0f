"""A tiny fake ArangoDB for unit tests of the client: scripted answers per server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answer(
    status: int, body: Any, server_id: str, headers: dict[str, str] | None = None
) -> web.Response:
    hdrs = {"X-Arango-Server-Id": server_id, **(headers or {})}
    return web.Response(
        status=status, body=json.dumps(body), content_type="application/json", headers=hdrs
    )


def not_leader(server_id: str, leader_url: str) -> web.Response:
    body = {"error": True, "errorNum": 1496, "errorMessage": "not a leader", "code": 503}
    return answer(503, body, server_id, {"X-Arango-Endpoint": leader_url})


class FakeServer:
    """One fake server; ``handler`` decides every answer and may be swapped mid-test."""

    def __init__(self, server_id: str, handler: Handler) -> None:
        self.id = server_id
        self.handler = handler
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        return await self.handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def hang(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(1.5)
    return web.Response(status=200)
