"""Issue 10 row #10 (tokens): a string or missing ``exp`` never expired; junk
after the signature was accepted (loose base64).

Now tokens decode strictly and every token must carry a numeric ``exp``: user
tokens (one hour from ``/_open/auth``) and member tokens alike; the member tokens
servers make carry a short one and are renewed before it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import requests

from cluster.common import clock
from cluster.server import auth
from cluster.server.applier import ReplicationError
from cluster.server.config import ServerConfig
from cluster.server.node import member_guard
from tests.server_security.conftest import SECRET, SecureServer

FAR = 4_000_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_with(claims: Any, header: Any = None, secret: str = SECRET) -> str:
    """Sign anything, even claims the server must refuse."""
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def status_with(srv: SecureServer, token: str) -> int:
    headers = {"Authorization": f"bearer {token}"}
    return requests.get(srv.url + "/_api/collection", headers=headers, timeout=10).status_code


def test_exp_must_be_a_number(srv: SecureServer) -> None:
    assert status_with(srv, token_with({"preferred_username": "root", "exp": FAR})) == 200
    assert status_with(srv, token_with({"preferred_username": "root", "exp": FAR + 0.5})) == 200
    for exp in ["4000000000", None, True, [FAR], {"t": FAR}]:
        token = token_with({"preferred_username": "root", "exp": exp})
        assert status_with(srv, token) == 401, exp


def test_user_tokens_without_exp_are_refused(srv: SecureServer) -> None:
    assert status_with(srv, token_with({"preferred_username": "root"})) == 401


def test_member_tokens_without_exp_are_refused(srv: SecureServer) -> None:
    # signed with the cluster secret but never expiring: a leaked one would be forever
    assert status_with(srv, token_with({"server_id": "s9", "iss": "arangodb"})) == 401
    member = {"server_id": "s9", "iss": "arangodb", "exp": FAR}
    assert status_with(srv, token_with(member)) == 200


def test_expired_tokens_are_refused(srv: SecureServer) -> None:
    expired = token_with({"preferred_username": "root", "exp": int(clock.wall()) - 5})
    assert status_with(srv, expired) == 401


def test_junk_after_the_signature_and_padding_are_refused(srv: SecureServer) -> None:
    good = token_with({"preferred_username": "root", "exp": FAR})
    assert status_with(srv, good) == 200
    head, body, sig = good.split(".")
    for bad in [
        good + "A",
        good + "==",
        good + "=",
        f"{head}.{body}.{sig}.",
        f"{head}=.{body}.{sig}",
        f"{head}.{body}==.{sig}",
        f"{head}.{body}.{sig[:-1]}+",
        f" {head}.{body}.{sig}x",
    ]:
        assert auth.verify_jwt(bad, SECRET) is None, bad
        assert status_with(srv, bad) in (401, 400), bad


def test_non_canonical_signature_bits_are_refused() -> None:
    good = token_with({"preferred_username": "root", "exp": FAR})
    head, body, sig = good.split(".")
    # 32 bytes -> 43 chars: the last char carries 2 unused bits; flip them
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    twin = sig[:-1] + alphabet[last ^ 1]
    assert base64.urlsafe_b64decode(twin + "=") == base64.urlsafe_b64decode(sig + "=")
    assert auth.verify_jwt(f"{head}.{body}.{twin}", SECRET) is None


def test_other_algorithms_are_refused() -> None:
    for header in [{"alg": "none"}, {"alg": "HS512"}, {"alg": "HS256", "typ": "JWS"}]:
        token = token_with({"preferred_username": "root", "exp": FAR}, header=header)
        assert auth.verify_jwt(token, SECRET) is None, header


def test_open_auth_tokens_last_one_hour(srv: SecureServer) -> None:
    got = requests.post(
        srv.url + "/_open/auth", json={"username": "root", "password": "rootpw"}, timeout=10
    )
    claims = auth.verify_jwt(got.json()["jwt"], SECRET)
    assert claims is not None
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["preferred_username"] == "root"


def test_internal_tokens_expire_soon_and_are_renewed(
    srv: SecureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(clock, "wall", lambda: now[0])
    first = srv.auth.superuser_token()
    claims = auth.verify_jwt(first, SECRET)
    assert claims is not None and claims["server_id"]
    assert 0 < claims["exp"] - now[0] <= 15 * 60
    now[0] += auth.INTERNAL_TOKEN_LIFETIME_S / 4
    assert srv.auth.superuser_token() == first  # still fresh: reused
    now[0] += auth.INTERNAL_TOKEN_LIFETIME_S / 2
    second = srv.auth.superuser_token()
    assert second != first
    renewed = auth.verify_jwt(second, SECRET)
    assert renewed is not None and renewed["exp"] > claims["exp"]
    now[0] = claims["exp"] + 1
    assert auth.verify_jwt(first, SECRET) is None


def test_the_cluster_token_goes_only_to_configured_members() -> None:
    cfg = ServerConfig(
        id="s1", agency=["http://127.0.0.1:1"], data_dir="/tmp/x",
        peer=["s2=http://127.0.0.1:8630", "s3=http://127.0.0.1:8631/"],
    )  # fmt: skip
    target = ["http://127.0.0.1:8630"]
    guard = member_guard(cfg, lambda: target[0])
    assert guard(lambda: "tok") == "tok"
    target[0] = "http://127.0.0.1:8631"
    assert guard(lambda: "tok") == "tok"
    target[0] = "http://evil.example:80"
    with pytest.raises(ReplicationError, match="not a configured member"):
        guard(lambda: "tok")
    # without --peer the agency's registry is the member list
    open_cfg = ServerConfig(id="s1", agency=["http://127.0.0.1:1"], data_dir="/tmp/x")
    assert member_guard(open_cfg, lambda: "http://anything:1")(lambda: "tok") == "tok"
