"""The leader's side of one follower: send entries or a snapshot, track its progress.

One :class:`PeerReplicator` per follower runs while its node leads in a given
term. It keeps a single request in flight, sends again at once while the
follower lags, and otherwise every heartbeat interval or when woken (new
entries, or a read that needs a fresh confirmation round).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from cluster.agency.raft_types import RPC_APPEND_ENTRIES, RPC_INSTALL_SNAPSHOT
from cluster.common import clock

if TYPE_CHECKING:
    from cluster.agency.raft import RaftNode

log = logging.getLogger(__name__)


def as_int(value: Any, default: int = 0) -> int:
    """``value`` if it is a JSON integer, else ``default`` (peers' replies are untrusted)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


class PeerReplicator:
    def __init__(self, node: RaftNode, peer: str, term: int) -> None:
        self.node = node
        self.peer = peer
        self.term = term
        self.next_index = node.log.last_index + 1
        self.match_index = 0
        self.last_ack = clock.monotonic()  # a new leader gives everyone a full timeout
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.node.id}-repl-{self.peer}")

    def stop(self) -> asyncio.Task[None] | None:
        if self._task is not None:
            self._task.cancel()
        return self._task

    def _current(self) -> bool:
        return self.node.is_leader() and self.node.term == self.term

    async def _run(self) -> None:
        heartbeat = self.node.s.heartbeat_interval
        while self._current():
            self.wake.clear()
            stamp = self.node.reads.round
            if self.next_index <= self.node.log.snapshot_index:
                ok = await self._send_snapshot(stamp)
            else:
                ok = await self._send_entries(stamp)
            if not self._current():
                return
            if not ok:  # unreachable: retry after a heartbeat, not on every new entry
                await asyncio.sleep(clock.real_duration(heartbeat))
                continue
            if self.next_index <= self.node.log.last_index or self.node.reads.round > stamp:
                continue  # more to send, or a read waits for a fresh round
            try:
                await asyncio.wait_for(self.wake.wait(), clock.real_duration(heartbeat))
            except TimeoutError:
                pass

    async def _send_entries(self, stamp: int) -> bool:
        node, ni = self.node, self.next_index
        prev = ni - 1
        upto = min(node.log.last_index, prev + node.s.max_batch)
        batch = node.log.wire_slice(ni, upto)
        body = {
            "term": self.term,
            "leaderId": node.id,
            "prevLogIndex": prev,
            "prevLogTerm": node.log.term_at(prev),
            "entries": batch,
            "leaderCommit": node.commit_index,
        }
        resp = await node.transport.call(self.peer, RPC_APPEND_ENTRIES, body, node.s.rpc_timeout)
        if resp is None or not self._accept(stamp, resp):
            return False
        if resp.get("success") is True:
            self._matched(prev + len(batch))
        else:
            hint = as_int(resp.get("conflictIndex"), ni - 1)
            self.next_index = max(self.match_index + 1, min(hint, ni - 1), 1)
        return True

    async def _send_snapshot(self, stamp: int) -> bool:
        node, snap = self.node, self.node.log.snapshot
        body = {
            "term": self.term,
            "leaderId": node.id,
            "lastIndex": snap.last_index,
            "lastTerm": snap.last_term,
            "data": snap.data,
        }
        log.info("%s: sending snapshot at %d to %s", node.id, snap.last_index, self.peer)
        resp = await node.transport.call(
            self.peer, RPC_INSTALL_SNAPSHOT, body, node.s.snapshot_rpc_timeout
        )
        if resp is None or not self._accept(stamp, resp):
            return False
        if resp.get("success") is True:
            self._matched(snap.last_index)
        return True

    def _matched(self, index: int) -> None:
        self.match_index = max(self.match_index, index)
        self.next_index = self.match_index + 1
        self.node.advance_commit()

    def _accept(self, stamp: int, resp: dict[str, Any]) -> bool:
        """Bookkeeping common to every reply; False if the reply is unusable."""
        if not self._current():
            return False
        resp_term = as_int(resp.get("term"))
        if resp_term > self.term:
            self.node.step_down(resp_term, f"higher term from {self.peer}")
            return False
        self.last_ack = clock.monotonic()
        self.node.reads.confirmed(self.peer, stamp)
        return True
