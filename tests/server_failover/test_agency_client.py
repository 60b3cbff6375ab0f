"""The server's agency client against small local HTTP servers: it skips agents that
redirect (307), have no leader (503) or do not answer, and never follows Location."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from cluster.common.http import client_session
from cluster.server.agency_client import AgencyClient, AgencyError, get_path
from harness.infra.backends.ports import PortPool


async def _serve(handler: Any, ports: PortPool) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/_api/agency/{op}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = ports.take()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def _dead(ports: PortPool) -> str:
    """An agent address nobody listens on (the port stays claimed, so it stays unbound)."""
    return f"http://127.0.0.1:{ports.take()}"


def test_client_moves_past_redirects_and_unavailable_agents() -> None:
    async def run() -> None:
        hits: list[str] = []

        async def redirect(request: web.Request) -> web.Response:
            hits.append("redirect")
            raise web.HTTPTemporaryRedirect("http://127.0.0.1:1/_api/agency/read")

        async def no_leader(request: web.Request) -> web.Response:
            hits.append("503")
            return web.json_response({"error": True}, status=503)

        async def leader(request: web.Request) -> web.Response:
            hits.append(request.match_info["op"])
            body = await request.json()
            if request.match_info["op"] == "read":
                assert body == [["/arango/Plan/AsyncReplication"]]
                return web.json_response([{"arango": {"Plan": {"AsyncReplication": {"x": 1}}}}])
            if "/arango/fail" in body[0][0]:
                return web.json_response({"results": [0]}, status=412)
            return web.json_response({"results": [7]})

        runners = []
        urls = []
        for handler in (redirect, no_leader, leader):
            runner, url = await _serve(handler, ports)
            runners.append(runner)
            urls.append(url)
        dead = _dead(ports)
        async with client_session(5.0) as session:
            client = AgencyClient("s1", [dead, *urls], session, timeout=1.0)
            tree = await client.read(["/Plan/AsyncReplication"])
            assert get_path(tree, "/Plan/AsyncReplication/x") == 1
            assert hits == ["redirect", "503", "read"]
            assert await client.write({"/k": {"op": "set", "new": 1}}) is True
            assert await client.write({"/fail": {"op": "set", "new": 1}}) is False
            assert hits[-2:] == ["write", "write"]  # sticks to the agent that answered
        for runner in runners:
            await runner.cleanup()

    ports = PortPool()
    try:
        asyncio.run(run())
    finally:
        ports.release()


def test_client_gives_up_with_a_clear_error_when_no_agent_answers() -> None:
    async def run() -> None:
        dead = [_dead(ports) for _ in range(2)]
        async with client_session(5.0) as session:
            client = AgencyClient("s9", dead, session, timeout=0.5)
            with pytest.raises(AgencyError) as err:
                await client.read(["/Plan"])
        assert "s9: agency read failed" in str(err.value)

    ports = PortPool()
    try:
        asyncio.run(run())
    finally:
        ports.release()
