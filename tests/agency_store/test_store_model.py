"""Property test: random transactions on the Store and on a plain reference model agree.

The reference model below is deliberately naive (nested dicts, JSON text
comparison) and shares no code with the store.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.agency.store import Store, parse_write
from tests.agency_store.helpers import Driver

SEGMENTS = ["a", "b", "c"]


class Model:
    """Nested dicts; an update walks the path, a precondition compares JSON text."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}

    def find(self, path: str) -> tuple[bool, Any]:
        node: Any = self.root
        for seg in path.strip("/").split("/"):
            if not isinstance(node, dict) or seg not in node:
                return False, None
            node = node[seg]
        return True, node

    def put(self, path: str, value: Any) -> None:
        segs = path.strip("/").split("/")
        node = self.root
        for seg in segs[:-1]:
            if not isinstance(node.get(seg), dict):
                node[seg] = {}
            node = node[seg]
        node[segs[-1]] = copy.deepcopy(value)

    def drop(self, path: str) -> None:
        segs = path.strip("/").split("/")
        found, parent = self.find("/".join(segs[:-1])) if len(segs) > 1 else (True, self.root)
        if found and isinstance(parent, dict):
            parent.pop(segs[-1], None)

    @staticmethod
    def same(a: Any, b: Any) -> bool:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    def holds(self, path: str, cond: Any) -> bool:
        found, value = self.find(path)
        if not isinstance(cond, dict):
            cond = {"old": cond}
        ok = True
        node = value if found else {}  # ArangoDB compares a missing node as {}
        if "old" in cond:
            ok = ok and self.same(node, cond["old"])
        if "oldNot" in cond:
            ok = ok and not self.same(node, cond["oldNot"])
        if "oldEmpty" in cond:
            ok = ok and (not found) == cond["oldEmpty"]
        if "isArray" in cond:
            ok = ok and isinstance(value, list) == cond["isArray"]
        return ok

    def update(self, path: str, spec: Any) -> None:
        if not isinstance(spec, dict) or "op" not in spec:
            self.put(path, spec)
            return
        op = spec["op"]
        found, value = self.find(path)
        if op == "set":
            self.put(path, spec["new"])
        elif op == "delete":
            self.drop(path)
        elif op in ("increment", "decrement"):
            number = value if type(value) is int else 0
            step = spec.get("step", 1)
            self.put(path, number + step if op == "increment" else number - step)
        else:
            items = list(value) if isinstance(value, list) else []
            if op == "push":
                items = items + [spec["new"]]
            elif op == "prepend":
                items = [spec["new"]] + items
            elif op == "pop":
                items = items[:-1]
            elif op == "shift":
                items = items[1:]
            self.put(path, items)

    def transact(self, updates: dict[str, Any], pre: dict[str, Any]) -> bool:
        if not all(self.holds(p, c) for p, c in pre.items()):
            return False
        for path in sorted(updates):  # ArangoDB applies updates in path order
            self.update(path, updates[path])
        return True


paths = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).map(lambda s: "/" + "/".join(s))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(SEGMENTS), inner, max_size=3)
    ),
    max_leaves=6,
)
operations = st.one_of(
    values.filter(lambda v: not isinstance(v, dict) or "op" not in v),
    st.builds(lambda v: {"op": "set", "new": v}, values),
    st.just({"op": "delete"}),
    st.sampled_from(["increment", "decrement"]).flatmap(
        lambda name: st.one_of(
            st.just({"op": name}), st.integers(-5, 5).map(lambda n: {"op": name, "step": n})
        )
    ),
    st.builds(lambda name, v: {"op": name, "new": v}, st.sampled_from(["push", "prepend"]), values),
    st.sampled_from([{"op": "pop"}, {"op": "shift"}]),
)
conditions = st.one_of(
    scalars,
    st.builds(lambda v: {"old": v}, values),
    st.builds(lambda v: {"oldNot": v}, values),
    st.builds(lambda b: {"oldEmpty": b}, st.booleans()),
    st.builds(lambda b: {"isArray": b}, st.booleans()),
)
transactions = st.tuples(
    st.dictionaries(paths, operations, min_size=0, max_size=4),
    st.dictionaries(paths, conditions, max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(transactions, min_size=1, max_size=12), st.lists(paths, min_size=1, max_size=3))
def test_store_matches_reference_model(
    txns: list[tuple[dict[str, Any], dict[str, Any]]], probes: list[str]
) -> None:
    driver = Driver()
    model = Model()
    for updates, pre in txns:
        (result,) = driver.write([[updates, pre]])
        assert result.ok == model.transact(updates, pre)
        assert Model.same(driver.store.read([["/"]])[0], model.root)
    for path in probes:
        found, value = model.find(path)
        assert Model.same(driver.get(path), value if found else None)
    # a replica applying the same log, and one restored from a snapshot, agree too
    replica = Store.restore(json.loads(json.dumps(driver.store.snapshot())))
    assert replica.read([probes, ["/"]]) == driver.store.read([probes, ["/"]])


@settings(max_examples=100, deadline=None)
@given(st.lists(transactions, min_size=1, max_size=8))
def test_two_agents_applying_the_same_log_agree(
    txns: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    a, b = Driver(), Driver()
    for updates, pre in txns:
        entries = json.loads(json.dumps(parse_write([[updates, pre]], 5.0)))
        for entry in entries:
            assert a.entry(entry) == b.entry(copy.deepcopy(entry))
    assert a.store.snapshot() == b.store.snapshot()
