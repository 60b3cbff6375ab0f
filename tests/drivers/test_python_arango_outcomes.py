"""Unit tests: python-arango's answers and exceptions mapped to honest outcomes (fake servers)."""

from __future__ import annotations

import requests
import urllib3.exceptions
from aiohttp import web

from harness.drivers.base import DriverClient
from harness.drivers.python_arango import Attempt, call_outcome, effect_after, never_sent
from tests.drivers.helpers import DOWN, Handler, with_driver
from tests.harness_runner.fakes import FakeServer, answer, hang, not_leader

PY = "python-arango"


async def leader(request: web.Request) -> web.StreamResponse:
    return answer(201, {"_key": "1", "_rev": "r1"}, "s2")


async def reset(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    assert transport is not None
    transport.close()
    return web.Response(status=200)


def follower(leader_url: str = "http://127.0.0.1:1") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return not_leader("s1", leader_url)

    return handler


def test_a_follower_refusal_reaches_the_application_and_names_the_driver_error() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        resp = await driver.request("POST", "/_api/document/c", body={"_key": "1"})
        assert resp.outcome == "fail"  # 1496: certainly not applied
        assert resp.node == "s1"
        assert resp.error["driver"] == PY and resp.error["class"] == "ArangoServerError"
        assert (resp.error["code"], resp.error["errorNum"]) == (503, 1496)
        assert servers["s2"].requests == []  # python-arango did not follow X-Arango-Endpoint
        assert servers["s1"].requests == [("POST", "/_db/_system/_api/document/c")]

    with_driver(PY, {"s1": follower(), "s2": leader}, body)


def test_the_failover_setting_reaches_the_leader_through_the_round_robin() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        for _ in range(4):
            resp = await driver.request("POST", "/_api/document/c", body={})
            assert resp.outcome == "ok" and resp.node == "s2", resp
            assert resp.error is None
        assert len(servers["s2"].requests) == 4
        assert servers["s1"].requests  # the resolver's turns reached the follower too

    with_driver(f"{PY}:failover", {"s1": follower(), "s2": leader}, body)


def test_a_refused_host_falls_back_to_the_next_one() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        resp = await driver.request("POST", "/_api/document/c", body={})
        assert resp.outcome == "ok" and resp.node == "s2"
        assert resp.attempts == 2  # refused (after urllib3's own retries), then s2

    with_driver(PY, {"s1": DOWN, "s2": leader}, body)


def test_a_timeout_is_info_and_a_read_that_timed_out_is_fail() -> None:
    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        resp = await driver.request("POST", "/_api/document/c", body={})
        assert resp.outcome == "info" and resp.status is None
        assert resp.error["class"] == "ReadTimeout" and resp.error["server"] == "s1"
        read = await driver.request("PUT", "/_api/simple/all-keys", body={}, read_only=True)
        assert read.outcome == "fail"

    with_driver(PY, {"s1": hang}, body, request_timeout=0.3)


def test_a_refusal_after_a_reset_is_info_not_fail() -> None:
    """The driver sends a write again after a reset: the refusal it ends with does not
    prove the first attempt did nothing."""

    async def body(driver: DriverClient, servers: dict[str, FakeServer]) -> None:
        resp = await driver.request("POST", "/_api/document/c", body={"_key": "1"})
        assert resp.outcome == "info", resp
        assert resp.error["errorNum"] == 1496 and resp.attempts == 2

    with_driver(PY, {"s0": reset, "s1": follower()}, body)


def _refused() -> requests.ConnectionError:
    inner = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", inner))  # type: ignore[arg-type]


def _reset() -> requests.ConnectionError:
    inner = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))
    return requests.ConnectionError(inner)


def test_never_sent_reads_the_exception_chain() -> None:
    assert never_sent(_refused())
    assert not never_sent(_reset())
    assert not never_sent(requests.ReadTimeout("read timed out"))
    assert never_sent(requests.ConnectTimeout("connect timed out"))
    assert not never_sent(ValueError("anything else"))


def test_call_outcome_is_fail_only_when_every_attempt_did_nothing() -> None:
    refused = Attempt("http://a", 1, error=_refused())
    reset_ = Attempt("http://a", 2, error=_reset())
    refusal = Attempt("http://b", 3, status=503, error_num=1496)
    created = Attempt("http://b", 4, status=201)
    assert call_outcome([refused, refused], None, None) == "fail"
    assert call_outcome([refused, reset_], None, None) == "info"
    assert call_outcome([], None, None) == "info"
    assert call_outcome([refused, refusal], 503, 1496) == "fail"
    assert call_outcome([reset_, refusal], 503, 1496) == "info"
    assert call_outcome([reset_, created], 201, None) == "ok"
    assert call_outcome([Attempt("http://b", 5, status=503, error_num=1457)], 503, 1457) == "info"
    assert effect_after([refused, reset_, created]) == 2  # the first that may have applied it
    assert effect_after([refused, refusal]) == 3
