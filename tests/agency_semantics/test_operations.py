"""Write operations as ArangoDB's ``Node.cpp`` / ``Store::applies``, on ArangoDB's own examples.

Covers ``erase``, ``replace`` and ``push-queue``, integer ``increment`` /
``decrement``, operations on the root, the order updates apply in (sorted by
path), slash keys inside object values, ``op`` and ``ttl`` as plain keys,
and operations that must not create the path they name.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.agency_semantics.agency import Agency

TEN = list(range(10))


def test_erase_by_value_removes_every_equal_element() -> None:
    a = Agency()
    a.put({"/a": TEN})
    for val, left in [
        (3, [0, 1, 2, 4, 5, 6, 7, 8, 9]),
        (3, [0, 1, 2, 4, 5, 6, 7, 8, 9]),
        (0, [1, 2, 4, 5, 6, 7, 8, 9]),
        (9, [1, 2, 4, 5, 6, 7, 8]),
    ]:
        a.put({"a": {"op": "erase", "val": val}})
        assert a.read(["/a"]) == [{"a": left}]
    a.put({"/b": [1, {"x": 1}, 1.0, "1", True]})
    a.put({"/b": {"op": "erase", "val": 1}})
    assert a.read(["/b"]) == [{"b": [{"x": 1}, "1", True]}]


def test_erase_by_position_and_out_of_range_position() -> None:
    a = Agency()
    a.put({"/a": TEN})
    for pos, left in [(3, [0, 1, 2, 4, 5, 6, 7, 8, 9]), (0, [1, 2, 4, 5, 6, 7, 8, 9])]:
        a.put({"a": {"op": "erase", "pos": pos}})
        assert a.read(["/a"]) == [{"a": left}]
    a.put({"a": {"op": "erase", "pos": 100}})
    assert a.read(["/a"]) == [{"a": [1, 2, 4, 5, 6, 7, 8, 9]}]
    a.write([{"a": {"op": "erase", "pos": 1}}], [{"a": {"op": "erase", "pos": 0}}])
    assert a.read(["/a"]) == [{"a": [4, 5, 6, 7, 8, 9]}]


def test_replace_every_equal_element() -> None:
    a = Agency()
    a.put({"/a": TEN})
    a.put({"a": {"op": "replace", "val": 3, "new": "three"}})
    a.put({"a": {"op": "replace", "val": 1, "new": [1]}})
    a.put({"a": {"op": "replace", "val": [1], "new": [1, 2, 3]}})
    a.put({"a": {"op": "replace", "val": 9, "new": [1, 2, 3]}})
    a.put({"a": {"op": "replace", "val": [1, 2, 3], "new": {"a": 0}}})
    a.put({"a": {"op": "replace", "val": {"a": 0}, "new": "/a"}})
    assert a.read(["/a"]) == [{"a": [0, "/a", 2, "three", 4, 5, 6, 7, 8, "/a"]}]


@pytest.mark.parametrize(
    ("start", "new", "length", "expected"),
    [
        ([1, 2, 3], 4, 3, [2, 3, 4]),
        ([1, 2, 3], 4, 5, [1, 2, 3, 4]),
        ([1, 2, 3], 4, 1, [4]),
        ([1, 2, 3], 4, 0, []),
        (None, 4, 2, [4]),
        ("scalar", 4, 2, [4]),
    ],
)
def test_push_queue_keeps_the_newest_len_elements(
    start: Any, new: Any, length: int, expected: list[Any]
) -> None:
    a = Agency()
    if start is not None:
        a.put({"/q": {"op": "set", "new": start}})
    a.put({"/q": {"op": "push-queue", "new": new, "len": length}})
    assert a.store.get("/q") == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=8), st.integers(0, 3), st.integers(0, 6))
def test_push_queue_is_push_then_keep_last_len(items: list[int], new: int, length: int) -> None:
    a = Agency()
    a.put({"/q": {"op": "set", "new": items}})
    a.put({"/q": {"op": "push-queue", "new": new, "len": length}})
    pushed = [*items, new]
    assert a.store.get("/q") == (pushed[-length:] if length else [])


@pytest.mark.parametrize(
    "op", [{"op": "delete"}, {"op": "erase", "val": 1}, {"op": "replace", "val": 1, "new": 2}]
)
def test_delete_erase_replace_create_nothing(op: dict[str, Any]) -> None:
    a = Agency()
    a.put({"/a": op})
    a.put({"/x/y": op})
    assert a.read(["/"]) == [{}]
    assert a.write([{"/a": "a"}, {"a": {"oldEmpty": True}}])[0].ok


def test_increment_and_decrement_are_integer_arithmetic() -> None:
    a = Agency()
    a.put({"/v": {"op": "increment"}})
    a.put({"/v": {"op": "increment"}})
    assert a.store.get("/v") == 2
    a.put({"/v": {"op": "set", "new": 2.7}})
    a.put({"/v": {"op": "increment", "step": 1.9}})
    assert a.store.get("/v") == 3  # both truncated, as getNumber<int64_t> does
    a.put({"/w": {"op": "set", "new": "text"}})
    a.put({"/w": {"op": "decrement", "step": 2}})
    assert a.store.get("/w") == -2
    assert type(a.store.get("/v")) is int


def test_operators_on_the_root_node() -> None:
    a = Agency()
    steps: list[tuple[Any, Any]] = [
        ({"op": "delete"}, {}),
        ({"op": "increment"}, 1),
        ({"op": "delete"}, {}),
        ({"op": "decrement"}, -1),
        ({"op": "push", "new": "Hello"}, ["Hello"]),
        ({"op": "pop"}, []),
        ({"op": "pop"}, []),
        ({"op": "prepend", "new": "Hello"}, ["Hello"]),
        ({"op": "shift"}, []),
        ({"op": "delete"}, {}),
        ([], []),
        ([1, 2, 3], [1, 2, 3]),
    ]
    for op, root in steps:
        a.put({"/": op})
        assert a.read(["/"]) == [root]
    a.put({"/a": [1, 2, 3]})  # writing below a leaf root makes it an object again
    assert a.read(["/"]) == [{"a": [1, 2, 3]}]
    a.put({"////////": "Hi there!"})
    assert a.read(["/"]) == ["Hi there!"]


def test_updates_apply_in_path_order_not_body_order() -> None:
    a = Agency()
    # ArangoDB sorts a transaction's updates by normalized path: /a first, then /a/b
    a.put({"/a/b": 1, "/a": 2})
    assert a.store.get("/a") == {"b": 1}
    a.put({"/x": {"op": "delete"}, "/w": 5, "/x/y": 1})
    assert a.read(["/"]) == [{"a": {"b": 1}, "w": 5, "x": {"y": 1}}]


def test_slash_keys_inside_values_become_paths() -> None:
    a = Agency()
    a.put({"//////a////b//": {"b///////c": 4}})
    assert a.read(["/"]) == [{"a": {"b": {"b": {"c": 4}}}}]
    a.put({"/": {"op": "delete"}})
    a.put({"/x": {"p": {"q": 1}, "p/r": 2, "s/": 3}})
    assert a.store.get("/x") == {"p": {"q": 1, "r": 2}, "s": 3}
    a.put({"/y": [{"a/b": 1}]})  # objects inside arrays are kept as they are
    assert a.store.get("/y") == [{"a/b": 1}]
    a.put({"/z": {"k": 1, "//": "whole"}})  # a slashes-only key replaces the value
    assert a.store.get("/z") == "whole"
    a.put({"/\\\\/a/^&%$//b\\\\\n/": {"c": 4}})
    assert a.store.get("/\\\\/a/^&%$/b\\\\\n") == {"c": 4}


def test_op_and_ttl_are_plain_keys_below_an_operation() -> None:
    a = Agency()
    a.put({"/op": 12})
    assert a.read(["/op"]) == [{"op": 12}]
    a.put({"/op/a/b/c": {"op": "set", "new": {"op": 13}}})
    a.put({"/op/a/b/c/op": {"op": "increment"}})
    assert a.read(["/op/a/b/c"]) == [{"op": {"a": {"b": {"c": {"op": 14}}}}}]
    a.put({"/op/a/b/d": {"op": "set", "new": {"ttl": 14}}})
    a.put({"/op/a/b/d/ttl": {"op": "increment"}})
    assert a.store.get("/op/a/b/d") == {"ttl": 15}
    assert a.store.ttl_of("/op/a/b/d") is None


def test_ttl_expiry_leaves_the_parent_and_a_refresh_without_ttl_keeps_the_key() -> None:
    a = Agency()
    a.put({"a/z": {"op": "set", "new": 12}})
    a.put({"a/y": {"op": "set", "new": 12, "ttl": 1}})
    assert a.read(["/a/y"]) == [{"a": {"y": 12}}]
    a.expire(1001.5)
    assert a.read(["/a/y"]) == [{"a": {}}]
    a.put({"foo/bar": {"op": "set", "new": {"baz": 12}, "ttl": 3}})
    a.expire(1004.0)
    for path in ("/foo", "/foo/bar", "/foo/bar/baz"):
        assert a.read([path]) == [{"foo": {}}]
    a.put({"a/u": {"op": "set", "new": 25, "ttl": 3}})
    a.put({"a/u": {"op": "set", "new": 26}})
    assert a.store.due_expiries(2000.0) is None
    # in-place operations below a TTL'd node keep its TTL
    a.put({"/version": {"op": "set", "new": {"c": ["hello"]}, "ttl": 3}})
    a.put({"/version/c": {"op": "push", "new": "world"}})
    assert a.read(["version"]) == [{"version": {"c": ["hello", "world"]}}]
    a.expire(1004.0)
    assert a.read(["version"]) == [{}]


def test_two_transactions_on_the_same_key_in_one_body() -> None:
    a = Agency()
    a.write([{"a": "foo"}], [{"a": "bar"}])
    assert a.read(["a"]) == [{"a": "bar"}]
    a.write([{"a": "foo"}], [{"a": {"op": "delete"}}])
    assert a.read(["/a"]) == [{}]
    results = a.write(*[[{"n": {"op": "increment"}}, {}, f"inc{i}"] for i in range(100)])
    assert all(r.ok for r in results) and a.store.get("/n") == 100
