"""The linearizability checker's fast paths, each against the plain search.

- dropping unobserved ``info`` writes and cas (:func:`drop_unobserved`);
- the unique-value zone check (:mod:`lin_unique`);
- the byte-bounded memo and time budget (``unknown`` with its reason);
- the same verdict and output under ``jobs`` > 1.

Random small histories (Hypothesis) are decided three ways, which must
agree: brute force over all orders, the plain search with nothing dropped,
and the full checker.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.bench.histories import unique_register_history
from harness.checkers.lin_prepare import NEVER, Call, drop_unobserved, split_by_key
from harness.checkers.lin_search import search
from harness.checkers.lin_unique import check_unique
from harness.checkers.linearizable import check_linearizable
from harness.checkers.models import IMPOSSIBLE, get_model
from harness.core.history import Op, pair_ops
from tests.checkers.helpers import history


def _calls(ops: list[Op], model: str) -> list[Call]:
    by_key = split_by_key(pair_ops(ops), get_model(model), keyed=False)
    return by_key.get(None, [])


def _brute(model_name: str, calls: list[Call]) -> bool:
    """Some subset of the info ops plus all completed ops, in some order, respects real time."""
    model = get_model(model_name)
    done = [c for c in calls if c.ret != NEVER]
    infos = [c for c in calls if c.ret == NEVER]
    for r in range(len(infos) + 1):
        for chosen in itertools.combinations(infos, r):
            ops = done + list(chosen)
            for order in itertools.permutations(ops):
                if not _respects_time(order):
                    continue
                state: Any = model.init()
                for c in order:
                    state = model.step(state, c.f, c.value)
                    if state is IMPOSSIBLE:
                        break
                else:
                    return True
    return False


def _respects_time(order: tuple[Call, ...]) -> bool:
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if b.ret < a.call:  # b completed before a was invoked, yet comes after it
                return False
    return True


@st.composite
def small_histories(draw: st.DrawFn, unique: bool) -> tuple[list[Op], str]:
    """Up to 5 ops over 3 processes: reads, writes (and cas unless ``unique``), some info."""
    model = "register" if unique else "cas-register"
    n = draw(st.integers(1, 5))
    rng = random.Random(draw(st.integers(0, 10**6)))
    fresh = iter(range(1, 100))
    events: list[tuple[int, int, Any]] = []
    written: list[int] = []
    v: Any
    for k in range(n):
        start = rng.randrange(20)
        end = start + 1 + rng.randrange(8)
        roll = rng.random()
        kind = "ok" if rng.random() < 0.75 else "info"
        if roll < 0.4:
            f, v, out = "read", None, rng.choice([None, *written, 99])
            if kind == "info":
                kind = "ok"
        elif roll < 0.8 or unique:
            v = next(fresh) if unique else rng.randrange(3)
            written.append(v)
            f, out = "write", v
        else:
            f = "cas"
            v = [rng.choice([None, *written]) if written else None, rng.randrange(3)]
            out = v
        events.append((start, 0, (k, f, v, kind, out)))
        if kind != "info" or rng.random() < 0.5:
            events.append((end, 1, (k, f, v, kind, out)))
    events.sort(key=lambda e: (e[0], e[1]))
    rows = []
    for _, is_end, (k, f, v, kind, out) in events:
        if is_end:
            rows.append((k, kind, f, out))
        else:
            rows.append((k, "invoke", f, v))
    return history(*rows), model


def _three_ways(ops: list[Op], model: str) -> None:
    calls = _calls(ops, model)
    expected = _brute(model, calls)
    plain = search(get_model(model), calls).valid
    full = check_linearizable(ops, model).valid
    assert plain is expected, f"plain search {plain}, brute force {expected}"
    assert full is expected, f"checker {full}, brute force {expected}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_histories(unique=True))
def test_unique_value_path_agrees_with_search_and_brute_force(case: tuple[list[Op], str]) -> None:
    _three_ways(*case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_histories(unique=False))
def test_dropping_info_ops_keeps_the_verdict(case: tuple[list[Op], str]) -> None:
    _three_ways(*case)


def test_unobserved_info_write_is_dropped_and_observed_one_kept() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "info", "write", 1),
        (1, "invoke", "write", 2),
        (1, "info", "write", 2),
        (2, "invoke", "read", None),
        (2, "ok", "read", 2),
    )
    calls = _calls(h, "register")
    kept, dropped = drop_unobserved(get_model("register"), calls)
    assert [c.value for c in dropped] == [1]
    assert [c.value for c in kept] == [2, 2]


def test_info_cas_whose_new_value_nobody_reads_is_dropped() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (1, "invoke", "cas", [1, 5]),
        (1, "info", "cas", [1, 5]),
        (2, "invoke", "read", None),
        (2, "ok", "read", 1),
    )
    calls = _calls(h, "cas-register")
    kept, dropped = drop_unobserved(get_model("cas-register"), calls)
    assert [c.f for c in dropped] == ["cas"]
    assert check_linearizable(h).valid is True


def test_info_cas_whose_new_value_is_read_must_have_happened() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (1, "invoke", "cas", [2, 5]),
        (1, "info", "cas", [2, 5]),
        (2, "invoke", "read", None),
        (2, "ok", "read", 5),
    )
    # the cas needed 2, which nobody wrote: reading 5 is impossible
    assert check_linearizable(h).valid is False


def test_chain_of_drops() -> None:
    """Dropping one info op can make another's value unneeded."""
    h = history(
        (0, "invoke", "write", 1),
        (0, "info", "write", 1),
        (1, "invoke", "cas", [1, 2]),
        (1, "info", "cas", [1, 2]),
    )
    calls = _calls(h, "cas-register")
    kept, dropped = drop_unobserved(get_model("cas-register"), calls)
    assert kept == [] and len(dropped) == 2


