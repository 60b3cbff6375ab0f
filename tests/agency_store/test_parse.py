"""Validation of write and read bodies: shapes, operations, preconditions, paths."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.agency.store import parse_read, parse_transient, parse_write
from cluster.agency.tree_paths import MAX_DEPTH, MAX_PATH_LENGTH, PathError, normalize_path
from cluster.common.errors import (
    ERROR_AGENCY_MALFORMED_TRANSACTION,
    ERROR_HTTP_BAD_PARAMETER,
    ArangoError,
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("/a/b", "/a/b"), ("a/b", "/a/b"), ("/a/b/", "/a/b"), ("/", "/"), ("", "/"), ("x", "/x")],
)
def test_normalize_path(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "//a",
        "/a//b",
        "/a/../b",
        "/./a",
        "/a/..",
        5,
        None,
        "/" + "x" * MAX_PATH_LENGTH,
        "/".join(["s"] * (MAX_DEPTH + 1)),
    ],
)
def test_bad_paths_are_rejected(raw: Any) -> None:
    with pytest.raises(PathError):
        normalize_path(raw)


def _error(body: Any) -> ArangoError:
    with pytest.raises(ArangoError) as info:
        parse_write(body, 1.0)
    assert info.value.code == 400
    assert info.value.error_num == ERROR_AGENCY_MALFORMED_TRANSACTION
    return info.value


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"a": 1}, "array of transactions"),
        ([{"a": 1}], "must be an array"),
        ([[]], "must be an array"),
        ([[{}, {}, "c", "extra"]], "must be an array"),
        ([[[1]]], "updates must be an object"),
        ([[{"/a": 1}, [1]]], "preconditions must be an object"),
        ([[{"/a": 1}, {}, 5]], "clientId"),
        ([[{"/a": 1}, {}, ""]], "clientId"),
        ([[{"/a": {"op": "frobnicate"}}]], "unknown operation"),
        ([[{"/a": {"op": 3}}]], "unknown operation"),
        ([[{"/a": {"op": "set"}}]], "missing 'new'"),
        ([[{"/a": {"op": "push"}}]], "missing 'new'"),
        ([[{"/a": {"op": "set", "new": 1, "ttl": 0}}]], "ttl"),
        ([[{"/a": {"op": "set", "new": 1, "ttl": -3}}]], "ttl"),
        ([[{"/a": {"op": "set", "new": 1, "ttl": "5"}}]], "ttl"),
        ([[{"/a": {"op": "set", "new": 1, "ttl": True}}]], "ttl"),
        ([[{"/a": {"op": "set", "new": 1, "ttl": float("inf")}}]], "ttl"),
        ([[{"/a": {"op": "increment", "ttl": 5}}]], "only allowed with op 'set'"),
        ([[{"/a": {"op": "increment", "step": "2"}}]], "'step' must be a number"),
        ([[{"/a": {"op": "observe"}}]], "'url'"),
        ([[{"/a": {"op": "observe", "url": "ftp://x"}}]], "'url'"),
        ([[{"/a//b": 1}]], "empty segment"),
        ([[{"/a/../b": 1}]], "'..' segment"),
        ([[{"/": 1}]], "root"),
        ([[{"/a": 1}, {"/b": {"olde": 1}}]], "unknown precondition"),
        ([[{"/a": 1}, {"/b": {}}]], "empty object"),
        ([[{"/a": 1}, {"/b": {"oldEmpty": 1}}]], "true or false"),
        ([[{"/a": 1}, {"/b": {"isArray": "yes"}}]], "true or false"),
        ([[{"/a": 1}, {"/b//c": 1}]], "empty segment"),
        ([[{"/a": float("nan")}]], "non-finite"),
    ],
)
def test_malformed_writes_name_the_problem(body: Any, fragment: str) -> None:
    assert fragment in _error(body).message


def test_error_names_the_transaction() -> None:
    assert "transaction 1" in _error([[{"/a": 1}], [{"/b": {"op": "nope"}}]]).message


def test_operation_limit() -> None:
    body = [[{f"/k{i}": i for i in range(6)}, {"/p": 1}]]
    assert len(parse_write(body, 1.0, max_ops=7)) == 1
    with pytest.raises(ArangoError, match="limit is 6"):
        parse_write(body, 1.0, max_ops=6)


def test_normalized_entry_shape() -> None:
    body = [
        [
            {
                "a/b": {"x": 1},
                "/c": {"op": "set", "new": [1], "ttl": 2},
                "/d": {"op": "increment"},
                "/e": {"op": "decrement", "step": 2.5},
                "/f": {"op": "push", "new": None},
                "/g": {"op": "delete"},
                "/": {"op": "observe", "url": "http://127.0.0.1:1/cb"},
            },
            {"/a": 3, "/b": {"oldEmpty": True, "isArray": False}},
            "client-1",
        ]
    ]
    (entry,) = parse_write(body, 12.5)
    assert entry == {
        "kind": "write",
        "now": 12.5,
        "txn": {
            "ops": [
                ["/a/b", {"op": "set", "new": {"x": 1}}],
                ["/c", {"op": "set", "new": [1], "ttl": 2.0}],
                ["/d", {"op": "increment", "step": 1}],
                ["/e", {"op": "decrement", "step": 2.5}],
                ["/f", {"op": "push", "new": None}],
                ["/g", {"op": "delete"}],
                ["/", {"op": "observe", "url": "http://127.0.0.1:1/cb"}],
            ],
            "pre": [["/a", {"old": 3}], ["/b", {"oldEmpty": True, "isArray": False}]],
            "clientId": "client-1",
        },
    }
    assert parse_transient(body, 12.5) == [entry]


def test_empty_write_body_is_no_transactions() -> None:
    assert parse_write([], 1.0) == []


def test_parse_read() -> None:
    assert parse_read([["a", "/b/c/"], []]) == [["/a", "/b/c"], []]


@pytest.mark.parametrize("body", [{"a": 1}, ["/a"], [[1]], [["/a//b"]], [["/.."]], "x"])
def test_parse_read_rejects(body: Any) -> None:
    with pytest.raises(ArangoError) as info:
        parse_read(body)
    assert info.value.code == 400
    assert info.value.error_num == ERROR_HTTP_BAD_PARAMETER
