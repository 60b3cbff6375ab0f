"""Issue 10 row #10 (passwords): one salted SHA-256 and no throttling (725 guesses/s).

Now passwords are PBKDF2-HMAC-SHA256 (100 000 rounds unless
``--password-iterations`` says otherwise), old hashes still verify and are
rehashed at the next login, and failed logins per user and address back off.
"""

from __future__ import annotations

import time

import requests

from cluster.server import users
from cluster.server.auth import LoginThrottle
from cluster.server.keys import SYSTEM_DATABASE
from cluster.server.storage_docs import insert
from cluster.server.storage_tx import USERS_COLLECTION
from tests.server_security.conftest import FAST_ITERATIONS, SecureServer


def stored_auth(srv: SecureServer, name: str) -> dict[str, object]:
    doc = srv.storage.get(SYSTEM_DATABASE, USERS_COLLECTION, users.user_key(name))
    assert doc is not None
    return dict(doc["authData"]["simple"])


def test_new_passwords_are_pbkdf2(srv: SecureServer) -> None:
    srv.make_user("ann", "pw")
    simple = stored_auth(srv, "ann")
    assert simple["method"] == "pbkdf2-sha256"
    assert simple["iterations"] == FAST_ITERATIONS
    assert len(str(simple["salt"])) == 32
    assert users.DEFAULT_ITERATIONS == 100_000
    assert users.hash_password("pw")["simple"]["iterations"] == 100_000


def test_old_sha256_hashes_verify_and_are_upgraded_at_login(srv: SecureServer) -> None:
    legacy = {
        "_key": "old",
        "user": "old",
        "active": True,
        "extra": {},
        "authData": users.legacy_hash_password("pw"),
        "databases": {"_system": {"level": "ro"}},
    }
    srv.storage.write(lambda tx: insert(tx, SYSTEM_DATABASE, USERS_COLLECTION, legacy))
    assert stored_auth(srv, "old")["method"] == "sha256"
    assert srv.as_user("old", "nope", "GET", "/_api/collection").status_code == 401
    assert stored_auth(srv, "old")["method"] == "sha256"  # a wrong password changes nothing
    assert srv.as_user("old", "pw", "GET", "/_api/collection").status_code == 200
    deadline = time.monotonic() + 10
    while stored_auth(srv, "old")["method"] != "pbkdf2-sha256" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_auth(srv, "old")["method"] == "pbkdf2-sha256"
    assert srv.as_user("old", "pw", "GET", "/_api/collection").status_code == 200


def test_failed_logins_back_off_per_user_and_address(srv: SecureServer) -> None:
    srv.make_user("bea", "right", _system="ro")
    for _ in range(5):
        wrong = requests.post(
            srv.url + "/_open/auth", json={"username": "bea", "password": "x"}, timeout=10
        )
        assert wrong.status_code == 401
    held = requests.post(
        srv.url + "/_open/auth", json={"username": "bea", "password": "right"}, timeout=10
    )
    assert held.status_code == 429, held.text
    assert int(held.headers["Retry-After"]) >= 1
    basic = srv.as_user("bea", "right", "GET", "/_api/collection")
    assert basic.status_code == 429
    # other users are not affected
    assert srv.call("GET", "/_api/collection").status_code == 200


def test_throttle_doubles_to_a_cap_and_never_locks_out_for_good() -> None:
    now = [0.0]
    throttle = LoginThrottle(free=5, base=0.5, cap=30.0, now=lambda: now[0])
    waits = []
    for _ in range(12):
        assert throttle.retry_after("root", "10.0.0.1") == 0.0
        throttle.failed("root", "10.0.0.1")
        wait = throttle.retry_after("root", "10.0.0.1")
        waits.append(wait)
        now[0] += wait
    assert waits[:4] == [0.0, 0.0, 0.0, 0.0]
    assert waits[4:9] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert max(waits) == 30.0
    assert throttle.retry_after("root", "10.0.0.2") == 0.0  # another address
    throttle.succeeded("root", "10.0.0.1")
    assert throttle.retry_after("root", "10.0.0.1") == 0.0
    throttle.failed("x", "a")
    now[0] += 61
    assert throttle.retry_after("x", "a") == 0.0


def test_the_throttle_forgets_old_entries() -> None:
    throttle = LoginThrottle(max_entries=3, now=lambda: 0.0)
    for i in range(10):
        for _ in range(6):
            throttle.failed(f"u{i}", "a")
    assert throttle.retry_after("u0", "a") == 0.0
    assert throttle.retry_after("u9", "a") > 0
