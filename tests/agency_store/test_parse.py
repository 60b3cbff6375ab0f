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
    [
        ("/a/b", "/a/b"),
        ("a/b", "/a/b"),
        ("/a/b/", "/a/b"),
        ("/", "/"),
        ("", "/"),
        ("x", "/x"),
        ("//a", "/a"),
        ("/a//b", "/a/b"),
        ("///", "/"),
        ("a///b//", "/a/b"),
    ],
)
def test_normalize_path(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
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
        ([[{"/a/../b": 1}]], "'..' segment"),
        ([[{"/a": 1}, {"/b": {"oldEmpty": 1}}]], "true or false"),
        ([[{"/a": 1}, {"/b": {"isArray": "yes"}}]], "true or false"),
        ([[{"/a": 1}, {"/b/./c": 1}]], "'.' segment"),
        ([[{"/a": {"op": "erase"}}]], "exactly one of 'val' and 'pos'"),
        ([[{"/a": {"op": "erase", "val": 1, "pos": 0}}]], "exactly one of 'val' and 'pos'"),
        ([[{"/a": {"op": "erase", "pos": -1}}]], "'pos'"),
        ([[{"/a": {"op": "erase", "pos": 1.5}}]], "'pos'"),
        ([[{"/a": {"op": "replace", "new": 1}}]], "missing 'val'"),
        ([[{"/a": {"op": "replace", "val": 1}}]], "missing 'new'"),
        ([[{"/a": {"op": "push-queue", "new": 1}}]], "'len'"),
        ([[{"/a": {"op": "push-queue", "new": 1, "len": -2}}]], "'len'"),
        ([[{"/a": {"op": "push-queue", "len": 2}}]], "missing 'new'"),
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
                "//g": {"op": "delete"},
                "/": {"op": "observe", "url": "http://127.0.0.1:1/cb"},
                "/h": {"op": "erase", "pos": 2.0},
                "/i": {"op": "replace", "val": 1, "new": 2},
                "/j": {"op": "push-queue", "new": "x", "len": 3},
            },
            {
                "/a": 3,
                "/b": {"oldEmpty": True, "isArray": False},
                "c": {"in": 1, "notin": 2, "intersectionEmpty": [3], "frob": 1, "olde": 2},
                "/d": {},
            },
            "client-1",
        ]
    ]
    (entry,) = parse_write(body, 12.5)
    assert entry == {
        "kind": "write",
        "now": 12.5,
        "txn": {
            # sorted by normalized path: the order ArangoDB applies them in
            "ops": [
                ["/", {"op": "observe", "url": "http://127.0.0.1:1/cb"}],
                ["/a/b", {"op": "set", "new": {"x": 1}}],
                ["/c", {"op": "set", "new": [1], "ttl": 2.0}],
                ["/d", {"op": "increment", "step": 1}],
                ["/e", {"op": "decrement", "step": 2}],
                ["/f", {"op": "push", "new": None}],
                ["/g", {"op": "delete"}],
                ["/h", {"op": "erase", "pos": 2}],
                ["/i", {"op": "replace", "new": 2, "val": 1}],
                ["/j", {"op": "push-queue", "new": "x", "len": 3}],
            ],
            # sorted by the key as written; the key is kept for transact's answer
            "pre": [
                ["/a", {"old": 3}, "/a"],
                ["/b", {"isArray": False, "oldEmpty": True}, "/b"],
                ["/d", {}, "/d"],
                [
                    "/c",
                    {"in": 1, "intersectionEmpty": [3], "notin": 2, "unknown": ["frob", "olde"]},
                    "c",
                ],
            ],
            "clientId": "client-1",
            "forbidden": False,
        },
    }
    (item,) = parse_transient(body, 12.5)
    assert item == entry


@pytest.mark.parametrize(
    ("key", "forbidden"),
    [
        (".agency", True),
        ("/.agency", True),
        ("//.agency/x", True),
        ("/.agencyX", True),
        ("/a/.agency", False),
        ("/.agenc", False),
        ("/x", False),
    ],
)
def test_writes_below_dot_agency_are_forbidden(key: str, forbidden: bool) -> None:
    (entry,) = parse_write([[{key: 1}]], 1.0)
    assert entry["txn"]["forbidden"] is forbidden


def test_root_write_creating_dot_agency_is_forbidden() -> None:
    (entry,) = parse_write([[{"/": {".agency": 1}}]], 1.0)
    assert entry["txn"]["forbidden"] is True
    (entry,) = parse_write([[{"/": {"a": 1}}], [{"/": {"op": "delete"}}]], 1.0)[:1]
    assert entry["txn"]["forbidden"] is False


def test_empty_write_body_is_no_transactions() -> None:
    assert parse_write([], 1.0) == []


def test_parse_read_keeps_paths_as_written() -> None:
    assert parse_read([["a", "/b/c/", "//d"], []]) == [["a", "/b/c/", "//d"], []]


@pytest.mark.parametrize("body", [{"a": 1}, ["/a"], [[1]], [["/a/../b"]], [["/.."]], "x"])
def test_parse_read_rejects(body: Any) -> None:
    with pytest.raises(ArangoError) as info:
        parse_read(body)
    assert info.value.code == 400
    assert info.value.error_num == ERROR_HTTP_BAD_PARAMETER