@pytest.mark.parametrize("anomaly", [None, "stale-read", "lost-write"])
@pytest.mark.parametrize("info", [0.0, 0.2])
def test_generated_unique_histories(anomaly: str | None, info: float) -> None:
    ops, injected = unique_register_history(600, 8, 2, info, seed=7, anomaly=anomaly)
    result = check_linearizable(ops, "register")
    assert result.valid is (anomaly is None)
    assert result.evidence["decided-by-zones"] == 2
    if anomaly:
        assert injected is not None and injected.indices
        blocked = result.evidence["failures"][0]["explain"]["blocked"]
        assert blocked["f"] == "read"


def test_zones_and_search_agree_on_generated_histories() -> None:
    model = get_model("register")
    for seed in range(6):
        anomaly = (None, "stale-read", "lost-write")[seed % 3]
        ops, _ = unique_register_history(150, 4, 1, 0.1, seed=seed, anomaly=anomaly)
        calls = _calls([_unkeyed(op) for op in ops], "register")
        kept, _ = drop_unobserved(model, calls)
        fast = check_unique(model, kept)
        assert fast is not None
        assert fast.valid is search(model, calls).valid is (anomaly is None)


def _unkeyed(op: Op) -> Op:
    v = op.value
    return Op(op.index, op.type, op.process, op.f, v[1] if isinstance(v, list) else v, op.time)


def _fold(v: Any) -> Any:
    return None if v is None else v % 3 + 1


def test_memo_bound_gives_unknown_with_reason_and_prefix() -> None:
    ops, _ = unique_register_history(400, 6, 1, 0.0, cas_rate=0.0, seed=3)
    # values made non-unique, so the search (not the zones) runs
    # values folded onto 1..3 (still linearizable), so the search, not the zones, runs
    flat = [
        Op(o.index, o.type, o.process, o.f, [0, _fold(o.value[1])], o.time)
        if isinstance(o.value, list)
        else o
        for o in ops
    ]
    assert check_linearizable(flat, "register").valid is True
    result = check_linearizable(flat, "register", memo_bytes=1)
    assert result.valid == "unknown"
    undecided = result.evidence["undecided"][0]
    assert "memo" in undecided["reason"] and undecided["bound"] == "1 bytes"
    assert undecided["prefix-completed"] >= 0


def test_time_limit_gives_unknown() -> None:
    ops, _ = unique_register_history(3000, 20, 1, 0.3, cas_rate=0.5, seed=5)
    result = check_linearizable(ops, "cas-register", key_seconds=0.0)
    assert result.valid in (True, "unknown")
    if result.valid == "unknown":
        assert "time limit" in result.summary


def test_same_result_under_jobs() -> None:
    ops, _ = unique_register_history(2000, 10, 6, 0.1, cas_rate=0.3, seed=11, anomaly="stale-read")
    one = check_linearizable(ops, "cas-register", jobs=1).to_json()
    two = check_linearizable(ops, "cas-register", jobs=3).to_json()
    for out in (one, two):
        out.pop("check-time-s")
    assert one == two
    assert one["valid"] is False
