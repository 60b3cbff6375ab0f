"""The SQLite schema of a server's data file and how connections are opened.

One file holds everything: ``meta`` (last tick, epoch), ``databases``,
``collections``, ``documents``, the write-ahead log ``wal`` and ``wal_marks``
(the last pair of each epoch pruned from ``wal``, see
:mod:`cluster.server.storage_retention`). The file runs in WAL journal mode
with ``synchronous=FULL``, so a committed transaction survives ``kill -9`` and
power loss. A new file is created with ``auto_vacuum=INCREMENTAL`` so pruning
can shrink it (the pragma must come before the journal mode is set; on an
existing file it changes nothing).
"""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS databases (name TEXT PRIMARY KEY, props TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    db TEXT NOT NULL, name TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (db, name)
);
CREATE TABLE IF NOT EXISTS documents (
    db TEXT NOT NULL, coll TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (db, coll, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wal (tick INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wal_marks (tick INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);
"""

BUSY_TIMEOUT_S = 30.0


def open_connection(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal, full fsync."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
    )
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
