"""The values that flow in and out of :class:`~cluster.agency.raft_core.RaftCore`.

Everything here is plain data: log entries, snapshots, the durable hard
state, one-way messages between cores, and the :class:`Ready` batch that
tells a driver what to persist, send and apply. Keeping them free of I/O
and of asyncio is what lets the same core run under the HTTP driver and
under the deterministic simulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER = "follower", "pre-candidate", "candidate", "leader"

# Message kinds. Requests and their responses travel as separate one-way
# messages inside the core; the HTTP driver pairs them as request/response.
PREVOTE, PREVOTE_RESP = "prevote", "prevote_resp"
VOTE, VOTE_RESP = "vote", "vote_resp"
APP, APP_RESP = "app", "app_resp"
SNAP, SNAP_RESP = "snap", "snap_resp"
RESPONSE_OF = {PREVOTE: PREVOTE_RESP, VOTE: VOTE_RESP, APP: APP_RESP, SNAP: SNAP_RESP}

NOOP: dict[str, Any] = {"kind": "noop"}


@dataclass(frozen=True)
class LogEntry:
    """One Raft log entry (immutable: the same object may sit in several logs)."""

    index: int
    term: int
    entry: dict[str, Any]

    def to_wire(self) -> list[Any]:
        return [self.index, self.term, self.entry]

    @cached_property
    def wire_size(self) -> int:
        """Bytes of the entry as JSON (what it adds to an appendEntries body)."""
        return len(json.dumps(self.entry, separators=(",", ":")))

    @staticmethod
    def from_wire(raw: Any) -> LogEntry:
        if (
            not isinstance(raw, list)
            or len(raw) != 3
            or not isinstance(raw[0], int)
            or not isinstance(raw[1], int)
            or not isinstance(raw[2], dict)
        ):
            raise ValueError(f"malformed log entry {raw!r:.80}")
        return LogEntry(raw[0], raw[1], raw[2])


@dataclass(frozen=True)
class Snapshot:
    """A state-machine snapshot covering the log up to ``last_index``."""

    last_index: int
    last_term: int
    data: dict[str, Any]


@dataclass(frozen=True)
class HardState:
    """What must be on disk before any message that depends on it leaves."""

    term: int = 0
    vote: str | None = None


@dataclass
class RecoveredState:
    """What a store hands back after a restart."""

    term: int = 0
    voted_for: str | None = None
    snapshot: Snapshot | None = None
    entries: list[LogEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    """A one-way message between cores.

    ``index``/``log_term`` are the previous entry for an append and the last
    entry for a vote; ``hint`` is the match index of a successful append
    reply or the retry index of a rejected one; ``context`` carries the
    read-index round an append was stamped with, echoed by its reply.
    """

    kind: str
    src: str
    dst: str
    term: int
    index: int = 0
    log_term: int = 0
    entries: tuple[LogEntry, ...] = ()
    commit: int = 0
    reject: bool = False
    hint: int = 0
    context: int = 0
    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class ReadState:
    """A read-index request released: reads at applied index >= ``index`` are linearizable."""

    context: int
    index: int


@dataclass
class Ready:
    """One batch of work for the driver, to be done in this order.

    1. persist ``hard_state`` (if set), ``snapshot`` (if set; drop the whole
       log unless ``snapshot_keeps_log``), then ``entries``: they replace
       everything from ``entries[0].index`` on;
    2. send ``messages`` (only now: they may promise what step 1 wrote);
    3. restore the state machine from ``snapshot``, apply ``committed``;
    4. call :meth:`RaftCore.advance` with this value.

    ``committed`` entries are stable already, so without a ``snapshot`` a
    driver may apply them before step 1 (the HTTP driver does: acks then
    need not wait for the next batch's fsync).
    """

    role: str
    term: int
    leader: str | None
    hard_state: HardState | None = None
    entries: list[LogEntry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    snapshot_keeps_log: bool = True
    committed: list[LogEntry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)
    stepped_down: bool = False


@dataclass(frozen=True)
class CoreConfig:
    """Timing (in ticks) and sizing of one core."""

    node_id: str
    peers: tuple[str, ...]
    heartbeat_ticks: int = 5
    election_ticks_min: int = 25
    election_ticks_max: int = 50
    rpc_timeout_ticks: int = 25
    max_batch: int = 1000
    max_batch_bytes: int = 4 * 1024 * 1024  # an append carries at least one entry
    unsafe_grant_vote_without_log_check: bool = False  # test-only: a deliberately broken core

    @property
    def majority(self) -> int:
        return (len(self.peers) + 1) // 2 + 1


@dataclass
class Progress:
    """The leader's view of one follower."""

    next: int
    match: int = 0
    inflight: bool = False
    sent_at: int = 0
    last_ack: int = 0
    acked_round: int = 0


class NotLeaderError(Exception):
    """A leader-only input reached a non-leader; ``leader`` is whom it believes leads."""

    def __init__(self, leader: str | None) -> None:
        super().__init__(f"not the leader (leader is {leader})")
        self.leader = leader
