"""Databases, collections, users and the /_db/{name}/ prefix over real HTTP."""

from __future__ import annotations

import requests

from tests.server_api.conftest import RunningServer


def test_version_needs_no_credentials(server: RunningServer) -> None:
    resp = requests.get(server.url + "/_api/version", timeout=10)
    assert resp.status_code == 200 and resp.json()["server"] == "arango"


def test_database_lifecycle_and_db_prefix(server: RunningServer) -> None:
    created = server.call("POST", "/_api/database", json={"name": "shop"})
    assert created.status_code == 201 and created.json()["result"] is True
    assert "shop" in server.call("GET", "/_api/database").json()["result"]
    again = server.call("POST", "/_api/database", json={"name": "shop"})
    assert again.status_code == 409 and again.json()["errorNum"] == 1207
    current = server.call("GET", "/_db/shop/_api/database/current").json()["result"]
    assert current["name"] == "shop" and current["isSystem"] is False
    assert server.call("POST", "/_db/shop/_api/collection", json={"name": "c"}).status_code == 200
    ins = server.call("POST", "/_db/shop/_api/document/c", json={"_key": "k"})
    assert ins.status_code == 202
    assert server.call("GET", "/_db/shop/_api/document/c/k").status_code == 200
    assert server.call("GET", "/_api/document/c/k").json()["errorNum"] == 1203
    not_system = server.call("POST", "/_db/shop/_api/database", json={"name": "x"})
    assert not_system.status_code == 403 and not_system.json()["errorNum"] == 1230
    assert server.call("DELETE", "/_api/database/shop").json()["result"] is True
    gone = server.call("GET", "/_db/shop/_api/collection")
    assert gone.status_code == 404 and gone.json()["errorNum"] == 1228
    assert server.call("DELETE", "/_api/database/_system").status_code == 403


def test_collection_lifecycle(server: RunningServer) -> None:
    props = server.call("POST", "/_api/collection", json={"name": "c", "waitForSync": True}).json()
    assert props["name"] == "c" and props["type"] == 2 and props["waitForSync"] is True
    assert server.call("POST", "/_api/document/c", json={}).status_code == 201
    names = [
        c["name"]
        for c in server.call("GET", "/_api/collection?excludeSystem=true").json()["result"]
    ]
    assert names == ["c"]
    assert server.call("GET", "/_api/collection/c").json()["status"] == 3
    assert server.call("GET", "/_api/collection/c/count").json()["count"] == 1
    changed = server.call("PUT", "/_api/collection/c/properties", json={"waitForSync": False})
    assert changed.json()["waitForSync"] is False
    assert server.call("GET", "/_api/collection/c/properties").json()["waitForSync"] is False
    assert server.call("PUT", "/_api/collection/c/truncate").status_code == 200
    assert server.call("GET", "/_api/collection/c/count").json()["count"] == 0
    dup = server.call("POST", "/_api/collection", json={"name": "c"})
    assert dup.status_code == 409 and dup.json()["errorNum"] == 1207
    bad = server.call("POST", "/_api/collection", json={"name": "1bad"})
    assert bad.status_code == 400 and bad.json()["errorNum"] == 1208
    assert server.call("DELETE", "/_api/collection/c").json()["id"] == props["id"]
    assert server.call("GET", "/_api/collection/c").json()["errorNum"] == 1203
    assert server.call("DELETE", "/_api/collection/_users?isSystem=true").status_code == 403


def test_users_and_login(server: RunningServer) -> None:
    made = server.call(
        "POST", "/_api/user", json={"user": "ann", "passwd": "pw", "extra": {"x": 1}}
    )
    assert made.status_code == 201 and made.json()["user"] == "ann"
    dup = server.call("POST", "/_api/user", json={"user": "ann"})
    assert dup.status_code == 409 and dup.json()["errorNum"] == 1702
    names = {u["user"] for u in server.call("GET", "/_api/user").json()["result"]}
    assert names == {"root", "ann"}
    # a new user has no access until granted one (as in ArangoDB)
    denied = server.http.get(server.url + "/_api/collection", auth=("ann", "pw"), timeout=10)
    assert denied.status_code == 401
    grant = server.call("PUT", "/_api/user/ann/database/_system", json={"grant": "ro"})
    assert grant.status_code == 200, grant.text
    as_ann = server.http.get(server.url + "/_api/collection", auth=("ann", "pw"), timeout=10)
    assert as_ann.status_code == 200
    wrong = server.http.get(server.url + "/_api/collection", auth=("ann", "no"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["errorNum"] == 401
    token = requests.post(
        server.url + "/_open/auth",
        json={"username": "ann", "password": "pw"},
        timeout=10,
    ).json()["jwt"]
    by_jwt = requests.get(
        server.url + "/_api/collection",
        headers={"Authorization": f"bearer {token}"},
        timeout=10,
    )
    assert by_jwt.status_code == 200
    assert server.call("PATCH", "/_api/user/ann", json={"active": False}).json()["active"] is False
    inactive = server.http.get(server.url + "/_api/collection", auth=("ann", "pw"), timeout=10)
    assert inactive.status_code == 401
    assert server.call("DELETE", "/_api/user/ann").status_code == 202
    missing = server.call("GET", "/_api/user/ann")
    assert missing.status_code == 404 and missing.json()["errorNum"] == 1703
    # users replicate as documents of _system/_users
    entry = server.storage.entries_after(0)[-1]
    assert entry["collection"] == "_users" and entry["op"] == "remove"


def test_root_password_change_and_bad_login(start_server: object) -> None:
    srv: RunningServer = start_server(root_password="secret")  # type: ignore[operator]
    assert srv.call("GET", "/_api/collection").status_code == 200
    bad = requests.post(
        srv.url + "/_open/auth", json={"username": "root", "password": "x"}, timeout=10
    )
    assert bad.status_code == 401 and bad.json()["error"] is True
    assert srv.call("PATCH", "/_api/user/root", json={"passwd": "new"}).status_code == 200
    assert (
        srv.http.get(srv.url + "/_api/collection", auth=("root", "new"), timeout=10).status_code
        == 200
    )
    assert (
        srv.http.get(srv.url + "/_api/collection", auth=("root", "secret"), timeout=10).status_code
        == 401
    )


def test_replication_paths_need_the_superuser_token(server: RunningServer) -> None:
    as_root = server.call("GET", "/_api/replication/logger-state")
    assert as_root.status_code == 401
    token = server.auth.superuser_token()
    as_cluster = requests.get(
        server.url + "/_api/replication/logger-state",
        headers={"Authorization": f"bearer {token}"},
        timeout=10,
    )
    assert as_cluster.status_code == 404  # authenticated; the route is the failover part's
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (
        requests.get(
            server.url + "/_api/collection",
            headers={"Authorization": f"bearer {forged}"},
            timeout=10,
        ).status_code
        == 401
    )
