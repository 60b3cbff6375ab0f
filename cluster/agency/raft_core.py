"""Raft consensus as a pure, synchronous state machine (in the manner of etcd's raft).

:class:`RaftCore` is fed inputs (:meth:`~RaftCore.step` a message,
:meth:`~RaftCore.tick` the clock, :meth:`~RaftCore.propose` entries,
:meth:`~RaftCore.read_index`) and hands out its outputs as a
:class:`~cluster.agency.raft_core_msgs.Ready`. It does no I/O, reads no
clock (time is a count of ticks), starts no tasks, and draws its only
randomness (election timeout jitter) from an injected ``random.Random``.
So one seed fixes a whole run: the simulator (``sim.py``) replays any
interleaving exactly, and the async driver (``raft.py``) is only plumbing.

Features: pre-vote and check-quorum elections, a noop entry at the start
of each leadership, log replication with conflict hints and one append in
flight per follower, commit by majority match in the current term,
snapshots (compaction and installSnapshot), read-index reads.
"""

from __future__ import annotations

import random
from typing import Any

from cluster.agency.raft_core_log import CoreLog
from cluster.agency.raft_core_msgs import (
    APP,
    APP_RESP,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    NOOP,
    PRE_CANDIDATE,
    PREVOTE,
    PREVOTE_RESP,
    RESPONSE_OF,
    SNAP,
    SNAP_RESP,
    VOTE,
    VOTE_RESP,
    CoreConfig,
    HardState,
    LogEntry,
    Message,
    NotLeaderError,
    Progress,
    ReadState,
    Ready,
    RecoveredState,
    Snapshot,
)


