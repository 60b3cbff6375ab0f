"""Unit tests: which nodes and links each fault picks, and that heal undoes it.

The backend here is an in-memory recorder; the effect of each fault on a real
cluster is proven by the integration tests beside this file.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest

from harness.cli.registry import FAULTS, REGISTRY, Registry
from harness.core import fault as fault_protocol
from harness.core import observe, promises
from harness.core.fault import FAMILIES, Fault, NemesisContext
from harness.core.recovery import heal_everything
from harness.infra.backends.base import Backend
from nemesis.faults.clock import ClockStrobe
from nemesis.faults.partition import majorities_ring

from .fake_backend import RecordingBackend

# what the recording backend offers: Toxiproxy links, a leader (no isolation, no docker)
RECORDABLE = sorted(n for n, cls in FAULTS.items() if cls.needs <= {"proxies", "leader"})
make_fault = REGISTRY.fault


@pytest.fixture(autouse=True)
def leaders(monkeypatch: pytest.MonkeyPatch) -> None:
    async def server_leader(backend: Backend, wait: float = 1.0) -> str:
        return "s1"

    async def agency_leader(backend: Backend, wait: float = 1.0) -> str:
        return "a2"

    async def server_roles(backend: Backend, wait: float = 1.0) -> list[dict[str, Any]]:
        return [observe.role_record(s, {"afRole": "follower", "lastTick": 0}) for s in ("s1", "s2")]

    monkeypatch.setattr(observe, "server_leader", server_leader)
    monkeypatch.setattr(observe, "agency_leader", agency_leader)
    monkeypatch.setattr(observe, "server_roles", server_roles)  # restarted servers follow


def context(seed: int = 7) -> tuple[NemesisContext, RecordingBackend]:
    backend = RecordingBackend()
    return NemesisContext(backend, random.Random(seed)), backend


def run(fault: Fault, ctx: NemesisContext) -> tuple[dict[str, Any], dict[str, Any]]:
    async def cycle() -> tuple[dict[str, Any], dict[str, Any]]:
        return await fault.inject(ctx), await fault.heal(ctx)

    return asyncio.run(cycle())


def test_registry_names_every_fault_by_its_own_name() -> None:
    for name, cls in FAULTS.items():
        fault = make_fault(name)
        assert fault.name == name and isinstance(fault, cls)
        assert fault.family in FAMILIES and fault.needs <= fault_protocol.CAPABILITIES
    # only isolation needs what the recording backend lacks; those are proven on docker
    assert set(FAULTS) - set(RECORDABLE) == {"isolate-leader", "isolate-agency-leader"}
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        make_fault("nope")


def test_registry_refuses_a_fault_under_another_name() -> None:
    with pytest.raises(ValueError, match="calls itself"):
        Registry(faults={"kill-everything": FAULTS["kill-leader"]})


def test_declared_families_are_the_promise_tables() -> None:
    assert set(FAMILIES) == set(promises.FAMILIES)


def test_mixed_and_none() -> None:
    assert [f.name for f in REGISTRY.faults_for("mixed")] == sorted(FAULTS)
    assert REGISTRY.faults_for("none") == ()
    pair = REGISTRY.faults_for("kill-leader, pause-leader")
    assert [f.name for f in pair] == ["kill-leader", "pause-leader"]


@pytest.mark.parametrize("name", RECORDABLE)
def test_heal_undoes_everything(name: str) -> None:
    ctx, backend = context()
    injected, healed = run(make_fault(name), ctx)
    assert set(injected) == {"nodes", "links", "detail"} == set(healed)
    assert injected["nodes"] or injected["links"]
    assert backend.net.cut_links == set() and backend.net.toxics == {}
    assert backend.paused == set()
    assert backend.running == {"a1", "a2", "a3", "s1", "s2"}
    assert all(clock == (0.0, 1.0) for clock in backend.clocks.values())


@pytest.mark.parametrize("name", [n for n in RECORDABLE if n != "clock-strobe"])
def test_same_seed_same_fault(name: str) -> None:
    first = run(make_fault(name), context(seed=3)[0])[0]
    again = run(make_fault(name), context(seed=3)[0])[0]
    assert first == again  # two fresh faults and contexts, one seed


def test_random_faults_follow_the_seed() -> None:
    """Faults that draw at random draw differently under another seed."""
    for name in ("partition-random-halves", "clock-bump", "slow-network", "flaky-network"):
        plans = {json.dumps(run(make_fault(name), context(seed)[0])[0]) for seed in range(6)}
        assert len(plans) > 1, name


def test_partition_leader_isolates_the_leader_but_not_from_clients() -> None:
    ctx, backend = context()

    async def inject() -> dict[str, Any]:
        return await make_fault("partition-leader").inject(ctx)

    injected = asyncio.run(inject())
    cut = backend.net.cut_links
    assert injected["nodes"] == ["s1"]
    assert {("s1", "a1"), ("s1", "a2"), ("s1", "a3"), ("s1", "s2"), ("s2", "s1")} == cut
    assert ("c", "s1") not in cut
    assert sorted(map(tuple, injected["links"])) == sorted(cut)


def test_partition_client_leader_cuts_only_the_client_link() -> None:
    ctx, backend = context()
    asyncio.run(make_fault("partition-client-leader").inject(ctx))
    assert backend.net.cut_links == {("c", "s1")}


def test_random_halves_cut_every_link_between_the_halves() -> None:
    ctx, backend = context()
    injected = asyncio.run(make_fault("partition-random-halves").inject(ctx))
    left, right = injected["detail"]["halves"]
    assert sorted(left + right) == ["a1", "a2", "a3", "s1", "s2"]
    assert len(left) == 2 and len(right) == 3
    for src, dst in backend.net.cut_links:
        assert (src in left) != (dst in left)
    for lk in backend.net.links():
        crosses = (lk.src in left) != (lk.dst in left) and lk.src != "c"
        assert crosses == ((lk.src, lk.dst) in backend.net.cut_links)


def test_agency_minority_isolates_one_agent_from_the_agents() -> None:
    ctx, backend = context()
    injected = asyncio.run(make_fault("partition-agency-minority").inject(ctx))
    victim = injected["detail"]["isolated"]
    others = {"a1", "a2", "a3"} - {victim}
    assert backend.net.cut_links == {(victim, o) for o in others} | {(o, victim) for o in others}


@pytest.mark.parametrize("n", [3, 5, 7])
def test_majorities_ring_gives_each_agent_a_distinct_majority(n: int) -> None:
    ctx, _ = context()
    nodes = [f"a{i}" for i in range(1, n + 1)]
    cut, ring = majorities_ring(nodes, ctx)
    assert sorted(ring) == nodes
    views = {x: frozenset({x} | {y for y in nodes if y != x and (x, y) not in cut}) for x in nodes}
    assert all(len(v) > n // 2 for v in views.values())
    assert len(set(views.values())) == n


def test_bridge_keeps_one_agent_connected_to_both_sides() -> None:
    ctx, backend = context()
    injected = asyncio.run(make_fault("bridge").inject(ctx))
    bridge = injected["detail"]["bridge"]
    (left,), (right,) = injected["detail"]["halves"]
    assert {bridge, left, right} == {"a1", "a2", "a3"}
    assert backend.net.cut_links == {(left, right), (right, left)}


def test_kill_and_pause_target_the_leaders() -> None:
    ctx, backend = context()
    asyncio.run(make_fault("kill-leader").inject(ctx))
    assert backend.running == {"a1", "a2", "a3", "s2"}
    asyncio.run(make_fault("kill-agency-leader").inject(ctx))
    assert "a2" not in backend.running
    asyncio.run(make_fault("pause-leader").inject(ctx))
    asyncio.run(make_fault("pause-agency-leader").inject(ctx))
    assert backend.paused == {"s1", "a2"}


def test_clock_bump_offsets_are_within_bounds() -> None:
    for seed in range(20):
        ctx, backend = context(seed)
        injected = asyncio.run(make_fault("clock-bump").inject(ctx))
        offsets = injected["detail"]["offsets"]
        assert offsets and set(offsets) == set(injected["nodes"])
        for node, offset in offsets.items():
            assert 5 <= abs(offset) <= 60
            assert backend.clocks[node] == (offset, 1.0)


def test_clock_strobe_flips_while_active() -> None:
    ctx, backend = context()
    fault = ClockStrobe()

    async def cycle() -> dict[str, Any]:
        injected = await fault.inject(ctx)
        seen: set[float] = set()
        node = injected["nodes"][0]
        deadline = asyncio.get_running_loop().time() + 5
        while (len(seen) < 2 or fault.flips < 3) and asyncio.get_running_loop().time() < deadline:
            if node in backend.clocks:
                seen.add(backend.clocks[node][0])
            await asyncio.sleep(0.01)
        assert len(seen) == 2  # the offset and zero
        return await fault.heal(ctx)

    healed = asyncio.run(cycle())
    assert healed["detail"]["flips"] >= 3
    assert all(clock == (0.0, 1.0) for clock in backend.clocks.values())


def test_network_faults_touch_links() -> None:
    ctx, backend = context()
    injected = asyncio.run(make_fault("slow-network").inject(ctx))
    assert len(backend.net.toxics) == len(backend.net.links()) == len(injected["links"])
    latency = injected["detail"]["latency_ms"]
    assert 50 <= latency <= 300 and 0 <= injected["detail"]["jitter_ms"] <= latency // 2
    ctx, backend = context()
    injected = asyncio.run(make_fault("flaky-network").inject(ctx))
    assert set(backend.net.toxics) == {tuple(lk) for lk in injected["links"]}
    assert {t for v in backend.net.toxics.values() for t, _ in v} <= {"reset_peer", "limit_data"}


def test_leader_faults_skip_when_no_leader(monkeypatch: pytest.MonkeyPatch) -> None:
    async def nobody(backend: Backend, wait: float = 1.0) -> None:
        return None

    monkeypatch.setattr(observe, "server_leader", nobody)
    monkeypatch.setattr(fault_protocol, "LEADER_WAIT_S", 0.0)
    ctx, backend = context()
    for name in ("partition-leader", "kill-leader", "pause-leader", "partition-client-leader"):
        fault = make_fault(name)

        async def cycle(f: Fault = fault) -> tuple[dict[str, Any], dict[str, Any]]:
            return await f.inject(ctx), await f.heal(ctx)

        injected, healed = asyncio.run(cycle())
        assert "skipped" in injected["detail"], name
        assert backend.net.cut_links == set() and backend.running == set(backend._nodes)


def test_heal_everything_restores_a_messy_cluster() -> None:
    ctx, backend = context()

    async def mess() -> list[str]:
        await backend.kill("s2")
        await backend.pause("a1")
        await backend.set_clock("s1", 30.0, 2.0)
        await backend.net.cut([("s1", "a1")])
        return await heal_everything(backend)

    problems = asyncio.run(mess())
    assert problems == []
    assert ("start", "s2") in backend.events
    assert backend.running == set(backend._nodes) and backend.paused == set()
    assert backend.net.cut_links == set()
    assert backend.clocks["s1"] == (0.0, 1.0)
