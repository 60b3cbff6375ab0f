"""Random requests by a read-only user and by forged tokens change nothing.

The idea of ``tests/server_api/test_fuzz.py`` (malformed input never breaks
the server) turned towards privileges: whatever a user with ``ro`` on
``_system`` sends, and whatever token anyone makes up, no user, grant,
password or document changes, and no answer is a 500. Hypothesis prints the
failing example and its seed (``--hypothesis-seed=N`` repeats a run).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server_security.conftest import SecureServer, StartSecure

PLEB, PLEB_PW = "pleb", "pleb-pw"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
TEMPLATES = [
    "/_api/user", "/_api/user/{u}", "/_api/user/{u}/database",
    "/_api/user/{u}/database/{db}", "/_api/user/{u}/database/{db}/{coll}",
    "/_api/document/{coll}", "/_api/document/{coll}/{key}", "/_api/collection",
    "/_api/collection/{coll}", "/_api/collection/{coll}/truncate",
    "/_api/collection/{coll}/properties", "/_api/database", "/_api/database/{db}",
    "/_api/simple/all", "/_api/wal/tail?from=1", "/_api/replication/snapshot",
    "/_db/{db}/_api/document/{coll}", "/_open/auth",
]  # fmt: skip
names = st.sampled_from(["root", PLEB, "other", "*", "", "%2e%2e", "_system", "_users"])
levels = st.sampled_from(["rw", "ro", "none", "admin", None, 1])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | levels,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)
bodies = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "user": names,
            "passwd": st.text(max_size=8),
            "active": st.booleans(),
            "grant": levels,
            "extra": json_values,
            "databases": json_values,
            "authData": json_values,
            "_key": names,
            "name": names,
            "collection": names,
            "username": names,
            "password": st.text(max_size=8),
        },
    ),  # fmt: skip
    st.lists(st.dictionaries(st.sampled_from(["_key", "user", "databases"]), json_values)),
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def forged_tokens(draw: st.DrawFn) -> str:
    claims = draw(
        st.dictionaries(
            st.sampled_from(["preferred_username", "server_id", "exp", "iss", "iat"]),
            json_values | names,
        )
    )
    head = draw(st.sampled_from([{"alg": "HS256", "typ": "JWT"}, {"alg": "none"}, {}]))
    sig = draw(st.binary(min_size=0, max_size=40))
    token = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims).encode())}.{b64(sig)}"
    return token + draw(st.sampled_from(["", "=", "==", ".", "A"]))


@st.composite
def attacks(draw: st.DrawFn) -> tuple[str, str, dict[str, str], Any]:
    path = draw(st.sampled_from(TEMPLATES))
    for slot, strategy in (("{u}", names), ("{db}", names), ("{coll}", names), ("{key}", names)):
        while slot in path:
            path = path.replace(slot, quote(draw(strategy), safe="%") or "x", 1)
    if draw(st.booleans()):
        auth = "Basic " + base64.b64encode(f"{PLEB}:{PLEB_PW}".encode()).decode()
    else:
        auth = "bearer " + draw(forged_tokens())
    return draw(st.sampled_from(METHODS)), path, {"Authorization": auth}, draw(bodies)


def state(srv: SecureServer) -> Any:
    """Everything an attack must not change: users (with hashes and grants) and documents."""
    return (
        srv.storage.all_documents("_system", "_users"),
        srv.storage.all_documents("_system", "c"),
        srv.storage.list_databases(),
        sorted(p["name"] for p in srv.storage.list_collections("_system")),
    )


def test_random_requests_of_a_read_only_user_change_nothing(secure_server: StartSecure) -> None:
    srv = secure_server()
    assert srv.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    assert srv.call("POST", "/_api/document/c", json={"_key": "keep", "v": 1}).status_code == 202
    srv.make_user(PLEB, PLEB_PW, _system="ro")
    before = state(srv)
    session = requests.Session()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(attack=attacks())
    def attack_once(attack: tuple[str, str, dict[str, str], Any]) -> None:
        method, path, headers, body = attack
        resp = session.request(method, srv.url + path, headers=headers, json=body, timeout=10)
        assert resp.status_code < 500 or resp.status_code == 503, (resp.status_code, resp.text)
        if resp.status_code in (200, 201, 202) and method != "GET":
            # only a user's own password/extra (PATCH) or a login may succeed
            assert path in (f"/_api/user/{PLEB}", "/_open/auth"), (method, path, resp.text)

    attack_once()
    after = state(srv)
    users_before = {d["user"]: d for d in before[0]}
    users_after = {d["user"]: d for d in after[0]}
    assert set(users_after) == set(users_before)
    # pleb may have changed its own password or extra, nothing else
    for name, doc in users_after.items():
        old = users_before[name]
        keep = ("active", "databases") if name == PLEB else tuple(doc)
        assert {k: doc.get(k) for k in keep} == {k: old.get(k) for k in keep}, name
    assert after[1:] == before[1:]
    assert srv.call("GET", "/_api/document/c/keep").json()["v"] == 1
