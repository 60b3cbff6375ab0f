"""Durable Raft state in SQLite: term, vote, log entries and the latest snapshot.

Every mutating method is one SQLite transaction, committed with
``synchronous=FULL`` in WAL mode, so it is on disk when the method returns.
The Raft driver batches (group commit) by handing everything one
``Ready`` holds to one :meth:`LogStore.persist` call. It implements
``raft.RaftStorage``; the simulator has an in-memory twin.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3

from cluster.agency.raft_core_msgs import HardState, LogEntry, RecoveredState, Snapshot

__all__ = ["LogEntry", "LogStore", "RecoveredState", "Snapshot"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hard_state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    term INTEGER NOT NULL,
    voted_for TEXT
);
CREATE TABLE IF NOT EXISTS log (
    idx INTEGER PRIMARY KEY,
    term INTEGER NOT NULL,
    entry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    last_index INTEGER NOT NULL,
    last_term INTEGER NOT NULL,
    data TEXT NOT NULL
);
"""


class LogStore:
    """The agent's Raft state on disk (``<data_dir>/raft.sqlite``)."""

    def __init__(self, data_dir: str) -> None:
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, "raft.sqlite")
        # one agent per data directory: a second one fails here instead of corrupting the log
        self._lock = open(os.path.join(data_dir, "LOCK"), "a+b")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock.close()
            raise OSError(f"data directory {data_dir} is in use by another agent") from exc
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self.fsyncs = 0  # number of committed transactions (for the benchmark)

    def close(self) -> None:
        self._db.close()
        self._lock.close()

    def load(self) -> RecoveredState:
        """Read everything back after a restart."""
        state = RecoveredState()
        row = self._db.execute("SELECT term, voted_for FROM hard_state WHERE id = 0").fetchone()
        if row is not None:
            state.term, state.voted_for = int(row[0]), row[1]
        snap = self._db.execute(
            "SELECT last_index, last_term, data FROM snapshot WHERE id = 0"
        ).fetchone()
        after = 0
        if snap is not None:
            state.snapshot = Snapshot(int(snap[0]), int(snap[1]), json.loads(snap[2]))
            after = state.snapshot.last_index
        rows = self._db.execute(
            "SELECT idx, term, entry FROM log WHERE idx > ? ORDER BY idx", (after,)
        )
        expected = after + 1
        for idx, term, text in rows:
            if idx != expected:
                raise RuntimeError(f"{self.path}: log has a gap at index {expected}")
            state.entries.append(LogEntry(int(idx), int(term), json.loads(text)))
            expected += 1
        return state

    def save_hard_state(self, term: int, voted_for: str | None) -> None:
        self.persist(HardState(term, voted_for), [])

    def persist(
        self, hard_state: HardState | None, entries: list[LogEntry], one_by_one: bool = False
    ) -> None:
        """Durably write ``hard_state`` and ``entries`` (replacing the log from the first).

        One transaction (one fsync) for all of it; ``one_by_one`` spends one per
        entry instead, kept only to measure what group commit buys.
        """
        if one_by_one and len(entries) > 1:
            self.persist(hard_state, entries[:1])
            for e in entries[1:]:
                self.persist(None, [e])
            return
        if hard_state is None and not entries:
            return
        with self._txn():
            if hard_state is not None:
                self._save_hard_state(hard_state.term, hard_state.vote)
            if entries:
                self._db.execute("DELETE FROM log WHERE idx >= ?", (entries[0].index,))
                self._insert(entries)

    def _save_hard_state(self, term: int, voted_for: str | None) -> None:
        self._db.execute(
            "INSERT INTO hard_state (id, term, voted_for) VALUES (0, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET term = excluded.term, voted_for = excluded.voted_for",
            (term, voted_for),
        )

    def _insert(self, entries: list[LogEntry]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO log (idx, term, entry) VALUES (?, ?, ?)",
            [(e.index, e.term, json.dumps(e.entry, separators=(",", ":"))) for e in entries],
        )

    def save_snapshot(self, snap: Snapshot, discard_log: bool = False) -> None:
        """Store ``snap`` and delete the log prefix it covers (or the whole log)."""
        with self._txn():
            self._db.execute(
                "INSERT INTO snapshot (id, last_index, last_term, data) VALUES (0, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_index = excluded.last_index, "
                "last_term = excluded.last_term, data = excluded.data",
                (snap.last_index, snap.last_term, json.dumps(snap.data, separators=(",", ":"))),
            )
            if discard_log:
                self._db.execute("DELETE FROM log")
            else:
                self._db.execute("DELETE FROM log WHERE idx <= ?", (snap.last_index,))

    def _txn(self) -> _Transaction:
        return _Transaction(self)


class _Transaction:
    def __init__(self, store: LogStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        self._store._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._store._db.execute("COMMIT")
            self._store.fsyncs += 1
        else:
            self._store._db.execute("ROLLBACK")
