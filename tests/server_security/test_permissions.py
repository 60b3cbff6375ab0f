"""Issue 10 row #7: every user was effectively root; deleting root silently reset it.

Now access levels work as in ArangoDB (``rw``/``ro``/``none`` per database and
collection, a collection grant overriding the database level), only users with
``rw`` on ``_system`` manage users, a user may change their own password, and
root cannot be deleted.
"""

from __future__ import annotations

import os
from pathlib import Path

from cluster.server import users
from cluster.server.storage import Storage
from tests.server_security.conftest import SecureServer


def test_a_plain_user_cannot_create_users_nor_touch_root(srv: SecureServer) -> None:
    srv.make_user("mallory", "m")
    created = srv.as_user("mallory", "m", "POST", "/_api/user", json={"user": "x", "passwd": "x"})
    assert created.status_code in (401, 403), created.text
    takeover = srv.as_user("mallory", "m", "PATCH", "/_api/user/root", json={"passwd": "pwned"})
    assert takeover.status_code in (401, 403), takeover.text
    assert srv.call("GET", "/_api/collection").status_code == 200  # root's password unchanged
    # even with ro on _system: reading is not managing
    srv.call("PUT", "/_api/user/mallory/database/_system", json={"grant": "ro"})
    for method, path, body in [
        ("POST", "/_api/user", {"user": "x", "passwd": "x"}),
        ("PATCH", "/_api/user/root", {"passwd": "pwned"}),
        ("DELETE", "/_api/user/root", None),
        ("PUT", "/_api/user/mallory/database/_system", {"grant": "rw"}),
        ("PATCH", "/_api/user/mallory", {"active": True, "passwd": "m"}),
    ]:
        resp = srv.as_user("mallory", "m", method, path, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
        assert resp.json()["errorNum"] == 11
    listed = srv.as_user("mallory", "m", "GET", "/_api/user").json()["result"]
    assert [u["user"] for u in listed] == ["mallory"]
    assert srv.as_user("mallory", "m", "GET", "/_api/user/root").status_code == 403


def test_users_with_rw_on_system_manage_users(srv: SecureServer) -> None:
    srv.make_user("admin", "a", _system="rw")
    made = srv.as_user("admin", "a", "POST", "/_api/user", json={"user": "bob", "passwd": "b"})
    assert made.status_code == 201
    grant = srv.as_user(
        "admin", "a", "PUT", "/_api/user/bob/database/_system", json={"grant": "ro"}
    )
    assert grant.status_code == 200 and grant.json()["_system"] == "ro"
    assert srv.as_user("bob", "b", "GET", "/_api/collection").status_code == 200


def test_a_user_changes_their_own_password(srv: SecureServer) -> None:
    srv.make_user("carol", "old", _system="ro")
    changed = srv.as_user("carol", "old", "PATCH", "/_api/user/carol", json={"passwd": "new"})
    assert changed.status_code == 200, changed.text
    assert srv.as_user("carol", "new", "GET", "/_api/collection").status_code == 200
    assert srv.as_user("carol", "old", "GET", "/_api/collection").status_code == 401


def test_root_cannot_be_deleted_and_keeps_its_password(srv: SecureServer) -> None:
    assert srv.call("PATCH", "/_api/user/root", json={"passwd": "changed"}).status_code == 200
    srv.root.auth = ("root", "changed")
    gone = srv.call("DELETE", "/_api/user/root")
    assert gone.status_code == 403 and gone.json()["errorNum"] == 11, gone.text
    # no silent reset to the start-up password
    assert srv.as_user("root", "rootpw", "GET", "/_api/collection").status_code == 401
    assert srv.call("GET", "/_api/collection").status_code == 200
    assert srv.call("PATCH", "/_api/user/root", json={"active": False}).status_code == 403


def test_grant_endpoints_answer_as_arangodb(srv: SecureServer) -> None:
    assert srv.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    srv.make_user("dave", "d")
    put = srv.call("PUT", "/_api/user/dave/database/_system", json={"grant": "rw"})
    assert put.status_code == 200
    assert put.json() == {"_system": "rw", "error": False, "code": 200}
    put = srv.call("PUT", "/_api/user/dave/database/_system/c", json={"grant": "ro"})
    assert put.json() == {"_system/c": "ro", "error": False, "code": 200}
    assert srv.call("GET", "/_api/user/dave/database/_system").json()["result"] == "rw"
    assert srv.call("GET", "/_api/user/dave/database/_system/c").json()["result"] == "ro"
    listed = srv.call("GET", "/_api/user/dave/database").json()
    assert listed["result"] == {"_system": "rw"}
    full = srv.call("GET", "/_api/user/dave/database?full=true").json()["result"]
    assert full["_system"] == {"permission": "rw", "collections": {"c": "ro"}}
    cleared = srv.call("DELETE", "/_api/user/dave/database/_system/c")
    assert cleared.status_code == 202
    assert srv.call("GET", "/_api/user/dave/database/_system/c").json()["result"] == "rw"
    bad = srv.call("PUT", "/_api/user/dave/database/_system", json={"grant": "admin"})
    assert bad.status_code == 400
    missing_db = srv.call("PUT", "/_api/user/dave/database/nope", json={"grant": "rw"})
    assert missing_db.status_code == 404
    missing_user = srv.call("PUT", "/_api/user/nobody/database/_system", json={"grant": "rw"})
    assert missing_user.status_code == 404


def test_reads_need_ro_writes_need_rw_and_collections_override(srv: SecureServer) -> None:
    for name in ("ro_c", "rw_c"):
        assert srv.call("POST", "/_api/collection", json={"name": name}).status_code == 200
    srv.call("POST", "/_api/document/ro_c", json={"_key": "k"})
    srv.make_user("erin", "e", _system="ro", _system__rw_c="rw")
    assert srv.as_user("erin", "e", "GET", "/_api/document/ro_c/k").status_code == 200
    write = srv.as_user("erin", "e", "POST", "/_api/document/ro_c", json={"a": 1})
    assert write.status_code == 403 and write.json()["errorNum"] == 11
    assert srv.as_user("erin", "e", "POST", "/_api/document/rw_c", json={"a": 1}).status_code in (
        201,
        202,
    )
    # rw on the database, none on one collection
    srv.make_user("frank", "f", _system="rw", _system__ro_c="none")
    assert srv.as_user("frank", "f", "GET", "/_api/document/ro_c/k").status_code == 403
    assert (
        srv.as_user(
            "frank", "f", "PUT", "/_api/simple/all", json={"collection": "ro_c"}
        ).status_code
        == 403
    )
    # no access to the database at all: 401 (as ArangoDB)
    srv.make_user("gina", "g")
    assert srv.as_user("gina", "g", "GET", "/_api/document/ro_c/k").status_code == 401
    assert srv.as_user("gina", "g", "GET", "/_api/database/user").json()["result"] == []
    # DDL needs rw on the database
    srv.make_user("hank", "h", _system="ro")
    made = srv.as_user("hank", "h", "POST", "/_api/collection", json={"name": "x"})
    assert made.status_code == 403


def test_the_users_collection_is_only_for_administrators(srv: SecureServer) -> None:
    srv.make_user("ivan", "i", _system="rw")
    srv.make_user("judy", "j", _system="ro", _system___users="rw")
    assert srv.as_user("judy", "j", "GET", "/_api/document/_users/ivan").status_code == 403
    forged = {"_key": "judy", "user": "judy", "databases": {"_system": {"level": "rw"}}}
    write = srv.as_user(
        "judy", "j", "POST", "/_api/document/_users?overwriteMode=update", json=forged
    )
    assert write.status_code == 403


def test_grants_live_in_users_and_replicate(srv: SecureServer, tmp_path: Path) -> None:
    srv.make_user("kim", "k", _system="ro")
    entries = srv.storage.entries_after(0)
    assert entries[-1]["collection"] == "_users"
    assert entries[-1]["doc"]["databases"] == {"_system": {"level": "ro"}}
    follower = Storage(os.path.join(tmp_path, "follower", "data.sqlite"))
    try:
        follower.apply_replicated(entries)
        doc = follower.read(lambda tx: users.find_user(tx, "kim", "", 1_000))
        assert users.database_level(doc, "_system") == "ro"
    finally:
        follower.close()


def test_dropping_a_database_forgets_its_grants(srv: SecureServer) -> None:
    assert srv.call("POST", "/_api/database", json={"name": "shop"}).status_code == 201
    srv.make_user("lee", "l", shop="rw")
    assert srv.call("DELETE", "/_api/database/shop").status_code == 200
    assert srv.call("POST", "/_api/database", json={"name": "shop"}).status_code == 201
    assert srv.call("GET", "/_api/user/lee/database/shop").json()["result"] == "none"


def test_database_users_option_grants_rw_on_the_new_database(srv: SecureServer) -> None:
    made = srv.call(
        "POST",
        "/_api/database",
        json={"name": "app", "users": [{"username": "ned", "passwd": "n"}]},
    )
    assert made.status_code == 201
    assert srv.as_user("ned", "n", "GET", "/_db/app/_api/collection").status_code == 200
    assert srv.as_user("ned", "n", "GET", "/_api/collection").status_code == 401


def test_level_resolution_units() -> None:
    doc = {
        "user": "u",
        "databases": {
            "*": {"level": "ro"},
            "a": {"level": "rw", "collections": {"x": "none", "*": "ro"}},
        },
    }
    assert users.database_level(doc, "a") == "rw"
    assert users.database_level(doc, "b") == "ro"  # the "*" database default
    assert users.collection_level(doc, "a", "x") == "none"
    assert users.collection_level(doc, "a", "y") == "ro"  # the database's "*" collection
    assert users.collection_level(doc, "b", "y") == "ro"
    assert users.database_level({**doc, "active": False}, "a") == "none"
    assert users.collection_level({"user": "root"}, "_system", "_users") == "rw"
