"""ArangoDB's own Python driver against the client API on a real port."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from arango.client import ArangoClient
from arango.exceptions import (
    DocumentGetError,
    DocumentInsertError,
    DocumentRevisionError,
    ServerConnectionError,
)
from arango.job import AsyncJob, BatchJob
from arango.result import Result

from tests.server_api.conftest import RunningServer, StartServer
from tests.server_api.gates import AlwaysFollowerGate

T = TypeVar("T")


def done(result: Result[T]) -> T:
    """The value of a plain (not async, not batched) driver call, typed as such."""
    assert result is not None and not isinstance(result, AsyncJob | BatchJob), result
    return result


def doc_of(result: Result[Any]) -> dict[str, Any]:
    value = done(result)
    assert isinstance(value, dict), value
    return value


def test_driver_database_collection_documents(start_server: StartServer) -> None:
    srv: RunningServer = start_server(root_password="pw")
    client = ArangoClient(hosts=srv.url, request_timeout=10)
    try:
        sys_db = client.db("_system", username="root", password="pw", verify=True)
        assert sys_db.create_database("shop")
        assert sys_db.has_database("shop")
        db = client.db("shop", username="root", password="pw", verify=True)
        coll = done(db.create_collection("orders"))
        assert db.has_collection("orders")

        meta = doc_of(coll.insert({"_key": "o1", "total": 10}))
        assert meta["_key"] == "o1"
        with pytest.raises(DocumentInsertError):
            coll.insert({"_key": "o1"})
        doc = doc_of(coll.get("o1"))
        assert doc["total"] == 10

        updated = doc_of(
            coll.update({"_key": "o1", "_rev": doc["_rev"], "total": 11}, check_rev=True)
        )
        assert updated["_old_rev"] == doc["_rev"]
        with pytest.raises(DocumentRevisionError):
            coll.update({"_key": "o1", "_rev": doc["_rev"], "total": 12}, check_rev=True)
        replaced = doc_of(coll.replace({"_key": "o1", "total": 13}))
        assert doc_of(coll.get("o1"))["total"] == 13
        assert coll.has("o1")
        assert coll.count() == 1

        results = done(coll.insert_many([{"_key": "o2"}, {"_key": "o1"}]))
        assert isinstance(results, list)
        first = results[0]
        assert isinstance(first, dict) and first["_key"] == "o2"
        assert isinstance(results[1], DocumentInsertError)
        assert coll.count() == 2 and coll.has("o2")

        with pytest.raises(DocumentRevisionError):
            coll.delete({"_key": "o1", "_rev": doc["_rev"]}, check_rev=True)
        assert coll.delete({"_key": "o1", "_rev": replaced["_rev"]}, check_rev=True)
        assert coll.get("o1") is None
        with pytest.raises(DocumentGetError):
            db.collection("nope").get("x")

        jwt_db = client.db("shop", username="root", password="pw", auth_method="jwt")
        assert jwt_db.collection("orders").count() == 1
        assert sys_db.delete_database("shop")
    finally:
        client.close()


def test_driver_rejects_bad_password(server: RunningServer) -> None:
    client = ArangoClient(hosts=server.url, request_timeout=10)
    try:
        with pytest.raises(ServerConnectionError):
            client.db("_system", username="root", password="wrong", verify=True)
    finally:
        client.close()


def test_driver_sees_not_a_leader_on_a_follower(start_server: StartServer) -> None:
    srv: RunningServer = start_server(gate=AlwaysFollowerGate(leader_url="http://127.0.0.1:9"))
    srv.storage.create_collection("_system", "c", {})
    client = ArangoClient(hosts=srv.url, request_timeout=10)
    try:
        db = client.db("_system", username="root", password="")
        with pytest.raises(DocumentInsertError) as err:
            db.collection("c").insert({"a": 1})
        assert err.value.http_code == 503 and err.value.error_code == 1496
        assert err.value.http_headers["X-Arango-Endpoint"] == "http://127.0.0.1:9"
    finally:
        client.close()
