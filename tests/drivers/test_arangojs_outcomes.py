"""Unit tests: arangojs's answers and errors mapped to honest outcomes (fake servers, Node).

The tests that start the bridge skip, with the reason, when Node or arangojs is absent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from harness.core.client import ServerAddress
from harness.drivers.arangojs import ArangojsClient, outcome_of_error, unavailable_reason
from harness.drivers.base import DriverClient
from harness.drivers.modes import DriverUnavailable
from tests.drivers.helpers import DOWN, with_driver
from tests.harness_runner.fakes import FakeServer, answer, hang

JS = "arangojs"


def test_outcome_of_error() -> None:
    assert outcome_of_error({"class": "ArangoError", "code": 503, "errorNum": 1495}) == "fail"
    assert outcome_of_error({"class": "ArangoError", "code": 409, "errorNum": 1210}) == "fail"
    assert outcome_of_error({"class": "ArangoError", "code": 503, "errorNum": 1457}) == "info"
    assert outcome_of_error({"class": "HttpError", "code": 502}) == "info"
    assert outcome_of_error({"class": "FetchFailedError", "safe": True}) == "fail"
    assert outcome_of_error({"class": "FetchFailedError", "safe": False}) == "info"
    assert outcome_of_error({"class": "ResponseTimeoutError", "safe": None}) == "info"
    assert outcome_of_error({"class": "BridgeExited"}) == "info"


def test_a_missing_install_is_named(tmp_path: Path) -> None:
    reason = unavailable_reason(tmp_path)
    assert reason is not None and "arangojs" in reason
    client = ArangojsClient([ServerAddress("s1", "http://127.0.0.1:1")], node_dir=tmp_path)
    with pytest.raises(DriverUnavailable, match="arangojs"):
        asyncio.run(client.start())


async def leader(request: web.Request) -> web.StreamResponse:
    return answer(201, {"_key": "1", "_rev": "r1"}, "s2")


def test_arangojs_follows_the_named_leader() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        leader_url = servers["s2"].url

        async def follower(request: web.Request) -> web.StreamResponse:
            body = {"error": True, "errorNum": 1496, "errorMessage": "not a leader", "code": 503}
            return answer(503, body, "s1", {"X-Arango-Endpoint": leader_url})

        servers["s1"].handler = follower
        resp = await driver.request("POST", "/_api/document/c", body={"_key": "1"})
        assert resp.outcome == "ok" and resp.node == "s2", resp
        assert servers["s1"].requests == [("POST", "/_db/_system/_api/document/c")]
        assert servers["s2"].requests == [("POST", "/_db/_system/_api/document/c")]

    with_driver(JS, {"s1": leader, "s2": leader}, body)


def test_a_vacuum_is_thrown_to_the_application_as_fail() -> None:
    async def vacuum(request: web.Request) -> web.StreamResponse:
        body = {"error": True, "errorNum": 1495, "errorMessage": "no leader", "code": 503}
        return answer(503, body, "s1", {"X-Arango-Endpoint": ""})

    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        resp = await driver.request("POST", "/_db/shop/_api/document/c", body={})
        assert resp.outcome == "fail" and resp.node == "s1"
        assert resp.error["driver"] == JS and resp.error["class"] == "ArangoError"
        assert (resp.error["code"], resp.error["errorNum"]) == (503, 1495)
        assert servers["s1"].requests == [("POST", "/_db/shop/_api/document/c")]

    with_driver(JS, {"s1": vacuum}, body)


def test_a_refused_host_is_retried_on_the_next_one() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        resp = await driver.request("POST", "/_api/document/c", body={})
        assert resp.outcome == "ok" and resp.node == "s2"

    with_driver(JS, {"s1": DOWN, "s2": leader}, body)


def test_every_host_refused_is_fail_and_a_timeout_is_info() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        down = await driver.request("POST", "/_api/document/c", body={}, target="s1")
        assert down.outcome == "fail", down
        assert down.error["class"] == "FetchFailedError"
        slow = await driver.request("POST", "/_api/document/c", body={}, target="s2")
        assert slow.outcome == "info" and slow.error["class"] == "ResponseTimeoutError", slow
        read = await driver.request("PUT", "/_api/cursor/1", target="s2", read_only=True)
        assert read.outcome == "fail"

    # a refused connection must come back within the request timeout on a loaded host
    with_driver(JS, {"s1": DOWN, "s2": hang}, body, request_timeout=1.5)
