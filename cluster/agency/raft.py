"""The async driver around :class:`~cluster.agency.raft_core.RaftCore`.

All consensus decisions live in the core; this module only moves data:
it ticks the core on the node's clock, turns core messages into HTTP RPCs
(``raft_transport``) and replies back into messages (``raft_wire``),
persists each :class:`~cluster.agency.raft_core_msgs.Ready` through a
:class:`RaftStorage`, applies committed entries to the state machine, and
resolves the futures of proposals and reads.

Every input is followed by :meth:`RaftNode._process`, which drains the
core's Ready batches synchronously (persist, then send, then apply, then
advance), so handlers never see half-updated state and a reply only leaves
once what it promises is on disk. Group commit falls out of the loop:
proposals only append to the core's log; the loop's next drain writes all of
them in one transaction, and the core builds each follower's append only
then, so the same batch travels in one RPC.

Clients call :meth:`RaftNode.propose` (returns once the entries are committed
and applied here) and :meth:`RaftNode.read_barrier` (returns once a read of
the local state machine is linearizable).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from cluster.agency.raft_core import RaftCore
from cluster.agency.raft_core_log import CoreLog
from cluster.agency.raft_core_msgs import (
    APP,
    LEADER,
    RESPONSE_OF,
    SNAP,
    LogEntry,
    Message,
    NotLeaderError,
    Ready,
)
from cluster.agency.raft_types import (
    NotLeader,
    RaftSettings,
    RaftStorage,
    StateMachine,
    TimeSource,
    Transport,
)
from cluster.agency.raft_wire import (
    reply_from_wire,
    reply_to_wire,
    request_from_wire,
    request_to_wire,
)
from cluster.common import clock

log = logging.getLogger(__name__)

ApplyHook = Callable[[int, dict[str, Any], Any], None]
LeadershipHook = Callable[[bool], None]


class RaftNode:
    """One agent's Raft: a core, its storage, its transport and its state machine."""

    def __init__(
        self,
        settings: RaftSettings,
        log_store: RaftStorage,
        transport: Transport,
        make_state_machine: Callable[[dict[str, Any] | None], StateMachine],
        time_source: TimeSource | None = None,
    ) -> None:
        self.s = settings
        self.id = settings.node_id
        self.peers = list(settings.peers)
        self._disk = log_store
        self.transport = transport
        self._make_sm = make_state_machine
        self._clock: TimeSource = time_source or clock
        self.on_apply: ApplyHook | None = None
        self.on_leadership: LeadershipHook | None = None
        rec = log_store.load()
        self.core = RaftCore(settings.core_config(), rec, random.Random(settings.seed))
        self.sm: StateMachine = make_state_machine(rec.snapshot.data if rec.snapshot else None)
        self._incoming_sm: tuple[int, StateMachine] | None = None
        self._waiters: dict[int, tuple[int, asyncio.Future[Any]]] = {}
        self._reads: dict[int, asyncio.Future[None]] = {}
        self._read_waits: list[tuple[int, int]] = []  # (index, context): confirmed, not yet applied
        self._next_read = 0
        self._ready_term = -1
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.stats: dict[str, int] = {"elections": 0, "batches": 0, "proposals": 0}

    # --------------------------------------------------------------- views
    @property
    def term(self) -> int:
        return self.core.term

    @property
    def role(self) -> str:
        return self.core.role

    @property
    def leader_id(self) -> str | None:
        return self.core.leader

    @property
    def log(self) -> CoreLog:
        return self.core.log

    @property
    def last_index(self) -> int:
        return self.core.log.last_index

    @property
    def commit_index(self) -> int:
        return self.core.commit

    @property
    def last_applied(self) -> int:
        return self.core.applied

    def is_leader(self) -> bool:
        return self.core.role == LEADER

    def is_ready_leader(self) -> bool:
        """Leader whose term's first entry is applied (its local state is current)."""
        return self.core.role == LEADER and self._ready_term == self.core.term

    def status(self) -> dict[str, Any]:
        core = self.core
        st: dict[str, Any] = {
            "id": self.id,
            "role": core.role,
            "term": core.term,
            "leaderId": core.leader,
            "commitIndex": core.commit,
            "lastApplied": core.applied,
            "lastIndex": core.log.last_index,
            "snapshotIndex": core.log.snapshot_index,
        }
        st["lastAcked"] = {
            p: round((self.core.now - pr.last_ack) * self.s.tick, 3)
            for p, pr in self.core.progress.items()
        }
        return st

    # ----------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name=f"{self.id}-raft")
        log.info(
            "%s: raft started term=%d last_index=%d snapshot=%d",
            self.id,
            self.core.term,
            self.core.log.last_index,
            self.core.log.snapshot_index,
        )

    async def stop(self) -> None:
        self._stopped = True
        was_ready = self._ready_term == self.core.term and self.core.role == LEADER
        self._fail_all(NotLeader(self.id, None, "shutdown"))
        if was_ready and self.on_leadership is not None:
            self.on_leadership(False)
        tasks = [*self._calls, *([self._loop_task] if self._loop_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        """The only loop: tick the core on time, drain its Ready batches when woken."""
        tick = self.s.tick
        next_tick = self._clock.monotonic() + tick
        while not self._stopped:
            delay = self._clock.real_duration(max(0.0, next_tick - self._clock.monotonic()))
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
            self._wake.clear()
            now = self._clock.monotonic()
            try:
                if now >= next_tick:
                    behind = int((now - next_tick) / tick) + 1
                    next_tick += behind * tick
                    for _ in range(behind):  # a stalled loop catches up: time did pass
                        self.core.tick()
                self._process()
            except Exception:  # nothing may end the loop: it is what holds elections
                log.exception("%s: raft loop failed; retrying", self.id)
                await asyncio.sleep(self._clock.real_duration(tick))

    # -------------------------------------------------------------- inputs
    async def propose(self, entries: list[dict[str, Any]]) -> list[tuple[int, Any]]:
        """Append ``entries`` (consecutively), wait until applied here; (index, result) each."""
        try:
            added = self.core.propose(entries)
        except NotLeaderError as exc:
            raise NotLeader(self.id, exc.leader, "propose") from None
        loop = asyncio.get_running_loop()
        futs: list[asyncio.Future[Any]] = []
        for e in added:
            fut: asyncio.Future[Any] = loop.create_future()
            self._waiters[e.index] = (e.term, fut)
            futs.append(fut)
        self.stats["proposals"] += len(added)
        self._wake.set()  # group commit: the loop writes everything proposed till then at once
        return list(await asyncio.gather(*futs))

    async def read_barrier(self, time_limit: float) -> None:
        """Return when reading the local state machine is linearizable (read-index)."""
        if not self.is_leader():
            raise NotLeader(self.id, self.leader_id, "read")
        await asyncio.wait_for(self._ready.wait(), time_limit)
        self._next_read += 1
        ctx = self._next_read
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.core.read_index(ctx):
            raise NotLeader(self.id, self.leader_id, "read")
        self._reads[ctx] = fut
        try:
            self._process()
            await asyncio.wait_for(fut, time_limit)
        finally:
            self._reads.pop(ctx, None)

    def _request(self, rpc: str, body: dict[str, Any]) -> Message:
        """A peer's request, validated (``ValueError``: answered 400, nothing changed)."""
        m = request_from_wire(rpc, body, self.id)
        if m.src not in self.peers:
            raise ValueError(f"{m.src!r} is not a member of this agency")
        return m

    def handle_request_vote(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._handle(self._request("requestVote", body))

    def handle_append_entries(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._handle(self._request("appendEntries", body))

    def handle_install_snapshot(self, body: dict[str, Any]) -> dict[str, Any]:
        m = self._request("installSnapshot", body)
        snap = m.snapshot
        if snap is not None and snap.last_index > self.core.commit and m.term >= self.core.term:
            # build it first: bad data raises ValueError before anything changes
            self._incoming_sm = (snap.last_index, self._make_sm(snap.data))
        return self._handle(m)

    def _handle(self, m: Message) -> dict[str, Any]:
        self.core.step(m)  # ValueError: a request no correct leader sends (answered 400)
        reply = self._process(m)
        if reply is None:  # cannot persist: promise nothing
            return {"term": self.core.term, "success": False, "voteGranted": False}
        return reply_to_wire(reply)

    # ---------------------------------------------------------- the drain
    def _process(self, request: Message | None = None) -> Message | None:
        """Drain the core's Ready batches; return the reply to ``request`` if one was made."""
        reply: Message | None = None
        want = RESPONSE_OF[request.kind] if request is not None else None
        while self.core.has_ready():
            rd = self.core.ready()
            early = rd.snapshot is None
            if early:  # already stable here: client acks need not wait for this batch's fsync
                self._apply_entries(rd.committed)
            try:
                self._persist(rd)
            except Exception:
                log.exception("%s: cannot persist raft state; nothing sent", self.id)
                if early:  # applied is applied; the rest is retried by the next drain
                    self.core.advance(Ready(rd.role, rd.term, rd.leader, committed=rd.committed))
                return None
            for m in rd.messages:
                if (
                    request is not None
                    and reply is None
                    and m.kind == want
                    and m.dst == request.src
                ):
                    reply = m
                elif m.kind in RESPONSE_OF:
                    self._send(m)
            if not early:
                self._restore(rd)
                self._apply_entries(rd.committed)
            self.core.advance(rd)
            self._after(rd)
        return reply

    def _persist(self, rd: Ready) -> None:
        if rd.snapshot is not None:
            self._disk.save_snapshot(rd.snapshot, discard_log=not rd.snapshot_keeps_log)
        if rd.hard_state is not None or rd.entries:
            self._disk.persist(rd.hard_state, rd.entries, one_by_one=not self.s.group_commit)
            if rd.entries and rd.role == LEADER:
                self.stats["batches"] += 1

    def _restore(self, rd: Ready) -> None:
        if rd.snapshot is not None:
            idx = rd.snapshot.last_index
            pending, self._incoming_sm = self._incoming_sm, None
            self.sm = (
                pending[1] if pending and pending[0] == idx else self._make_sm(rd.snapshot.data)
            )
            log.info("%s: installed snapshot at %d from %s", self.id, idx, self.core.leader)

    def _apply_entries(self, committed: list[LogEntry]) -> None:
        for item in committed:
            result: Any
            try:
                result = self.sm.apply(item.entry, item.index)
            except Exception as exc:
                log.exception("%s: applying entry %d failed", self.id, item.index)
                result = exc
            waiter = self._waiters.pop(item.index, None)
            if waiter is not None and not waiter[1].done():
                if waiter[0] == item.term:
                    waiter[1].set_result((item.index, result))
                else:
                    waiter[1].set_exception(NotLeader(self.id, self.leader_id, "overwritten"))
            if self.on_apply is not None:
                try:
                    self.on_apply(item.index, item.entry, result)
                except Exception:
                    log.exception("%s: apply hook failed at %d", self.id, item.index)

    def _after(self, rd: Ready) -> None:
        core = self.core
        self.stats["elections"] = core.elections
        if rd.stepped_down:
            log.info("%s: no longer leader (term %d)", self.id, core.term)
            self._fail_all(NotLeader(self.id, core.leader, "leadership lost before commit"))
            if self._ready_term >= 0 and self.on_leadership is not None:
                self._ready_term = -1
                self.on_leadership(False)
            self._ready_term = -1
        if (
            core.role == LEADER
            and self._ready_term != core.term
            and core.applied >= core.lead_index
        ):
            log.info("%s: leader in term %d", self.id, core.term)
            self._ready_term = core.term
            self._ready.set()
            if self.on_leadership is not None:
                self.on_leadership(True)
        for rs in rd.read_states:
            self._read_waits.append((rs.index, rs.context))
        if self._read_waits:
            waiting: list[tuple[int, int]] = []
            for index, ctx in self._read_waits:
                if index > core.applied:
                    waiting.append((index, ctx))
                elif (fut := self._reads.get(ctx)) is not None and not fut.done():
                    fut.set_result(None)
            self._read_waits = waiting
        if core.applied - core.log.snapshot_index >= self.s.snapshot_every:
            snap = core.compact(core.applied, self.sm.snapshot())
            self._disk.save_snapshot(snap)
            log.info("%s: compacted log up to %d", self.id, snap.last_index)

    def _fail_all(self, err: NotLeader) -> None:
        self._ready.clear()
        for _, fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(err)
        self._waiters.clear()
        for rfut in self._reads.values():
            if not rfut.done():
                rfut.set_exception(err)
        self._read_waits = []

    # ------------------------------------------------------------- sending
    def _send(self, m: Message) -> None:
        if self._stopped:
            return
        task = asyncio.create_task(self._call(m), name=f"{self.id}-{m.kind}-{m.dst}")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, m: Message) -> None:
        rpc, body = request_to_wire(m)
        limit = self.s.snapshot_rpc_timeout if m.kind == SNAP else self.s.rpc_timeout
        answer = await self.transport.call(m.dst, rpc, body, limit)
        if self._stopped:
            return
        if answer is None:
            if m.kind in (APP, SNAP):
                self.core.report_unreachable(m.dst)
            return
        try:
            self.core.step(reply_from_wire(m, answer))
            self._process()
        except Exception:  # a reply we cannot take is a lost message; the loop goes on
            log.exception("%s: %s reply from %s failed", self.id, rpc, m.dst)
