"""Store semantics: every operation and precondition, reads, TTL, observers, client ids, snapshots."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cluster.agency.store import Store, parse_write
from tests.agency_store.helpers import Driver


@pytest.fixture
def d() -> Driver:
    return Driver()


# ----------------------------------------------------------------- operations


def test_set_creates_intermediate_objects(d: Driver) -> None:
    r = d.one({"/a/b/c": 1})
    assert r.ok and r.changed == ["/a/b/c"]
    assert d.get("/a") == {"b": {"c": 1}}


def test_set_through_a_leaf_replaces_it(d: Driver) -> None:
    d.one({"/a": 5})
    d.one({"/a/b": 1})
    assert d.get("/a") == {"b": 1}


def test_plain_object_value_and_op_object(d: Driver) -> None:
    d.one({"/o": {"x": {"y": 2}}, "/p": {"op": "set", "new": {"op": "literal"}}})
    assert d.get("/o/x/y") == 2
    assert d.get("/p") == {"op": "literal"}


def test_delete_removes_node_and_keeps_parents(d: Driver) -> None:
    d.one({"/a/b": 1, "/a/c": 2})
    r = d.one({"/a/b": {"op": "delete"}})
    assert r.changed == ["/a/b"]
    assert d.get("/a") == {"c": 2}
    r = d.one({"/a/c": {"op": "delete"}})
    assert d.get("/a") == {}
    r = d.one({"/zzz/q": {"op": "delete"}})
    assert r.ok and r.changed == []


@pytest.mark.parametrize(
    ("start", "op", "expected"),
    [
        (None, {"op": "increment"}, 1),
        (5, {"op": "increment"}, 6),
        (5, {"op": "increment", "step": 10}, 15),
        (1.5, {"op": "increment", "step": 1}, 2),
        (1, {"op": "increment", "step": 2.9}, 3),
        ("text", {"op": "increment"}, 1),
        (True, {"op": "increment"}, 1),
        (None, {"op": "decrement"}, -1),
        (5, {"op": "decrement", "step": 2}, 3),
        ([1], {"op": "decrement"}, -1),
        (None, {"op": "push", "new": 1}, [1]),
        ([1, 2], {"op": "push", "new": {"x": 1}}, [1, 2, {"x": 1}]),
        ("s", {"op": "push", "new": 1}, [1]),
        (None, {"op": "prepend", "new": 1}, [1]),
        ([1, 2], {"op": "prepend", "new": 0}, [0, 1, 2]),
        ([1, 2, 3], {"op": "pop"}, [1, 2]),
        ([], {"op": "pop"}, []),
        (7, {"op": "pop"}, []),
        (None, {"op": "pop"}, []),
        ([1, 2, 3], {"op": "shift"}, [2, 3]),
        ([], {"op": "shift"}, []),
        ({"a": 1}, {"op": "shift"}, []),
    ],
)
def test_value_operations(d: Driver, start: Any, op: dict[str, Any], expected: Any) -> None:
    if start is not None:
        d.one({"/k": {"op": "set", "new": start}})
    r = d.one({"/k": op})
    assert r.ok and r.changed == ["/k"]
    assert d.get("/k") == expected
    assert type(d.get("/k")) is type(expected)


def test_updates_apply_in_order_within_a_transaction(d: Driver) -> None:
    d.one({"/n": 1, "/n/x": 2, "/l": {"op": "push", "new": 1}})
    d.one({"/l": {"op": "push", "new": 2}, "/m": {"op": "increment"}})
    assert d.get("/n") == {"x": 2}
    assert d.get("/l") == [1, 2]


def test_stored_values_do_not_alias_the_log_entry(d: Driver) -> None:
    (entry,) = parse_write([[{"/v": {"op": "set", "new": {"list": [1]}}}]], 1.0)
    d.entry(entry)
    entry["txn"]["ops"][0][1]["new"]["list"].append(2)
    got = d.get("/v")
    got["list"].append(3)
    assert d.get("/v") == {"list": [1]}


# -------------------------------------------------------------- preconditions


@pytest.mark.parametrize(
    ("cond", "holds"),
    [
        (5, True),
        (6, False),
        (5.0, True),
        ({"old": 5}, True),
        ({"old": "5"}, False),
        ({"oldNot": 5}, False),
        ({"oldNot": 4}, True),
        ({"oldEmpty": False}, True),
        ({"oldEmpty": True}, False),
        ({"isArray": False}, True),
        ({"isArray": True}, False),
        ({"old": 5, "oldEmpty": False}, True),
        ({"old": 5, "oldNot": 5}, False),
    ],
)
def test_preconditions_on_a_number(d: Driver, cond: Any, holds: bool) -> None:
    d.one({"/p": 5})
    r = d.one({"/x": 1}, {"/p": cond})
    assert r.ok is holds
    assert d.get("/x") == (1 if holds else None)
    assert r.failed_precondition == (None if holds else "/p")


@pytest.mark.parametrize(
    ("cond", "holds"),
    [
        ({"oldEmpty": True}, True),
        ({"oldEmpty": False}, False),
        ({"old": None}, False),
        ({"oldNot": 1}, True),
        ({"isArray": False}, True),
        ({"isArray": True}, False),
    ],
)
def test_preconditions_on_a_missing_key(d: Driver, cond: Any, holds: bool) -> None:
    assert d.one({"/x": 1}, {"/missing/deep": cond}).ok is holds


def test_precondition_equality_is_json_equality(d: Driver) -> None:
    d.one({"/t": True, "/one": 1, "/arr": [1, {"b": 2, "a": 1}], "/obj": {"a": [1]}})
    assert not d.one({"/x": 1}, {"/t": 1}).ok
    assert not d.one({"/x": 1}, {"/one": True}).ok
    assert d.one({"/x": 1}, {"/arr": {"old": [1.0, {"a": 1, "b": 2}]}}).ok
    assert d.one({"/x": 1}, {"/obj": {"old": {"a": [1]}}}).ok
    assert d.one({"/x": 1}, {"/arr": {"isArray": True}}).ok
    assert d.one({"/x": 1}, {"/obj": {"oldNot": {"a": [2]}}}).ok


def test_failed_precondition_applies_nothing_and_later_ones_see_old_state(d: Driver) -> None:
    d.one({"/a": 1})
    results = d.write(
        [
            [{"/a": 2, "/b": 2}, {"/a": 1, "/c": {"oldEmpty": False}}],
            [{"/a": 3}, {"/a": 1}],
        ]
    )
    assert [r.ok for r in results] == [False, True]
    assert results[0].failed_precondition == "/c"
    assert d.get("/a") == 3 and d.get("/b") is None


def test_preconditions_are_checked_before_the_updates(d: Driver) -> None:
    # The update sets /a, but the precondition on /a is judged on the state before.
    assert d.one({"/a": 1}, {"/a": {"oldEmpty": True}}).ok
    assert not d.one({"/a": 2, "/b": 1}, {"/b": {"old": 1}}).ok


def test_leader_race_with_old_empty(d: Driver) -> None:
    race = {"/arango/Plan/AsyncReplication/Leader": {"oldEmpty": True}}
    first = d.one({"/arango/Plan/AsyncReplication/Leader": "s1"}, race)
    second = d.one({"/arango/Plan/AsyncReplication/Leader": "s2"}, race)
    assert first.ok and not second.ok
    assert d.get("/arango/Plan/AsyncReplication/Leader") == "s1"


# ---------------------------------------------------------------------- reads


def test_read_returns_values_under_their_full_path(d: Driver) -> None:
    d.one({"/arango/Plan/X": {"y": 1}, "/arango/Plan/Z": 2, "/other": 3})
    res = d.store.read(
        [["/arango/Plan/X"], ["/arango/Plan/X", "/other", "/nope"], ["/missing"], []]
    )
    assert res == [
        {"arango": {"Plan": {"X": {"y": 1}}}},
        {"arango": {"Plan": {"X": {"y": 1}}}, "other": 3},
        {},
        {},
    ]


def test_read_overlapping_paths_and_root(d: Driver) -> None:
    d.one({"/a/b": 1, "/a/c": 2, "/d": 3})
    assert d.store.read([["/a/b", "/a"]]) == [{"a": {"b": 1, "c": 2}}]
    assert d.store.read([["/"]]) == [{"a": {"b": 1, "c": 2}, "d": 3}]
    # the existing part of the path, down to the leaf it runs into
    assert d.store.read([["/a/b/deeper"]]) == [{"a": {"b": {}}}]
    assert d.store.read([["/x/y"]]) == [{}]


def test_read_results_are_copies(d: Driver) -> None:
    d.one({"/a/l": [1]})
    d.store.read([["/a"]])[0]["a"]["l"].append(2)
    assert d.get("/a/l") == [1]


# ------------------------------------------------------------------------ TTL


def test_ttl_expiry_through_a_log_entry(d: Driver) -> None:
    d.write([[{"/t/k": {"op": "set", "new": 1, "ttl": 5}}]], now=100.0)
    assert d.store.ttl_of("/t/k") == 105.0
    assert d.store.due_expiries(104.9) is None
    entry = d.store.due_expiries(105.0)
    assert entry == {"kind": "expire", "keys": [["/t/k", 105.0]]}
    assert entry is not None
    r = d.entry(json.loads(json.dumps(entry)))  # as it comes back from the log
    assert r.ok and r.changed == ["/t/k"]
    assert d.get("/t/k") is None and d.get("/t") == {}
    assert d.store.due_expiries(1e12) is None


def test_ttl_refresh_that_raced_the_expiry_wins(d: Driver) -> None:
    d.write([[{"/k": {"op": "set", "new": 1, "ttl": 5}}]], now=100.0)
    stale = d.store.due_expiries(106.0)
    assert stale is not None
    d.write([[{"/k": {"op": "set", "new": 2, "ttl": 5}}]], now=105.5)  # refresh committed first
    r = d.entry(stale)
    assert r.changed == []
    assert d.get("/k") == 2
    assert d.store.ttl_of("/k") == 110.5


def test_ttl_applied_twice_deletes_once(d: Driver) -> None:
    d.write([[{"/k": {"op": "set", "new": 1, "ttl": 1}}]], now=0.0)
    entry = d.store.due_expiries(2.0)
    assert entry is not None
    assert d.entry(entry).changed == ["/k"]
    d.one({"/k": 7})  # re-created without ttl
    assert d.entry(entry).changed == []
    assert d.get("/k") == 7


def test_set_without_ttl_or_delete_clears_ttl(d: Driver) -> None:
    d.write(
        [[{"/a": {"op": "set", "new": 1, "ttl": 1}, "/b": {"op": "set", "new": 1, "ttl": 1}}]], 0.0
    )
    d.one({"/a": 2, "/b": {"op": "delete"}})
    assert d.store.ttl_of("/a") is None and d.store.ttl_of("/b") is None
    assert d.store.due_expiries(100.0) is None


def test_replacing_a_parent_clears_child_ttls_but_in_place_ops_keep_own(d: Driver) -> None:
    d.write(
        [[{"/p/c": {"op": "set", "new": 1, "ttl": 1}, "/n": {"op": "set", "new": 1, "ttl": 1}}]],
        0.0,
    )
    d.one({"/p": {"other": 1}, "/n": {"op": "increment"}})
    assert d.store.ttl_of("/p/c") is None
    assert d.store.ttl_of("/n") == 1.0
    entry = d.store.due_expiries(2.0)
    assert entry == {"kind": "expire", "keys": [["/n", 1.0]]}


def test_expiry_of_a_parent_removes_its_children(d: Driver) -> None:
    d.write([[{"/p": {"op": "set", "new": {}, "ttl": 1}}]], 0.0)
    d.one({"/p/child": 1})
    entry = d.store.due_expiries(1.0)
    assert entry is not None
    d.entry(entry)
    assert d.get("/p") is None


# ------------------------------------------------------------------ observers


def test_observers_match_at_below_and_above(d: Driver) -> None:
    url1, url2 = "http://127.0.0.1:9/one", "http://127.0.0.1:9/two"
    r = d.one(
        {
            "/arango/Plan": {"op": "observe", "url": url1},
            "/arango/Plan/AsyncReplication/Leader": {"op": "observe", "url": url2},
        }
    )
    assert r.ok and r.changed == []
    s = d.store
    assert s.observers_for(["/arango/Plan/AsyncReplication/Leader"]) == {
        url1: ["/arango/Plan/AsyncReplication/Leader"],
        url2: ["/arango/Plan/AsyncReplication/Leader"],
    }
    assert s.observers_for(["/arango/Plan/Other", "/arango/Current/X"]) == {
        url1: ["/arango/Plan/Other"]
    }
    assert s.observers_for(["/arango"]) == {url1: ["/arango"], url2: ["/arango"]}
    assert s.observers_for(["/arango/PlanB"]) == {}
    d.one({"/arango/Plan": {"op": "unobserve", "url": url1}})
    assert s.observers_for(["/arango/Plan/X"]) == {}
    d.one({"/": {"op": "observe", "url": url1}, "/x": {"op": "observe", "url": url1}})
    assert s.observers_for(["/x", "/y"]) == {url1: ["/x", "/y"]}


def test_changed_lists_what_observers_need(d: Driver) -> None:
    r = d.one({"/a": 1, "/b": {"op": "push", "new": 1}, "/c": {"op": "delete"}})
    assert r.changed == ["/a", "/b"]


# ----------------------------------------------------------------- client ids


def test_client_ids_record_applied_transactions_only(d: Driver) -> None:
    results = d.write(
        [
            [{"/a": 1}, {}, "c1"],
            [{"/a": 2}, {"/a": 99}, "c2"],
            [{"/a": 3}, {}, "c1"],
        ]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert d.store.client_ids(["c1", "c2", "c3"]) == {"c1": [1, 3], "c2": [], "c3": []}


# ------------------------------------------------------ apply, log, snapshots


def test_noop_unknown_and_replayed_entries(d: Driver) -> None:
    assert d.entry({"kind": "noop"}).ok
    assert d.entry({"kind": "mystery"}).ok
    assert d.store.applied_index == 2
    replay = d.store.apply(
        {"kind": "write", "txn": {"ops": [["/a", {"op": "set", "new": 1}]], "pre": []}, "now": 0}, 2
    )
    assert replay.skipped and d.get("/a") is None
    bad = d.entry({"kind": "write", "txn": {"ops": "garbage"}, "now": 0})
    assert not bad.ok and d.store.applied_index == 3


def test_snapshot_round_trip(d: Driver) -> None:
    d.write(
        [
            [{"/a/b": [1, {"c": None}], "/t": {"op": "set", "new": 1, "ttl": 3}}, {}, "cid"],
            [{"/a": {"op": "observe", "url": "http://127.0.0.1:9/cb"}}],
        ],
        now=10.0,
    )
    snap = json.loads(json.dumps(d.store.snapshot()))
    copy = Store.restore(snap)
    assert copy.snapshot() == d.store.snapshot()
    assert copy.applied_index == 2
    assert copy.read([["/"]]) == d.store.read([["/"]])
    assert copy.due_expiries(13.0) == d.store.due_expiries(13.0)
    assert copy.observers_for(["/a/b"]) == {"http://127.0.0.1:9/cb": ["/a/b"]}
    assert copy.client_ids(["cid"]) == {"cid": [1]}
    # the restored store is independent of the snapshot data
    snap["tree"]["a"]["b"].append(5)
    assert copy.get("/a/b") == [1, {"c": None}]


@pytest.mark.parametrize(
    "snap",
    [
        {},
        {"version": 2},
        {
            "version": 1,
            "applied_index": -1,
            "tree": {},
            "ttls": [],
            "observers": [],
            "client_ids": [],
        },
        {"version": 1, "applied_index": 0, "tree": {}},
    ],
)
def test_restore_rejects_malformed_snapshots(snap: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Store.restore(snap)
