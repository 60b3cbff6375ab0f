"""The agency's HTTP API on real agents: redirects, no-leader 503, and bad input."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable

import pytest

from harness.infra.probe import http_json
from tests.agency.agents import AgencyCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

Factory = Callable[..., AgencyCluster]


def _raw(
    c: AgencyCluster, ident: str, method: str, path: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    host, port = c.address(ident)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", **c.headers()}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_follower_redirects_to_leader_and_no_leader_gives_503(agency: Factory) -> None:
    c = agency()
    leader = c.leader()
    follower = next(i for i in c.ids if i != leader)
    for path in ("/_api/agency/write", "/_api/agency/read", "/_api/agency/inquire"):
        status, headers, _ = _raw(c, follower, "POST", path, b"[]")
        assert status == 307, path
        assert headers["Location"] == c.url(leader) + path
    status, body = http_json(c.url(follower) + "/_admin/server/role", headers=c.headers())
    assert status == 200 and body["role"] == "AGENT"
    # stop two of three: the survivor ends up knowing no leader and answers 503
    survivor = follower
    for ident in [i for i in c.ids if i != survivor]:
        c.stop(ident)
    deadline = time.monotonic() + 15
    while True:
        status, body = c.write(survivor, [[{"/k": 1}]], limit=15)
        if status == 503:
            break
        assert status == 307, (status, body)  # still believes in the dead leader
        assert time.monotonic() < deadline, "never answered 503"
        time.sleep(0.1)
    assert body["error"] is True and body["code"] == 503 and "errorNum" in body


BAD_WRITES: list[bytes] = [
    b"{not json",
    b"",
    b"\xff\xfe",
    b'{"a": 1}',
    b"[1]",
    b"[[]]",
    b'[[{"/a": {"op": "frobnicate"}}]]',
    b'[[{"/a/../b": 1}]]',
    b'[[{"/a": {"op": "increment", "step": "x"}}]]',
    b'[[{"/a": {"op": "set", "new": 1, "ttl": -5}}]]',
    b'[[{"/a": 1}, {}, 17]]',
    b"[" * 100000,
]


def test_bad_input_gets_4xx_and_agent_keeps_serving(agency: Factory) -> None:
    c = agency(flags={"body-limit": "65536"})
    leader = c.leader()
    term = c.cfg(leader)["term"]
    for raw in BAD_WRITES:
        status, _, body = _raw(c, leader, "POST", "/_api/agency/write", raw)
        assert 400 <= status < 500, (raw[:40], status, body[:200])
        err = json.loads(body)
        assert err["error"] is True and err["code"] == status and "errorNum" in err
    # an unknown precondition operator is a failed precondition, as in ArangoDB
    wat = b'[[{"/a": 1}, {"/a": {"wat": 1}}]]'
    status, _, body = _raw(c, leader, "POST", "/_api/agency/write", wat)
    assert status == 412 and json.loads(body) == {"results": [0]}
    for raw in (b'{"x": 1}', b'[["/a", 3]]', b'[["a/../b"]]', b"nope"):
        status, _, body = _raw(c, leader, "POST", "/_api/agency/read", raw)
        assert status == 400, (raw, status, body)
    status, _, _ = _raw(c, leader, "POST", "/_api/agency/inquire", b'{"a": 1}')
    assert status == 400
    status, _, _ = _raw(c, leader, "POST", "/_api/agency/write", b"[" + b" " * 70000 + b"]")
    assert status == 413
    status, _, _ = _raw(c, leader, "GET", "/_api/agency/write")
    assert status == 405
    status, _, _ = _raw(c, leader, "POST", "/_api/agency/nothing", b"[]")
    assert status == 404
    status, _, _ = _raw(c, leader, "GET", "/_api/agency_priv/state?path=/a/../b")
    assert status == 400
    for rpc, raw in [
        ("appendEntries", b"[]"),
        ("appendEntries", b'{"term": 0, "entries": [[1, 2]]}'),
        ("requestVote", b"garbage"),
        ("installSnapshot", b'{"term": 0, "data": 3}'),
        ("bogus", b"{}"),
    ]:
        status, _, body = _raw(c, leader, "POST", f"/_api/agency_priv/{rpc}", raw)
        assert status in (200, 400, 404), (rpc, status, body)
        if status == 200:  # a stale-term RPC is answered, and refused
            assert json.loads(body).get("success") is not True
    # still the same healthy leader, still writing
    status, body = c.write(leader, [[{"/ok": {"op": "set", "new": 1}}]])
    assert status == 200, body
    assert c.cfg(leader)["term"] == term
    assert sorted(c.alive()) == c.ids


def test_precondition_failure_is_412_and_inquire_finds_client_ids(agency: Factory) -> None:
    c = agency(size=1)
    leader = c.leader()
    status, body = c.write(leader, [[{"/p": 1}, {"/p": {"oldEmpty": True}}, "client-1"]])
    assert status == 200 and body["results"][0] > 0
    status, body = c.write(leader, [[{"/p": 2}, {"/p": {"oldEmpty": True}}, "client-2"]])
    assert status == 412 and body["results"] == [0]
    # client-2's transaction failed its precondition and was never logged: unknown, so 404
    status, body = http_json(
        c.url(leader) + "/_api/agency/inquire", ["client-1", "client-2"], headers=c.headers()
    )
    assert status == 404 and body["inquired"] is True
    assert body["results"][0] > 0 and body["results"][1] == 0
    status, body = http_json(
        c.url(leader) + "/_api/agency/inquire", ["client-1"], headers=c.headers()
    )
    assert status == 200 and body["results"][0] > 0
