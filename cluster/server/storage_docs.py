"""Document operations inside a write transaction: insert, replace, update, remove.

Each operation checks its input the way ArangoDB does (key rules, document
type, ``_rev`` preconditions, overwrite modes), writes the document and exactly
one WAL entry, and returns a :class:`DocWrite` the REST layer turns into
ArangoDB's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cluster.common.errors import (
    ERROR_ARANGO_CONFLICT,
    ERROR_ARANGO_DOCUMENT_NOT_FOUND,
    ERROR_ARANGO_DOCUMENT_TYPE_INVALID,
    ERROR_ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
    ArangoError,
)
from cluster.server.keys import check_key
from cluster.server.storage_tx import Tx, make_rev

SYSTEM_ATTRIBUTES = ("_key", "_id", "_rev")
OVERWRITE_MODES = ("conflict", "ignore", "replace", "update")
MAX_KEY_ATTEMPTS = 1000


@dataclass(frozen=True)
class DocWrite:
    """The outcome of one document operation; ``tick`` is 0 when nothing was written."""

    tick: int
    new: dict[str, Any] | None
    old: dict[str, Any] | None

    @property
    def meta(self) -> dict[str, Any]:
        """``_id``, ``_key``, ``_rev`` (and ``_oldRev``) as ArangoDB answers them."""
        doc = self.new if self.new is not None else self.old
        assert doc is not None
        out = {"_id": doc["_id"], "_key": doc["_key"], "_rev": doc["_rev"]}
        if self.new is not None and self.old is not None:
            out["_oldRev"] = self.old["_rev"]
        return out


def document_not_found() -> ArangoError:
    return ArangoError(404, ERROR_ARANGO_DOCUMENT_NOT_FOUND, "document not found")


def rev_conflict(current: dict[str, Any]) -> ArangoError:
    return ArangoError(
        412,
        ERROR_ARANGO_CONFLICT,
        "conflict, _rev values do not match",
        headers={"ETag": f'"{current["_rev"]}"'},
        extra={"_id": current["_id"], "_key": current["_key"], "_rev": current["_rev"]},
    )


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ArangoError(400, ERROR_ARANGO_DOCUMENT_TYPE_INVALID, "invalid document type")
    return body


def check_rev(current: dict[str, Any], expected: str | None) -> None:
    if expected is not None and expected != current["_rev"]:
        raise rev_conflict(current)


def build_doc(coll: str, key: str, rev: str, body: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"_key": key, "_id": f"{coll}/{key}", "_rev": rev}
    for name, value in body.items():
        if name not in SYSTEM_ATTRIBUTES:
            doc[name] = value
    return doc


def merge(
    old: dict[str, Any], patch: dict[str, Any], keep_null: bool, merge_objects: bool
) -> dict[str, Any]:
    """ArangoDB's PATCH semantics: nulls removed unless ``keep_null``; sub-objects merged."""
    out = dict(old)
    for name, value in patch.items():
        if value is None and not keep_null:
            out.pop(name, None)
        elif merge_objects and isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = merge(out[name], value, keep_null, merge_objects)
        elif isinstance(value, dict) and not keep_null:
            out[name] = merge({}, value, keep_null, merge_objects)
        else:
            out[name] = value
    return out


def _write(
    tx: Tx,
    db: str,
    coll: str,
    op: str,
    key: str,
    body: dict[str, Any],
    old: dict[str, Any] | None,
    tick: int | None = None,
) -> DocWrite:
    tick = tick if tick is not None else tx.next_tick()
    doc = build_doc(coll, key, make_rev(tick, tx.epoch), body)
    tx.put_doc(db, coll, doc)
    tx.log(db, op, coll, key, doc, old, tick=tick)
    return DocWrite(tick, doc, old)


def _fresh_key(tx: Tx, db: str, coll: str) -> tuple[str, int]:
    """A generated key (the entry's tick as a decimal string, as ArangoDB's traditional generator)."""
    for _ in range(MAX_KEY_ATTEMPTS):
        tick = tx.next_tick()
        if not tx.doc_exists(db, coll, str(tick)):
            return str(tick), tick
    raise ArangoError(500, 1200, "could not generate a unique document key")


def insert(
    tx: Tx,
    db: str,
    coll: str,
    body: Any,
    overwrite_mode: str | None = None,
    keep_null: bool = True,
    merge_objects: bool = True,
) -> DocWrite:
    """Insert ``body``; with an ``overwrite_mode`` an existing key is replaced/updated/ignored."""
    tx.require_collection(db, coll)
    body = require_object(body)
    if "_key" not in body:
        key, tick = _fresh_key(tx, db, coll)
        return _write(tx, db, coll, "insert", key, body, None, tick=tick)
    key = check_key(body["_key"])
    existing = tx.get_doc(db, coll, key)
    if existing is None:
        return _write(tx, db, coll, "insert", key, body, None)
    if overwrite_mode in (None, "conflict"):
        raise ArangoError(
            409,
            ERROR_ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
            "unique constraint violated - in index primary of type primary over '_key'; "
            f"conflicting key: {key}",
            extra={"_key": key},
        )
    if overwrite_mode == "ignore":
        return DocWrite(0, existing, None)
    if overwrite_mode == "update":
        merged = merge(existing, body, keep_null, merge_objects)
        return _write(tx, db, coll, "update", key, merged, existing)
    return _write(tx, db, coll, "replace", key, body, existing)


def get_for_write(tx: Tx, db: str, coll: str, key: Any, expected_rev: str | None) -> dict[str, Any]:
    tx.require_collection(db, coll)
    key = check_key(key)
    current = tx.get_doc(db, coll, key)
    if current is None:
        raise document_not_found()
    check_rev(current, expected_rev)
    return current


def replace(
    tx: Tx, db: str, coll: str, key: Any, body: Any, expected_rev: str | None = None
) -> DocWrite:
    """Replace the whole document ``key``; 404/1202 if absent, 412/1200 on a ``_rev`` mismatch."""
    body = require_object(body)
    current = get_for_write(tx, db, coll, key, expected_rev)
    return _write(tx, db, coll, "replace", current["_key"], body, current)


def update(
    tx: Tx,
    db: str,
    coll: str,
    key: Any,
    patch: Any,
    expected_rev: str | None = None,
    keep_null: bool = True,
    merge_objects: bool = True,
) -> DocWrite:
    """Merge ``patch`` into document ``key`` (ArangoDB's PATCH)."""
    patch = require_object(patch)
    current = get_for_write(tx, db, coll, key, expected_rev)
    merged = merge(current, patch, keep_null, merge_objects)
    return _write(tx, db, coll, "update", current["_key"], merged, current)


def remove(tx: Tx, db: str, coll: str, key: Any, expected_rev: str | None = None) -> DocWrite:
    """Remove document ``key``; the result's ``old`` is the removed document."""
    current = get_for_write(tx, db, coll, key, expected_rev)
    tx.delete_doc(db, coll, current["_key"])
    tick = tx.log(db, "remove", coll, current["_key"], None, current)
    return DocWrite(tick, None, current)
