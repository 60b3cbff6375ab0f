"""Unit tests: the graceful restarts stop and start servers in the planned order."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from harness.core import observe
from harness.core.fault import NemesisContext
from harness.infra.backends.base import Backend
from nemesis.faults.restart_leader import RestartLeader
from nemesis.faults.rolling_restart import RollingRestart

from .fake_backend import RecordingBackend


def _roles(following: bool) -> Any:
    async def server_roles(backend: Backend, wait: float = 1.0) -> list[dict[str, Any]]:
        role = "follower" if following else "down"
        return [observe.role_record(s, {"afRole": role, "lastTick": 5}) for s in ("s1", "s2", "s3")]

    return server_roles


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> RecordingBackend:
    async def server_leader(backend: Backend, wait: float = 1.0) -> str:
        return "s2"

    async def no_agency(backend: Backend, path: str, wait: float = 1.0) -> Any:
        raise LookupError("no agent answered")

    monkeypatch.setattr(observe, "server_leader", server_leader)
    monkeypatch.setattr(observe, "server_roles", _roles(True))
    monkeypatch.setattr(observe, "agency_read", no_agency)
    return RecordingBackend(servers=3)


def _cycle(fault: Any, backend: RecordingBackend) -> tuple[dict[str, Any], dict[str, Any]]:
    ctx = NemesisContext(backend, random.Random(1))

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        return await fault.inject(ctx), await fault.heal(ctx)

    return asyncio.run(run())


def test_rolling_restart_goes_through_the_followers_before_the_leader(
    backend: RecordingBackend,
) -> None:
    injected, healed = _cycle(RollingRestart(), backend)
    assert injected["detail"] == {"planned": True, "order": ["s1", "s3", "s2"]}
    stops = [n for e, n in backend.events if e == "kill"]  # the recorder logs a stop as kill
    starts = [n for e, n in backend.events if e == "start"]
    assert stops == starts == ["s1", "s3", "s2"]
    assert healed["detail"]["restarted"] == ["s1", "s3", "s2"]
    assert {"s1", "s2", "s3"} <= backend.running


def test_restart_leader_restarts_only_the_leader(backend: RecordingBackend) -> None:
    injected, _ = _cycle(RestartLeader(), backend)
    assert injected["nodes"] == ["s2"] and injected["detail"]["planned"] is True
    assert [e for e in backend.events if e[1] != "s2"] == []


def test_a_restart_that_never_catches_up_still_leaves_every_server_running(
    backend: RecordingBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(observe, "server_roles", _roles(False))
    monkeypatch.setattr("nemesis.faults.restart_leader.CATCH_UP_S", 0.2)
    fault = RollingRestart()
    ctx = NemesisContext(backend, random.Random(1))

    async def run() -> None:
        await fault.inject(ctx)
        with pytest.raises(TimeoutError, match="did not follow"):
            await fault.heal(ctx)

    asyncio.run(run())
    assert {"s1", "s2", "s3"} <= backend.running
    assert [n for e, n in backend.events if e == "kill"] == ["s1"]  # stopped at the first


def test_healing_reports_the_switchovers_the_agency_recorded(
    backend: RecordingBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        {"old": "s1", "new": "s2", "epoch": 3, "tick": 9},
        {"old": "s2", "new": "s1", "epoch": 5, "tick": 20},
    ]
    answers = {"/arango/Plan/AsyncReplication/Epoch": 4, "/arango/Target/Switchovers": records}

    async def agency_read(backend: Backend, path: str, wait: float = 1.0) -> Any:
        return answers[path]

    monkeypatch.setattr(observe, "agency_read", agency_read)
    _, healed = _cycle(RestartLeader(), backend)
    assert healed["detail"]["switchovers"] == [{"old": "s2", "new": "s1", "epoch": 5}]