class RaftCore:
    """One node's Raft state; see the module docstring."""

    def __init__(self, cfg: CoreConfig, rec: RecoveredState, rng: random.Random) -> None:
        self.cfg = cfg
        self.id = cfg.node_id
        self.peers = sorted(cfg.peers)
        self._rng = rng
        self.term = rec.term
        self.vote = rec.voted_for
        self._persisted_hs = HardState(rec.term, rec.voted_for)
        self.log = CoreLog(rec.snapshot, rec.entries)
        self.commit = self.applied = self.log.snapshot_index
        self.role = FOLLOWER
        self.leader: str | None = None
        self.now = 0
        self._elapsed = 0
        self._timeout = self._draw_timeout()
        self._leader_contact: int | None = None
        self._votes: dict[str, bool] = {}
        self.progress: dict[str, Progress] = {}
        self.lead_index = 0  # index of this leadership's noop
        self._heartbeat_elapsed = 0
        self._round = 0
        self._reads: list[tuple[int, int, int]] = []  # (round, context, index)
        self._msgs: list[Message] = []
        self._to_send: dict[str, None] = {}  # followers whose next append is due (ordered)
        self._read_states: list[ReadState] = []
        self._pending_snapshot: tuple[Snapshot, bool] | None = None
        self._stepped_down = False
        self.elections = 0

    # ------------------------------------------------------------ inputs
    def tick(self) -> None:
        """One unit of time passed."""
        self.now += 1
        if self.role == LEADER:
            self._tick_leader()
            return
        self._elapsed += 1
        if self._elapsed >= self._timeout:
            self.leader = None  # silent for an election timeout: presumed gone
            self._campaign(pre_vote=True)

    def propose(self, entries: list[dict[str, Any]]) -> list[LogEntry]:
        """Append ``entries`` at the end of a leader's log; raises ``NotLeaderError`` otherwise."""
        if self.role != LEADER:
            raise NotLeaderError(self.leader)
        first = self.log.last_index + 1
        new = [LogEntry(first + i, self.term, e) for i, e in enumerate(entries)]
        self.log.append(new)
        for peer in self.peers:
            self._send_append(peer)
        return new

    def read_index(self, context: int) -> bool:
        """Ask for a linearizable read; a ReadState with ``context`` follows once confirmed.

        False when this node cannot serve one now (not leader, or no entry of
        its term committed yet, so its commit index may be behind).
        """
        if self.role != LEADER or self.log.term_at(self.commit) != self.term:
            return False
        self._round += 1
        self._reads.append((self._round, context, self.commit))
        for peer in self.peers:
            self._send_append(peer)
        self._release_reads()
        return True

    def report_unreachable(self, peer: str) -> None:
        """The driver could not deliver to ``peer``: retry at the next heartbeat."""
        pr = self.progress.get(peer)
        if pr is not None:
            pr.inflight = False

    def compact(self, index: int, data: dict[str, Any]) -> Snapshot:
        """Replace the log up to ``index`` (applied) by ``data``; the driver persists it."""
        if index > self.applied:
            raise ValueError(f"cannot compact at {index}: applied only up to {self.applied}")
        return self.log.compact(index, data)

    def step(self, m: Message) -> None:
        """Take one message from a peer."""
        if m.term > self.term:
            granted_prevote = m.kind == PREVOTE_RESP and not m.reject
            if m.kind != PREVOTE and not granted_prevote:
                self._become_follower(m.term, m.src if m.kind in (APP, SNAP) else None)
        elif m.term < self.term:
            if m.kind in (APP, SNAP, PREVOTE, VOTE):  # tell a stale sender our term
                self._reply(m, reject=True, hint=self.log.last_index + 1)
            return
        handler = _HANDLERS.get(m.kind)
        if handler is not None:
            handler(self, m)

    # ----------------------------------------------------------- outputs
    def has_ready(self) -> bool:
        return bool(
            self._msgs
            or self._to_send
            or self._read_states
            or self._pending_snapshot is not None
            or self._stepped_down
            or self.log.stable < self.log.last_index
            or HardState(self.term, self.vote) != self._persisted_hs
            or self.applied < min(self.commit, self.log.stable)
        )

    def ready(self) -> Ready:
        """Everything to persist, send and apply now (messages are handed over once)."""
        hs = HardState(self.term, self.vote)
        rd = Ready(self.role, self.term, self.leader)
        rd.hard_state = hs if hs != self._persisted_hs else None
        if self._pending_snapshot is not None:
            rd.snapshot, rd.snapshot_keeps_log = self._pending_snapshot
        rd.entries = self.log.unstable()
        start = max(self.applied, self.log.snapshot_index) + 1
        upto = min(self.commit, self.log.stable)
        rd.committed = self.log.slice(start, upto) if upto >= start else []
        rd.messages, self._msgs = self._msgs, []
        rd.messages += [self._build_append(peer) for peer in self._to_send]
        self._to_send = {}
        rd.read_states, self._read_states = self._read_states, []
        rd.stepped_down, self._stepped_down = self._stepped_down, False
        return rd

    def advance(self, rd: Ready) -> None:
        """The driver did what ``rd`` asked."""
        if rd.hard_state is not None:
            self._persisted_hs = rd.hard_state
        if rd.snapshot is not None:
            self.applied = max(self.applied, rd.snapshot.last_index)
            if self._pending_snapshot is not None and self._pending_snapshot[0] is rd.snapshot:
                self._pending_snapshot = None
        if rd.entries:
            self.log.mark_stable(rd.entries[-1].index)
        if rd.committed:
            self.applied = max(self.applied, rd.committed[-1].index)
        if self.role == LEADER:
            self._maybe_commit()  # our own copy now counts

    # ----------------------------------------------------------- elections
    def _draw_timeout(self) -> int:
        return self._rng.randint(self.cfg.election_ticks_min, self.cfg.election_ticks_max)

    def _reset_timer(self) -> None:
        self._elapsed = 0
        self._timeout = self._draw_timeout()

    def _campaign(self, pre_vote: bool) -> None:
        self._reset_timer()
        if pre_vote:
            self.role = PRE_CANDIDATE
            term = self.term + 1
        else:
            self.role = CANDIDATE
            self.term += 1
            self.vote = self.id
            self.elections += 1
            term = self.term
        self.leader = None
        self._votes = {self.id: True}
        if self._tally() >= self.cfg.majority:  # a one-node cluster wins at once
            self._campaign(pre_vote=False) if pre_vote else self._become_leader()
            return
        kind = PREVOTE if pre_vote else VOTE
        for peer in self.peers:
            self._send(Message(kind, self.id, peer, term, self.log.last_index, self.log.last_term))

    def _tally(self) -> int:
        return sum(1 for granted in self._votes.values() if granted)

    def _up_to_date(self, m: Message) -> bool:
        if self.cfg.unsafe_grant_vote_without_log_check:
            return True
        return (m.log_term, m.index) >= (self.log.last_term, self.log.last_index)

    def _on_prevote(self, m: Message) -> None:
        heard_leader = self.role == LEADER or (
            self._leader_contact is not None
            and self.now - self._leader_contact < self.cfg.election_ticks_min
        )
        grant = m.term > self.term and self._up_to_date(m) and not heard_leader
        # a grant carries the asked-for term, so the pre-candidate does not drop it as stale
        self._send(
            Message(PREVOTE_RESP, self.id, m.src, m.term if grant else self.term, reject=not grant)
        )

    def _on_vote(self, m: Message) -> None:
        can_vote = self.vote == m.src or (self.vote is None and self.leader is None)
        grant = can_vote and self._up_to_date(m)
        if grant:
            self.vote = m.src
            self._reset_timer()
        self._send(Message(VOTE_RESP, self.id, m.src, self.term, reject=not grant))

    def _on_vote_resp(self, m: Message) -> None:
        pre = m.kind == PREVOTE_RESP
        if self.role != (PRE_CANDIDATE if pre else CANDIDATE):
            return
        if pre and m.term != self.term + 1 and not m.reject:
            return
        self._votes.setdefault(m.src, not m.reject)
        if self._tally() >= self.cfg.majority:
            self._campaign(pre_vote=False) if pre else self._become_leader()
        elif len(self._votes) - self._tally() >= self.cfg.majority:
            self._become_follower(self.term, None)

    # -------------------------------------------------------- role changes
    def _become_follower(self, term: int, leader: str | None) -> None:
        if term > self.term:
            self.term = term
            self.vote = None
        if self.role == LEADER:
            self._stepped_down = True
            self.progress = {}
            self._to_send = {}
            self._reads = []
        self.role = FOLLOWER
        self.leader = leader
        self._reset_timer()

    def _become_leader(self) -> None:
        self.role = LEADER
        self.leader = self.id
        self._heartbeat_elapsed = 0
        nxt = self.log.last_index + 1
        self.progress = {p: Progress(next=nxt, last_ack=self.now) for p in self.peers}
        self._reads = []
        noop = LogEntry(nxt, self.term, dict(NOOP))
        self.lead_index = noop.index
        self.log.append([noop])
        for peer in self.peers:
            self._send_append(peer)

    def _tick_leader(self) -> None:
        cfg = self.cfg
        alive = 1
        for pr in self.progress.values():
            if pr.inflight and self.now - pr.sent_at >= cfg.rpc_timeout_ticks:
                pr.inflight = False  # lost: the heartbeat below sends again
            if self.now - pr.last_ack <= cfg.election_ticks_max:
                alive += 1
        if alive < cfg.majority:  # check-quorum: a cut-off leader must not linger
            self._become_follower(self.term, None)
            return
        self._heartbeat_elapsed += 1
        if self._heartbeat_elapsed >= cfg.heartbeat_ticks:
            self._heartbeat_elapsed = 0
            for peer in self.peers:
                self._send_append(peer)

    # ---------------------------------------------------------- replication
    def _send_append(self, peer: str) -> None:
        """Claim ``peer``'s one in-flight slot; the message is built by :meth:`ready`.

        Building late puts everything proposed until the driver's next drain
        into the same append (and stamps the newest read round and commit).
        """
        pr = self.progress[peer]
        if pr.inflight:
            return
        pr.inflight, pr.sent_at = True, self.now
        self._to_send[peer] = None

    def _bounded(self, entries: list[LogEntry]) -> tuple[LogEntry, ...]:
        """The first entries whose JSON fits ``max_batch_bytes`` (at least one)."""
        size = 0
        for i, e in enumerate(entries):
            size += e.wire_size
            if i and size > self.cfg.max_batch_bytes:
                return tuple(entries[:i])
        return tuple(entries)

    def _build_append(self, peer: str) -> Message:
        pr = self.progress[peer]
        if pr.next <= self.log.snapshot_index:
            snap = self.log.snapshot
            return Message(SNAP, self.id, peer, self.term, context=self._round, snapshot=snap)
        prev = pr.next - 1
        upto = min(self.log.last_index, prev + self.cfg.max_batch)
        entries = self._bounded(self.log.slice(pr.next, upto)) if upto >= pr.next else ()
        prev_term = self.log.term_at(prev) or 0
        return Message(
            APP,
            self.id,
            peer,
            self.term,
            prev,
            prev_term,
            entries,
            self.commit,
            context=self._round,
        )

    def _heard_from_leader(self, m: Message) -> None:
        if self.role != FOLLOWER:
            self._become_follower(m.term, m.src)
        self.leader = m.src
        self._leader_contact = self.now
        self._reset_timer()

    def _on_append(self, m: Message) -> None:
        self._heard_from_leader(m)
        merged = self.log.merge(m.index, m.log_term, m.entries, self.commit)
        if not merged.success:
            self._reply(m, reject=True, hint=merged.conflict_index)
            return
        match = m.index + len(m.entries)
        self.commit = max(self.commit, min(m.commit, match))
        self._reply(m, reject=False, hint=match)

    def _on_snapshot(self, m: Message) -> None:
        self._heard_from_leader(m)
        snap = m.snapshot
        assert snap is not None
        if snap.last_index > self.commit:
            keep = self.log.install(snap)
            self.commit = snap.last_index
            self._pending_snapshot = (snap, keep)
        self._reply(m, reject=False, hint=snap.last_index)

    def _on_append_resp(self, m: Message) -> None:
        pr = self.progress.get(m.src)
        if self.role != LEADER or pr is None:
            return
        pr.inflight = False
        pr.last_ack = self.now
        pr.acked_round = max(pr.acked_round, m.context)
        if m.reject:
            pr.next = max(pr.match + 1, min(m.hint, pr.next - 1), 1)
        elif m.hint > pr.match:
            pr.match = m.hint
            pr.next = max(pr.next, pr.match + 1)
            self._maybe_commit()
        self._release_reads()
        if pr.next <= self.log.last_index or pr.acked_round < self._round or m.reject:
            self._send_append(m.src)  # more to send, or a read waits for a fresh round

    def _maybe_commit(self) -> None:
        matches = sorted([self.log.stable, *(p.match for p in self.progress.values())])
        candidate = matches[len(matches) - self.cfg.majority]
        if candidate > self.commit and self.log.term_at(candidate) == self.term:
            self.commit = candidate

    def _release_reads(self) -> None:
        if not self._reads:
            return
        acked = sorted([self._round, *(p.acked_round for p in self.progress.values())])
        confirmed = acked[len(acked) - self.cfg.majority]
        keep: list[tuple[int, int, int]] = []
        for need, context, index in self._reads:
            if need <= confirmed:
                self._read_states.append(ReadState(context, index))
            else:
                keep.append((need, context, index))
        self._reads = keep

    # ------------------------------------------------------------- helpers
    def _send(self, m: Message) -> None:
        self._msgs.append(m)

    def _reply(self, m: Message, reject: bool, hint: int) -> None:
        kind = RESPONSE_OF[m.kind]
        self._send(
            Message(kind, self.id, m.src, self.term, reject=reject, hint=hint, context=m.context)
        )


_HANDLERS = {
    PREVOTE: RaftCore._on_prevote,
    VOTE: RaftCore._on_vote,
    PREVOTE_RESP: RaftCore._on_vote_resp,
    VOTE_RESP: RaftCore._on_vote_resp,
    APP: RaftCore._on_append,
    SNAP: RaftCore._on_snapshot,
    APP_RESP: RaftCore._on_append_resp,
    SNAP_RESP: RaftCore._on_append_resp,
}
