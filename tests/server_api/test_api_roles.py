"""Client routes ask the Gate: a follower refuses with 1496, serves marked dirty reads."""

from __future__ import annotations

import threading

from cluster.common.errors import ArangoError
from tests.server_api.conftest import RunningServer, StartServer
from tests.server_api.gates import AlwaysFollowerGate, AlwaysLeaderGate


def test_follower_refuses_writes_and_plain_reads(start_server: StartServer) -> None:
    srv: RunningServer = start_server(gate=AlwaysFollowerGate(leader_url="http://127.0.0.1:9"))
    srv.storage.create_collection("_system", "c", {})
    srv.storage.insert("_system", "c", {"_key": "k"})
    write = srv.call("POST", "/_api/document/c", json={"a": 1})
    assert write.status_code == 503
    assert write.json() == {
        "error": True,
        "errorNum": 1496,
        "errorMessage": "not a leader",
        "code": 503,
    }
    assert write.headers["X-Arango-Endpoint"] == "http://127.0.0.1:9"
    assert write.headers["X-Arango-Server-Id"] == "s2"
    assert srv.call("GET", "/_api/document/c/k").status_code == 503
    for method, path in [
        ("POST", "/_api/collection"),
        ("DELETE", "/_api/collection/c"),
        ("POST", "/_api/database"),
    ]:
        assert srv.call(method, path, json={"name": "x"}).json()["errorNum"] == 1496


def test_follower_dirty_read_is_marked(start_server: StartServer) -> None:
    srv: RunningServer = start_server(gate=AlwaysFollowerGate())
    srv.storage.create_collection("_system", "c", {})
    srv.storage.insert("_system", "c", {"_key": "k", "v": 7})
    resp = srv.call("GET", "/_api/document/c/k", headers={"X-Arango-Allow-Dirty-Read": "true"})
    assert resp.status_code == 200 and resp.json()["v"] == 7
    assert resp.headers["X-Arango-Potential-Dirty-Read"] == "true"
    keys = srv.call(
        "PUT",
        "/_api/simple/all-keys",
        json={"collection": "c"},
        headers={"X-Arango-Allow-Dirty-Read": "true"},
    )
    assert keys.headers["X-Arango-Potential-Dirty-Read"] == "true"


def test_follower_dirty_read_of_a_missing_document_is_marked(start_server: StartServer) -> None:
    """A 404 served by a follower is a dirty answer too: the document may exist on the leader."""
    srv: RunningServer = start_server(gate=AlwaysFollowerGate())
    srv.storage.create_collection("_system", "c", {})
    resp = srv.call("GET", "/_api/document/c/absent", headers={"X-Arango-Allow-Dirty-Read": "true"})
    assert resp.status_code == 404 and resp.json()["errorNum"] == 1202
    assert resp.headers["X-Arango-Potential-Dirty-Read"] == "true"


def test_leader_reads_are_not_marked(server: RunningServer) -> None:
    server.storage.create_collection("_system", "c", {})
    server.storage.insert("_system", "c", {"_key": "k"})
    resp = server.call("GET", "/_api/document/c/k", headers={"X-Arango-Allow-Dirty-Read": "true"})
    assert resp.status_code == 200 and "X-Arango-Potential-Dirty-Read" not in resp.headers


class DemotedWhileQueuedGate(AlwaysLeaderGate):
    """Says "leader" on the event loop, "follower" by the time the writer runs the op."""

    def check_write(self) -> None:
        if threading.current_thread().name.startswith("storage-writer"):
            raise ArangoError(503, 1496, "not a leader", headers={"X-Arango-Endpoint": ""})


def test_write_queued_before_a_demotion_is_refused_and_not_stored(
    start_server: StartServer,
) -> None:
    srv: RunningServer = start_server(gate=DemotedWhileQueuedGate())
    srv.storage.create_collection("_system", "c", {})
    before = srv.storage.last_tick()
    resp = srv.call("POST", "/_api/document/c", json={"_key": "k"})
    assert resp.status_code == 503 and resp.json()["errorNum"] == 1496
    assert srv.storage.last_tick() == before and srv.storage.count("_system", "c") == 0
