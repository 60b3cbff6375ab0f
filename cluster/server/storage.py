"""Durable storage of one server: databases, collections, documents and the WAL.

Everything lives in one SQLite file (see :mod:`cluster.server.storage_schema`)
with ``journal_mode=WAL`` and ``synchronous=FULL``. One writer connection,
guarded by a lock, runs every change; a mutating call writes the data and one
WAL entry per changed document in ONE SQLite transaction, so what a call
acknowledged survives ``kill -9``. Readers use one connection per thread and see
only committed data.

Ticks are strictly increasing per server. Every WAL entry carries the
server's current epoch, so ``(tick, epoch)`` names an entry across servers.
A WAL entry is also the replication wire format::

    {"tick", "epoch", "time" (wall ms), "db", "op", "collection", "key",
     "doc" (document after the op, or properties for DDL), "old"}

Blocking calls are short; the REST layer runs writes through
:class:`cluster.server.storage_batch.WriteBatcher`, which merges concurrent
requests into one transaction (group commit) via :meth:`Storage.run_batch`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from cluster.common.errors import ArangoError
from cluster.server import storage_ddl as ddl
from cluster.server import storage_docs as docs
from cluster.server import storage_retention as retention
from cluster.server.keys import SYSTEM_DATABASE, check_key
from cluster.server.storage_cache import SchemaCache
from cluster.server.storage_docs import DocWrite
from cluster.server.storage_replication import (
    apply_entry,
    check_entry,
    read_snapshot,
    restore_snapshot,
)
from cluster.server.storage_schema import create_schema, open_connection
from cluster.server.storage_tx import USERS_COLLECTION, Tx, database_not_found

T = TypeVar("T")
log = logging.getLogger(__name__)

#: how long close() waits for reads in flight on other threads
CLOSE_READ_WAIT_S = 10.0


class StorageOpenError(RuntimeError):
    """The data file cannot be opened or is not a data file of ours."""


class Storage:
    """Databases, collections, documents and the WAL of one server in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self._wlock = threading.Lock()
        self._readers_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        # reads in flight on any thread: close() waits for them, because closing
        # a connection while another thread runs a statement on it crashes SQLite
        self._reads_idle = threading.Condition(self._readers_lock)
        self._active_reads = 0
        self._local = threading.local()
        self._closed = False
        try:
            self._wconn = open_connection(path)
            create_schema(self._wconn)
        except sqlite3.Error as exc:
            raise StorageOpenError(f"cannot open data file {path}: {exc}") from exc
        self.cache = SchemaCache()
        self._last_tick = int(self._meta("last_tick", "0"))
        # the tick of the transaction being committed: an upper bound of what
        # readers on other threads may see until _last_tick catches up
        self._committing_tick = self._last_tick
        self._epoch = int(self._meta("epoch", "0"))
        if not self.database_exists(SYSTEM_DATABASE):
            self.write(lambda tx: ddl.create_database(tx, SYSTEM_DATABASE))
        if not self.collection_exists(SYSTEM_DATABASE, USERS_COLLECTION):
            self.write(
                lambda tx: ddl.create_collection(
                    tx, SYSTEM_DATABASE, USERS_COLLECTION, {"isSystem": True}
                )
            )

    def close(self, read_wait_s: float = CLOSE_READ_WAIT_S) -> None:
        """Close every connection once the reads in flight have finished.

        New reads are refused at once. A read still running after
        ``read_wait_s`` keeps the reader connections open (they are freed
        with this object) rather than have them closed under it.
        """
        with self._wlock, self._reads_idle:
            self._closed = True
            self._wconn.close()
            if not self._reads_idle.wait_for(lambda: self._active_reads == 0, read_wait_s):
                log.warning(
                    "storage %s: %d reads still running after %.0f s; readers left open",
                    self.path,
                    self._active_reads,
                    read_wait_s,
                )
                return
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def _begin_read(self) -> sqlite3.Connection:
        """This thread's reader connection, counted as in use until :meth:`_end_read`.

        One connection per thread, so reads never wait for each other.
        """
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError(f"storage {self.path} is closed")
            conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
            if conn is None:
                conn = open_connection(self.path)
                self._readers.append(conn)
                self._local.conn = conn
            self._active_reads += 1
            return conn

    def _end_read(self) -> None:
        with self._reads_idle:
            self._active_reads -= 1
            if self._active_reads == 0:
                self._reads_idle.notify_all()

    def _meta(self, key: str, default: str) -> str:
        row = self._wconn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    # -- ticks and epoch -----------------------------------------------------
    def last_tick(self) -> int:
        """The tick of the last committed WAL entry (or of the last restored snapshot)."""
        return self._last_tick

    def visible_tick(self) -> int:
        """At least the tick of everything a read on any thread can see now.

        ``last_tick`` is updated just after the commit, so a read on another
        thread may briefly see data ahead of it; the writer publishes the
        committing tick before ``COMMIT`` so no read has to ask SQLite.
        """
        return max(self._last_tick, self._committing_tick)

    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Persist ``epoch``; every later WAL entry carries it."""
        with self._wlock:
            self._wconn.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('epoch', ?)", (str(epoch),)
            )
            self._epoch = epoch

    # -- transactions --------------------------------------------------------
    def run_batch(self, ops: list[Callable[[Tx], T]]) -> list[T | ArangoError]:
        """Run ``ops`` in ONE transaction (one fsync), each under its own savepoint.

        An op that raises ArangoError is undone alone and its error returned in
        its place; any other failure aborts the whole batch and is raised.
        """
        with self._wlock:
            cur = self._wconn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            tx = Tx(cur, self._last_tick, self._epoch, self.cache)
            try:
                results = [tx.attempt(op) for op in ops]
                if tx.tick != self._last_tick:
                    tx.set_meta("last_tick", str(tx.tick))
                self._committing_tick = tx.tick
                cur.execute("COMMIT")
            except BaseException:
                if self._wconn.in_transaction:
                    self._wconn.rollback()
                self._committing_tick = self._last_tick
                self.cache.schema_changed()
                raise
            finally:
                cur.close()
            self._last_tick = self._committing_tick = tx.tick
            if tx.schema_changed:
                self.cache.schema_changed()
            if tx.users_changed:
                self.cache.users_changed()
            return results

    def write(self, op: Callable[[Tx], T]) -> T:
        """Run one op in its own transaction; its ArangoError is raised."""
        result = self.run_batch([op])[0]
        if isinstance(result, ArangoError):
            raise result
        return result

    def read(self, op: Callable[[Tx], T]) -> T:
        """Run a read-only op on this thread's reader connection (committed data only)."""
        conn = self._begin_read()
        try:
            cur = conn.cursor()
            try:
                return op(Tx(cur, self._last_tick, self._epoch, self.cache))
            finally:
                cur.close()
        finally:
            self._end_read()

    # -- databases -----------------------------------------------------------
    def create_database(self, name: str) -> dict[str, Any]:
        return self.write(lambda tx: ddl.create_database(tx, name))

    def drop_database(self, name: str) -> int:
        return self.write(lambda tx: ddl.drop_database(tx, name))

    def list_databases(self) -> list[str]:
        return self.read(
            lambda tx: [r[0] for r in tx.cur.execute("SELECT name FROM databases ORDER BY name")]
        )

    def database_exists(self, name: str) -> bool:
        return self.read(lambda tx: tx.database_exists(name))

    def database_info(self, name: str) -> dict[str, Any]:
        def op(tx: Tx) -> dict[str, Any]:
            row = tx.cur.execute("SELECT props FROM databases WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise database_not_found(name)
            return dict(json.loads(row[0]))

        return self.read(op)

    # -- collections ---------------------------------------------------------
    def create_collection(self, db: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        return self.write(lambda tx: ddl.create_collection(tx, db, name, props))

    def drop_collection(self, db: str, name: str, allow_system: bool = False) -> dict[str, Any]:
        return self.write(lambda tx: ddl.drop_collection(tx, db, name, allow_system))

    def change_collection(self, db: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.write(lambda tx: ddl.change_collection(tx, db, name, changes))

    def truncate(self, db: str, name: str) -> dict[str, Any]:
        return self.write(lambda tx: ddl.truncate_collection(tx, db, name))

    def list_collections(self, db: str) -> list[dict[str, Any]]:
        def op(tx: Tx) -> list[dict[str, Any]]:
            tx.require_database(db)
            rows = tx.cur.execute("SELECT props FROM collections WHERE db = ? ORDER BY name", (db,))
            return [dict(json.loads(r[0])) for r in rows]

        return self.read(op)

    def collection_exists(self, db: str, name: str) -> bool:
        return self.read(lambda tx: tx.collection(db, name) is not None)

    def collection_info(self, db: str, name: str) -> dict[str, Any]:
        return self.read(lambda tx: tx.require_collection(db, name))

    def count(self, db: str, name: str) -> int:
        def op(tx: Tx) -> int:
            tx.require_collection(db, name)
            row = tx.cur.execute(
                "SELECT COUNT(*) FROM documents WHERE db = ? AND coll = ?", (db, name)
            ).fetchone()
            return int(row[0])

        return self.read(op)

    # -- documents -----------------------------------------------------------
    def insert(
        self,
        db: str,
        coll: str,
        doc: Any,
        overwrite_mode: str | None = None,
        keep_null: bool = True,
        merge_objects: bool = True,
    ) -> DocWrite:
        return self.write(
            lambda tx: docs.insert(tx, db, coll, doc, overwrite_mode, keep_null, merge_objects)
        )

    def replace(
        self, db: str, coll: str, key: str, doc: Any, expected_rev: str | None = None
    ) -> DocWrite:
        return self.write(lambda tx: docs.replace(tx, db, coll, key, doc, expected_rev))

    def update(
        self,
        db: str,
        coll: str,
        key: str,
        patch: Any,
        expected_rev: str | None = None,
        keep_null: bool = True,
        merge_objects: bool = True,
    ) -> DocWrite:
        return self.write(
            lambda tx: docs.update(tx, db, coll, key, patch, expected_rev, keep_null, merge_objects)
        )

    def remove(self, db: str, coll: str, key: str, expected_rev: str | None = None) -> DocWrite:
        return self.write(lambda tx: docs.remove(tx, db, coll, key, expected_rev))

    def get(self, db: str, coll: str, key: str) -> dict[str, Any] | None:
        """The document, or None; unknown database/collection raise 404 (1228/1203)."""

        def op(tx: Tx) -> dict[str, Any] | None:
            tx.require_collection(db, coll)
            return tx.get_doc(db, coll, check_key(key))

        return self.read(op)

    def all_keys(self, db: str, coll: str) -> list[str]:
        def op(tx: Tx) -> list[str]:
            tx.require_collection(db, coll)
            rows = tx.cur.execute(
                "SELECT key FROM documents WHERE db = ? AND coll = ? ORDER BY key", (db, coll)
            )
            return [r[0] for r in rows]

        return self.read(op)

    def all_documents(self, db: str, coll: str) -> list[dict[str, Any]]:
        def op(tx: Tx) -> list[dict[str, Any]]:
            tx.require_collection(db, coll)
            rows = tx.cur.execute(
                "SELECT doc FROM documents WHERE db = ? AND coll = ? ORDER BY key", (db, coll)
            )
            return [dict(json.loads(r[0])) for r in rows]

        return self.read(op)

    # -- replication ---------------------------------------------------------
    def tail(self, from_tick: int, limit: int) -> list[dict[str, Any]]:
        """WAL entries with ``tick >= from_tick``, in tick order, at most ``limit``."""
        return [json.loads(raw) for raw in self.tail_raw(from_tick, limit)]

    def tail_raw(self, from_tick: int, limit: int) -> list[str]:
        """As :meth:`tail`, each entry still as its stored JSON text (no re-encoding)."""
        return self.read(
            lambda tx: [
                r[0]
                for r in tx.cur.execute(
                    "SELECT entry FROM wal WHERE tick >= ? ORDER BY tick LIMIT ?",
                    (from_tick, limit),
                )
            ]
        )

    def apply_replicated(self, entries: list[dict[str, Any]]) -> int:
        """Apply the leader's entries verbatim (same ticks and epochs) in one transaction.

        Entries at or below the last tick are skipped (idempotent). Malformed
        entries raise ArangoError 400/1402 and nothing is applied.
        """
        checked = [check_entry(e) for e in entries]

        def op(tx: Tx) -> int:
            for entry in checked:
                if entry["tick"] > tx.tick:
                    apply_entry(tx, entry)
            return tx.tick

        return self.write(op)

    def inventory(self) -> dict[str, Any]:
        """Databases and collections with properties at one tick: ``{"tick", "epoch", "databases"}``."""
        tick, snapshot = self._snapshot(with_documents=False)
        return {"tick": tick, "epoch": self._epoch, **snapshot}

    def dump_all(self) -> tuple[int, dict[str, Any]]:
        """``(tick, snapshot)`` of everything, taken in one read transaction."""
        return self._snapshot(with_documents=True)

    def dump(self, db: str, coll: str, batch: int) -> Iterator[list[dict[str, Any]]]:
        """The documents of one collection in batches (consistent within the collection)."""
        docs_ = self.all_documents(db, coll)
        for start in range(0, len(docs_), max(1, batch)):
            yield docs_[start : start + max(1, batch)]

    def _snapshot(self, with_documents: bool) -> tuple[int, dict[str, Any]]:
        conn = open_connection(self.path)
        try:
            conn.execute("BEGIN")
            cur = conn.cursor()
            row = cur.execute("SELECT v FROM meta WHERE k = 'last_tick'").fetchone()
            tick = 0 if row is None else int(row[0])
            snapshot = read_snapshot(cur, with_documents)
            conn.execute("COMMIT")
            return tick, snapshot
        finally:
            conn.close()

    def reset_from_snapshot(self, tick: int, epoch: int, snapshot: dict[str, Any]) -> None:
        """Follower full resync: replace all data and the WAL by ``snapshot`` at ``tick``.

        Afterwards the local WAL is empty: :meth:`wal_entry` answers None for
        ticks up to ``tick``.
        """

        def op(tx: Tx) -> None:
            restore_snapshot(tx, tick, snapshot)
            tx.set_meta("epoch", str(epoch))
            tx.set_meta("last_tick", str(tick))

        self.write(op)
        self._epoch = epoch

    def entries_after(self, tick: int) -> list[dict[str, Any]]:
        """Local WAL entries with ``tick > tick`` (what a rollback would discard)."""
        return self.tail(tick + 1, -1)

    def wal_entry(self, tick: int) -> dict[str, Any] | None:
        raw = self.read(
            lambda tx: tx.cur.execute("SELECT entry FROM wal WHERE tick = ?", (tick,)).fetchone()
        )
        return None if raw is None else dict(json.loads(raw[0]))

    # -- retention (see cluster.server.storage_retention) ----------------------
    def prune_wal(self, before_tick: int) -> int:
        """Drop WAL entries with ``tick < before_tick``; returns how many were dropped.

        Data is untouched; the last pair of each pruned epoch stays known to
        :meth:`pair_epoch`. A follower that asks for a pruned tick must resync
        from a snapshot (:meth:`first_tick` tells where the WAL starts).
        """
        with self._wlock:
            return retention.prune_below(self._wconn, before_tick)

    def retention_floor(self, policy: retention.RetentionPolicy, needed: int | None) -> int:
        """The tick below which ``policy`` lets the WAL go (``needed``: a follower's ack)."""
        last = self._last_tick
        candidate = retention.choose_floor(last, policy, needed, 0)
        bfloor = self.read(lambda tx: retention.byte_floor(tx.cur, policy.max_bytes, candidate))
        return retention.choose_floor(last, policy, needed, bfloor)

    def compact(self) -> dict[str, int]:
        """Checkpoint the SQLite WAL and vacuum free pages (after pruning)."""
        with self._wlock:
            if self._closed:
                return {}
            return retention.compact(self._wconn)

    def pair_epoch(self, tick: int) -> int | None:
        """The epoch of the local entry at ``tick``, also when pruned (None if unknown)."""
        return self.read(lambda tx: retention.pair_epoch(tx.cur, tick))

    def wal_stats(self) -> dict[str, int]:
        """``{"rows", "firstTick", "bytes"}`` of the WAL (scans it)."""
        return self.read(lambda tx: retention.wal_stats(tx.cur))

    def first_tick(self) -> int:
        """The smallest tick still in the local WAL (0 when the WAL is empty)."""
        row = self.read(lambda tx: tx.cur.execute("SELECT MIN(tick) FROM wal").fetchone())
        return int(row[0] or 0)

    def tick_gone(self, from_tick: int) -> bool:
        """True when entries from ``from_tick`` on can no longer be served (pruned or resynced)."""
        if from_tick > self._last_tick:
            return False
        first = self.first_tick()
        return first == 0 or from_tick < first
