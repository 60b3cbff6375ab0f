"""Unit tests: the client's outcome classification and leader following (fake servers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.core.client import ArangoClient, ServerAddress, classify_status, host_port
from tests.harness_runner.fakes import FakeServer, answer, free_port, hang, not_leader


def test_classify_status() -> None:
    assert classify_status(200, None) == ("ok", False)
    assert classify_status(201, None) == ("ok", False)
    assert classify_status(412, 1200) == ("fail", False)
    assert classify_status(409, 1210) == ("fail", False)
    assert classify_status(404, 1202) == ("fail", False)
    assert classify_status(503, 1496) == ("fail", True)
    assert classify_status(503, 1495) == ("fail", True)
    assert classify_status(503, 1457) == ("info", False)
    assert classify_status(500, 4) == ("info", False)
    assert classify_status(408, None) == ("info", False)


def test_host_port() -> None:
    assert host_port("tcp://127.0.0.1:8529") == "127.0.0.1:8529"
    assert host_port("http://LOCALHOST:1/x/y") == "localhost:1"
    assert host_port("127.0.0.1:5") == "127.0.0.1:5"


async def _with_servers(
    handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]],
    body: Callable[[ArangoClient, dict[str, FakeServer]], Awaitable[Any]],
    **client_kw: Any,
) -> Any:
    servers = {sid: FakeServer(sid, h) for sid, h in handlers.items()}
    for s in servers.values():
        await s.start()
    try:
        addrs = [ServerAddress(s.id, s.url) for s in servers.values()]
        async with ArangoClient(addrs, **client_kw) as client:
            return await body(client, servers)
    finally:
        for s in servers.values():
            await s.stop()


def test_follows_503_to_leader_and_records_node() -> None:
    urls: dict[str, str] = {}

    async def follower(request: web.Request) -> web.StreamResponse:
        return not_leader("s1", urls["s2"])

    async def leader(request: web.Request) -> web.StreamResponse:
        return answer(201, {"_key": "1", "_rev": "r1"}, "s2")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        urls.update({k: v.url for k, v in servers.items()})
        resp = await client.request("POST", "/_api/document/c", body={"_key": "1"})
        assert resp.outcome == "ok"
        assert resp.node == "s2"
        assert resp.attempts == 2
        assert client.leader is not None and client.leader.id == "s2"
        # the next request goes straight to the leader
        resp = await client.request("POST", "/_api/document/c", body={"_key": "2"})
        assert resp.attempts == 1
        assert len(servers["s1"].requests) == 1

    asyncio.run(_with_servers({"s1": follower, "s2": leader}, body))


def test_vacuum_retries_are_bounded_and_fail() -> None:
    async def vacuum(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            return answer(503, {"error": True, "errorNum": 1495, "code": 503}, "s1")
        body = {"error": True, "errorNum": 1495, "errorMessage": "no leader", "code": 503}
        return answer(503, body, "s1", {"X-Arango-Endpoint": ""})

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        resp = await client.request("PUT", "/_api/document/c/1", body={"value": 1})
        assert resp.outcome == "fail"  # refused before doing anything
        assert resp.error_num == 1495
        assert resp.attempts <= client.max_attempts

    asyncio.run(_with_servers({"s1": vacuum}, body, op_timeout=2.0, max_attempts=4))


def test_sync_replication_timeout_is_info_and_not_retried() -> None:
    async def leader(request: web.Request) -> web.StreamResponse:
        body = {"error": True, "errorNum": 1457, "errorMessage": "timeout", "code": 503}
        return answer(503, body, "s1")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        resp = await client.request("POST", "/_api/document/c", body={})
        assert resp.outcome == "info"
        assert resp.attempts == 1
        assert len(servers["s1"].requests) == 1

    asyncio.run(_with_servers({"s1": leader}, body))


def test_precondition_failed_is_fail() -> None:
    async def leader(request: web.Request) -> web.StreamResponse:
        body = {"error": True, "errorNum": 1200, "errorMessage": "conflict", "code": 412}
        return answer(412, body, "s1")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        resp = await client.request("PUT", "/_api/document/c/1", body={"value": 2})
        assert resp.outcome == "fail"
        assert resp.error["errorNum"] == 1200

    asyncio.run(_with_servers({"s1": leader}, body))


def test_timeout_is_info_but_read_only_is_fail() -> None:
    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        write = await client.request("POST", "/_api/document/c", body={})
        assert write.outcome == "info"
        assert "timeout" in str(write.error)
        read = await client.request("GET", "/_api/document/c/1", read_only=True)
        assert read.outcome == "fail"

    asyncio.run(_with_servers({"s1": hang}, body, request_timeout=0.3, op_timeout=0.5))


def test_reset_after_send_is_info() -> None:
    async def reset(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        assert transport is not None
        transport.close()
        return web.Response(status=200)

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        resp = await client.request("POST", "/_api/document/c", body={})
        assert resp.outcome == "info"
        assert resp.attempts == 1

    asyncio.run(_with_servers({"s1": reset}, body))


def test_refused_connection_fails_over_to_next_server() -> None:
    async def leader(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            return answer(200, {"error": False, "code": 200, "endpoints": []}, "s2")
        return answer(200, {"value": 7}, "s2")

    async def run() -> None:
        live = FakeServer("s2", leader)
        await live.start()
        dead = ServerAddress("s1", f"http://127.0.0.1:{free_port()}")
        try:
            async with ArangoClient([dead, ServerAddress("s2", live.url)]) as client:
                resp = await client.request("GET", "/_api/document/c/1")
                assert resp.outcome == "ok"
                assert resp.node == "s2"
                assert resp.attempts == 2
            async with ArangoClient([dead]) as only_dead:
                resp = await only_dead.request("POST", "/_api/document/c", body={})
                assert resp.outcome == "fail"  # nothing was ever sent
                assert resp.status is None
        finally:
            await live.stop()

    asyncio.run(run())


def test_targeted_dirty_read_is_not_redirected() -> None:
    async def follower(request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-Arango-Allow-Dirty-Read") == "true":
            return answer(200, {"value": 3}, "s2", {"X-Arango-Potential-Dirty-Read": "true"})
        return not_leader("s2", "http://127.0.0.1:1")

    async def leader(request: web.Request) -> web.StreamResponse:
        return answer(200, {"value": 4}, "s1")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        resp = await client.request(
            "GET", "/_api/document/c/1", headers={"X-Arango-Allow-Dirty-Read": "true"}, target="s2"
        )
        assert resp.outcome == "ok" and resp.dirty and resp.node == "s2"
        plain = await client.request("GET", "/_api/document/c/1", target="s2")
        assert plain.outcome == "fail" and plain.attempts == 1
        assert servers["s1"].requests == []

    asyncio.run(_with_servers({"s1": leader, "s2": follower}, body))


def test_endpoint_refresh_maps_aliases() -> None:
    alias = "http://10.9.9.9:1234"

    async def follower(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            body = {"error": False, "code": 200, "endpoints": [{"endpoint": "tcp://10.9.9.9:1234"}]}
            return answer(200, body, "s1")
        return not_leader("s1", "")

    async def leader(request: web.Request) -> web.StreamResponse:
        return answer(200, {"ok": True}, "s2")

    async def run() -> None:
        s1, s2 = FakeServer("s1", follower), FakeServer("s2", leader)
        await s1.start()
        await s2.start()
        try:
            addrs = [ServerAddress("s1", s1.url), ServerAddress("s2", s2.url, (alias,))]
            async with ArangoClient(addrs) as client:
                assert (await client.refresh_endpoints()) is addrs[1]
                assert client.resolve("tcp://10.9.9.9:1234") is addrs[1]
        finally:
            await s1.stop()
            await s2.stop()

    asyncio.run(run())


def _believed_leader(client: ArangoClient) -> str | None:
    return client.leader.id if client.leader is not None else None


def test_a_silent_leader_is_suspected_and_the_next_operation_finds_the_new_one() -> None:
    """A killed leader behind its proxy gives no answer at all (``info``): the client
    must not send every later operation to it, but ask the other servers first."""
    urls: dict[str, str] = {}
    endpoints_of_s2 = {"error": False, "code": 200, "endpoints": []}

    async def old_leader(request: web.Request) -> web.StreamResponse:
        return answer(201, {"_key": "1"}, "s1")

    async def new_leader(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            return answer(200, endpoints_of_s2, "s2")
        return answer(201, {"_key": "2"}, "s2")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        urls.update({k: v.url for k, v in servers.items()})
        endpoints_of_s2["endpoints"] = [{"endpoint": urls["s2"]}, {"endpoint": urls["s1"]}]
        first = await client.request("POST", "/_api/document/c", body={"_key": "1"})
        assert first.outcome == "ok" and client.leader is not None and client.leader.id == "s1"
        servers["s1"].handler = hang  # the leader dies: no answer within the request timeout
        lost = await client.request("POST", "/_api/document/c", body={"_key": "x"})
        assert lost.outcome == "info"
        assert _believed_leader(client) is None

        def writes_to_s1() -> int:
            return sum(1 for _, path in servers["s1"].requests if path == "/_api/document/c")

        before = writes_to_s1()
        found = await client.request("POST", "/_api/document/c", body={"_key": "2"})
        assert found.outcome == "ok" and found.node == "s2" and found.attempts == 1
        assert writes_to_s1() == before  # no operation was sent to the dead one

    asyncio.run(
        _with_servers(
            {"s1": old_leader, "s2": new_leader}, body, request_timeout=0.3, op_timeout=0.5
        )
    )


def test_a_fenced_leader_naming_itself_does_not_win_the_client_back() -> None:
    """Issue 11 §4: after a partition-leader, the old leader (fenced, reachable by
    clients) answers writes with 503 and an empty endpoint, while a server asked
    first may still name it as leader. Trusting that answer sent every client back
    to the fenced leader until the partition healed; the client now passes over an
    answer naming the server that just refused, and finds the new leader."""
    urls: dict[str, str] = {}

    def endpoints(*order: str) -> dict[str, Any]:
        return {"error": False, "code": 200, "endpoints": [{"endpoint": urls[s]} for s in order]}

    async def fenced(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            return answer(200, endpoints("s1", "s2", "s3"), "s1")  # a server before the fix
        body = {"error": True, "errorNum": 1496, "errorMessage": "lease expired", "code": 503}
        return answer(503, body, "s1", {"X-Arango-Endpoint": ""})

    async def stale_follower(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            return answer(200, endpoints("s1", "s2", "s3"), "s2")  # has not seen the failover
        return not_leader("s2", urls["s1"])

    async def new_leader(request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/cluster/endpoints":
            return answer(200, endpoints("s3", "s1", "s2"), "s3")
        return answer(201, {"_key": "1"}, "s3")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        urls.update({k: v.url for k, v in servers.items()})
        resp = await client.request("POST", "/_api/document/c", body={"_key": "1"})
        assert resp.outcome == "ok" and resp.node == "s3", resp
        assert _believed_leader(client) == "s3"

    asyncio.run(
        _with_servers(
            {"s1": fenced, "s2": stale_follower, "s3": new_leader},
            body,
            op_timeout=3.0,
            max_attempts=8,
        )
    )


def test_a_hanging_server_does_not_hold_up_finding_the_leader() -> None:
    """Issue 11 §4: the servers are asked for the leader at once, and the first server
    that names one is believed; before, a server cut off by a partition and asked
    first held every refresh for its whole wait."""
    urls: dict[str, str] = {}
    still_hanging: list[bool] = []

    async def cut_off(request: web.Request) -> web.StreamResponse:
        still_hanging.append(True)
        try:
            await asyncio.sleep(3)
        finally:
            still_hanging[-1] = False
        return web.Response(status=200)

    async def new_leader(request: web.Request) -> web.StreamResponse:
        endpoints = [{"endpoint": urls["s2"]}, {"endpoint": urls["s1"]}]
        return answer(200, {"error": False, "code": 200, "endpoints": endpoints}, "s2")

    async def body(client: ArangoClient, servers: dict[str, FakeServer]) -> None:
        urls.update({k: v.url for k, v in servers.items()})
        found = await client.refresh_endpoints(wait_s=20.0)
        assert found is not None and found.id == "s2"
        assert still_hanging == [True]  # found while s1 (first in order) had not answered

    asyncio.run(_with_servers({"s1": cut_off, "s2": new_leader}, body))
