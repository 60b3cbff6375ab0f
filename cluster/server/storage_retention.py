"""Keeping the replication log bounded: what to prune, pruning it, shrinking the file.

The WAL table grows by one row per write; without pruning a server under a
steady load grows without end even when its data set stays the same size.
:class:`WalPruner` runs every ``--wal-prune-interval`` seconds on every server
and removes entries below a *floor*:

* keep the newest ``--wal-keep-ticks`` entries always (a follower that
  reconnects, or a returning old leader's divergence check, finds them);
* on a leader, also keep from the lowest tick any follower seen within
  ``--wal-client-ttl`` seconds has acknowledged (that entry itself included,
  so a follower promoted later still shares a ``(tick, epoch)`` pair with
  this server's log);
* but never more than ``--wal-max-ticks`` entries nor ``--wal-max-bytes``
  bytes of entries: a follower that falls further behind asks for a tick
  that is gone, gets ``410`` / errorNum 1414 from ``/_api/wal/tail`` and
  resyncs from a snapshot (as ArangoDB's applier does);
* never the newest entry (a server names its log by its last pair).

Pruning records the last ``(tick, epoch)`` of every epoch it removes in the
small ``wal_marks`` table (one row per epoch). As the epochs of a log only
grow with its ticks, the epoch of a pruned tick ``t`` is that of the first
mark at or after ``t``, as long as ``t`` is not older than the log's
*origin* (meta ``wal_origin``: the first tick this log held since it was
created or last restored from a snapshot). So ``/_api/replication/match``
still answers for pruned entries: a follower that merely fell behind is
recognised as a prefix of this log (and resyncs without a rollback file), and
the point where a returning old leader's log left this one (the last entry of
the previous epoch) is still found long after the entry itself was pruned.

After pruning, a passive checkpoint moves the SQLite WAL back into the main
file (``journal_size_limit`` truncates it), and when enough pages are free
an incremental vacuum hands them back to the file system (data files created
by this version use ``auto_vacuum=INCREMENTAL``; older ones reuse free pages).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cluster.common import clock

log = logging.getLogger(__name__)

MAX_MARKS = 64  # epoch marks kept (one per epoch whose entries were pruned)
VACUUM_MIN_FREE_PAGES = 256  # free pages before an incremental vacuum is worth it
JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024  # SQLite WAL file size kept after a checkpoint
SQLITE_MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class RetentionPolicy:
    """How much of the replication log a server keeps (see the module docstring)."""

    keep_ticks: int = 10_000
    max_ticks: int = 1_000_000  # 0 = no bound
    max_bytes: int = 64 * 1024 * 1024  # 0 = no bound

    def __post_init__(self) -> None:
        if self.keep_ticks < 1:
            raise ValueError("--wal-keep-ticks must be at least 1")
        if self.max_ticks < 0 or self.max_bytes < 0:
            raise ValueError("--wal-max-ticks and --wal-max-bytes must not be negative")
        if self.max_ticks and self.max_ticks < self.keep_ticks:
            raise ValueError("--wal-max-ticks must be 0 or at least --wal-keep-ticks")


def choose_floor(
    last_tick: int, policy: RetentionPolicy, needed: int | None, byte_floor: int
) -> int:
    """The lowest tick to keep: entries with ``tick < floor`` may go.

    ``needed`` is the lowest tick a follower still has to be able to match
    (its acknowledged tick), or None; ``byte_floor`` the lowest tick such that
    the entries from it on fit in ``policy.max_bytes`` (0 when unbounded).
    """
    floor = last_tick - policy.keep_ticks + 1
    if needed is not None:
        floor = min(floor, needed)
    if policy.max_ticks:
        floor = max(floor, last_tick - policy.max_ticks + 1)
    floor = max(floor, byte_floor)
    return max(0, min(floor, last_tick))


# -- on the writer connection (the caller holds the writer lock) --------------


def prune_below(conn: sqlite3.Connection, before_tick: int) -> int:
    """Delete entries with ``tick < before_tick`` in one transaction, keeping epoch marks."""
    cur = conn.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE")
        if cur.execute("SELECT 1 FROM meta WHERE k = 'wal_origin'").fetchone() is None:
            # never pruned since created or restored: the oldest entry is the origin
            first = cur.execute("SELECT MIN(tick) FROM wal").fetchone()[0]
            if first is not None:
                cur.execute("INSERT INTO meta (k, v) VALUES ('wal_origin', ?)", (str(first),))
        cur.execute(
            "INSERT OR REPLACE INTO wal_marks (tick, epoch) "
            "SELECT MAX(tick), epoch FROM wal WHERE tick < ? GROUP BY epoch",
            (before_tick,),
        )
        dropped = cur.execute("DELETE FROM wal WHERE tick < ?", (before_tick,)).rowcount
        # one mark per epoch: its last pruned tick
        cur.execute(
            "DELETE FROM wal_marks WHERE tick < "
            "(SELECT MAX(m.tick) FROM wal_marks m WHERE m.epoch = wal_marks.epoch)"
        )
        trimmed = cur.execute(
            "SELECT MAX(tick) FROM wal_marks WHERE tick NOT IN "
            "(SELECT tick FROM wal_marks ORDER BY tick DESC LIMIT ?)",
            (MAX_MARKS,),
        ).fetchone()[0]
        if trimmed is not None:  # forget the oldest epochs: the origin moves past them
            cur.execute("DELETE FROM wal_marks WHERE tick <= ?", (trimmed,))
            cur.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('wal_origin', ?)", (str(trimmed + 1),)
            )
        cur.execute("COMMIT")
        return int(dropped)
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        cur.close()


def compact(conn: sqlite3.Connection) -> dict[str, int]:
    """Checkpoint the SQLite WAL (passive) and vacuum free pages when there are many."""
    conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    vacuumed = 0
    auto_vacuum = int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])
    if auto_vacuum == 2 and free >= VACUUM_MIN_FREE_PAGES:
        # (executescript steps the pragma to the end; execute() frees one page only)
        conn.executescript(f"PRAGMA incremental_vacuum({free})")
        vacuumed = free
    busy, wal_pages, moved = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return {"freePages": free, "vacuumedPages": vacuumed, "walPages": int(wal_pages), "busy": busy}


# -- on a reader cursor -------------------------------------------------------


def byte_floor(cur: sqlite3.Cursor, max_bytes: int, from_tick: int) -> int:
    """Lowest tick ``>= from_tick`` such that the entries from it on fit in ``max_bytes``.

    Walks from the newest entry down and stops as soon as the budget is
    spent, so it reads about ``max_bytes`` of the log at most.
    """
    if max_bytes <= 0:
        return 0
    total = 0
    floor = 0
    rows = cur.execute(
        "SELECT tick, length(CAST(entry AS BLOB)) FROM wal WHERE tick >= ? ORDER BY tick DESC",
        (from_tick,),
    )
    for tick, size in rows:
        total += int(size)
        if total > max_bytes:
            return int(tick) + 1
        floor = int(tick)
    return floor


def pair_epoch(cur: sqlite3.Cursor, tick: int) -> int | None:
    """The epoch of this log's entry at ``tick``: from the WAL, or for a pruned tick
    from the epoch marks (None when unknown: never held, or older than the origin)."""
    row = cur.execute("SELECT epoch FROM wal WHERE tick = ?", (tick,)).fetchone()
    if row is not None:
        return int(row[0])
    origin = cur.execute("SELECT v FROM meta WHERE k = 'wal_origin'").fetchone()
    first = cur.execute("SELECT MIN(tick) FROM wal").fetchone()[0]
    if origin is None or tick < int(origin[0]) or (first is not None and tick >= int(first)):
        return None
    row = cur.execute(
        "SELECT epoch FROM wal_marks WHERE tick >= ? ORDER BY tick LIMIT 1", (tick,)
    ).fetchone()
    return None if row is None else int(row[0])


def wal_stats(cur: sqlite3.Cursor) -> dict[str, int]:
    """``{"rows", "firstTick", "bytes"}`` of the WAL table (``bytes`` scans it: for tests and benchmarks)."""
    rows, first, size = cur.execute(
        "SELECT COUNT(*), MIN(tick), SUM(length(CAST(entry AS BLOB))) FROM wal"
    ).fetchone()
    return {"rows": int(rows), "firstTick": int(first or 0), "bytes": int(size or 0)}


# -- the periodic task ----------------------------------------------------------


class PrunableStorage(Protocol):
    def last_tick(self) -> int: ...

    def retention_floor(self, policy: RetentionPolicy, needed: int | None) -> int: ...

    def prune_wal(self, before_tick: int) -> int: ...

    def compact(self) -> dict[str, int]: ...


class WalPruner:
    """Prunes one server's replication log every ``interval`` seconds (node time).

    ``needed()`` answers the lowest tick a follower still needs matched (a
    leader's slowest live follower), or None (a follower, or no followers).
    """

    def __init__(
        self,
        storage: PrunableStorage,
        policy: RetentionPolicy,
        interval: float,
        needed: Callable[[], int | None],
        name: str = "",
    ) -> None:
        self.storage = storage
        self.policy = policy
        self.interval = interval
        self.needed = needed
        self.name = name
        self.pruned_total = 0
        self.last_floor = 0
        self._task: asyncio.Task[None] | None = None
        self._inflight: asyncio.Future[Any] | None = None

    def prune_once(self) -> int:
        """One pass (blocking): prune below the floor, then compact. Returns entries dropped."""
        floor = self.storage.retention_floor(self.policy, self.needed())
        dropped = self.storage.prune_wal(floor) if floor > 0 else 0
        self.last_floor = floor
        self.pruned_total += dropped
        self.storage.compact()
        if dropped:
            log.debug("%s: pruned %d WAL entries below tick %d", self.name, dropped, floor)
        return dropped

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-wal-pruner")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._inflight is not None:
            with contextlib.suppress(Exception):
                await self._inflight

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(clock.real_duration(self.interval))
            fut = asyncio.ensure_future(asyncio.to_thread(self.prune_once))
            self._inflight = fut
            try:
                await asyncio.shield(fut)
            except (sqlite3.Error, OSError) as exc:
                log.warning("%s: pruning the replication log failed: %s", self.name, exc)
            except Exception:
                log.exception("%s: pruning the replication log failed", self.name)
