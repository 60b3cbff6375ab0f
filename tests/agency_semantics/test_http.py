"""The agency's HTTP API in process: status codes, answers and log indices as ArangoDB gives them.

The real aiohttp application runs against :class:`FakeAgent` (no Raft; each
proposal commits at the next index), so the tests see exactly which
transactions reached the log.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.agency_semantics.fake_agent import Call, FakeAgent, key_orders, serve

WRITE = "/_api/agency/write"
READ = "/_api/agency/read"
TRANSACT = "/_api/agency/transact"
TRANSIENT = "/_api/agency/transient"
INQUIRE = "/_api/agency/inquire"


def test_failed_preconditions_take_no_log_index() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        assert await call("POST", WRITE, [[{"/a": 12}]]) == (200, {"results": [1]})
        assert await call("POST", WRITE, [[{"/a": 13}, {"/a": 12}]]) == (200, {"results": [2]})
        assert await call("POST", WRITE, [[{"/a": 14}, {"/a": 12}]]) == (412, {"results": [0]})
        assert await call("POST", WRITE, [[{"a": 14}, {"a": {"oldEmpty": True}}]]) == (
            412,
            {"results": [0]},
        )
        assert len(agent.log) == 2
        status, body = await call(
            "POST", WRITE, [[{"/b": 1}], [{"/c": 1}, {"/a": 99}], [{"/d": 1}, {"/a": 13}]]
        )
        assert (status, body) == (412, {"results": [3, 0, 4]})
        assert [e["txn"]["ops"][0][0] for e in agent.log[2:]] == ["/b", "/d"]
        assert await call("POST", READ, [["/a", "/c"]]) == (200, [{"a": 13}])

    serve(run)


def test_a_precondition_may_depend_on_an_earlier_transaction_of_the_same_body() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        body = [[{"/a": 1}], [{"/b": 2}, {"/a": 1}], [{"/c": 3}, {"/b": {"oldEmpty": False}}]]
        assert await call("POST", WRITE, body) == (200, {"results": [1, 2, 3]})
        assert agent.barriers == 0  # nothing failed: no extra round trip

    serve(run)


def test_a_failed_precondition_is_confirmed_after_a_read_barrier() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        await call("POST", WRITE, [[{"/x": 1}, {"/x": {"old": 2}}]])
        assert agent.barriers == 1 and agent.log == []

    serve(run)


def test_writes_to_dot_agency_are_forbidden() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        for key in (".agency", "/.agency", "/.agency/hans", "//.agency"):
            status, body = await call("POST", WRITE, [[{key: {"op": "set", "new": "fallera"}}]])
            assert (status, body) == (403, {"results": [0]}), key
        status, body = await call(
            "POST", WRITE, [[{"/ok": 1}], [{"/.agency": 1}], [{"/n": 1}, {"/n": 5}]]
        )
        assert (status, body) == (403, {"results": [1, 0, 0]})
        assert len(agent.log) == 1
        assert await call("POST", READ, [["/.agency"]]) == (200, [{}])

    serve(run)


def test_empty_and_malformed_bodies_are_400() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        for path in (WRITE, TRANSACT, TRANSIENT):
            status, body = await call("POST", path, [])
            assert (
                status == 400 and body["error"] is True and body["errorMessage"] == "Empty request"
            )
        status, body = await call("POST", WRITE, [[{"/a": {"op": "erase"}}]])
        assert status == 400 and body["errorNum"] == 20030
        assert (await call("GET", WRITE))[0] == 405
        assert (await call("POST", "/_api/agency/poll", {}))[0] == 405
        assert agent.log == []

    serve(run)


def test_a_body_of_20000_transactions_is_accepted() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        await call("POST", WRITE, [[{"a": {"op": "delete"}}]])
        huge = [[{"a": {"op": "increment"}}, {}, f"huge{i}"] for i in range(20000)]
        status, body = await call("POST", WRITE, huge)
        assert status == 200 and body["results"] == list(range(2, 20002))
        assert await call("POST", READ, [["a"]]) == (200, [{"a": 20000}])

    serve(run)


def test_read_after_ttl_expiry_answers_the_existing_parent() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        await call("POST", WRITE, [[{"a/y": {"op": "set", "new": 12, "ttl": 1}, "a/z": 1}]])
        assert await call("POST", READ, [["/a/y"]]) == (200, [{"a": {"y": 12}}])
        expiry = agent.store.due_expiries(1e12)
        assert expiry is not None
        agent.apply(expiry)
        assert await call("POST", READ, [["/a/y"], ["/nothing/here"]]) == (200, [{"a": {}}, {}])

    serve(run)


def test_answers_list_keys_in_arangodb_order() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        await call("POST", WRITE, [[{"/z": 1, "/b": {"y": 1, "x": [{"d": 1, "c": 2}]}, "/a": 2}]])
        status, body = await call("POST", READ, [["/"], ["/z", "/a"]])
        assert status == 200
        assert key_orders(body) == [["a", "b", "z"], ["x", "y"], ["c", "d"], ["a", "z"]]
        status, body = await call("POST", INQUIRE, ["nobody"])
        assert key_orders(body) == [["inquired", "results"]]

    serve(run)


def test_transact_mixes_reads_and_writes_in_order() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        assert await call("POST", TRANSACT, [["/x"], [{"/x": 12}]]) == (200, [{}, 1])
        assert await call("POST", TRANSACT, [["/x"], [{"/x": 12}], ["/x"]]) == (
            200,
            [{"x": 12}, 2, {"x": 12}],
        )
        status, body = await call(
            "POST",
            TRANSACT,
            [["/x"], [{"/x": {"op": "increment"}}], ["/x"], [{"/x": {"op": "increment"}}]],
        )
        assert (status, body) == (200, [{"x": 12}, 3, {"x": 13}, 4])
        status, body = await call(
            "POST", TRANSACT, [[{"/y": 1}, {"/x": 0, "/w": {"oldEmpty": False}}], ["/x"]]
        )
        # a failed write answers the read of its failed precondition paths
        assert (status, body) == (412, [{"x": 14}, {"x": 14}])
        assert len(agent.log) == 4

    serve(run)


def test_transient_answers_booleans_and_reads() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        status, body = await call("POST", TRANSIENT, [[{"/t": 1}], [{"/t": 2}, {"/t": 5}], ["/t"]])
        assert (status, body) == (200, [True, False, {"t": 1}])

    serve(run)


def test_inquire_answers_404_for_unknown_ids_and_marks_inquired() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        query = [{"a": 12}, {"a": 13}]
        pre = [{}, {"a": 12}]
        await call("POST", WRITE, [[query[0], pre[0], "id0"]])
        assert await call("POST", INQUIRE, ["id0"]) == (200, {"inquired": True, "results": [1]})
        assert await call("POST", WRITE, [[query[1], pre[1], "id0"]]) == (200, {"results": [2]})
        assert await call("POST", INQUIRE, ["id0"]) == (200, {"inquired": True, "results": [2]})
        assert await call("POST", WRITE, [[query[1], pre[1], "id2"]]) == (412, {"results": [0]})
        assert await call("POST", INQUIRE, ["id2"]) == (404, {"inquired": True, "results": [0]})
        status, body = await call(
            "POST", WRITE, [[query[0], pre[0], "id3"], [query[1], pre[1], "id3"]]
        )
        assert (status, body) == (200, {"results": [3, 4]})
        assert await call("POST", INQUIRE, ["id3", "id0"]) == (
            200,
            {"inquired": True, "results": [4, 2]},
        )
        assert await call("POST", INQUIRE, ["id3", "nope"]) == (
            404,
            {"inquired": True, "results": [4, 0]},
        )
        assert await call("POST", INQUIRE, []) == (200, {"inquired": True, "results": []})
        assert (await call("POST", INQUIRE, {"a": 1}))[0] == 400

    serve(run)


def test_poll_answers_the_log_or_the_store() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        await call("POST", WRITE, [[{"/": {"op": "delete"}}]])
        status, body = await call("GET", "/_api/agency/poll")
        assert status == 200 and body["error"] is False and body["code"] == 200
        assert body["result"] == {"commitIndex": 1, "firstIndex": 0, "readDB": {}}
        await call("POST", WRITE, [[{"/p": 1}, {}, "c1"], [{"/q": {"op": "increment"}}]])
        status, body = await call("GET", "/_api/agency/poll?index=2")
        assert status == 200
        assert body["result"] == {
            "commitIndex": 3,
            "firstIndex": 2,
            "log": [
                {"clientId": "c1", "index": 2, "query": {"/p": {"new": 1, "op": "set"}}},
                {"index": 3, "query": {"/q": {"op": "increment", "step": 1}}},
            ],
        }
        assert all(order == sorted(order) for order in key_orders(body))
        assert await call("GET", "/_api/agency/poll?index=4&timeout=0.1") == (
            200,
            {"code": 200, "error": False, "result": {"commitIndex": 3, "log": []}},
        )
        waiting: asyncio.Task[tuple[int, Any]] = asyncio.create_task(
            call("GET", "/_api/agency/poll?index=4&timeout=5")
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await call("POST", WRITE, [[{"/r": 1}]])
        status, body = await waiting
        assert status == 200 and [e["index"] for e in body["result"]["log"]] == [4]
        assert (await call("GET", "/_api/agency/poll?index=x"))[0] == 400

    serve(run)


def test_stores_dumps_tree_ttls_and_observers() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        await call(
            "POST",
            WRITE,
            [
                [
                    {
                        "/a/u": {"op": "set", "new": 1, "ttl": 30},
                        "/a": {"op": "observe", "url": "http://h:1/cb"},
                    }
                ]
            ],
        )
        status, body = await call("GET", "/_api/agency/stores")
        assert status == 200 and set(body) == {"read_db", "spearhead", "transient"}
        tree, ttls, observers, observed = body["read_db"]
        assert tree == {"a": {"u": 1}}
        assert list(ttls) == ["/a/u"] and ttls["/a/u"] > 0
        assert observers == [{"http://h:1/cb": "/a"}] and observed == [{"/a": "http://h:1/cb"}]

    serve(run)


def test_a_follower_redirects_and_no_leader_is_503() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        agent.raft.leader_id = "a2"
        for method, path in [
            ("POST", WRITE),
            ("POST", TRANSACT),
            ("POST", INQUIRE),
            ("GET", "/_api/agency/poll?index=3"),
        ]:
            assert await call(method, path, [] if method == "POST" else None) == (
                307,
                "http://127.0.0.1:2" + path,
            )
        assert (await call("GET", "/_api/agency/stores"))[0] == 200  # local, like ArangoDB's
        agent.raft.leader_id = None
        status, body = await call("POST", WRITE, [[{"/a": 1}]])
        assert status == 503 and body["code"] == 503

    serve(run)


def test_http_body_bytes_for_a_simple_round_trip() -> None:
    async def run(agent: FakeAgent, call: Call) -> None:
        status, body = await call(
            "POST",
            WRITE,
            [
                [
                    {
                        "a": {"op": "set", "new": {"b": {"c": [1, 2, 3]}, "e": 12}},
                        "d": {"op": "set", "new": False},
                    }
                ]
            ],
        )
        assert (status, body) == (200, {"results": [1]})
        status, body = await call("POST", READ, [["/"]])
        assert (
            json.dumps(body, separators=(",", ":"))
            == '[{"a":{"b":{"c":[1,2,3]},"e":12},"d":false}]'
        )

    serve(run)
