"""One write transaction: tick allocation, WAL entries and row-level primitives.

Every change to data goes through a :class:`Tx`, which writes the change and
its WAL entry with the same SQLite transaction. Ticks are allocated in memory
and only become visible (``Storage.last_tick``) once the transaction commits;
an operation that fails inside :meth:`Tx.attempt` gives its ticks back, so the
WAL has no gaps that a follower could wait on forever.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from cluster.common import clock
from cluster.common.errors import (
    ERROR_ARANGO_DATA_SOURCE_NOT_FOUND,
    ERROR_ARANGO_DATABASE_NOT_FOUND,
    ERROR_INTERNAL,
    ArangoError,
)
from cluster.server.keys import SYSTEM_DATABASE
from cluster.server.storage_cache import SchemaCache

T = TypeVar("T")
USERS_COLLECTION = "_users"
log = logging.getLogger(__name__)

WAL_OPS = (
    "insert",
    "replace",
    "update",
    "remove",
    "truncate",
    "create-collection",
    "drop-collection",
    "change-collection",
    "create-database",
    "drop-database",
)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def make_rev(tick: int, epoch: int) -> str:
    """A revision string unique across servers: (tick, epoch) names one WAL entry."""
    return f"_{tick:x}-{epoch:x}"


def database_not_found(db: str) -> ArangoError:
    return ArangoError(404, ERROR_ARANGO_DATABASE_NOT_FOUND, f"database not found: {db}")


def collection_not_found(coll: str) -> ArangoError:
    return ArangoError(
        404, ERROR_ARANGO_DATA_SOURCE_NOT_FOUND, f"collection or view not found: {coll}"
    )


class Tx:
    """A write transaction on the writer connection (the caller holds the writer lock)."""

    def __init__(
        self, cur: sqlite3.Cursor, tick: int, epoch: int, cache: SchemaCache | None = None
    ) -> None:
        self.cur = cur
        self.tick = tick
        self.epoch = epoch
        self.cache = cache
        self.schema_changed = False
        self.users_changed = False

    # -- ticks and the WAL ---------------------------------------------------
    def next_tick(self) -> int:
        self.tick += 1
        return self.tick

    def log(
        self,
        db: str,
        op: str,
        collection: str | None,
        key: str | None,
        doc: dict[str, Any] | None,
        old: dict[str, Any] | None,
        tick: int | None = None,
    ) -> int:
        """Append one WAL entry (at ``tick``, or a fresh one) and return its tick."""
        if tick is None:
            tick = self.next_tick()
        entry = {
            "tick": tick,
            "epoch": self.epoch,
            "time": clock.wall_ms(),
            "db": db,
            "op": op,
            "collection": collection,
            "key": key,
            "doc": doc,
            "old": old,
        }
        self.cur.execute(
            "INSERT INTO wal (tick, epoch, entry) VALUES (?, ?, ?)",
            (tick, self.epoch, dumps(entry)),
        )
        return tick

    def write_entry(self, entry: dict[str, Any]) -> None:
        """Store a replicated WAL entry verbatim (same tick and epoch)."""
        self.cur.execute(
            "INSERT OR REPLACE INTO wal (tick, epoch, entry) VALUES (?, ?, ?)",
            (int(entry["tick"]), int(entry["epoch"]), dumps(entry)),
        )
        self.tick = max(self.tick, int(entry["tick"]))

    def attempt(self, op: Callable[[Tx], T]) -> T | ArangoError:
        """Run ``op`` under a savepoint; on ArangoError undo it (and its ticks) and return the error."""
        mark = self.tick
        self.cur.execute("SAVEPOINT op")
        try:
            result = op(self)
        except sqlite3.Error:
            raise
        except ArangoError as err:
            self._undo(mark)
            return err
        except Exception as exc:  # a bug or unforeseen input: fail this op only
            log.exception("write operation failed")
            self._undo(mark)
            return ArangoError(
                500, ERROR_INTERNAL, f"internal error in write: {type(exc).__name__}: {exc}"
            )
        self.cur.execute("RELEASE op")
        return result

    def _undo(self, mark: int) -> None:
        self.cur.execute("ROLLBACK TO op")
        self.cur.execute("RELEASE op")
        self.tick = mark

    # -- databases and collections -------------------------------------------
    def database_exists(self, db: str) -> bool:
        if self.cache is None or self.schema_changed:
            return self._database_exists(db)
        return self.cache.lookup(("db", db), lambda: self._database_exists(db))

    def _database_exists(self, db: str) -> bool:
        row = self.cur.execute("SELECT 1 FROM databases WHERE name = ?", (db,)).fetchone()
        return row is not None

    def require_database(self, db: str) -> None:
        if not self.database_exists(db):
            raise database_not_found(db)

    def collection(self, db: str, coll: str) -> dict[str, Any] | None:
        """The collection's properties (callers must not change the dict), or None."""
        if self.cache is None or self.schema_changed:
            return self._collection(db, coll)
        return self.cache.lookup(("coll", db, coll), lambda: self._collection(db, coll))

    def _collection(self, db: str, coll: str) -> dict[str, Any] | None:
        row = self.cur.execute(
            "SELECT props FROM collections WHERE db = ? AND name = ?", (db, coll)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def require_collection(self, db: str, coll: str) -> dict[str, Any]:
        props = self.collection(db, coll)
        if props is None:
            self.require_database(db)
            raise collection_not_found(coll)
        return props

    def put_collection(self, db: str, props: dict[str, Any]) -> None:
        self.schema_changed = True
        self.cur.execute(
            "INSERT OR REPLACE INTO collections (db, name, props) VALUES (?, ?, ?)",
            (db, props["name"], dumps(props)),
        )

    def delete_collection(self, db: str, coll: str) -> None:
        self.schema_changed = True
        self.cur.execute("DELETE FROM documents WHERE db = ? AND coll = ?", (db, coll))
        self.cur.execute("DELETE FROM collections WHERE db = ? AND name = ?", (db, coll))

    def put_database(self, name: str, props: dict[str, Any]) -> None:
        self.schema_changed = True
        self.cur.execute(
            "INSERT OR REPLACE INTO databases (name, props) VALUES (?, ?)", (name, dumps(props))
        )

    def delete_database(self, name: str) -> None:
        self.schema_changed = True
        self.cur.execute("DELETE FROM documents WHERE db = ?", (name,))
        self.cur.execute("DELETE FROM collections WHERE db = ?", (name,))
        self.cur.execute("DELETE FROM databases WHERE name = ?", (name,))

    # -- documents -----------------------------------------------------------
    def get_doc(self, db: str, coll: str, key: str) -> dict[str, Any] | None:
        row = self.cur.execute(
            "SELECT doc FROM documents WHERE db = ? AND coll = ? AND key = ?", (db, coll, key)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def doc_exists(self, db: str, coll: str, key: str) -> bool:
        row = self.cur.execute(
            "SELECT 1 FROM documents WHERE db = ? AND coll = ? AND key = ?", (db, coll, key)
        ).fetchone()
        return row is not None

    def put_doc(self, db: str, coll: str, doc: dict[str, Any]) -> None:
        if coll == USERS_COLLECTION and db == SYSTEM_DATABASE:
            self.users_changed = True
        self.cur.execute(
            "INSERT OR REPLACE INTO documents (db, coll, key, doc) VALUES (?, ?, ?, ?)",
            (db, coll, doc["_key"], dumps(doc)),
        )

    def delete_doc(self, db: str, coll: str, key: str) -> None:
        if coll == USERS_COLLECTION and db == SYSTEM_DATABASE:
            self.users_changed = True
        self.cur.execute(
            "DELETE FROM documents WHERE db = ? AND coll = ? AND key = ?", (db, coll, key)
        )

    def truncate(self, db: str, coll: str) -> int:
        if coll == USERS_COLLECTION and db == SYSTEM_DATABASE:
            self.users_changed = True
        return self.cur.execute(
            "DELETE FROM documents WHERE db = ? AND coll = ?", (db, coll)
        ).rowcount

    def set_meta(self, key: str, value: str) -> None:
        self.cur.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, value))
