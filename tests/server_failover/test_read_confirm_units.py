"""Unit tests of the leader-read confirmation (``Leadership.confirm_read``) with fakes."""

from __future__ import annotations

import asyncio

import pytest

from cluster.common import clock
from cluster.common.errors import ArangoError
from cluster.server.leadership import Leadership
from tests.server_failover.test_units import FakeAgency, FakeStorage, _cycles, _leadership


async def _sync_leader() -> tuple[Leadership, FakeAgency, FakeStorage]:
    lead, agency, storage, _ = _leadership(
        replication="sync", sync_timeout="0.3", lease="0.3", heartbeat_interval="0.1"
    )
    agency.tree["/Supervision/Health/s2"] = "GOOD"
    await _cycles(lead)
    lead.acks.record("s2", lead.epoch, storage.tick + 1)  # s2 holds everything so far
    await lead._cycle(clock.monotonic())  # names s2 as sync follower
    assert lead.sync.current == "s2"
    return lead, agency, storage


def test_sync_read_waits_for_the_follower_then_answers() -> None:
    async def run() -> None:
        lead, _, storage = await _sync_leader()
        await lead.confirm_read(storage.tick)  # committed already: at once
        storage.tick += 1  # a local write the follower does not have yet
        waiting = asyncio.create_task(lead.confirm_read(storage.tick))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        lead.acks.record("s2", lead.epoch, storage.tick + 1)
        await asyncio.wait_for(waiting, 1.0)

    asyncio.run(run())


def test_sync_read_of_unacknowledged_state_is_refused() -> None:
    async def run() -> None:
        lead, _, storage = await _sync_leader()
        storage.tick += 1
        await lead._cycle(clock.monotonic())  # keep the lease fresh
        with pytest.raises(ArangoError) as err:
            await lead.confirm_read(storage.tick)
        assert err.value.code == 503 and err.value.error_num in (1495, 1496)

    asyncio.run(run())


def test_read_after_lease_expiry_is_refused_in_async_mode() -> None:
    async def run() -> None:
        lead, agency, storage, _ = _leadership(lease="0.3", heartbeat_interval="0.1")
        await _cycles(lead)
        await lead.confirm_read(storage.tick)
        assert lead.role_info()["role"] == "leader"
        agency.fail = True
        for _ in range(250):  # the 0.3 s lease runs out on the monotonic clock; poll <= 5 s
            if lead.role_info()["leaseValid"] is False:
                break
            await asyncio.sleep(0.02)
        with pytest.raises(ArangoError) as err:
            await lead.confirm_read(storage.tick)
        assert err.value.error_num == 1496
        info = lead.role_info()
        assert info["role"] == "fenced" and info["leaseValid"] is False

    asyncio.run(run())
