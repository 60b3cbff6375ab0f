"""Raft consensus for the agency: elections with pre-vote and check-quorum,
log replication, commit, apply, snapshots, and read-index reads.

All state changes happen in synchronous sections of the event loop (SQLite
writes included, which take well under a millisecond), so handlers never see
half-updated state. The only awaits are RPCs to peers and waits for commit.

Parts live beside it: ``raft_log`` (the log and snapshot, on disk),
``raft_replication`` (the leader's side of each follower), ``raft_reads``
(read-index rounds), ``raft_transport`` (RPCs over HTTP).

Clients of this module call :meth:`RaftNode.propose` (returns once the entries
are committed and applied here) and :meth:`RaftNode.read_barrier` (returns
once a read of the local state machine is linearizable).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from cluster.agency.log_store import LogEntry, LogStore, Snapshot
from cluster.agency.raft_log import RaftLog
from cluster.agency.raft_reads import ReadIndex
from cluster.agency.raft_replication import PeerReplicator, as_int
from cluster.agency.raft_types import (
    RPC_REQUEST_VOTE,
    NotLeader,
    RaftSettings,
    StateMachine,
    Transport,
)
from cluster.common import clock

log = logging.getLogger(__name__)

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
NOOP: dict[str, Any] = {"kind": "noop"}

ApplyHook = Callable[[int, dict[str, Any], Any], None]
LeadershipHook = Callable[[bool], None]


class RaftNode:
    """One agent's Raft state and loops."""

    def __init__(
        self,
        settings: RaftSettings,
        log_store: LogStore,
        transport: Transport,
        make_state_machine: Callable[[dict[str, Any] | None], StateMachine],
    ) -> None:
        self.s = settings
        self.id = settings.node_id
        self.peers = list(settings.peers)
        self._disk = log_store
        self.transport = transport
        self._make_sm = make_state_machine
        self._rng = random.Random(settings.seed)
        self.on_apply: ApplyHook | None = None
        self.on_leadership: LeadershipHook | None = None

        rec = log_store.load()
        self.term = rec.term
        self.voted_for = rec.voted_for
        self.log = RaftLog(log_store, rec.snapshot, rec.entries, settings.group_commit)
        self.sm: StateMachine = make_state_machine(rec.snapshot.data if rec.snapshot else None)
        self.commit_index = self.log.snapshot_index
        self.last_applied = self.log.snapshot_index

        self.role = FOLLOWER
        self.leader_id: str | None = None
        self._leader_contact: float | None = None
        self._election_deadline = 0.0
        self._reset_election_deadline()

        # leader state
        self.replicators: dict[str, PeerReplicator] = {}
        self.reads = ReadIndex(settings.majority)
        self._waiters: dict[int, tuple[int, asyncio.Future[Any]]] = {}
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._flush_event = asyncio.Event()
        self._noop_index = 0
        self._ready = asyncio.Event()

        self._tasks: list[asyncio.Task[None]] = []
        self._campaign: asyncio.Task[None] | None = None
        self._stopped = False
        self.stats: dict[str, int] = {"elections": 0, "batches": 0, "proposals": 0}

    @property
    def last_index(self) -> int:
        return self.log.last_index

    # ---------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._ticker(), name=f"{self.id}-raft-ticker"),
            asyncio.create_task(self._flusher(), name=f"{self.id}-raft-flusher"),
        ]
        log.info(
            "%s: raft started term=%d last_index=%d snapshot=%d",
            self.id,
            self.term,
            self.log.last_index,
            self.log.snapshot_index,
        )

    async def stop(self) -> None:
        self._stopped = True
        tasks = [t for r in self.replicators.values() if (t := r.stop()) is not None]
        self._become_follower(self.term, None, "shutdown")
        tasks += self._tasks
        if self._campaign is not None:
            tasks.append(self._campaign)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def is_leader(self) -> bool:
        return self.role == LEADER

    def is_ready_leader(self) -> bool:
        """Leader whose term's first entry is applied (its local state is current)."""
        return self.role == LEADER and self._ready.is_set()

    def _now(self) -> float:
        return clock.monotonic()

    def _reset_election_deadline(self) -> None:
        timeout = self._rng.uniform(self.s.election_timeout_min, self.s.election_timeout_max)
        self._election_deadline = self._now() + timeout

    # ------------------------------------------------------------ ticker
    async def _ticker(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.s.tick)
            now = self._now()
            if self.role == LEADER:
                self._check_quorum(now)
            elif now >= self._election_deadline and (
                self._campaign is None or self._campaign.done()
            ):
                self._reset_election_deadline()
                self.leader_id = None  # silent for an election timeout: presumed gone
                self._campaign = asyncio.create_task(self._run_campaign())

    def _check_quorum(self, now: float) -> None:
        horizon = now - self.s.election_timeout_max
        alive = 1 + sum(1 for r in self.replicators.values() if r.last_ack >= horizon)
        if alive < self.s.majority:
            log.warning("%s: lost contact with a majority; stepping down", self.id)
            self._become_follower(self.term, None, "check-quorum")

    # ---------------------------------------------------------- elections
    async def _run_campaign(self) -> None:
        try:
            if not await self._poll(pre_vote=True):
                return
            self.term += 1
            self.voted_for = self.id
            self.role = CANDIDATE
            self.leader_id = None
            self._disk.save_hard_state(self.term, self.voted_for)
            self.stats["elections"] += 1
            log.info("%s: campaigning in term %d", self.id, self.term)
            if await self._poll(pre_vote=False):
                self._become_leader()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: campaign failed", self.id)

    async def _poll(self, pre_vote: bool) -> bool:
        """Ask every peer for a (pre-)vote; True once a majority granted it."""
        term = self.term + 1 if pre_vote else self.term
        start_term, start_role = self.term, self.role
        body = {
            "term": term,
            "candidateId": self.id,
            "lastLogIndex": self.log.last_index,
            "lastLogTerm": self.log.last_term,
            "preVote": pre_vote,
        }
        granted = 1
        if granted >= self.s.majority:
            return True
        calls = [
            asyncio.ensure_future(
                self.transport.call(p, RPC_REQUEST_VOTE, body, self.s.rpc_timeout)
            )
            for p in self.peers
        ]
        try:
            for next_done in asyncio.as_completed(calls):
                resp = await next_done
                if self.term != start_term or self.role != start_role or self._stopped:
                    return False
                if resp is None:
                    continue
                resp_term = as_int(resp.get("term"))
                if resp_term > self.term:
                    self._become_follower(resp_term, None, "higher term in vote reply")
                    return False
                if resp.get("voteGranted") is True:
                    granted += 1
                    if granted >= self.s.majority:
                        return True
            return False
        finally:
            for c in calls:
                c.cancel()

    def handle_request_vote(self, body: dict[str, Any]) -> dict[str, Any]:
        cand_term = as_int(body.get("term"))
        cand = str(body.get("candidateId", ""))
        up_to_date = (as_int(body.get("lastLogTerm")), as_int(body.get("lastLogIndex"))) >= (
            self.log.last_term,
            self.log.last_index,
        )
        if body.get("preVote") is True:
            now = self._now()
            heard_leader = self.role == LEADER or (
                self._leader_contact is not None
                and now - self._leader_contact < self.s.election_timeout_min
            )
            grant = cand_term > self.term and up_to_date and not heard_leader
            return {"term": self.term, "voteGranted": grant}
        if cand_term < self.term:
            return {"term": self.term, "voteGranted": False}
        if cand_term > self.term:
            self._become_follower(cand_term, None, f"vote request from {cand}")
        grant = self.voted_for in (None, cand) and up_to_date
        if grant:
            self.voted_for = cand
            self._disk.save_hard_state(self.term, self.voted_for)
            self._reset_election_deadline()
        return {"term": self.term, "voteGranted": grant}

    # -------------------------------------------------------- role changes
    def _become_follower(self, term: int, leader: str | None, why: str) -> None:
        was_leader = self.role == LEADER
        if term > self.term:
            self.term = term
            self.voted_for = None
            self._disk.save_hard_state(self.term, None)
        if self.role != FOLLOWER:
            log.info("%s: follower in term %d (%s)", self.id, self.term, why)
        self.role = FOLLOWER
        self.leader_id = leader
        if was_leader:
            self._stop_leading()

    def _stop_leading(self) -> None:
        self._ready.clear()
        self._reset_election_deadline()
        for replicator in self.replicators.values():
            replicator.stop()
        self.replicators = {}
        err = NotLeader(self.id, self.leader_id, "leadership lost before commit")
        for _, fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(err)
        self._waiters.clear()
        self.reads.fail_all(err)
        for _, pfut in self._pending:
            if not pfut.done():
                pfut.set_exception(err)
        self._pending.clear()
        if self.on_leadership is not None:
            self.on_leadership(False)

    def _become_leader(self) -> None:
        log.info("%s: leader in term %d", self.id, self.term)
        self.role = LEADER
        self.leader_id = self.id
        self._ready.clear()
        self.reads.reset(self.peers)
        self.replicators = {p: PeerReplicator(self, p, self.term) for p in self.peers}
        noop = LogEntry(self.last_index + 1, self.term, dict(NOOP))
        self._append_local([noop])
        self._noop_index = noop.index
        for replicator in self.replicators.values():
            replicator.start()
        self.advance_commit()

    # ---------------------------------------------------------- proposals
    async def propose(self, entries: list[dict[str, Any]]) -> list[tuple[int, Any]]:
        """Append ``entries`` (consecutively), wait until applied here; (index, result) each."""
        if self.role != LEADER:
            raise NotLeader(self.id, self.leader_id, "propose")
        loop = asyncio.get_running_loop()
        futs: list[asyncio.Future[Any]] = []
        for entry in entries:
            fut: asyncio.Future[Any] = loop.create_future()
            self._pending.append((entry, fut))
            futs.append(fut)
        self._flush_event.set()
        return list(await asyncio.gather(*futs))

    async def _flusher(self) -> None:
        """Group commit: everything proposed since the last flush goes to disk in one fsync."""
        while not self._stopped:
            await self._flush_event.wait()
            self._flush_event.clear()
            batch, self._pending = self._pending, []
            if not batch:
                continue
            if self.role != LEADER:
                err = NotLeader(self.id, self.leader_id, "propose")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            first = self.last_index + 1
            new = [LogEntry(first + i, self.term, e) for i, (e, _) in enumerate(batch)]
            try:
                self._append_local(new)
            except Exception as exc:
                log.exception("%s: cannot persist %d entries", self.id, len(new))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.stats["batches"] += 1
            self.stats["proposals"] += len(batch)
            for e, (_, fut) in zip(new, batch, strict=True):
                self._waiters[e.index] = (e.term, fut)
            self.advance_commit()

    def _append_local(self, new: list[LogEntry]) -> None:
        self.log.append(new)
        for replicator in self.replicators.values():
            replicator.wake.set()

    # --------------------------------------------------------------- commit
    def step_down(self, term: int, why: str) -> None:
        """A peer showed a higher term: follow it (leader unknown yet)."""
        self._become_follower(term, None, why)

    def advance_commit(self) -> None:
        if self.role != LEADER:
            return
        matches = sorted(
            [self.last_index, *(r.match_index for r in self.replicators.values())], reverse=True
        )
        candidate = matches[self.s.majority - 1]
        if candidate > self.commit_index and self.log.term_at(candidate) == self.term:
            self.commit_index = candidate
            self._apply_committed()

    # ---------------------------------------------------------------- apply
    def _apply_committed(self) -> None:
        while self.last_applied < self.commit_index:
            index = self.last_applied + 1
            item = self.log.entry(index)
            result: Any
            try:
                result = self.sm.apply(item.entry, index)
            except Exception as exc:
                log.exception("%s: applying entry %d failed", self.id, index)
                result = exc
            self.last_applied = index
            waiter = self._waiters.pop(index, None)
            if waiter is not None and not waiter[1].done():
                if waiter[0] == item.term:
                    waiter[1].set_result((index, result))
                else:
                    waiter[1].set_exception(NotLeader(self.id, self.leader_id, "overwritten"))
            if self.on_apply is not None:
                try:
                    self.on_apply(index, item.entry, result)
                except Exception:
                    log.exception("%s: apply hook failed at %d", self.id, index)
        if self.role == LEADER and not self._ready.is_set():
            if self.last_applied >= self._noop_index:
                self._ready.set()
                if self.on_leadership is not None:
                    self.on_leadership(True)
        self._maybe_compact()

    def _maybe_compact(self) -> None:
        if self.last_applied - self.log.snapshot_index < self.s.snapshot_every:
            return
        self.log.compact(self.last_applied, self.sm.snapshot())
        log.info("%s: compacted log up to %d", self.id, self.last_applied)

    # ------------------------------------------------------- follower side
    def _heard_from_leader(self, term: int, leader: str) -> None:
        if term > self.term or self.role != FOLLOWER:
            self._become_follower(term, leader, f"message from leader {leader}")
        self.leader_id = leader
        self._leader_contact = self._now()
        self._reset_election_deadline()

    def handle_append_entries(self, body: dict[str, Any]) -> dict[str, Any]:
        term = as_int(body.get("term"))
        if term < self.term:
            return {"term": self.term, "success": False, "conflictIndex": self.last_index + 1}
        raw_entries = body.get("entries") or []
        if not isinstance(raw_entries, list):
            raise ValueError("entries must be an array")
        entries = [LogEntry.from_wire(raw) for raw in raw_entries]
        self._heard_from_leader(term, str(body.get("leaderId", "")))
        prev = as_int(body.get("prevLogIndex"))
        merged = self.log.merge(prev, body.get("prevLogTerm"), entries, self.commit_index)
        if not merged.success:
            return {"term": self.term, "success": False, "conflictIndex": merged.conflict_index}
        match = prev + len(entries)
        leader_commit = min(as_int(body.get("leaderCommit")), match)
        if leader_commit > self.commit_index:
            self.commit_index = leader_commit
            self._apply_committed()
        return {"term": self.term, "success": True, "matchIndex": match}

    def handle_install_snapshot(self, body: dict[str, Any]) -> dict[str, Any]:
        term = as_int(body.get("term"))
        if term < self.term:
            return {"term": self.term, "success": False}
        last, last_term = as_int(body.get("lastIndex")), as_int(body.get("lastTerm"))
        data = body.get("data")
        if not isinstance(data, dict):
            raise ValueError("snapshot data must be an object")
        self._heard_from_leader(term, str(body.get("leaderId", "")))
        if last <= self.commit_index:
            return {"term": self.term, "success": True}
        sm = self._make_sm(data)  # raises ValueError before anything changes
        self.log.install(Snapshot(last, last_term, data))
        self.sm = sm
        self.commit_index = self.last_applied = last
        log.info("%s: installed snapshot at %d from %s", self.id, last, self.leader_id)
        return {"term": self.term, "success": True}

    # ----------------------------------------------------------------- reads
    async def read_barrier(self, time_limit: float) -> None:
        """Return when reading the local state machine is linearizable (read-index)."""
        if self.role != LEADER:
            raise NotLeader(self.id, self.leader_id, "read")
        await asyncio.wait_for(self._ready.wait(), time_limit)
        if self.role != LEADER:
            raise NotLeader(self.id, self.leader_id, "read")
        read_index = self.commit_index
        if self.s.majority > 1:
            confirmed = self.reads.open_round()
            for replicator in self.replicators.values():
                replicator.wake.set()
            await asyncio.wait_for(confirmed, time_limit)
        if self.last_applied < read_index:  # cannot happen: apply follows commit synchronously
            raise NotLeader(self.id, self.leader_id, "read: apply lagging")

    # ---------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        now = self._now()
        return {
            "id": self.id,
            "role": self.role,
            "term": self.term,
            "leaderId": self.leader_id,
            "commitIndex": self.commit_index,
            "lastApplied": self.last_applied,
            "lastIndex": self.last_index,
            "snapshotIndex": self.log.snapshot_index,
            "lastAcked": {p: round(now - r.last_ack, 3) for p, r in self.replicators.items()}
            if self.role == LEADER
            else {},
        }
