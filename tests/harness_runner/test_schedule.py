"""Unit tests: the nemesis schedule's cycles, seeded choice and healing (fake faults)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from harness.core.schedule import NemesisSchedule


class FakeFault:
    def __init__(self, name: str, log: list[str], fail_inject: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail_inject = fail_inject

    async def inject(self, ctx: Any) -> dict[str, Any]:
        if self.fail_inject:
            raise LookupError("no leader right now")
        self.log.append(f"inject {self.name}")
        return {"nodes": ["s1"], "links": [["s1", "a1"]]}

    async def heal(self, ctx: Any) -> dict[str, Any]:
        self.log.append(f"heal {self.name}")
        return {}


def _factories(log: list[str], broken: bool = False) -> dict[str, Any]:
    return {
        name: (lambda name=name: FakeFault(name, log, broken and name == "b"))
        for name in ("a", "b", "c")
    }


async def _run_for(schedule: NemesisSchedule, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(schedule.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 5)


def test_cycles_and_heal_on_stop() -> None:
    log: list[str] = []
    events: list[tuple[str, int, str]] = []
    sched = NemesisSchedule(
        ["a"],
        _factories(log),
        None,
        random.Random(1),
        lambda ev, fid, name, info: events.append((ev, fid, name)),
        healthy_s=0.05,
        fault_s=0.1,
    )
    asyncio.run(_run_for(sched, 0.5))
    assert log and log[-1] == "heal a"
    assert log.count("inject a") == log.count("heal a") >= 2
    starts = [e for e in events if e[0] == "start"]
    ends = [e for e in events if e[0] == "end"]
    assert [e[1] for e in starts] == [e[1] for e in ends]


def test_mixed_draws_with_the_seed() -> None:
    def draws(seed: int) -> list[str]:
        log: list[str] = []
        facs = _factories(log)
        names = NemesisSchedule.faults_for("mixed", facs)
        sched = NemesisSchedule(
            names, facs, None, random.Random(seed), lambda *a: None, healthy_s=0.01, fault_s=0.01
        )
        asyncio.run(_run_for(sched, 0.4))
        return [x for x in log if x.startswith("inject")][:5]

    assert NemesisSchedule.faults_for("mixed", _factories([])) == ["a", "b", "c"]
    assert NemesisSchedule.faults_for("none", _factories([])) == []
    assert draws(7) == draws(7)


def test_failed_inject_is_reported_and_healed() -> None:
    log: list[str] = []
    events: list[tuple[str, dict[str, Any]]] = []
    sched = NemesisSchedule(
        ["b"],
        _factories(log, broken=True),
        None,
        random.Random(1),
        lambda ev, fid, name, info: events.append((ev, info)),
        healthy_s=0.05,
        fault_s=0.05,
    )
    asyncio.run(_run_for(sched, 0.2))
    assert sched.errors and "no leader right now" in sched.errors[0]
    assert events[0][0] == "error"
    assert "heal b" in log


def test_unknown_fault_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown fault"):
        NemesisSchedule(["zz"], _factories([]), None, random.Random(), lambda *a: None)
