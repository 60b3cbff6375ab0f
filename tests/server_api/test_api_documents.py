"""The document API over real HTTP: shapes, status codes, revisions, overwrite modes."""

from __future__ import annotations

import json

import pytest

from tests.server_api.conftest import RunningServer


@pytest.fixture
def coll(server: RunningServer) -> str:
    assert server.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    return "c"


def test_insert_generates_key_and_answers_202(server: RunningServer, coll: str) -> None:
    resp = server.call("POST", f"/_api/document/{coll}", json={"a": 1})
    assert resp.status_code == 202
    meta = resp.json()
    assert set(meta) == {"_id", "_key", "_rev"}
    assert meta["_id"] == f"{coll}/{meta['_key']}"
    assert meta["_key"].isdigit()
    assert resp.headers["ETag"] == f'"{meta["_rev"]}"'
    assert resp.headers["X-Arango-Server-Id"] == "s1"


def test_wait_for_sync_answers_201_and_return_new(server: RunningServer, coll: str) -> None:
    resp = server.call(
        "POST", f"/_api/document/{coll}?waitForSync=true&returnNew=true", json={"_key": "k", "a": 1}
    )
    assert resp.status_code == 201
    assert resp.json()["new"] == {"_key": "k", "_id": "c/k", "_rev": resp.json()["_rev"], "a": 1}


def test_silent_insert_answers_empty_object(server: RunningServer, coll: str) -> None:
    resp = server.call("POST", f"/_api/document/{coll}?silent=true", json={"a": 1})
    assert resp.status_code == 202 and resp.json() == {}


def test_get_head_and_revision_headers(server: RunningServer, coll: str) -> None:
    rev = server.call("POST", f"/_api/document/{coll}", json={"_key": "k", "a": 1}).json()["_rev"]
    got = server.call("GET", f"/_api/document/{coll}/k")
    assert got.status_code == 200 and got.json()["a"] == 1
    assert server.call("HEAD", f"/_api/document/{coll}/k").status_code == 200
    same = server.call("GET", f"/_api/document/{coll}/k", headers={"If-None-Match": f'"{rev}"'})
    assert same.status_code == 304
    other = server.call("GET", f"/_api/document/{coll}/k", headers={"If-Match": "nope"})
    assert other.status_code == 412 and other.json()["errorNum"] == 1200
    assert other.json()["_rev"] == rev
    assert server.call("HEAD", f"/_api/document/{coll}/missing").status_code == 404


def test_replace_update_remove_with_revisions(server: RunningServer, coll: str) -> None:
    rev1 = server.call("POST", f"/_api/document/{coll}", json={"_key": "k", "a": 1, "o": {"x": 1}})
    rev1_ = rev1.json()["_rev"]
    upd = server.call(
        "PATCH",
        f"/_api/document/{coll}/k?returnNew=true&returnOld=true",
        json={"b": 2, "o": {"y": 2}},
        headers={"If-Match": rev1_},
    )
    assert upd.status_code == 202
    body = upd.json()
    assert body["_oldRev"] == rev1_ and body["old"]["a"] == 1
    assert body["new"]["o"] == {"x": 1, "y": 2} and body["new"]["b"] == 2
    stale = server.call(
        "PUT", f"/_api/document/{coll}/k", json={"z": 1}, headers={"If-Match": rev1_}
    )
    assert stale.status_code == 412 and stale.json()["errorNum"] == 1200
    stale_body = server.call(
        "PUT", f"/_api/document/{coll}/k?ignoreRevs=false", json={"_rev": rev1_, "z": 1}
    )
    assert stale_body.status_code == 412
    rep = server.call("PUT", f"/_api/document/{coll}/k", json={"z": 1})
    assert rep.status_code == 202
    assert server.call("GET", f"/_api/document/{coll}/k").json() == {
        "_key": "k",
        "_id": "c/k",
        "_rev": rep.json()["_rev"],
        "z": 1,
    }
    nulls = server.call("PATCH", f"/_api/document/{coll}/k?keepNull=false", json={"z": None})
    assert "z" not in server.call("GET", f"/_api/document/{coll}/k").json()
    assert nulls.status_code == 202
    gone = server.call("DELETE", f"/_api/document/{coll}/k?returnOld=true")
    assert gone.status_code == 202 and gone.json()["old"]["_key"] == "k"
    missing = server.call("GET", f"/_api/document/{coll}/k")
    assert missing.status_code == 404 and missing.json()["errorNum"] == 1202


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("replace", {"b": 2}), ("update", {"a": 1, "b": 2}), ("ignore", {"a": 1})],
)
def test_overwrite_modes(
    server: RunningServer, coll: str, mode: str, expected: dict[str, int]
) -> None:
    server.call("POST", f"/_api/document/{coll}", json={"_key": "k", "a": 1})
    resp = server.call(
        "POST", f"/_api/document/{coll}?overwriteMode={mode}", json={"_key": "k", "b": 2}
    )
    assert resp.status_code == 202
    doc = server.call("GET", f"/_api/document/{coll}/k").json()
    assert {k: v for k, v in doc.items() if not k.startswith("_")} == expected


