"""Fixtures: a real Toxiproxy server and a small TCP echo server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.infra.backends.ports import PortPool
from harness.infra.toxiproxy import ToxiproxyServer


@pytest.fixture
def ports() -> Iterator[PortPool]:
    pool = PortPool()
    try:
        yield pool
    finally:
        pool.release()


@pytest.fixture
def toxiproxy(ports: PortPool, tmp_path: Path) -> Iterator[ToxiproxyServer]:
    server = ToxiproxyServer(ports.take(), str(tmp_path / "toxiproxy.log"))
    try:
        asyncio.run(server.start())
        yield server
    finally:
        server.stop()


@dataclass
class Echo:
    """Echoes every byte back; counts what it received."""

    port: int
    received: bytearray = field(default_factory=bytearray)


@asynccontextmanager
async def echo_server(port: int) -> AsyncIterator[Echo]:
    echo = Echo(port)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(4096):
                echo.received.extend(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield echo
    finally:
        server.close()
        async with asyncio.timeout(5):
            await server.wait_closed()
