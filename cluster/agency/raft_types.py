"""What the Raft node needs from its surroundings, and what it raises."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from cluster.agency.raft_core_msgs import CoreConfig, HardState, LogEntry, RecoveredState, Snapshot

RPC_REQUEST_VOTE = "requestVote"
RPC_APPEND_ENTRIES = "appendEntries"
RPC_INSTALL_SNAPSHOT = "installSnapshot"
RPCS = (RPC_REQUEST_VOTE, RPC_APPEND_ENTRIES, RPC_INSTALL_SNAPSHOT)


class StateMachine(Protocol):
    """The replicated state machine (the agency's Store)."""

    def apply(self, entry: dict[str, Any], index: int) -> Any: ...

    def snapshot(self) -> dict[str, Any]: ...


class Transport(Protocol):
    """Delivers one RPC to a peer; ``None`` when it could not be delivered in time."""

    async def call(
        self, peer: str, rpc: str, body: dict[str, Any], time_limit: float
    ) -> dict[str, Any] | None: ...


class RaftStorage(Protocol):
    """Where a node's Raft state lives (SQLite ``LogStore``; in memory in the simulator)."""

    def load(self) -> RecoveredState: ...

    def persist(
        self, hard_state: HardState | None, entries: list[LogEntry], one_by_one: bool = False
    ) -> None:
        """Durably write the hard state and ``entries`` (replacing the log from the first)."""
        ...

    def save_snapshot(self, snap: Snapshot, discard_log: bool = False) -> None: ...


class TimeSource(Protocol):
    """The node's clock: the ``cluster.common.clock`` module, skewable by the nemesis."""

    def monotonic(self) -> float: ...

    def real_duration(self, seconds: float) -> float: ...


class NotLeader(Exception):
    """This agent is not (or no longer) the leader; ``leader_id`` is whom it believes leads."""

    def __init__(self, node_id: str, leader_id: str | None, operation: str) -> None:
        super().__init__(f"{node_id}: {operation}: not the leader (leader is {leader_id})")
        self.leader_id = leader_id


@dataclass
class RaftSettings:
    """Timing and sizing of one Raft node (taken from AgentConfig)."""

    node_id: str
    peers: list[str]
    heartbeat_interval: float = 0.1
    election_timeout_min: float = 0.5
    election_timeout_max: float = 1.0
    rpc_timeout: float = 0.5
    snapshot_every: int = 10000
    max_batch: int = 1000
    max_batch_bytes: int = 4 * 1024 * 1024
    seed: int | None = None
    snapshot_rpc_timeout: float = 10.0
    group_commit: bool = True
    tick: float = 0.02
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cluster_size(self) -> int:
        return len(self.peers) + 1

    @property
    def majority(self) -> int:
        return self.cluster_size // 2 + 1

    def core_config(self) -> CoreConfig:
        """These settings for the core, whose time is counted in ticks of ``tick`` seconds."""

        def ticks(seconds: float) -> int:
            return max(1, round(seconds / self.tick))

        # the transport reports every lost call, so the core's own timeout is only a backstop
        slowest = max(self.rpc_timeout, self.snapshot_rpc_timeout)
        return CoreConfig(
            node_id=self.node_id,
            peers=tuple(sorted(self.peers)),
            heartbeat_ticks=ticks(self.heartbeat_interval),
            election_ticks_min=ticks(self.election_timeout_min),
            election_ticks_max=max(
                ticks(self.election_timeout_min), ticks(self.election_timeout_max)
            ),
            rpc_timeout_ticks=math.ceil(slowest / self.tick) + ticks(1.0),
            max_batch=self.max_batch,
            max_batch_bytes=self.max_batch_bytes,
        )
