"""Raft in one process: async drivers over an in-memory transport that can cut links,
and the pure core fed messages by hand (the simulator covers the randomized rest)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from cluster.agency.log_store import LogEntry, LogStore, Snapshot
from cluster.agency.raft import RaftNode
from cluster.agency.raft_core import RaftCore
from cluster.agency.raft_core_log import CoreLog
from cluster.agency.raft_core_msgs import (
    APP,
    LEADER,
    PREVOTE,
    VOTE,
    VOTE_RESP,
    CoreConfig,
    HardState,
    Message,
    ReadState,
    RecoveredState,
)
from cluster.agency.raft_types import (
    RPC_APPEND_ENTRIES,
    RPC_REQUEST_VOTE,
    NotLeader,
    RaftSettings,
    StateMachine,
)

pytestmark = pytest.mark.timeout(60)


class ListMachine:
    """A state machine that records what it applied."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.applied: list[Any] = list((data or {}).get("applied", []))

    def apply(self, entry: dict[str, Any], index: int) -> Any:
        if entry.get("kind") == "noop":
            return None
        self.applied.append(entry["v"])
        return index

    def snapshot(self) -> dict[str, Any]:
        return {"applied": list(self.applied)}


def make_machine(data: dict[str, Any] | None) -> StateMachine:
    return ListMachine(data)


class Net:
    """Delivers RPCs between nodes of one event loop; ``cut`` holds directed links down."""

    def __init__(self) -> None:
        self.nodes: dict[str, RaftNode] = {}
        self.cut: set[tuple[str, str]] = set()

    def transport(self, src: str) -> Any:
        net = self

        class _T:
            async def call(
                self, peer: str, rpc: str, body: dict[str, Any], time_limit: float
            ) -> dict[str, Any] | None:
                await asyncio.sleep(0.001)
                if (src, peer) in net.cut or (peer, src) in net.cut or peer not in net.nodes:
                    await asyncio.sleep(min(time_limit, 0.05))
                    return None
                node = net.nodes[peer]
                if rpc == RPC_REQUEST_VOTE:
                    return node.handle_request_vote(body)
                if rpc == RPC_APPEND_ENTRIES:
                    return node.handle_append_entries(body)
                return node.handle_install_snapshot(body)

        return _T()

    def isolate(self, ident: str) -> None:
        for other in self.nodes:
            if other != ident:
                self.cut.add((ident, other))


def settings(ident: str, ids: list[str], **kw: Any) -> RaftSettings:
    base: dict[str, Any] = {
        "heartbeat_interval": 0.02,
        "election_timeout_min": 0.15,
        "election_timeout_max": 0.3,
        "rpc_timeout": 0.1,
        "tick": 0.01,
        "seed": int(ident[1:]),
    }
    base.update(kw)
    return RaftSettings(node_id=ident, peers=[i for i in ids if i != ident], **base)


def build(tmp: Path, size: int, net: Net, **kw: Any) -> dict[str, RaftNode]:
    ids = [f"n{i + 1}" for i in range(size)]
    for ident in ids:
        store = LogStore(str(tmp / ident))
        net.nodes[ident] = RaftNode(
            settings(ident, ids, **kw), store, net.transport(ident), make_machine
        )
    return net.nodes


