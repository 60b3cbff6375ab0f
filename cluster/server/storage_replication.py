"""Replication inside a write transaction: applying a leader's WAL entries
verbatim, and taking or restoring a full snapshot for the initial sync."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from cluster.common.errors import ERROR_REPLICATION_INVALID_RESPONSE, ArangoError
from cluster.server.storage_tx import WAL_OPS, Tx


def invalid_entry(reason: str) -> ArangoError:
    return ArangoError(
        400, ERROR_REPLICATION_INVALID_RESPONSE, f"invalid replicated WAL entry: {reason}"
    )


def check_entry(entry: Any) -> dict[str, Any]:
    """The entry if it has the WAL entry shape, else ArangoError 400/1402."""
    if not isinstance(entry, dict):
        raise invalid_entry("not an object")
    for field in ("tick", "epoch"):
        value = entry.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid_entry(f"{field} must be a non-negative integer")
    if entry.get("op") not in WAL_OPS:
        raise invalid_entry(f"unknown op {entry.get('op')!r}")
    if not isinstance(entry.get("db"), str):
        raise invalid_entry("db must be a string")
    op = entry["op"]
    if op in ("insert", "replace", "update") and not (
        isinstance(entry.get("doc"), dict) and isinstance(entry["doc"].get("_key"), str)
    ):
        raise invalid_entry(f"{op} needs doc with _key")
    if op in ("create-collection", "change-collection", "create-database") and not isinstance(
        entry.get("doc"), dict
    ):
        raise invalid_entry(f"{op} needs doc with properties")
    if op in ("insert", "replace", "update", "remove", "truncate", "drop-collection") and (
        not isinstance(entry.get("collection"), str)
    ):
        raise invalid_entry(f"{op} needs collection")
    if op == "remove" and not isinstance(entry.get("key"), str):
        raise invalid_entry("remove needs key")
    return entry


def apply_entry(tx: Tx, entry: dict[str, Any]) -> None:
    """Repeat one leader WAL entry here and store it with the same tick and epoch."""
    db, op, coll = entry["db"], entry["op"], entry.get("collection")
    if op in ("insert", "replace", "update"):
        tx.put_doc(db, str(coll), entry["doc"])
    elif op == "remove":
        tx.delete_doc(db, str(coll), entry["key"])
    elif op == "truncate":
        tx.truncate(db, str(coll))
    elif op in ("create-collection", "change-collection"):
        tx.put_collection(db, entry["doc"])
    elif op == "drop-collection":
        tx.delete_collection(db, str(coll))
    elif op == "create-database":
        tx.put_database(db, entry["doc"])
    elif op == "drop-database":
        tx.delete_database(db)
    tx.write_entry(entry)


def read_snapshot(cur: sqlite3.Cursor, with_documents: bool) -> dict[str, Any]:
    """``{"databases": {db: {"properties", "collections": {c: {"properties", "documents"?}}}}}``.

    The caller runs this inside one read transaction so the result matches one tick.
    """
    databases: dict[str, Any] = {}
    for name, props in cur.execute("SELECT name, props FROM databases ORDER BY name"):
        databases[name] = {"properties": json.loads(props), "collections": {}}
    for db, name, props in cur.execute(
        "SELECT db, name, props FROM collections ORDER BY db, name"
    ).fetchall():
        if db not in databases:
            continue
        item: dict[str, Any] = {"properties": json.loads(props)}
        if with_documents:
            item["documents"] = [
                json.loads(doc)
                for (doc,) in cur.execute(
                    "SELECT doc FROM documents WHERE db = ? AND coll = ? ORDER BY key", (db, name)
                )
            ]
        databases[db]["collections"][name] = item
    return {"databases": databases}


def restore_snapshot(tx: Tx, tick: int, snapshot: dict[str, Any]) -> None:
    """Replace every database, collection, document and WAL entry by ``snapshot`` at ``tick``."""
    databases = snapshot.get("databases")
    if not isinstance(databases, dict):
        raise invalid_entry("snapshot needs a databases object")
    tx.schema_changed = tx.users_changed = True
    for table in ("documents", "collections", "databases", "wal", "wal_marks"):
        tx.cur.execute(f"DELETE FROM {table}")
    for db, item in databases.items():
        tx.put_database(db, item["properties"])
        for coll, citem in item.get("collections", {}).items():
            tx.put_collection(db, citem["properties"])
            tx.cur.executemany(
                "INSERT OR REPLACE INTO documents (db, coll, key, doc) VALUES (?, ?, ?, ?)",
                (
                    (db, coll, doc["_key"], json.dumps(doc, separators=(",", ":")))
                    for doc in citem.get("documents", [])
                ),
            )
    # the WAL starts afresh after the snapshot's tick (see storage_retention)
    tx.set_meta("wal_origin", str(tick + 1))
    tx.tick = tick
