"""Unit tests of the planned switchover with fakes: what the leader refuses, waits for, writes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cluster.common.errors import ArangoError
from cluster.server.handover import QUIET, SWITCHOVERS, HandoverError, validate_target
from cluster.server.leadership import Leadership, Role
from tests.server_failover.test_units import FakeAgency, FakeApplier, FakeStorage, _cfg, _cycles

PLAN = "/Plan/AsyncReplication"


class ListAgency(FakeAgency):
    """The fake agency, plus the ``push`` and ``delete`` a switchover writes."""

    async def write(
        self, updates: dict[str, Any], preconditions: dict[str, Any] | None = None
    ) -> bool:
        plain = {p: op for p, op in updates.items() if op["op"] in ("set", "increment")}
        if not await super().write(plain, preconditions):
            return False
        for path, op in updates.items():
            if op["op"] == "push":
                self.tree[path] = [*(self.tree.get(path) or []), op["new"]]
            elif op["op"] == "delete":
                self.tree.pop(path, None)
        return True


async def _leader(tick: int = 10) -> tuple[Leadership, ListAgency, FakeStorage]:
    """s1 leads epoch 1 at ``tick``; s2 and s3 are GOOD followers."""
    agency, storage = ListAgency(), FakeStorage()
    lead = Leadership(_cfg(), storage, agency, FakeApplier())  # type: ignore[arg-type]
    for sid in ("s2", "s3"):
        agency.tree[f"/Sync/ServerStates/{sid}"] = {"endpoint": f"http://{sid}:1"}
        agency.tree[f"/Supervision/Health/{sid}"] = {"Status": "GOOD"}
        agency.tree[f"/Supervision/Health/{sid}/Status"] = "GOOD"
    await _cycles(lead)
    assert lead.role == Role.LEADER and lead.epoch == 1
    storage.tick = tick
    return lead, agency, storage


def _handing_over(lead: Leadership) -> bool:
    """A call, so a type checker does not carry an earlier narrowing."""
    return lead.handing_over


def _error(call: Any) -> ArangoError:
    with pytest.raises(ArangoError) as err:
        call()
    return err.value


def test_switchover_waits_for_a_follower_holding_every_write_then_moves_the_key() -> None:
    async def run() -> None:
        lead, agency, storage = await _leader()
        lead.acks.record("s3", 1, 6)  # s3 holds up to tick 5 only
        task = asyncio.create_task(lead.switchover(wait_s=5.0))
        await asyncio.sleep(QUIET + 0.1)
        assert _handing_over(lead) and lead.handover_tick == 10
        refused = _error(lead.check_write)
        assert (refused.code, refused.error_num) == (503, 1495)
        assert refused.headers["X-Arango-Endpoint"] == ""
        assert _error(lambda: lead.check_read(False)).error_num == 1495
        assert lead.check_read(True) is True  # dirty reads stay allowed
        await lead.commit(10)  # landed before the target tick: acknowledged
        storage.tick = 11
        late = await _raises(lead.commit(11))
        assert late.error_num == 1457  # after the target tick: never acknowledged
        assert not task.done()
        lead.acks.record("s2", 1, 11)  # s2 now holds tick 10
        done = await asyncio.wait_for(task, 2.0)
        assert (done["old"], done["new"], done["epoch"], done["tick"]) == ("s1", "s2", 2, 10)
        assert agency.tree[f"{PLAN}/Leader"] == "s2" and agency.tree[f"{PLAN}/Epoch"] == 2
        assert agency.tree[SWITCHOVERS][-1]["old"] == "s1"
        assert agency.tree[SWITCHOVERS][-1]["new"] == "s2"
        assert lead.role == Role.FOLLOWER and lead.leader_id == "s2" and lead.epoch == 2
        assert not _handing_over(lead)
        moved = _error(lead.check_write)
        assert moved.error_num == 1496 and moved.headers["X-Arango-Endpoint"] == "http://s2:1"

    asyncio.run(run())


async def _raises(call: Any) -> ArangoError:
    with pytest.raises(ArangoError) as err:
        await call
    return err.value


def test_no_follower_in_time_leaves_the_leader_leading() -> None:
    async def run() -> None:
        lead, agency, _ = await _leader()
        err = await _raises(lead.switchover(wait_s=0.3))
        assert isinstance(err, HandoverError) and err.code == 503
        assert "keeps leading" in err.message
        assert agency.tree[f"{PLAN}/Leader"] == "s1"
        assert not lead.handing_over and lead.role == Role.LEADER
        lead.check_write()  # takes writes again at once

    asyncio.run(run())


def test_a_refused_agency_write_drops_the_lease() -> None:
    async def run() -> None:
        lead, agency, _ = await _leader()
        lead.acks.record("s2", 1, 11)
        agency.tree[f"{PLAN}/Epoch"] = 7  # someone changed the Plan meanwhile
        err = await _raises(lead.switchover(to="s2"))
        assert err.code == 503 and "refused" in err.message
        assert agency.tree[f"{PLAN}/Leader"] == "s1" and SWITCHOVERS not in agency.tree
        assert _error(lead.check_write).error_num == 1496  # until a heartbeat reads the Plan

    asyncio.run(run())


def test_targets_are_checked_before_anything_stops() -> None:
    async def run() -> None:
        lead, agency, _ = await _leader()
        assert (await _raises(lead.switchover(to="s1"))).code == 400
        unknown = await _raises(lead.switchover(to="s9"))
        assert unknown.code == 400 and "s2, s3" in unknown.message
        lead.health["s3"] = "BAD"
        assert (await _raises(lead.switchover(to="s3"))).code == 503
        lead.health["s2"] = "FAILED"
        assert "no GOOD follower" in (await _raises(lead.switchover())).message
        assert not lead.handing_over
        lead.check_write()

    asyncio.run(run())


def test_a_follower_refuses_to_hand_over() -> None:
    async def run() -> None:
        lead, agency, _ = await _leader()
        agency.tree[f"{PLAN}/Leader"] = "s2"
        agency.tree[f"{PLAN}/Epoch"] = 2
        await _cycles(lead)
        err = await _raises(lead.switchover())
        assert err.error_num == 1496 and err.headers["X-Arango-Endpoint"] == "http://s2:1"

    asyncio.run(run())


@pytest.mark.parametrize("bad", [3, True, ["s2"], "x" * 65, "s\n2"])
def test_bad_targets_are_refused(bad: Any) -> None:
    assert _error(lambda: validate_target(bad)).code == 400


def test_empty_target_means_any_follower() -> None:
    assert validate_target(None) is None and validate_target("") is None
    assert validate_target("s2") == "s2"
