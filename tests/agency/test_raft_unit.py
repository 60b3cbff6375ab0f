"""Raft logic in one process: nodes talk through an in-memory transport that can cut links."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.agency.log_store import LogEntry, LogStore, Snapshot
from cluster.agency.raft import RaftNode
from cluster.agency.raft_log import RaftLog
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


async def stop_all(nodes: dict[str, RaftNode]) -> None:
    for node in nodes.values():
        await node.stop()
        node._disk.close()


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
            again[ident]._disk.close()

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


def test_merge_truncates_conflicting_suffix_durably(tmp_path: Path) -> None:
    disk = LogStore(str(tmp_path))
    log = RaftLog(disk, None, [])
    log.append([_e(1, 1), _e(2, 1), _e(3, 2), _e(4, 2)])
    # prev mismatch: the leader is told where the conflicting term starts
    res = log.merge(4, 3, [], commit_index=1)
    assert not res.success and res.conflict_index == 3
    res = log.merge(2, 1, [_e(3, 3)], commit_index=1)
    assert res.success and res.match_index == 3
    assert [(e.index, e.term) for e in log.entries] == [(1, 1), (2, 1), (3, 3)]
    # a stale, shorter request does not truncate matching entries
    assert log.merge(1, 1, [_e(2, 1)], commit_index=1).success
    assert log.last_index == 3
    with pytest.raises(ValueError):
        log.merge(0, 0, [_e(1, 9)], commit_index=2)
    with pytest.raises(ValueError):
        log.merge(1, 1, [_e(5, 3)], commit_index=1)
    disk.close()
    reopened = LogStore(str(tmp_path))
    rec = reopened.load()
    assert [(e.index, e.term) for e in rec.entries] == [(1, 1), (2, 1), (3, 3)]
    with pytest.raises(OSError, match="in use"):
        LogStore(str(tmp_path))  # one agent per data directory
    reopened.close()


def test_log_store_round_trip_with_snapshot(tmp_path: Path) -> None:
    disk = LogStore(str(tmp_path))
    disk.save_hard_state(7, "n2")
    log = RaftLog(disk, None, [])
    log.append([_e(i, 1) for i in range(1, 11)])
    log.compact(6, {"applied": [1, 2, 3]})
    assert log.snapshot_index == 6 and log.term_at(6) == 1 and log.term_at(5) is None
    disk.close()
    disk = LogStore(str(tmp_path))
    rec = disk.load()
    disk.close()
    assert (rec.term, rec.voted_for) == (7, "n2")
    assert rec.snapshot == Snapshot(6, 1, {"applied": [1, 2, 3]})
    assert [e.index for e in rec.entries] == [7, 8, 9, 10]
    # installing a newer snapshot that disagrees discards the whole log
    disk2 = LogStore(str(tmp_path))
    log2 = RaftLog(disk2, rec.snapshot, rec.entries)
    log2.install(Snapshot(12, 4, {"applied": []}))
    assert log2.entries == [] and log2.last_index == 12
    disk2.close()
    disk3 = LogStore(str(tmp_path))
    assert disk3.load().entries == []
    disk3.close()
