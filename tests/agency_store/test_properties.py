"""Property tests: TTL expiry racing refreshes, and supervision judging random heartbeat schedules."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from cluster.agency.supervision import Supervision, SupervisionConfig
from tests.agency_store.helpers import Driver
from tests.agency_store.test_supervision import LEADER, FakeAgent

# ------------------------------------------------------------------------ TTL

KEYS = ["/k1", "/k2", "/k3"]
actions = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(KEYS), st.integers(0, 9), st.none()),
    st.tuples(st.just("set"), st.sampled_from(KEYS), st.integers(0, 9), st.integers(1, 5)),
    st.tuples(st.just("delete"), st.sampled_from(KEYS), st.just(0), st.none()),
    st.tuples(st.just("propose"), st.just(""), st.just(0), st.none()),
    st.tuples(st.just("commit"), st.just(""), st.integers(0, 3), st.none()),
    st.tuples(st.just("tick"), st.just(""), st.integers(1, 3), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(actions, max_size=30))
def test_expiry_deletes_exactly_the_keys_still_carrying_that_expiry(
    steps: list[tuple[str, str, int, int | None]],
) -> None:
    """Expire entries proposed at one time and committed later, interleaved with writes."""
    d = Driver()
    model: dict[str, tuple[int, float | None]] = {}
    proposed: list[dict[str, Any]] = []
    now = 0.0
    for kind, key, number, ttl in steps:
        if kind == "tick":
            now += number
        elif kind == "set":
            op: Any = {"op": "set", "new": number, "ttl": ttl} if ttl else number
            d.write([[{key: op}]], now=now)
            model[key] = (number, now + ttl if ttl else None)
        elif kind == "delete":
            d.one({key: {"op": "delete"}})
            model.pop(key, None)
        elif kind == "propose":
            entry = d.store.due_expiries(now)
            expected = sorted(k for k, (_, exp) in model.items() if exp is not None and exp <= now)
            assert [k for k, _ in (entry or {"keys": []})["keys"]] == expected
            if entry is not None:
                proposed.append(json.loads(json.dumps(entry)))
        elif kind == "commit" and proposed:
            entry = proposed.pop(min(number, len(proposed) - 1))
            d.entry(entry)
            for key_, exp in entry["keys"]:
                if key_ in model and model[key_][1] == exp:
                    del model[key_]
        for k in KEYS:
            assert d.get(k) == (model[k][0] if k in model else None)
            assert d.store.ttl_of(k) == (model[k][1] if k in model else None)


# ---------------------------------------------------------------- supervision

SERVERS = ["s1", "s2", "s3"]
CFG = SupervisionConfig(interval=0.25, ok_threshold=1.5, grace_period=3.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sets(st.sampled_from(SERVERS), max_size=1), min_size=24, max_size=48),
    st.fixed_dictionaries(
        {"s1": st.tuples(st.integers(0, 12), st.integers(8, 40))},
        optional={s: st.tuples(st.integers(0, 30), st.integers(4, 30)) for s in SERVERS[1:]},
    ),
    st.dictionaries(st.sampled_from(SERVERS[1:]), st.integers(0, 3)),
)
def test_supervision_follows_the_heartbeat_definition(
    skips: list[set[str]], outages: dict[str, tuple[int, int]], ticks: dict[str, int]
) -> None:
    """Servers beat every step except in their outage window and at random skips."""
    agent = FakeAgent()
    agent.write_now([[{LEADER: "s1", "/arango/Plan/AsyncReplication/Epoch": 1}]])
    agent.beat(*SERVERS)
    for server, tick in ticks.items():
        agent.report(server, tick)
    sup = Supervision(agent, CFG)
    changed_at: dict[str, float] = {}
    seen_change: set[str] = set()
    failovers = 0
    for step, skipped in enumerate(skips):
        now = step * CFG.interval
        beating = {
            s
            for s in SERVERS
            if s not in skipped and not (s in outages and outages[s][0] <= step < sum(outages[s]))
        }
        if beating:
            agent.beat(*sorted(beating))
        for server in SERVERS:
            if server not in changed_at or server in beating:
                if server in changed_at:
                    seen_change.add(server)
                changed_at[server] = now
        leader_before = agent.value(LEADER)
        health_before = {s: agent.status(s) for s in SERVERS}
        txns = sup.step(now, now_wall_ms=step)
        results = agent.write_now(txns) if txns else []
        expected = {}
        for server in SERVERS:
            elapsed = now - changed_at[server]
            status = "GOOD" if elapsed <= 1.5 else "BAD" if elapsed <= 3.0 else "FAILED"
            expected[server] = status
            assert agent.status(server) == status, (server, now, elapsed)
        leader_after = agent.value(LEADER)
        if leader_after != leader_before:
            failovers += 1
            assert results[-1] != 0
            assert expected[leader_before] == "FAILED"
            assert expected[leader_after] == "GOOD" and leader_after in seen_change
            good = [s for s in SERVERS if expected[s] == "GOOD" and s in seen_change and s in ticks]
            best = max(ticks[s] for s in good)
            assert ticks[leader_after] == best
            assert leader_after == min(s for s in good if ticks[s] == best)
        else:
            # no promotion although one was possible would be a liveness bug
            good = [s for s in SERVERS if s != leader_before and expected[s] == "GOOD"]
            possible = [s for s in good if s in seen_change and s in ticks]
            assert not (expected[leader_before] == "FAILED" and possible), (now, health_before)
    assert failovers == len(agent.value("/arango/Target/FailoverJobs") or [])
    event(f"failovers: {failovers}")