async def wait_leader(nodes: dict[str, RaftNode], among: list[str] | None = None) -> str:
    among = among or list(nodes)
    for _ in range(500):
        leaders = [i for i in among if nodes[i].is_ready_leader()]
        if len(leaders) == 1:
            return leaders[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no single leader")


def _close(node: RaftNode) -> None:
    disk = node._disk
    assert isinstance(disk, LogStore)
    disk.close()


async def stop_all(nodes: dict[str, RaftNode]) -> None:
    for node in nodes.values():
        await node.stop()
        _close(node)


def test_single_node_commits_alone(tmp_path: Path) -> None:
    async def body() -> None:
        nodes = build(tmp_path, 1, Net())
        nodes["n1"].start()
        try:
            await wait_leader(nodes)
            done = await nodes["n1"].propose([{"v": "a"}, {"v": "b"}])
            assert [r for _, r in done] == [i for i, _ in done]
            assert nodes["n1"].sm.applied == ["a", "b"]  # type: ignore[attr-defined]
        finally:
            await stop_all(nodes)

    asyncio.run(body())


def test_three_nodes_replicate_in_order_and_survive_restart(tmp_path: Path) -> None:
    async def body() -> None:
        net = Net()
        nodes = build(tmp_path, 3, net)
        for n in nodes.values():
            n.start()
        try:
            leader = await wait_leader(nodes)
            await asyncio.gather(*(nodes[leader].propose([{"v": k}]) for k in range(50)))
            for _ in range(200):
                if all(len(n.sm.applied) == 50 for n in nodes.values()):  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
            orders = [n.sm.applied for n in nodes.values()]  # type: ignore[attr-defined]
            assert orders[0] == orders[1] == orders[2] and sorted(orders[0]) == list(range(50))
            with pytest.raises(NotLeader):
                follower = next(i for i in nodes if i != leader)
                await nodes[follower].propose([{"v": "x"}])
        finally:
            await stop_all(nodes)
        # restart from disk: same log, same term
        net2 = Net()
        again = build(tmp_path, 3, net2)
        assert all(n.last_index >= 51 for n in again.values())
        for ident in again:
            _close(again[ident])

    asyncio.run(body())


def test_pre_vote_keeps_term_of_isolated_follower(tmp_path: Path) -> None:
    async def body() -> None:
        net = Net()
        nodes = build(tmp_path, 3, net)
        for n in nodes.values():
            n.start()
        try:
            leader = await wait_leader(nodes)
            term = nodes[leader].term
            follower = next(i for i in nodes if i != leader)
            net.isolate(follower)
            await asyncio.sleep(1.0)  # many election timeouts
            assert nodes[follower].term == term
            assert nodes[follower].leader_id is None
            net.cut.clear()
            await asyncio.sleep(0.5)
            assert nodes[leader].is_leader() and nodes[leader].term == term
            assert nodes[follower].leader_id == leader
        finally:
            await stop_all(nodes)

    asyncio.run(body())


def test_cut_off_leader_steps_down_and_reads_refuse(tmp_path: Path) -> None:
    async def body() -> None:
        net = Net()
        nodes = build(tmp_path, 3, net)
        for n in nodes.values():
            n.start()
        try:
            leader = await wait_leader(nodes)
            await nodes[leader].read_barrier(1.0)  # confirmed by a majority
            net.isolate(leader)
            with pytest.raises((NotLeader, TimeoutError)):
                await nodes[leader].read_barrier(1.0)
            others = [i for i in nodes if i != leader]
            new = await wait_leader(nodes, others)
            for _ in range(100):
                if not nodes[leader].is_leader():
                    break
                await asyncio.sleep(0.01)
            assert not nodes[leader].is_leader()  # check-quorum
            assert nodes[new].term > nodes[leader].term
        finally:
            await stop_all(nodes)

    asyncio.run(body())


def test_lagging_follower_gets_snapshot(tmp_path: Path) -> None:
    async def body() -> None:
        net = Net()
        nodes = build(tmp_path, 3, net, snapshot_every=10)
        for n in nodes.values():
            n.start()
        try:
            leader = await wait_leader(nodes)
            lagger = next(i for i in nodes if i != leader)
            net.isolate(lagger)
            for k in range(40):
                await nodes[leader].propose([{"v": k}])
            assert nodes[leader].log.snapshot_index >= 30
            net.cut.clear()
            for _ in range(300):
                if len(nodes[lagger].sm.applied) == 40:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
            assert nodes[lagger].sm.applied == list(range(40))  # type: ignore[attr-defined]
            assert nodes[lagger].log.snapshot_index >= 30
        finally:
            await stop_all(nodes)

    asyncio.run(body())


def _e(index: int, term: int) -> LogEntry:
    return LogEntry(index, term, {"v": f"{index}@{term}"})


def test_merge_truncates_conflicting_suffix_and_marks_it_unstable() -> None:
    log = CoreLog(None, [_e(1, 1), _e(2, 1), _e(3, 2), _e(4, 2)])
    assert log.stable == 4 and log.unstable() == []
    # prev mismatch: the leader is told where the conflicting term starts
    res = log.merge(4, 3, (), commit_index=1)
    assert not res.success and res.conflict_index == 3
    res = log.merge(2, 1, (_e(3, 3),), commit_index=1)
    assert res.success and res.match_index == 3
    assert [(e.index, e.term) for e in log.entries] == [(1, 1), (2, 1), (3, 3)]
    assert log.stable == 2 and log.unstable() == [_e(3, 3)]  # rewritten from 3 on
    # a stale, shorter request does not truncate matching entries
    assert log.merge(1, 1, (_e(2, 1),), commit_index=1).success
    assert log.last_index == 3
    with pytest.raises(ValueError):
        log.merge(0, 0, (_e(1, 9),), commit_index=2)
    with pytest.raises(ValueError):
        log.merge(1, 1, (_e(5, 3),), commit_index=1)


def test_log_store_persist_replaces_suffix_and_round_trips(tmp_path: Path) -> None:
    disk = LogStore(str(tmp_path))
    disk.persist(HardState(7, "n2"), [_e(i, 1) for i in range(1, 11)])
    disk.persist(None, [_e(9, 2)])  # replaces 9 and 10
    disk.save_snapshot(Snapshot(6, 1, {"applied": [1, 2, 3]}))
    disk.close()
    disk = LogStore(str(tmp_path))
    rec = disk.load()
    with pytest.raises(OSError, match="in use"):
        LogStore(str(tmp_path))  # one agent per data directory
    disk.close()
    assert (rec.term, rec.voted_for) == (7, "n2")
    assert rec.snapshot == Snapshot(6, 1, {"applied": [1, 2, 3]})
    assert [(e.index, e.term) for e in rec.entries] == [(7, 1), (8, 1), (9, 2)]
    # installing a newer snapshot that disagrees discards the whole log
    log = CoreLog(rec.snapshot, rec.entries)
    assert not log.install(Snapshot(12, 4, {"applied": []}))
    assert log.entries == [] and log.last_index == 12 and log.stable == 12
    disk = LogStore(str(tmp_path))
    disk.save_snapshot(Snapshot(12, 4, {"applied": []}), discard_log=True)
    disk.close()
    disk = LogStore(str(tmp_path))
    assert disk.load().entries == []
    disk.close()


# ------------------------------------------------------------------ the pure core
def _core(ident: str, ids: list[str], rec: RecoveredState | None = None, **kw: Any) -> RaftCore:
    cfg = CoreConfig(
        ident,
        tuple(i for i in ids if i != ident),
        heartbeat_ticks=1,
        election_ticks_min=3,
        election_ticks_max=3,
        **kw,
    )
    return RaftCore(cfg, rec or RecoveredState(), random.Random(0))


def _drain(core: RaftCore) -> list[Message]:
    """Do what Ready asks (nothing to persist or apply here); return the messages."""
    out: list[Message] = []
    while core.has_ready():
        rd = core.ready()
        out += rd.messages
        core.advance(rd)
    return out


def _elect(ids: list[str]) -> dict[str, RaftCore]:
    """Deliver every message at once until quiet; n1 times out first."""
    cores = {i: _core(i, ids) for i in ids}
    for _ in range(3):
        cores["n1"].tick()
    inbox = _drain(cores["n1"])
    while inbox:
        m = inbox.pop(0)
        cores[m.dst].step(m)
        inbox += _drain(cores[m.dst])
    return cores


def test_core_elects_with_pre_vote_and_replicates_the_noop() -> None:
    cores = _elect(["n1", "n2", "n3"])
    assert cores["n1"].role == LEADER and cores["n1"].term == 1
    assert all(c.term == 1 and c.log.last_index == 1 for c in cores.values())
    assert cores["n1"].commit == 1 and cores["n1"].lead_index == 1


def test_core_ready_carries_vote_before_the_reply_and_entries_before_commit() -> None:
    core = _core("n2", ["n1", "n2", "n3"])
    core.step(Message(VOTE, "n1", "n2", 1, index=0, log_term=0))
    rd = core.ready()
    assert rd.hard_state == HardState(1, "n1")  # persisted before the grant leaves
    assert [(m.kind, m.reject) for m in rd.messages] == [(VOTE_RESP, False)]
    core.advance(rd)
    core.step(Message(APP, "n1", "n2", 1, 0, 0, (_e(1, 1),), commit=1))
    rd = core.ready()
    assert rd.entries == [_e(1, 1)] and rd.committed == []  # not applied before it is stable
    core.advance(rd)
    assert core.ready().committed == [_e(1, 1)]


def test_core_pre_vote_does_not_bump_terms_and_stale_logs_lose_votes() -> None:
    ids = ["n1", "n2", "n3"]
    voter = _core("n2", ids, RecoveredState(2, None, None, [_e(1, 2)]))
    voter.step(Message(PREVOTE, "n1", "n2", 3, index=0, log_term=0))
    assert voter.term == 2 and _drain(voter)[0].reject  # stale log: no pre-vote, no new term
    voter.step(Message(VOTE, "n1", "n2", 3, index=0, log_term=0))
    assert voter.term == 3 and voter.vote is None and _drain(voter)[-1].reject
    stale = RecoveredState(2, None, None, [_e(1, 2)])
    broken = _core("n2", ids, stale, unsafe_grant_vote_without_log_check=True)
    broken.step(Message(VOTE, "n1", "n2", 3, index=0, log_term=0))
    assert broken.vote == "n1"  # the deliberately broken core the simulator must catch


def test_core_read_index_needs_a_majority_round() -> None:
    cores = _elect(["n1", "n2", "n3"])
    leader = cores["n1"]
    assert leader.read_index(42)
    out = _drain(leader)
    assert not leader.ready().read_states  # not before a follower confirms the round
    reply = [m for m in out if m.dst == "n2"][0]
    cores["n2"].step(reply)
    for m in _drain(cores["n2"]):
        leader.step(m)
    assert leader.ready().read_states == [ReadState(42, leader.commit)]
    assert not cores["n2"].read_index(1)  # followers do not serve them


def test_core_check_quorum_steps_down_a_cut_off_leader() -> None:
    cores = _elect(["n1", "n2", "n3"])
    leader = cores["n1"]
    for _ in range(10):
        leader.tick()
    rd = leader.ready()
    assert leader.role != LEADER and rd.stepped_down
