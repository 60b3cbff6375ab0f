"""The Raft log: the latest snapshot plus the entries after it, in memory and on disk.

Every change is written to the :class:`LogStore` (one SQLite transaction,
fsynced) before it is made in memory, so what this agent acknowledges is on
disk. Indexes start at 1; index 0 with term 0 is the empty log's origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cluster.agency.log_store import LogEntry, LogStore, Snapshot


@dataclass
class MergeResult:
    """How a follower's log took an appendEntries request."""

    success: bool
    match_index: int = 0  # on success: the last index known to match the leader
    conflict_index: int = 0  # on failure: where the leader should retry from


class RaftLog:
    def __init__(
        self,
        disk: LogStore,
        snapshot: Snapshot | None,
        entries: list[LogEntry],
        group_commit: bool = True,
    ) -> None:
        self.disk = disk
        self.snapshot = snapshot or Snapshot(0, 0, {})
        self.entries = entries
        self.group_commit = group_commit

    @property
    def snapshot_index(self) -> int:
        return self.snapshot.last_index

    @property
    def last_index(self) -> int:
        return self.entries[-1].index if self.entries else self.snapshot.last_index

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.snapshot.last_term

    def term_at(self, index: int) -> int | None:
        """The term of entry ``index``; None if compacted away or beyond the end."""
        if index == self.snapshot.last_index:
            return self.snapshot.last_term
        if index < self.snapshot.last_index or index > self.last_index:
            return None
        return self.entries[index - self.snapshot.last_index - 1].term

    def entry(self, index: int) -> LogEntry:
        return self.entries[index - self.snapshot.last_index - 1]

    def wire_slice(self, first: int, last: int) -> list[list[Any]]:
        return [self.entry(i).to_wire() for i in range(first, last + 1)]

    def append(self, new: list[LogEntry]) -> None:
        """Leader side: durably add entries at the end (one fsync, or one each)."""
        if self.group_commit:
            self.disk.append(new)
        else:  # one fsync per entry: kept to measure what group commit buys
            for one in new:
                self.disk.append([one])
        self.entries.extend(new)

    def merge(
        self, prev: int, prev_term: Any, entries: list[LogEntry], commit_index: int
    ) -> MergeResult:
        """Follower side: the log-matching check, conflict truncation and append.

        Raises ``ValueError`` for a request that cannot come from a correct leader
        (indexes out of sequence, or a conflict with a committed entry).
        """
        if prev > self.last_index:
            return MergeResult(False, conflict_index=self.last_index + 1)
        if prev > self.snapshot.last_index:
            mine = self.term_at(prev)
            if mine != prev_term:
                first = prev
                while first - 1 > self.snapshot.last_index and self.term_at(first - 1) == mine:
                    first -= 1
                return MergeResult(False, conflict_index=first)
        new: list[LogEntry] = []
        truncate_from: int | None = None
        for i, e in enumerate(entries):
            if e.index != prev + 1 + i:
                raise ValueError(f"entry index {e.index} out of sequence after {prev}")
            if e.index <= self.snapshot.last_index:
                continue
            if not new and e.index <= self.last_index:
                if self.term_at(e.index) == e.term:
                    continue
                if e.index <= commit_index:
                    raise ValueError(f"leader conflicts with committed entry {e.index}")
                truncate_from = e.index
            new.append(e)
        if new or truncate_from is not None:
            if self.group_commit or len(new) < 2:
                self.disk.append(new, truncate_from)
            else:
                self.disk.append(new[:1], truncate_from)
                for one in new[1:]:
                    self.disk.append([one])
            if truncate_from is not None:
                del self.entries[truncate_from - self.snapshot.last_index - 1 :]
            self.entries.extend(new)
        return MergeResult(True, match_index=prev + len(entries))

    def compact(self, last: int, data: dict[str, Any]) -> Snapshot:
        """Store a snapshot of the state up to ``last`` and drop the entries it covers."""
        term = self.term_at(last)
        if term is None:
            raise ValueError(f"cannot snapshot at {last}: not in the log")
        snap = Snapshot(last, term, data)
        self.disk.save_snapshot(snap)
        self.entries = self.entries[last - self.snapshot.last_index :]
        self.snapshot = snap
        return snap

    def install(self, snap: Snapshot) -> None:
        """Take a leader's snapshot; keep the suffix after it if our log agrees there."""
        keep = self.term_at(snap.last_index) == snap.last_term
        self.disk.save_snapshot(snap, discard_log=not keep)
        self.entries = self.entries[snap.last_index - self.snapshot.last_index :] if keep else []
        self.snapshot = snap
