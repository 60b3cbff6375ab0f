"""A link fault is proven by what the link carries, not by Toxiproxy's answer."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.infra.backends.ports import PortPool
from harness.infra.net import ToxiproxyNetwork, directed_links
from harness.infra.toxiproxy import ToxiproxyClient, ToxiproxyServer

from .conftest import echo_server

pytestmark = pytest.mark.integration


async def _connect(listen: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = listen.rsplit(":", 1)
    async with asyncio.timeout(5):
        return await asyncio.open_connection(host, int(port))


async def _roundtrip(listen: str, payload: bytes, within: float = 5.0) -> float:
    reader, writer = await _connect(listen)
    try:
        start = time.monotonic()
        writer.write(payload)
        async with asyncio.timeout(within):
            got = await reader.readexactly(len(payload))
        assert got == payload
        return time.monotonic() - start
    finally:
        writer.close()


async def _network(
    server: ToxiproxyServer, ports: PortPool, upstream_port: int
) -> ToxiproxyNetwork:
    net = ToxiproxyNetwork(ToxiproxyClient(server.api))
    await net.create("c", "s1", f"127.0.0.1:{ports.take()}", f"127.0.0.1:{upstream_port}")
    return net


def test_directed_links_cover_every_path() -> None:
    links = directed_links(["a1", "a2", "a3"], ["s1", "s2"])
    assert len(links) == len(set(links)) == 2 + 2 + 6 + 6
    assert ("c", "s1") in links and ("s2", "s1") in links
    assert ("s1", "a3") in links and ("a3", "a1") in links
    assert all(src != dst for src, dst in links)


def test_cut_link_carries_no_data_until_healed(toxiproxy: ToxiproxyServer, ports: PortPool) -> None:
    async def scenario() -> None:
        async with echo_server(ports.take()) as echo:
            net = await _network(toxiproxy, ports, echo.port)
            listen = net.link("c", "s1").listen
            try:
                await _roundtrip(listen, b"before")
                # a connection open before the cut, and one opened during it
                old_reader, old_writer = await _connect(listen)
                await net.cut([("c", "s1")])
                new_reader, new_writer = await _connect(listen)
                received_before = len(echo.received)
                old_writer.write(b"lost-old")
                new_writer.write(b"lost-new")
                for reader in (old_reader, new_reader):
                    with pytest.raises(TimeoutError):
                        async with asyncio.timeout(1.0):
                            await reader.read(1)
                assert len(echo.received) == received_before, "bytes crossed a cut link"
                assert net.active() == {("c", "s1"): {"cut-upstream", "cut-downstream"}}

                await net.heal()
                assert net.active() == {}
                # healing closes the connections the cut held ...
                async with asyncio.timeout(5):
                    leftover = await old_reader.read(100)
                assert leftover == b""
                old_writer.close()
                new_writer.close()
                # ... and new connections carry data again
                await _roundtrip(listen, b"after")
                assert b"lost" not in bytes(echo.received)
            finally:
                await net.client.close()

    asyncio.run(scenario())


def test_latency_toxic_delays_each_direction(toxiproxy: ToxiproxyServer, ports: PortPool) -> None:
    async def scenario() -> None:
        async with echo_server(ports.take()) as echo:
            net = await _network(toxiproxy, ports, echo.port)
            listen = net.link("c", "s1").listen
            try:
                await net.slow([("c", "s1")], latency_ms=300, jitter_ms=0)
                rtt = await _roundtrip(listen, b"slow")
                # 300 ms each way: the round trip cannot be shorter than 600 ms
                assert rtt >= 0.55, rtt
                await net.heal([("c", "s1")])
                assert net.active() == {}
                assert await net.client.toxics("c->s1") == []
            finally:
                await net.client.close()

    asyncio.run(scenario())


def test_limit_data_closes_after_the_limit(toxiproxy: ToxiproxyServer, ports: PortPool) -> None:
    async def scenario() -> None:
        async with echo_server(ports.take()) as echo:
            net = await _network(toxiproxy, ports, echo.port)
            listen = net.link("c", "s1").listen
            try:
                await net.limit_data([("c", "s1")], 10)
                reader, writer = await _connect(listen)
                writer.write(b"x" * 100)
                got = b""
                async with asyncio.timeout(5):
                    while chunk := await reader.read(100):
                        got += chunk
                writer.close()
                assert len(got) <= 10
                assert len(echo.received) <= 10
            finally:
                await net.heal()
                await net.client.close()

    asyncio.run(scenario())


def test_reset_peer_resets_connections(toxiproxy: ToxiproxyServer, ports: PortPool) -> None:
    async def scenario() -> None:
        async with echo_server(ports.take()) as echo:
            net = await _network(toxiproxy, ports, echo.port)
            listen = net.link("c", "s1").listen
            try:
                await net.reset_peer([("c", "s1")], timeout_ms=100)
                reader, writer = await _connect(listen)
                writer.write(b"hello")
                with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
                    async with asyncio.timeout(5):
                        await reader.readexactly(5)
                writer.close()
            finally:
                await net.heal()
                await net.client.close()

    asyncio.run(scenario())
