"""Observer callbacks: delivered by HTTP POST to a real local server, retried, merged, bounded."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cluster.agency.callbacks import CallbackDispatcher


class Observer:
    """A local HTTP endpoint that records callback bodies and answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.bodies: list[Any] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self.gate: asyncio.Event | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({}, status=status)

    async def __aenter__(self) -> Observer:
        app = web.Application()
        app.router.add_post("/cb", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/cb"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cb"


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 60))


def test_delivers_index_and_paths() -> None:
    async def body() -> None:
        d = CallbackDispatcher("a1", request_timeout=2.0)
        await d.start()
        try:
            async with Observer() as obs:
                d.notify(obs.url, ["/arango/Plan/X"], 7)
                await until(lambda: d.stats.delivered == 1)
                assert obs.bodies == [{"index": 7, "paths": ["/arango/Plan/X"]}]
                assert d.pending_urls() == []
        finally:
            await d.stop()

    run(body)


def test_retries_until_acknowledged() -> None:
    async def body() -> None:
        d = CallbackDispatcher("a1", request_timeout=2.0, initial_backoff=0.01)
        await d.start()
        try:
            async with Observer(statuses=[500, 503]) as obs:
                d.notify(obs.url, ["/a"], 3)
                await until(lambda: d.stats.delivered == 1)
                assert len(obs.bodies) == 3 and d.stats.failed_attempts == 2
        finally:
            await d.stop()

    run(body)


def test_gives_up_on_a_dead_observer() -> None:
    async def body() -> None:
        d = CallbackDispatcher("a1", request_timeout=0.5, give_up_after=0.3, initial_backoff=0.02)
        await d.start()
        try:
            d.notify(closed_port_url(), ["/a"], 1)
            await until(lambda: d.stats.given_up == 1)
            await until(lambda: d.pending_urls() == [])
            assert d.stats.delivered == 0
        finally:
            await d.stop()

    run(body)


def test_pending_notifications_are_merged_and_others_not_delayed() -> None:
    async def body() -> None:
        d = CallbackDispatcher("a1", request_timeout=5.0)
        await d.start()
        try:
            async with Observer() as slow, Observer() as fast:
                slow.gate = asyncio.Event()
                d.notify(slow.url, ["/a"], 1)
                await until(lambda: len(slow.bodies) == 1)
                d.notify(slow.url, ["/b"], 2)
                d.notify(slow.url, ["/c", "/b"], 3)
                d.notify(fast.url, ["/z"], 3)
                await until(lambda: len(fast.bodies) == 1)
                assert d.stats.urls.get(slow.url, 0) == 0  # still held at the gate
                slow.gate.set()
                await until(lambda: d.stats.urls.get(slow.url) == 2)
                assert slow.bodies[1] == {"index": 3, "paths": ["/b", "/c"]}
        finally:
            await d.stop()

    run(body)


def test_only_the_leader_dispatches() -> None:
    async def body() -> None:
        leader = False
        d = CallbackDispatcher("a1", is_leader=lambda: leader)
        await d.start()
        try:
            async with Observer() as obs:
                d.notify(obs.url, ["/a"], 1)
                await until(lambda: d.stats.dropped_not_leader == 1)
                assert obs.bodies == []
        finally:
            await d.stop()

    run(body)


def test_stop_cancels_in_flight_deliveries_and_later_notify_is_dropped() -> None:
    async def body() -> None:
        d = CallbackDispatcher("a1", request_timeout=5.0)
        await d.start()
        async with Observer(delay=3.0) as obs:
            d.notify(obs.url, ["/a"], 1)
            await until(lambda: len(obs.bodies) == 1)
            await asyncio.wait_for(d.stop(), 1.0)
            assert d.pending_urls() == []
            d.notify(obs.url, ["/a"], 2)
            assert d.pending_urls() == []

    run(body)
