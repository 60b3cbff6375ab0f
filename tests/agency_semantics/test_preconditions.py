"""Preconditions as ArangoDB's ``Store::check``: old, oldNot, oldEmpty, isArray, in, notin,
intersectionEmpty, unknown operators, and a missing node compared as ``{}``.

``reference_holds`` restates ArangoDB's rules independently of the store; a
hypothesis property checks the store against it on random trees and
conditions. Example tables follow the cases of ArangoDB's agency tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.agency.store import Store, parse_write


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def reference_holds(found: bool, value: Any, cond: Any) -> bool:
    """ArangoDB's rule for one precondition (``found``: the path exists)."""
    node = value if found else {}
    if not isinstance(cond, dict):
        return same(node, cond)
    array = found and isinstance(value, list)
    for name, operand in cond.items():
        if name == "old":
            ok = same(node, operand)
        elif name == "oldNot":
            ok = not same(node, operand)
        elif name == "oldEmpty":
            ok = found is not operand
        elif name == "isArray":
            ok = array is operand
        elif name == "in":
            ok = array and any(same(x, operand) for x in value)
        elif name == "notin":
            ok = not found or (array and not any(same(x, operand) for x in value))
        elif name == "intersectionEmpty":
            ok = isinstance(operand, list) and not (
                array and any(same(x, y) for x in value for y in operand)
            )
        else:
            ok = False
        if not ok:
            return False
    return True


class Agency:
    """A store driven through parsed log entries, one index per entry."""

    def __init__(self) -> None:
        self.store = Store()
        self.index = 0

    def write(self, updates: dict[str, Any], pre: dict[str, Any] | None = None) -> Any:
        (entry,) = parse_write([[updates, pre or {}]], 1.0)
        self.index += 1
        return self.store.apply(entry, self.index)

    def holds(self, pre: dict[str, Any]) -> bool:
        return bool(self.write({"/probe": {"op": "increment"}}, pre).ok)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["x", "Pi"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["p", "q"]), inner, max_size=2)
    ),
    max_leaves=5,
)
operators = st.sampled_from(
    [
        "old",
        "oldNot",
        "oldEmpty",
        "isArray",
        "in",
        "notin",
        "intersectionEmpty",
        "instersectionEmpty",
    ]
)


@st.composite
def conditions(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(values)
    cond: dict[str, Any] = {}
    for name in draw(st.lists(operators, max_size=3, unique=True)):
        cond[name] = draw(st.booleans()) if name in ("oldEmpty", "isArray") else draw(values)
    return cond


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.none(), values), conditions())
def test_store_agrees_with_the_reference(value: Any, cond: Any) -> None:
    agency = Agency()
    if value is not None:
        agency.write({"/k": {"op": "set", "new": value}})
    found = value is not None
    assert agency.holds({"/k": cond}) is reference_holds(found, value, cond)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["/k", "/l", "/k/p"]), conditions(), max_size=3), values)
def test_a_transaction_applies_iff_every_precondition_holds(
    pre: dict[str, Any], value: Any
) -> None:
    agency = Agency()
    agency.write({"/k": {"op": "set", "new": value}})
    found = {"/k": True, "/l": False, "/k/p": isinstance(value, dict) and "p" in value}
    current = {"/k": value, "/l": None, "/k/p": value.get("p") if found["/k/p"] else None}
    expected = all(reference_holds(found[p], current[p], c) for p, c in pre.items())
    before = agency.store.read([["/k"]])
    result = agency.write({"/k": {"op": "set", "new": "changed"}}, pre)
    assert result.ok is expected
    if not expected:
        assert agency.store.read([["/k"]]) == before
        assert sorted(result.failed) == sorted(
            p for p, c in pre.items() if not reference_holds(found[p], current[p], c)
        )


ARRAY = [12, "Pi", 3.14159265359, True, False]


@pytest.mark.parametrize(
    ("stored", "cond", "holds"),
    [
        # in: the array holds the value
        ([1, 2, 3], {"in": 3}, True),
        ([1, 2], {"in": 3}, False),
        (3, {"in": 3}, False),
        (None, {"in": 3}, False),
        # notin: missing, or an array without the value
        (None, {"notin": 3}, True),
        ([1, 2], {"notin": 3}, True),
        ([1, 2, 3], {"notin": 3}, False),
        (3, {"notin": 4}, False),
        # intersectionEmpty: the operand must be an array
        (12, {"intersectionEmpty": ""}, False),
        (12, {"intersectionEmpty": []}, True),
        (ARRAY, {"intersectionEmpty": []}, True),
        (ARRAY, {"intersectionEmpty": [False, "Pi"]}, False),
        (ARRAY, {"intersectionEmpty": ["Pi", False]}, False),
        (ARRAY, {"intersectionEmpty": [False, False, False]}, False),
        (ARRAY, {"intersectionEmpty": ["pi", 3.1415926535]}, True),
        (None, {"intersectionEmpty": [1]}, True),
        # an operator ArangoDB does not know fails (a typo is a 412, not a 400)
        (ARRAY, {"instersectionEmpty": []}, False),
        (ARRAY, {"notIn": 1}, False),
        # an empty operator object holds; a missing node compares as {}
        (None, {}, True),
        (None, {"old": {}}, True),
        (None, {"oldNot": {}}, False),
        (None, {"old": None}, False),
        ({"a": 1}, {}, True),
        # objects compare without key order, arrays with it, numbers by value
        ({"b": 1, "c": [1, 2]}, {"old": {"c": [1, 2], "b": 1.0}}, True),
        ([{"b": 12, "c": 13}], [{"c": 13, "b": 12}], True),
        ([1, 2], [2, 1], False),
        (1, True, False),
    ],
)
def test_arangodb_cases(stored: Any, cond: Any, holds: bool) -> None:
    agency = Agency()
    if stored is not None:
        agency.write({"/a": {"op": "set", "new": stored}})
    assert agency.holds({"/a": cond}) is holds


def test_multiple_preconditions_all_must_hold() -> None:
    agency = Agency()
    agency.write({"/a": 1, "/b": True, "/c": "c"})
    assert not agency.holds({"/a": {"oldEmpty": False}, "/b": {"oldEmpty": True}})
    assert not agency.holds({"/a": {"old": 1}, "/c": {"isArray": True}})
    assert agency.holds({"/a": {"old": 1}, "/b": {"oldEmpty": False}, "/c": {"isArray": False}})


def test_every_failed_precondition_is_reported_by_its_key_as_written() -> None:
    agency = Agency()
    agency.write({"/a": 1})
    result = agency.write({"/x": 1}, {"a": 2, "//b": {"oldEmpty": False}, "/a": {"old": 1}})
    assert not result.ok
    assert result.failed == ["//b", "a"]  # ArangoDB iterates the keys in byte order


def test_the_root_always_exists() -> None:
    agency = Agency()
    assert agency.holds({"/": {"oldEmpty": False}})
    assert not agency.holds({"/": {"oldEmpty": True}})
    assert agency.holds({"/": {"old": {"probe": 1}}})
    agency.write({"/": {"op": "delete"}})
    assert agency.holds({"/": {"old": {}}})
