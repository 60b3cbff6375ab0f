"""Reads as ArangoDB's ``Store::read``: the existing part of a path, hidden keys, key order.

One path answers its value nested under the path, or ``{}`` nested under the
part of the path that exists (so after a TTL expiry ``/a/y`` reads
``{"a": {}}``). Several paths are merged, with ArangoDB's handling of missing
ones. Keys starting with ``.`` are hidden unless a query path mentions one.
Objects come out with their keys in byte order, at every depth, as
VelocyPack's dumper writes them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.agency_semantics.agency import Agency


@pytest.fixture
def a() -> Agency:
    agency = Agency()
    agency.put({"a": {"b": {"c": [1, 2, 3]}, "e": 12}, "d": False})
    return agency


def test_arangodb_document_reads(a: Agency) -> None:
    assert a.read(["a/e"], ["d", "a/b"]) == [
        {"a": {"e": 12}},
        {"a": {"b": {"c": [1, 2, 3]}}, "d": False},
    ]
    assert a.read(["/a/b/c"], []) == [{"a": {"b": {"c": [1, 2, 3]}}}, {}]


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/x", {}),
        ("/x/y", {}),
        ("/a/y", {"a": {}}),
        ("/a/y/z", {"a": {}}),
        ("/a/b/q", {"a": {"b": {}}}),
        ("/a/e/deeper", {"a": {"e": {}}}),  # a leaf has no children: the path stops there
        ("/a/b/c/0", {"a": {"b": {"c": {}}}}),
        ("//a//b/", {"a": {"b": {"c": [1, 2, 3]}}}),
    ],
)
def test_one_path_answers_the_part_that_exists(a: Agency, path: str, answer: Any) -> None:
    assert a.read([path]) == [answer]


@pytest.mark.parametrize(
    ("paths", "answer"),
    [
        (["/a/y", "/d"], {"a": {}, "d": False}),
        (["/x", "/d"], {"d": False}),
        # ArangoDB keeps about half of a missing path's segments when several paths are read
        (["/a/b/q/r", "/d"], {"a": {"b": {}}, "d": False}),
        (["/x/y/z", "/d"], {"d": False, "x": {}}),
        (["/a", "/a/b"], {"a": {"b": {"c": [1, 2, 3]}, "e": 12}}),
        (["/a/e", "a/e"], {"a": {"e": 12}}),
        (["/d", "/d"], {"d": False}),
    ],
)
def test_several_paths_merge_as_arangodb_does(a: Agency, paths: list[str], answer: Any) -> None:
    assert a.read(paths) == [answer]


def test_empty_string_paths_are_dropped_as_in_arangodb(a: Agency) -> None:
    assert a.read([""]) == [{}]
    assert a.read(["", "/d"]) == [{"d": False}]
    assert a.read(["/"]) == [{"a": {"b": {"c": [1, 2, 3]}, "e": 12}, "d": False}]


def test_hidden_keys_show_only_when_asked_for() -> None:
    a = Agency()
    a.put({"/.hidden": 1, "/v/.h": 2, "/v/w": 3, "/l": [{".inside": 1}]})
    assert a.read(["/"]) == [{"l": [{".inside": 1}], "v": {"w": 3}}]
    assert a.read(["/v"]) == [{"v": {"w": 3}}]
    assert a.read(["/v/.h"]) == [{"v": {".h": 2}}]
    assert a.read([".hidden"]) == [{".hidden": 1}]
    assert a.read(["/.hidden", "/v"]) == [{".hidden": 1, "v": {".h": 2, "w": 3}}]
    assert a.store.get("/v/.h") == 2


def test_keys_come_out_in_byte_order_at_every_depth() -> None:
    a = Agency()
    a.put(
        {
            "/z": {"b": 1, "a": {"y": 1, "x": 2}, "B": [{"q": 1, "p": 2}]},
            "/bummsfallera": 2,
            "/bumms": 1,
        }
    )
    (answer,) = a.read(["/"])
    assert json.dumps(answer) == (
        '{"bumms": 1, "bummsfallera": 2, "z": {"B": [{"p": 2, "q": 1}], "a": {"x": 2, "y": 1}, "b": 1}}'
    )
    assert a.read(["/bumms", "/bummsfallera"]) == [{"bumms": 1, "bummsfallera": 2}]


keys = st.text(alphabet="aAb_1.é", min_size=1, max_size=3)
trees = st.recursive(
    st.integers(0, 3), lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12
)


def orders(value: Any) -> list[list[str]]:
    if not isinstance(value, dict):
        return []
    out = [list(value)]
    for item in value.values():
        out.extend(orders(item))
    return out


@settings(max_examples=80, deadline=None)
@given(trees)
def test_every_object_in_an_answer_is_sorted(tree: Any) -> None:
    a = Agency()
    a.put({"/t": {"op": "set", "new": tree}})
    for query in (["/"], ["/t"], ["/t", "/u"]):
        (answer,) = a.read(query)
        for order in orders(answer):
            assert order == sorted(order)
            assert [k.encode() for k in order] == sorted(k.encode() for k in order)


def test_reads_are_copies() -> None:
    a = Agency()
    a.put({"/a/l": [1]})
    a.read(["/a"])[0]["a"]["l"].append(2)
    a.read(["/a", "/b"])[0]["a"]["l"].append(3)
    assert a.store.get("/a/l") == [1]
