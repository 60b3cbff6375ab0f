"""Thousands of malformed requests against a real server on a real port.

Every answer must be ArangoDB-shaped (never a 500, never a hang), the server
must still answer afterwards, and no acknowledged document may change.
Hypothesis prints the failing example and its seed; re-run with
``--hypothesis-seed=N`` to repeat a run.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
from collections import Counter
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server_api.conftest import BODY_LIMIT, RunningServer

PROTECTED = "keepme"
TIMEOUT_S = 10.0
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
TEMPLATES = [
    "/_api/version",
    "/_api/database",
    "/_api/database/{s}",
    "/_api/database/current",
    "/_api/collection",
    "/_api/collection/{s}",
    "/_api/collection/{s}/properties",
    "/_api/collection/{s}/count",
    "/_api/collection/{s}/truncate",
    "/_api/document",
    "/_api/document/{s}",
    "/_api/document/{s}/{s}",
    "/_api/document/c/{s}",
    "/_api/simple/all-keys",
    "/_api/simple/all",
    "/_api/user",
    "/_api/user/{s}",
    "/_open/auth",
    "/_db/{s}/_api/document/c/{s}",
    "/_db/{s}/_api/collection",
    "/{s}",
    "/_api/{s}/{s}",
]
QUERY_NAMES = ["overwrite", "overwriteMode", "returnNew", "returnOld", "waitForSync", "silent",
               "keepNull", "mergeObjects", "ignoreRevs", "excludeSystem", "isSystem", "details"]  # fmt: skip

segments = st.one_of(
    st.sampled_from(["c", "k", "_system", "_users", "root", "", "..", "%00", "a%2Fb", "x" * 300]),
    st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), max_size=40).map(
        lambda s: quote(s, safe="")
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
documents = st.dictionaries(
    st.sampled_from(["_key", "_rev", "_id", "name", "user", "passwd", "collection", "type", "a"]),
    json_values | segments,
    max_size=4,
)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    documents.map(lambda v: json.dumps(v).encode()),
    st.lists(documents, max_size=5).map(lambda v: json.dumps(v).encode()),
    st.just(b"[" * 5000),
    st.just(b"{" * 100_000),
    st.just(b'{"a":"' + b"x" * (BODY_LIMIT + 10) + b'"}'),
    st.just(b"\xff\xfe\x00garbage"),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "If-Match": segments,
        "If-None-Match": segments,
        "X-Arango-Allow-Dirty-Read": st.sampled_from(["true", "false", "x"]),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "x/y; charset=zz"]),
        "Authorization": st.one_of(
            st.just("Basic " + base64.b64encode(b"root:").decode()),
            st.just("Basic " + base64.b64encode(b"root:wrong").decode()),
            st.sampled_from(["Basic !!!", "bearer a.b.c", "bearer", "Digest x", "Basic"]),
        ),
    },
)


@st.composite
def requests_(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes | None]:
    template = draw(st.sampled_from(TEMPLATES))
    path = template
    while "{s}" in path:
        path = path.replace("{s}", draw(segments), 1)
    if PROTECTED in path:
        path = path.replace(PROTECTED, "c")
    params = draw(st.dictionaries(st.sampled_from(QUERY_NAMES), segments, max_size=3))
    if params:
        path += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    hdrs = draw(headers)
    hdrs.setdefault("Authorization", "Basic " + base64.b64encode(b"root:").decode())
    return draw(st.sampled_from(METHODS)), path, hdrs, draw(bodies)


class Client:
    """A keep-alive HTTP connection that reconnects when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)

    def send(
        self, method: str, path: str, hdrs: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes, dict[str, str]]:
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.reconnect()
                return resp.status, data, dict(resp.getheaders())
            except (ConnectionError, http.client.HTTPException):
                if attempt:
                    raise
                self.reconnect()
        raise AssertionError("unreachable")

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)


def check_answer(method: str, status: int, data: bytes) -> None:
    assert status < 500, data[:300]
    if status >= 400 and method != "HEAD":
        body: Any = json.loads(data)
        assert body["error"] is True and body["code"] == status
        assert isinstance(body["errorNum"], int) and isinstance(body["errorMessage"], str)


def protected_state(server: RunningServer) -> list[dict[str, Any]]:
    return server.storage.all_documents("_system", PROTECTED)


def test_malformed_requests_get_arango_errors_and_change_nothing(server: RunningServer) -> None:
    server.call("POST", "/_api/collection", json={"name": PROTECTED})
    server.call("POST", "/_api/collection", json={"name": "c"})
    acked = server.call("POST", f"/_api/document/{PROTECTED}", json=[{"n": i} for i in range(20)])
    assert acked.status_code == 202
    before = protected_state(server)
    client = Client(int(server.url.rsplit(":", 1)[1]))
    seen: list[int] = []

    @settings(
        max_examples=2000,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(requests_())
    def fuzz(req: tuple[str, str, dict[str, str], bytes | None]) -> None:
        method, path, hdrs, body = req
        status, data, _ = client.send(method, path, hdrs, body)
        seen.append(status)
        check_answer(method, status, data)

    try:
        fuzz()
    finally:
        client.conn.close()
    print("fuzz statuses:", dict(sorted(Counter(seen).items())))
    assert len(seen) >= 1000
    assert {400, 401, 404, 405, 413} <= set(seen)
    assert server.call("GET", "/_api/version").status_code == 200
    assert protected_state(server) == before


def raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_broken_http_is_refused_and_the_server_keeps_answering(server: RunningServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    auth = base64.b64encode(b"root:").decode()
    for payload in [
        b"\x00\x01\x02 garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST /_api/document/c HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /_api/document/c HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /_api/document/c HTTP/1.1\r\nAuthorization: Basic " + auth.encode()
        + b"\r\nContent-Length: 100\r\n\r\n{\"a\":",  # body cut short, then EOF
        b"POST /_api/document/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]:  # fmt: skip
        answer = raw_exchange(port, payload)
        assert not answer.startswith(b"HTTP/1.1 5"), answer[:200]
    assert server.call("GET", "/_api/version").status_code == 200
