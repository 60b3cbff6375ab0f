"""Driver clients against the fake servers of tests/harness_runner/fakes.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from harness.core.client import ServerAddress
from harness.drivers.base import DriverClient
from harness.drivers.factory import make_client, unavailable_reason
from tests.harness_runner.fakes import FakeServer, free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Body = Callable[[DriverClient, dict[str, FakeServer]], Awaitable[Any]]
DOWN = "down"  # a handler name: a server whose port refuses connections


def skip_without(client: str) -> None:
    """Skip (with the reason) when the mode's driver is not installed here."""
    reason = unavailable_reason(client)
    if reason is not None:
        pytest.skip(reason)


def with_driver(
    client: str,
    handlers: dict[str, Handler | str],
    body: Body,
    request_timeout: float = 1.0,
    op_timeout: float = 5.0,
) -> Any:
    """Run ``body`` with mode ``client``'s driver over fake servers, in handler order."""
    skip_without(client)

    async def main() -> Any:
        servers = {sid: FakeServer(sid, h) for sid, h in handlers.items() if not isinstance(h, str)}
        addrs = []
        for sid in handlers:
            url = servers[sid].url if sid in servers else f"http://127.0.0.1:{free_port()}"
            addrs.append(ServerAddress(sid, url))
        for s in servers.values():
            await s.start()
        driver = make_client(
            client,
            addrs,
            username="root",
            password="pw",
            request_timeout=request_timeout,
            op_timeout=op_timeout,
        )
        assert driver is not None
        try:
            async with driver:
                return await body(driver, servers)
        finally:
            for s in servers.values():
                await s.stop()

    return asyncio.run(main())
