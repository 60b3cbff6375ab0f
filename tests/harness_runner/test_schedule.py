"""Unit tests: the nemesis schedule's cycles, seeded choice and healing (fake faults)."""

from __future__ import annotations

import asyncio
import random
from typing import Any, ClassVar

import pytest

from harness.core.fault import Fault, NemesisContext, Report, report, skipped
from harness.core.schedule import NemesisSchedule
from tests.nemesis_faults.fake_backend import RecordingBackend

LOG: list[str] = []


class FakeFault(Fault):
    name = "fake"
    family = "kill"

    async def inject(self, ctx: NemesisContext) -> Report:
        LOG.append(f"inject {self.name}")
        return report(nodes=["s1"], links=[("s1", "a1")])

    async def heal(self, ctx: NemesisContext) -> Report:
        LOG.append(f"heal {self.name}")
        return report()


class A(FakeFault):
    name = "a"


class B(FakeFault):
    name = "b"


class C(FakeFault):
    name = "c"


class Broken(FakeFault):
    name = "broken"

    async def inject(self, ctx: NemesisContext) -> Report:
        raise LookupError("no leader right now")


class Idle(FakeFault):
    name = "idle"

    async def inject(self, ctx: NemesisContext) -> Report:
        return skipped("nothing to act on")


@pytest.fixture(autouse=True)
def _clear_log() -> None:
    LOG.clear()


def _ctx(seed: int = 1) -> NemesisContext:
    return NemesisContext(RecordingBackend(), random.Random(seed))


async def _run_until(schedule: NemesisSchedule, done: Any, within: float = 5.0) -> None:
    """Run the schedule until ``done()`` holds (polled), then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(schedule.run(stop))
    for _ in range(int(within / 0.01)):
        if done():
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert done(), "the schedule did not get there in time"


def test_cycles_and_heal_on_stop() -> None:
    events: list[tuple[str, int, str]] = []
    sched = NemesisSchedule(
        [A()],
        _ctx(),
        random.Random(1),
        lambda ev, fid, fault, info: events.append((ev, fid, fault.name)),
        healthy_s=0.02,
        fault_s=0.05,
    )
    asyncio.run(_run_until(sched, lambda: LOG.count("inject a") >= 2))
    assert LOG[-1] == "heal a"
    assert LOG.count("inject a") == LOG.count("heal a") >= 2
    starts = [e for e in events if e[0] == "start"]
    ends = [e for e in events if e[0] == "end"]
    assert [e[1] for e in starts] == [e[1] for e in ends]
    assert [type(f) for f in sched.applied] == [A] * len(starts)


def _draws(seed: int, n: int = 12) -> list[str]:
    LOG.clear()
    sched = NemesisSchedule(
        [A(), B(), C()],
        _ctx(),
        random.Random(seed),
        lambda *a: None,
        healthy_s=0.0,
        fault_s=0.0,
    )
    asyncio.run(_run_until(sched, lambda: LOG.count("heal a") + LOG.count("heal b") >= n // 2))
    return [x.split()[1] for x in LOG if x.startswith("inject")][: n // 2]


def test_draws_follow_the_seed() -> None:
    # what random.Random(seed).choice over [a, b, c] gives: the schedule adds no
    # randomness of its own, so these are its draws
    def expected(seed: int, n: int) -> list[str]:
        rng = random.Random(seed)
        return [rng.choice("abc") for _ in range(n)]

    first = _draws(7)
    assert first == expected(7, len(first))
    other = _draws(8)
    assert other == expected(8, len(other))
    assert first != other[: len(first)]  # a different seed draws differently


def test_failed_inject_is_reported_and_healed() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    sched = NemesisSchedule(
        [Broken()],
        _ctx(),
        random.Random(1),
        lambda ev, fid, fault, info: events.append((ev, info)),
        healthy_s=0.02,
        fault_s=0.02,
    )
    asyncio.run(_run_until(sched, lambda: bool(sched.errors)))
    assert "no leader right now" in sched.errors[0]
    assert events[0][0] == "error"
    assert "heal broken" in LOG
    assert sched.applied == []


def test_skipped_faults_are_not_applied() -> None:
    sched = NemesisSchedule(
        [Idle()], _ctx(), random.Random(1), lambda *a: None, healthy_s=0.0, fault_s=0.01
    )
    asyncio.run(_run_until(sched, lambda: len(sched.skipped) >= 2))
    assert sched.applied == [] and all(isinstance(f, Idle) for f in sched.skipped)


def test_no_faults_waits_for_stop() -> None:
    sched = NemesisSchedule([], _ctx(), random.Random(1), lambda *a: None)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sched.run(stop))
        await asyncio.sleep(0.05)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 1)

    asyncio.run(go())
    assert LOG == []


def test_a_fault_must_declare_a_known_family_and_needs() -> None:
    with pytest.raises(TypeError, match="family"):

        class NoFamily(Fault):
            name = "no-family"

    with pytest.raises(TypeError, match="family 'disk'"):

        class Disk(Fault):
            name = "disk"
            family = "disk"

    with pytest.raises(TypeError, match="needs"):

        class Needy(Fault):
            name = "needy"
            family = "kill"
            needs: ClassVar[frozenset[str]] = frozenset({"root"})


def test_mixed_runs_only_faults_whose_needs_the_backend_meets() -> None:
    from harness.cli.registry import REGISTRY
    from harness.core.runner import UnmetNeeds, runnable_faults
    from harness.core.test import Test

    backend: Any = RecordingBackend()  # offers proxies and a leader: no isolation
    mixed = Test(REGISTRY.workload("set"), 1, "mixed", REGISTRY.faults_for("mixed"))
    nem = runnable_faults(mixed, backend)
    assert set(nem.left_out) == {"isolate-leader", "isolate-agency-leader"}
    assert {f.name for f in nem.runnable} == {f.name for f in mixed.faults} - set(nem.left_out)
    isolate = Test(
        REGISTRY.workload("set"), 1, "isolate-leader", REGISTRY.faults_for("isolate-leader")
    )
    with pytest.raises(UnmetNeeds, match="isolate-leader needs isolation"):
        runnable_faults(isolate, backend)
