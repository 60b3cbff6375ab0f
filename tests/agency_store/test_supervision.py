"""Supervision on a real Store with a fake agent handle and injected monotonic times."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from cluster.agency.supervision import Supervision, SupervisionConfig, parse_tick
from tests.agency_store.helpers import Driver

P = "/arango"
LEADER = f"{P}/Plan/AsyncReplication/Leader"
EPOCH = f"{P}/Plan/AsyncReplication/Epoch"
SYNC = f"{P}/Plan/AsyncReplication/SyncFollower"


class FakeAgent:
    """An AgencyHandle over a real Store: writes go through parse_write and apply."""

    def __init__(self) -> None:
        self.driver = Driver()
        self.leader = True
        self.seq = itertools.count()
        self.writes: list[list[Any]] = []

    def is_leader(self) -> bool:
        return self.leader

    def read_local(self, path: str) -> Any | None:
        return self.driver.get(path)

    def value(self, path: str) -> Any:
        return self.driver.get(path)

    def write_now(self, transactions: list[list[Any]]) -> list[int]:
        self.writes.extend(transactions)
        results = self.driver.write(transactions)
        return [
            self.driver.index - len(results) + i + 1 if r.ok else 0 for i, r in enumerate(results)
        ]

    async def write(self, transactions: list[list[Any]]) -> list[int]:
        return self.write_now(transactions)

    def beat(self, *servers: str, time_ms: int = 0) -> None:
        key = f"{P}/Sync/ServerStates/"
        self.write_now([[{key + s: {"time": time_ms, "seq": next(self.seq)} for s in servers}]])

    def report(self, server: str, tick: Any, leader: str = "s1") -> None:
        self.write_now(
            [
                [
                    {
                        f"{P}/AsyncReplication/{server}": {
                            "op": "set",
                            "new": {"leader": leader, "lastTick": tick},
                            "ttl": 60,
                        }
                    }
                ]
            ]
        )

    def status(self, server: str) -> Any:
        return self.read_local(f"{P}/Supervision/Health/{server}/Status")


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


def run_step(sup: Supervision, agent: FakeAgent, now: float) -> list[list[Any]]:
    txns = sup.step(now, now_wall_ms=int(now * 1000))
    if txns:
        agent.write_now(txns)
    return txns


def setup_cluster(agent: FakeAgent, servers: list[str], leader: str = "s1", epoch: int = 1) -> None:
    agent.write_now([[{LEADER: leader, EPOCH: epoch}, {LEADER: {"oldEmpty": True}}]])
    agent.beat(*servers)


def test_good_bad_failed_and_back(agent: FakeAgent) -> None:
    sup = Supervision(agent, SupervisionConfig())
    agent.beat("s1", "s2")
    run_step(sup, agent, 100.0)
    assert agent.status("s1") == "GOOD" and agent.status("s2") == "GOOD"
    for t in (100.5, 101.0, 101.5, 102.0):
        agent.beat("s2")
        run_step(sup, agent, t)
    assert agent.status("s1") == "BAD"
    assert agent.status("s2") == "GOOD"
    assert agent.value(f"{P}/Target/FailedServers/s1") is None
    agent.beat("s2")
    run_step(sup, agent, 103.1)
    assert agent.status("s1") == "FAILED"
    assert agent.value(f"{P}/Target/FailedServers/s1") == {"since": 103100}
    health = agent.value(f"{P}/Supervision/Health/s1")
    assert health["LastHeartbeatAcked"] == 100000
    # no rewrite while nothing changes
    agent.beat("s2")
    assert run_step(sup, agent, 103.2) == []
    # heartbeat resumes
    agent.beat("s1", "s2")
    run_step(sup, agent, 104.0)
    assert agent.status("s1") == "GOOD"
    assert agent.value(f"{P}/Target/FailedServers/s1") is None


def test_heartbeat_timestamps_do_not_matter(agent: FakeAgent) -> None:
    """A server whose clock runs hours behind (or jumps back) is judged only by change."""
    sup = Supervision(agent, SupervisionConfig())
    times = [5_000_000_000, 1_000, 1_000, 9_999_999_999_999, -5]
    for i, wall in enumerate(times):
        agent.beat("s1", time_ms=wall)
        run_step(sup, agent, 10.0 + i)
        assert agent.status("s1") == "GOOD"
    # the same stale value forever: FAILED after the grace period, whatever it says
    agent.write_now([[{f"{P}/Sync/ServerStates/s1": {"time": 10**15, "seq": -1}}]])
    run_step(sup, agent, 20.0)
    run_step(sup, agent, 23.5)
    assert agent.status("s1") == "FAILED"


def test_fresh_leader_does_not_fail_servers_at_once(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2"])
    old = Supervision(agent, SupervisionConfig())
    run_step(old, agent, 0.0)
    assert agent.status("s1") == "GOOD"
    # A new agency leader takes over much later; the heartbeats have not changed since.
    new = Supervision(agent, SupervisionConfig())
    run_step(new, agent, 5000.0)
    assert agent.status("s1") == "GOOD" and agent.status("s2") == "GOOD"
    run_step(new, agent, 5001.0)
    assert agent.status("s1") == "GOOD"
    run_step(new, agent, 5003.5)
    assert agent.status("s1") == "FAILED"


def test_reset_restarts_observation(agent: FakeAgent) -> None:
    sup = Supervision(agent, SupervisionConfig())
    agent.beat("s1")
    run_step(sup, agent, 0.0)
    sup.reset()
    run_step(sup, agent, 50.0)
    assert agent.status("s1") == "GOOD"


def test_fresh_leader_keeps_a_failed_server_failed(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2"])
    agent.write_now([[{f"{P}/Supervision/Health/s1": {"Status": "FAILED"}}]])
    sup = Supervision(agent, SupervisionConfig())
    run_step(sup, agent, 0.0)
    assert agent.status("s1") == "FAILED"
    agent.beat("s1")  # it really comes back
    run_step(sup, agent, 0.5)
    assert agent.status("s1") == "GOOD"


def fail_leader(
    agent: FakeAgent, sup: Supervision, followers: list[str], start: float = 0.0
) -> None:
    """Step until s1 (silent) is FAILED while ``followers`` keep beating."""
    t = start
    run_step(sup, agent, t)
    while t < start + 3.2:
        t += 0.4
        agent.beat(*followers)
        run_step(sup, agent, t)


def test_failover_promotes_highest_last_tick(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2", "s3", "s4"], epoch=3)
    agent.report("s2", 10)
    agent.report("s3", "20")
    agent.report("s4", 20)
    sup = Supervision(agent, SupervisionConfig())
    fail_leader(agent, sup, ["s2", "s3", "s4"])
    assert agent.value(LEADER) == "s3"
    assert agent.value(EPOCH) == 4
    jobs = agent.value(f"{P}/Target/FailoverJobs")
    assert len(jobs) == 1
    job = jobs[0]
    assert job["old"] == "s1" and job["new"] == "s3" and job["epoch"] == 4
    assert job["candidates"] == {
        "s2": {"health": "GOOD", "lastTick": 10},
        "s3": {"health": "GOOD", "lastTick": 20},
        "s4": {"health": "GOOD", "lastTick": 20},
    }
    assert "highest lastTick" in job["reason"]
    # exactly one failover: s1 stays FAILED but is no longer the leader
    for t in (4.0, 4.4, 4.8):
        agent.beat("s2", "s3", "s4")
        run_step(sup, agent, t)
    assert len(agent.value(f"{P}/Target/FailoverJobs")) == 1


def test_failover_transaction_shape_and_preconditions(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2"])
    agent.report("s2", 7)
    sup = Supervision(agent, SupervisionConfig())
    fail_leader(agent, sup, ["s2"])
    (updates, pre) = next(txn for txn in agent.writes if txn[0].get(EPOCH) == {"op": "increment"})
    assert updates[LEADER] == "s2"
    assert updates[EPOCH] == {"op": "increment"}
    assert updates[SYNC] == {"op": "delete"}
    assert pre[f"{P}/Supervision/Health/s1/Status"] == {"old": "FAILED"}
    assert pre[f"{P}/Supervision/Health/s2/Status"] == {"old": "GOOD"}
    assert pre[LEADER] == {"old": "s1"}


def test_failover_refused_when_leader_key_changed_meanwhile(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2", "s3"])
    agent.report("s2", 7)
    sup = Supervision(agent, SupervisionConfig())
    run_step(sup, agent, 0.0)
    t = 0.0
    txns: list[list[Any]] = []
    while not any(LEADER in txn[0] for txn in txns):
        t += 0.4
        agent.beat("s2", "s3")
        txns = sup.step(t, now_wall_ms=0)
        assert t < 10
    agent.write_now([[{LEADER: "s3"}]])  # someone else moved the leader first
    results = agent.write_now(txns)
    assert results[-1] == 0
    assert agent.value(LEADER) == "s3"


def test_sync_follower_is_the_only_candidate(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2", "s3"])
    agent.write_now([[{SYNC: "s2"}]])
    agent.report("s2", 5)
    agent.report("s3", 500)
    sup = Supervision(agent, SupervisionConfig())
    fail_leader(agent, sup, ["s2", "s3"])
    assert agent.value(LEADER) == "s2"
    assert agent.value(SYNC) is None
    assert "sync follower" in agent.value(f"{P}/Target/FailoverJobs")[0]["reason"]


def test_no_promotion_while_the_sync_follower_is_not_good(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2", "s3"])
    agent.write_now([[{SYNC: "s2"}]])
    agent.report("s3", 500)
    sup = Supervision(agent, SupervisionConfig())
    fail_leader(agent, sup, ["s3"])  # s2 is silent too
    assert agent.status("s1") == "FAILED"
    assert agent.value(LEADER) == "s1"
    assert agent.value(f"{P}/Target/FailoverJobs") is None


def test_no_promotion_of_a_non_good_candidate(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2", "s3"])
    agent.report("s2", 5)
    agent.report("s3", 50)
    sup = Supervision(agent, SupervisionConfig())
    run_step(sup, agent, 0.0)
    agent.beat("s2", "s3")
    run_step(sup, agent, 0.5)
    # s1 and s3 go silent together; s2 keeps beating: s3 (higher tick) is not GOOD
    t = 0.5
    while t < 4.0:
        t += 0.4
        agent.beat("s2")
        run_step(sup, agent, t)
    assert agent.status("s3") == "FAILED"
    assert agent.value(LEADER) == "s2"


def test_no_candidate_at_all(agent: FakeAgent) -> None:
    setup_cluster(agent, ["s1", "s2"])  # s2 never reports a lastTick
    sup = Supervision(agent, SupervisionConfig())
    fail_leader(agent, sup, ["s2"])
    assert agent.value(LEADER) == "s1"


def test_candidate_not_yet_seen_alive_is_not_promoted(agent: FakeAgent) -> None:
    """After an agency failover, stored-GOOD servers must prove they are alive first."""
    setup_cluster(agent, ["s1", "s2"])
    agent.report("s2", 9)
    agent.write_now([[{f"{P}/Supervision/Health/s1": {"Status": "FAILED"}}]])
    sup = Supervision(agent, SupervisionConfig())
    run_step(sup, agent, 0.0)
    assert agent.value(LEADER) == "s1"
    agent.beat("s2")
    run_step(sup, agent, 0.3)
    assert agent.value(LEADER) == "s2"


@pytest.mark.parametrize(
    ("raw", "tick"), [(5, 5), ("123", 123), ("x", None), (True, None), (None, None), (1.5, None)]
)
def test_parse_tick(raw: Any, tick: int | None) -> None:
    assert parse_tick(raw) == tick


def test_config_validation() -> None:
    SupervisionConfig().validate()
    for bad in (
        SupervisionConfig(interval=0),
        SupervisionConfig(ok_threshold=3, grace_period=3),
        SupervisionConfig(prefix="arango"),
    ):
        with pytest.raises(ValueError):
            bad.validate()


def test_run_loop_supervises_only_while_leader(agent: FakeAgent) -> None:
    asyncio.run(asyncio.wait_for(_supervises_only_while_leader(agent), 30))


async def _supervises_only_while_leader(agent: FakeAgent) -> None:
    agent.beat("s1")
    agent.leader = False
    sup = Supervision(agent, SupervisionConfig(interval=0.01))
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    try:
        await asyncio.sleep(0.1)
        assert agent.status("s1") is None
        agent.leader = True
        for _ in range(200):
            if agent.status("s1") == "GOOD":
                break
            await asyncio.sleep(0.01)
        assert agent.status("s1") == "GOOD"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def test_run_loop_survives_write_failures() -> None:
    asyncio.run(asyncio.wait_for(_survives_write_failures(), 30))


async def _survives_write_failures() -> None:
    class Broken(FakeAgent):
        calls = 0

        async def write(self, transactions: list[list[Any]]) -> list[int]:
            Broken.calls += 1
            raise ConnectionError("agency write failed")

    broken = Broken()
    broken.beat("s1")
    sup = Supervision(broken, SupervisionConfig(interval=0.01))
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    try:
        for _ in range(200):
            if Broken.calls >= 3:
                break
            await asyncio.sleep(0.01)
        assert Broken.calls >= 3 and not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def test_discount_keeps_an_unwatched_stall_from_failing_anyone(agent: FakeAgent) -> None:
    sup = Supervision(agent, SupervisionConfig())
    agent.beat("s1")
    run_step(sup, agent, 0.0)
    sup.discount(6.0)  # the agent was paused from 0.2 s to 6.2 s
    run_step(sup, agent, 6.2)
    assert agent.status("s1") == "GOOD"
    run_step(sup, agent, 7.8)  # 1.6 s watched without a beat
    assert agent.status("s1") == "BAD"
    run_step(sup, agent, 9.3)
    assert agent.status("s1") == "FAILED"  # a real silence still fails it


def test_run_loop_does_not_count_its_own_stall_against_servers() -> None:
    asyncio.run(asyncio.wait_for(_does_not_count_its_own_stall(), 30))


async def _does_not_count_its_own_stall() -> None:
    """A blocked loop (as after SIGSTOP) resumes with every server as healthy as before."""
    agent = FakeAgent()
    agent.beat("s1", "s2")
    sup = Supervision(agent, SupervisionConfig(interval=0.05, ok_threshold=0.5, grace_period=1.0))
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(stop))
    try:
        for _ in range(100):
            if agent.status("s1") == "GOOD":
                break
            await asyncio.sleep(0.01)
        agent.beat("s1", "s2")
        await asyncio.sleep(0.1)
        time.sleep(2.0)  # noqa: ASYNC251 (the agent's event loop is blocked on purpose)
        await asyncio.sleep(0.15)  # a few ticks, and no heartbeat arrives
        assert agent.status("s1") == "GOOD" and agent.status("s2") == "GOOD"
        assert agent.value(f"{P}/Target/FailedServers/s1") is None
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
