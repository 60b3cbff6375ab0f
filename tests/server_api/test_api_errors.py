"""Each kind of bad input gets its ArangoDB error, never a 500."""

from __future__ import annotations

import pytest
import requests

from tests.server_api.conftest import BODY_LIMIT, RunningServer


@pytest.fixture
def coll(server: RunningServer) -> str:
    server.call("POST", "/_api/collection", json={"name": "c"})
    server.call("POST", "/_api/document/c", json={"_key": "k"})
    return "c"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "code", "error_num"),
    [
        ("POST", "/_api/document/c", {"json": {"_key": "a b"}}, 400, 1221),
        ("POST", "/_api/document/c", {"json": {"_key": "x" * 255}}, 400, 1221),
        ("PUT", "/_api/document/c/a%20b", {"json": {}}, 400, 1221),
        ("POST", "/_api/document/c", {"data": b"{not json"}, 400, 600),
        ("POST", "/_api/document/c", {"data": b""}, 400, 600),
        ("POST", "/_api/document/c", {"data": b'{"a": NaN}'}, 400, 600),
        ("POST", "/_api/document/c", {"data": b"[" * 50_000}, 400, 600),
        ("POST", "/_api/document/c", {"json": "a string"}, 400, 1227),
        ("GET", "/_db/nope/_api/document/c/k", {}, 404, 1228),
        ("GET", "/_api/document/nope/k", {}, 404, 1203),
        ("GET", "/_api/document/c/missing", {}, 404, 1202),
        ("POST", "/_api/document/c", {"json": {"_key": "k"}}, 409, 1210),
        ("POST", "/_api/document/c", {"data": b'{"a":"' + b"x" * BODY_LIMIT + b'"}'}, 413, 413),
        ("PATCH", "/_api/version", {}, 405, 405),
        ("GET", "/_api/no/such/path", {}, 404, 404),
        ("POST", "/_api/document/c?returnNew=maybe", {"json": {}}, 400, 400),
        ("POST", "/_api/document/c?overwriteMode=smash", {"json": {}}, 400, 400),
        ("POST", "/_api/collection", {"json": {"name": "d", "type": 9}}, 400, 1218),
        ("POST", "/_api/database", {"json": {"name": "_bad"}}, 400, 1229),
        ("POST", "/_api/user", {"json": {"user": ""}}, 400, 1700),
    ],
)
def test_bad_input(
    server: RunningServer,
    coll: str,
    method: str,
    path: str,
    kwargs: dict[str, object],
    code: int,
    error_num: int,
) -> None:
    resp = server.call(method, path, **kwargs)
    assert resp.status_code == code, resp.text[:300]
    body = resp.json()
    assert body["error"] is True and body["code"] == code and body["errorNum"] == error_num
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]


def test_missing_credentials_is_401(server: RunningServer) -> None:
    resp = requests.get(server.url + "/_api/collection", timeout=10)
    assert resp.status_code == 401 and resp.json()["errorNum"] == 401


@pytest.mark.parametrize(("depth", "code"), [(63, 202), (64, 400), (5000, 400)])
def test_deeply_nested_documents(server: RunningServer, coll: str, depth: int, code: int) -> None:
    nested = '{"a":' * depth + "1" + "}" * depth
    for method, path in [
        ("POST", "/_api/document/c?overwriteMode=update"),
        ("PATCH", "/_api/document/c/k"),
    ]:
        resp = server.call(method, path, data='{"_key":"k","x":' + nested + "}")
        assert resp.status_code == code, resp.text[:200]
    assert server.call("GET", "/_api/document/c/k").status_code == 200
