"""Issue 10 rows #6 and #9: one nesting limit and finite numbers, on every write path.

Row #6: a document nested ~971 deep was accepted and then broke the snapshot
(500, RecursionError); 972-974 deep were stored and could never be read back.
Row #9: ``1e400`` was stored and answered as ``Infinity`` (not JSON).
Now every body nests at most ``MAX_DEPTH`` levels (400 beyond), numbers are
finite doubles (400 otherwise), and whatever is accepted reads back, replicates,
snapshots and resyncs unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster.server.api_common import MAX_DEPTH, check_depth, json_depth
from cluster.server.storage import Storage
from tests.server_security.conftest import SecureServer


def nested(depth: int) -> Any:
    """An object ``depth`` levels deep: ``nested(1) == {"v": 1}``."""
    value: Any = 1
    for _ in range(depth):
        value = {"v": value}
    return value


def nested_text(depth: int) -> str:
    """``nested(depth)`` as JSON text (built as text: far too deep for json.dumps)."""
    return '{"v":' * depth + "1" + "}" * depth


def doc_of_depth(depth: int, key: str = "k") -> str:
    """A document whose own object counts as level 1, ``depth`` levels in all."""
    return f'{{"_key":"{key}","x":{nested_text(depth - 1)}}}'


@pytest.fixture
def coll(srv: SecureServer) -> str:
    assert srv.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    return "c"


def test_depth_counts_levels_of_objects_and_arrays() -> None:
    assert json_depth(1) == 0
    assert json_depth({}) == 1
    assert json_depth({"a": [1]}) == 2
    assert json_depth(json.loads(doc_of_depth(MAX_DEPTH))) == MAX_DEPTH


def test_a_document_at_the_limit_is_stored_read_back_replicated_and_resynced(
    srv: SecureServer, coll: str, tmp_path: Path
) -> None:
    body = doc_of_depth(MAX_DEPTH)
    made = srv.call("POST", f"/_api/document/{coll}", data=body)
    assert made.status_code == 202, made.text
    read = srv.call("GET", f"/_api/document/{coll}/k")
    assert read.status_code == 200
    assert read.json()["x"] == json.loads(body)["x"]
    # replicate: a follower applies the leader's WAL entries
    follower = Storage(os.path.join(tmp_path, "follower", "data.sqlite"))
    resynced = Storage(os.path.join(tmp_path, "resynced", "data.sqlite"))
    try:
        follower.apply_replicated(srv.storage.entries_after(0))
        assert follower.get("_system", coll, "k") == read.json()
        # snapshot (what /_api/replication/snapshot serializes) and resync from it
        tick, snapshot = srv.storage.dump_all()
        wire = json.loads(json.dumps({"tick": tick, "snapshot": snapshot}))
        resynced.reset_from_snapshot(wire["tick"], 1, wire["snapshot"])
        assert resynced.get("_system", coll, "k") == read.json()
    finally:
        follower.close()
        resynced.close()


def test_one_level_more_is_refused_on_every_write_path(srv: SecureServer, coll: str) -> None:
    too_deep = doc_of_depth(MAX_DEPTH + 1)
    deep_value = json.dumps(nested(MAX_DEPTH))  # as a field of an object: MAX_DEPTH + 1
    assert srv.call("POST", f"/_api/document/{coll}", data='{"_key":"k"}').status_code == 202
    attempts = [
        ("POST", f"/_api/document/{coll}", too_deep),
        ("POST", f"/_api/document/{coll}", f"[{too_deep}]"),
        ("POST", f"/_api/document/{coll}?overwriteMode=update", too_deep),
        ("PUT", f"/_api/document/{coll}/k", too_deep),
        ("PATCH", f"/_api/document/{coll}/k", too_deep),
        ("PUT", f"/_api/document/{coll}", f"[{too_deep}]"),
        ("PATCH", f"/_api/document/{coll}", f"[{too_deep}]"),
        ("DELETE", f"/_api/document/{coll}", f"[{too_deep}]"),
        ("POST", "/_api/user", '{"user":"u","extra":' + deep_value + "}"),
        ("PATCH", "/_api/user/root", '{"extra":' + deep_value + "}"),
        ("POST", "/_api/collection", '{"name":"d","x":' + deep_value + "}"),
        ("PUT", f"/_api/collection/{coll}/properties", '{"x":' + deep_value + "}"),
        ("POST", "/_api/database", '{"name":"d","x":' + deep_value + "}"),
        ("PUT", "/_api/simple/all", '{"collection":"c","x":' + deep_value + "}"),
    ]
    for method, path, body in attempts:
        resp = srv.call(method, path, data=body)
        assert resp.status_code == 400, (method, path, resp.text[:200])
        assert resp.json()["errorNum"] == 600, (method, path)
    # nothing of it was stored
    assert "x" not in srv.call("GET", f"/_api/document/{coll}/k").json()


@pytest.mark.parametrize("depth", [971, 973, 5000, 100_000])
def test_the_depths_of_the_issue_answer_400(srv: SecureServer, coll: str, depth: int) -> None:
    resp = srv.call("POST", f"/_api/document/{coll}", data=doc_of_depth(depth))
    assert resp.status_code == 400 and resp.json()["errorNum"] == 600
    assert srv.call("GET", f"/_api/document/{coll}/k").status_code == 404


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" + "0" * 5000]
)
def test_non_finite_numbers_are_refused(srv: SecureServer, coll: str, number: str) -> None:
    resp = srv.call("POST", f"/_api/document/{coll}", data='{"_key":"n","x":' + number + "}")
    assert resp.status_code == 400, resp.text
    assert resp.json()["errorNum"] == 600
    assert srv.call("GET", f"/_api/document/{coll}/n").status_code == 404


def test_large_finite_numbers_round_trip(srv: SecureServer, coll: str) -> None:
    body = '{"_key":"n","big":1.7976931348623157e308,"tiny":5e-324,"int":123456789012345678901}'
    assert srv.call("POST", f"/_api/document/{coll}", data=body).status_code == 202
    got = srv.call("GET", f"/_api/document/{coll}/n")
    json.loads(got.text, parse_constant=lambda c: pytest.fail(f"answer holds {c}"))
    assert got.json()["big"] == 1.7976931348623157e308
    assert got.json()["int"] == 123456789012345678901


# -- random JSON ---------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


def json_values(max_leaves: int) -> st.SearchStrategy[Any]:
    return st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=max_leaves,
    )


def deep_chain(depth: int) -> Any:
    return nested(depth)


documents = st.one_of(
    st.dictionaries(st.text(max_size=5), json_values(20), max_size=4),
    st.integers(min_value=MAX_DEPTH - 3, max_value=MAX_DEPTH + 2).map(
        lambda d: {"x": deep_chain(d - 1)}
    ),
)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents)
def test_random_json_is_refused_or_reads_back_and_resyncs(
    srv: SecureServer, coll: str, tmp_path: Path, doc: dict[str, Any]
) -> None:
    """Whatever the server accepts it answers back unchanged, replicates and resyncs."""
    doc = {k: v for k, v in doc.items() if not k.startswith("_")}
    raw = json.dumps({"_key": "r", **doc}, allow_nan=True)  # NaN/Infinity literals included
    srv.call("DELETE", f"/_api/document/{coll}/r")
    resp = srv.call("POST", f"/_api/document/{coll}", data=raw)
    allowed = json_depth(doc) <= MAX_DEPTH and not _has_non_finite(doc)
    if not allowed:
        assert resp.status_code == 400, resp.text[:200]
        return
    assert resp.status_code == 202, resp.text[:200]
    got = srv.call("GET", f"/_api/document/{coll}/r")
    assert got.status_code == 200
    body = json.loads(got.text, parse_constant=lambda c: pytest.fail(f"answer holds {c}"))
    assert {k: v for k, v in body.items() if not k.startswith("_")} == doc
    tick, snapshot = srv.storage.dump_all()
    check_depth(json.loads(json.dumps(snapshot)), MAX_DEPTH + 8)  # the snapshot wraps it
    copy = Storage(os.path.join(tmp_path, f"copy{tick}", "data.sqlite"))
    try:
        copy.reset_from_snapshot(tick, 1, json.loads(json.dumps(snapshot, allow_nan=False)))
        assert copy.get("_system", coll, "r") == body
    finally:
        copy.close()
