"""The leader's check before proposing never refuses a transaction that would have applied.

:meth:`Store.precheck` lets the API keep transactions with failing
preconditions out of the log. It is only sound if every refused transaction
would also have failed at its place in the body, given that the accepted
ones before it were applied. Hypothesis searches random stores and bodies
for a counterexample; a second property shows the check refuses exactly what
fails when no transaction in the body touches another's precondition paths.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.agency.store import Store, parse_write
from cluster.agency.tree_paths import ancestors

paths = st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=3).map(
    lambda s: "/" + "/".join(s)
)
values: st.SearchStrategy[Any] = st.one_of(
    st.integers(0, 2), st.lists(st.integers(0, 2), max_size=2), st.just({})
)
updates = st.dictionaries(
    paths,
    st.one_of(
        values,
        st.just({"op": "delete"}),
        st.just({"op": "increment"}),
        st.builds(lambda v: {"op": "push", "new": v}, st.integers(0, 2)),
    ),
    min_size=1,
    max_size=2,
)
conditions = st.one_of(
    values,
    st.builds(lambda b: {"oldEmpty": b}, st.booleans()),
    st.builds(lambda v: {"in": v}, st.integers(0, 2)),
    st.builds(lambda v: {"oldNot": v}, values),
)
transactions = st.tuples(updates, st.dictionaries(paths, conditions, max_size=2))


def _store(seed: list[tuple[dict[str, Any], dict[str, Any]]]) -> Store:
    store = Store()
    for i, entry in enumerate(parse_write([[u] for u, _ in seed], 1.0), start=1):
        store.apply(entry, i)
    return store


@settings(max_examples=300, deadline=None)
@given(st.lists(transactions, max_size=3), st.lists(transactions, min_size=1, max_size=5))
def test_refused_transactions_would_have_failed(
    seed: list[tuple[dict[str, Any], dict[str, Any]]],
    body: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    store = _store(seed)
    entries = parse_write([[u, p] for u, p in body], 2.0)
    verdicts = store.precheck(entries)
    replay = copy.deepcopy(store)
    index = 100
    for entry, accepted in zip(entries, verdicts, strict=True):
        if accepted:
            index += 1
            replay.apply(copy.deepcopy(entry), index)
        else:
            assert replay.failed_preconditions(entry["txn"]["pre"]), entry


@settings(max_examples=200, deadline=None)
@given(st.lists(transactions, max_size=3), st.lists(transactions, min_size=1, max_size=5))
def test_independent_transactions_are_judged_exactly(
    seed: list[tuple[dict[str, Any], dict[str, Any]]],
    body: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    store = _store(seed)
    entries = parse_write([[u, p] for u, p in body], 2.0)
    written = [{path for path, _ in e["txn"]["ops"]} for e in entries]
    for i, entry in enumerate(entries):
        for path, _, _ in entry["txn"]["pre"]:
            for w in (w for earlier in written[:i] for w in earlier):
                if path in ancestors(w) or w in ancestors(path):
                    return  # dependent bodies are proposed and judged when applied
    verdicts = store.precheck(entries)
    assert verdicts == [not store.failed_preconditions(e["txn"]["pre"]) for e in entries]