def test_duplicate_key_is_409(server: RunningServer, coll: str) -> None:
    server.call("POST", f"/_api/document/{coll}", json={"_key": "k"})
    resp = server.call("POST", f"/_api/document/{coll}", json={"_key": "k"})
    assert resp.status_code == 409 and resp.json()["errorNum"] == 1210


def test_insert_many_reports_each_item(server: RunningServer, coll: str) -> None:
    server.call("POST", f"/_api/document/{coll}", json={"_key": "taken"})
    resp = server.call(
        "POST", f"/_api/document/{coll}", json=[{"_key": "a"}, {"_key": "taken"}, 5, {"_key": "b/"}]
    )
    assert resp.status_code == 202
    items = resp.json()
    assert items[0]["_key"] == "a"
    assert [i.get("errorNum") for i in items[1:]] == [1210, 1227, 1221]
    assert json.loads(resp.headers["X-Arango-Error-Codes"]) == {"1210": 1, "1227": 1, "1221": 1}
    keys = server.call("PUT", "/_api/simple/all-keys", json={"collection": coll, "type": "key"})
    assert sorted(keys.json()["result"]) == ["a", "taken"]


def test_many_replace_update_remove(server: RunningServer, coll: str) -> None:
    server.call(
        "POST", f"/_api/document/{coll}", json=[{"_key": "a", "n": 1}, {"_key": "b", "n": 1}]
    )
    upd = server.call(
        "PATCH", f"/_api/document/{coll}", json=[{"_key": "a", "m": 2}, {"_key": "zz"}]
    )
    assert [i.get("errorNum") for i in upd.json()] == [None, 1202]
    assert server.call("GET", f"/_api/document/{coll}/a").json()["m"] == 2
    rem = server.call("DELETE", f"/_api/document/{coll}", json=["a", {"_key": "b"}])
    assert all("error" not in i for i in rem.json())
    assert server.call("GET", f"/_api/collection/{coll}/count").json()["count"] == 0


def test_all_keys_kinds(server: RunningServer, coll: str) -> None:
    server.call("POST", f"/_api/document/{coll}", json={"_key": "k"})
    paths = server.call("PUT", "/_api/simple/all-keys", json={"collection": coll})
    assert paths.status_code == 201
    assert paths.json()["result"] == ["/_db/_system/_api/document/c/k"]
    ids = server.call("PUT", "/_api/simple/all-keys", json={"collection": coll, "type": "id"})
    assert ids.json()["result"] == ["c/k"] and ids.json()["hasMore"] is False


def test_every_write_is_committed_through_the_gate(server: RunningServer, coll: str) -> None:
    meta = server.call("POST", f"/_api/document/{coll}", json={"_key": "k"}).json()
    tick = server.storage.wal_entry(server.storage.last_tick())
    assert tick is not None and tick["doc"]["_rev"] == meta["_rev"]
    assert server.gate.committed[-1] == server.storage.last_tick()


def test_simple_all_returns_documents(server: RunningServer, coll: str) -> None:
    server.call("POST", f"/_api/document/{coll}", json=[{"_key": "a", "v": 1}, {"_key": "b"}])
    resp = server.call("PUT", "/_api/simple/all", json={"collection": coll})
    assert resp.status_code == 201
    assert [d["_key"] for d in resp.json()["result"]] == ["a", "b"]
    missing = server.call("PUT", "/_api/simple/all", json={"collection": "nope"})
    assert missing.status_code == 404 and missing.json()["errorNum"] == 1203
    bad = server.call("PUT", "/_api/simple/all", json=["c"])
    assert bad.status_code == 400
