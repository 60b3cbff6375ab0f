"""The Toxiproxy client fails clearly and quickly when Toxiproxy is down or refuses."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from harness.infra.backends.ports import PortPool
from harness.infra.toxiproxy import ToxiproxyClient, ToxiproxyError, ToxiproxyServer

pytestmark = pytest.mark.integration


def test_unreachable_toxiproxy_names_address_and_operation(ports: PortPool) -> None:
    port = ports.take()  # claimed, nothing listens on it

    async def scenario() -> None:
        async with ToxiproxyClient(f"http://127.0.0.1:{port}", timeout=2) as client:
            with pytest.raises(ToxiproxyError) as err:
                await client.add_toxic(
                    "c->s1", "cut-upstream", "timeout", "upstream", {"timeout": 0}
                )
        text = str(err.value)
        assert f"127.0.0.1:{port}" in text
        assert "add timeout toxic cut-upstream to c->s1 failed" in text

    asyncio.run(scenario())


def test_hung_toxiproxy_times_out(ports: PortPool) -> None:
    """An API that accepts connections and never answers (as a stopped Toxiproxy does)."""
    port = ports.take()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hung:
        hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hung.bind(("127.0.0.1", port))
        hung.listen(8)  # the kernel completes the handshake; nobody ever reads or answers

        async def scenario() -> None:
            async with ToxiproxyClient(f"http://127.0.0.1:{port}", timeout=1.0) as client:
                start = time.monotonic()
                with pytest.raises(ToxiproxyError, match="no answer within 1 s"):
                    await client.proxies()
                assert time.monotonic() - start < 10

        asyncio.run(scenario())


def test_refusals_carry_status_and_reason(toxiproxy: ToxiproxyServer, ports: PortPool) -> None:
    async def scenario() -> None:
        async with ToxiproxyClient(toxiproxy.api) as client:
            assert await client.version()
            proxy = await client.create_proxy("p", f"127.0.0.1:{ports.take()}", "127.0.0.1:9")
            assert proxy.name == "p" and proxy.enabled
            with pytest.raises(ToxiproxyError) as err:
                await client.add_toxic("p", "bad", "no-such-toxic", "upstream", {})
            assert err.value.status == 400 and "invalid toxic type" in str(err.value)
            with pytest.raises(ToxiproxyError) as err:
                await client.toxics("missing")
            assert err.value.status == 404
            # adding a toxic twice updates it instead of failing
            await client.add_toxic("p", "lat", "latency", "downstream", {"latency": 10})
            await client.add_toxic("p", "lat", "latency", "downstream", {"latency": 20})
            (toxic,) = await client.toxics("p")
            assert toxic.attributes["latency"] == 20
            await client.remove_toxic("p", "lat")
            await client.remove_toxic("p", "lat")  # already gone: fine
            await client.delete_proxy("p")
            assert await client.proxies() == {}

    asyncio.run(scenario())
