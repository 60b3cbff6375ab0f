"""The Raft log as the core sees it: a snapshot, the entries after it, and a stable mark.

Entries up to ``stable`` are known to be on disk; the rest are *unstable*
and go out in the next :class:`~cluster.agency.raft_core_msgs.Ready`. A
truncation moves ``stable`` back, so the next write replaces the stale
suffix on disk too. No I/O happens here. Indexes start at 1; index 0 with
term 0 is the empty log's origin.
"""

from __future__ import annotations

from dataclasses import dataclass

from cluster.agency.raft_core_msgs import LogEntry, Snapshot


@dataclass
class MergeResult:
    """How a follower's log took an append."""

    success: bool
    match_index: int = 0  # on success: the last index known to match the leader
    conflict_index: int = 0  # on failure: where the leader should retry from


class CoreLog:
    def __init__(self, snapshot: Snapshot | None, entries: list[LogEntry]) -> None:
        self.snapshot = snapshot or Snapshot(0, 0, {})
        self.entries = list(entries)
        self.stable = self.last_index  # what we were given came from disk

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

    def slice(self, first: int, last: int) -> list[LogEntry]:
        """Entries ``first..last`` inclusive (all within the log, after the snapshot)."""
        base = self.snapshot.last_index + 1
        return self.entries[first - base : last - base + 1]

    def unstable(self) -> list[LogEntry]:
        return self.slice(self.stable + 1, self.last_index)

    def append(self, new: list[LogEntry]) -> None:
        """Leader side: add entries at the end (they are unstable until persisted)."""
        self.entries.extend(new)

    def merge(
        self, prev: int, prev_term: int, entries: tuple[LogEntry, ...], commit_index: int
    ) -> MergeResult:
        """Follower side: the log-matching check, conflict truncation and append.

        Raises ``ValueError`` for an append that cannot come from a correct
        leader (indexes out of sequence, or a conflict with a committed entry):
        the simulator reports that as a safety violation, the HTTP driver as 400.
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
        if truncate_from is not None:
            del self.entries[truncate_from - self.snapshot.last_index - 1 :]
            self.stable = min(self.stable, truncate_from - 1)
        self.entries.extend(new)
        return MergeResult(True, match_index=prev + len(entries))

    def mark_stable(self, upto: int) -> None:
        self.stable = max(self.stable, min(upto, self.last_index))

    def compact(self, last: int, data: dict[str, object]) -> Snapshot:
        """Replace the prefix up to ``last`` (applied, hence stable) by a snapshot."""
        term = self.term_at(last)
        if term is None or last > self.stable:
            raise ValueError(f"cannot snapshot at {last}: not a stable entry of the log")
        snap = Snapshot(last, term, dict(data))
        self.entries = self.entries[last - self.snapshot.last_index :]
        self.snapshot = snap
        return snap

    def install(self, snap: Snapshot) -> bool:
        """Take a leader's snapshot; keep the suffix after it if our log agrees there.

        Returns whether the suffix was kept (the driver then keeps it on disk too).
        """
        keep = self.term_at(snap.last_index) == snap.last_term
        self.entries = self.entries[snap.last_index - self.snapshot.last_index :] if keep else []
        self.snapshot = snap
        self.stable = max(self.stable, snap.last_index) if keep else snap.last_index
        return keep
