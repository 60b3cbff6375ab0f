"""Users: documents in ``_system/_users`` that replicate like any other document.

A user document is ``{"_key", "user", "active", "extra", "authData",
"databases"}``. Its key is the user name when that is a valid document key,
else a hash of the name, so one name maps to exactly one key and duplicates
are caught by the primary index.

``authData`` is ``{"simple": {"method": "pbkdf2-sha256", "iterations", "salt",
"hash"}}`` (PBKDF2-HMAC-SHA256, :data:`DEFAULT_ITERATIONS` rounds). Documents
written before carry ``{"method": "sha256", "salt", "hash"}`` (one salted
SHA-256); they still verify and are rehashed on the next successful login.

``databases`` holds the access levels, as ArangoDB keeps them:
``{"<db>|*": {"level": "rw|ro|none", "collections": {"<coll>|*": "rw|ro|none"}}}``.
Being part of the document, grants replicate with the data and survive a
failover. :func:`database_level` and :func:`collection_level` resolve them.

``root`` exists from the first start without a document: until someone
changes it, root's password is the configured one. Root has ``rw`` on
everything, always, and cannot be deleted.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from typing import Any

from cluster.common.errors import (
    ERROR_ARANGO_DATA_SOURCE_NOT_FOUND,
    ERROR_FORBIDDEN,
    ERROR_USER_DUPLICATE,
    ERROR_USER_NOT_FOUND,
    ArangoError,
    bad_parameter,
)
from cluster.server import storage_docs as docs
from cluster.server.keys import SYSTEM_DATABASE, check_user_name, is_valid_key
from cluster.server.storage_docs import DocWrite
from cluster.server.storage_tx import USERS_COLLECTION, Tx, database_not_found

ROOT = "root"
PBKDF2 = "pbkdf2-sha256"
LEGACY_SHA256 = "sha256"
DEFAULT_ITERATIONS = 100_000  # PBKDF2-HMAC-SHA256 rounds; --password-iterations lowers it
MIN_ITERATIONS = 1_000
LEVELS = ("none", "ro", "rw")
WILDCARD = "*"
_RANK = {level: rank for rank, level in enumerate(LEVELS)}


def user_key(name: str) -> str:
    """The ``_users`` key of user ``name``."""
    if is_valid_key(name) and not name.startswith("h_"):
        return name
    return "h_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


# -- passwords ----------------------------------------------------------------------


def _pbkdf2(password: str, salt: str, iterations: int) -> str:
    raw = password.encode("utf-8", "surrogatepass")
    return hashlib.pbkdf2_hmac("sha256", raw, salt.encode(), iterations).hex()


def hash_password(
    password: str, salt: str | None = None, iterations: int = DEFAULT_ITERATIONS
) -> dict[str, Any]:
    """``authData`` for ``password``: PBKDF2-HMAC-SHA256 with a fresh 16-byte salt."""
    salt = salt if salt is not None else secrets.token_hex(16)
    digest = _pbkdf2(password, salt, iterations)
    return {"simple": {"method": PBKDF2, "iterations": iterations, "salt": salt, "hash": digest}}


def legacy_hash_password(password: str, salt: str | None = None) -> dict[str, Any]:
    """The old format (one salted SHA-256): only to prove old documents still verify."""
    salt = salt if salt is not None else secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode("utf-8", "surrogatepass")).hexdigest()
    return {"simple": {"method": LEGACY_SHA256, "salt": salt, "hash": digest}}


@functools.lru_cache(maxsize=1024)
def _matches(method: str, iterations: int, salt: str, expected: str, password: str) -> bool:
    # Memoized: a Basic header is checked again after every change of _users;
    # PBKDF2 on each would cost ~0.1 s per request.
    if method == PBKDF2:
        got = _pbkdf2(password, salt, iterations)
    else:
        got = legacy_hash_password(password, salt)["simple"]["hash"]
    return hmac.compare_digest(expected, got)


def password_matches(auth_data: Any, password: str) -> bool:
    try:
        simple = auth_data["simple"]
        expected = str(simple["hash"])
        salt = str(simple["salt"])
        method = str(simple.get("method", LEGACY_SHA256))
        iterations = int(simple.get("iterations", 0))
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    if method == PBKDF2 and not MIN_ITERATIONS <= iterations <= 10_000_000:
        return False
    if method not in (PBKDF2, LEGACY_SHA256):
        return False
    return _matches(method, iterations, salt, expected, password)


def needs_rehash(auth_data: Any, iterations: int) -> bool:
    """True when ``auth_data`` is the legacy format or uses fewer rounds than configured."""
    try:
        simple = auth_data["simple"]
        return bool(simple.get("method") != PBKDF2 or int(simple["iterations"]) < iterations)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


# -- documents ----------------------------------------------------------------------


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What ``/_api/user`` shows of a user document."""
    return {
        "user": doc.get("user"),
        "active": bool(doc.get("active", True)),
        "extra": doc.get("extra") or {},
    }


@functools.lru_cache(maxsize=8)
def _root_auth(root_password: str, iterations: int) -> str:
    return json.dumps(hash_password(root_password, salt="root", iterations=iterations))


def virtual_root(root_password: str, iterations: int = DEFAULT_ITERATIONS) -> dict[str, Any]:
    """The root user as it is before any change (no document yet)."""
    return {
        "_key": ROOT,
        "user": ROOT,
        "active": True,
        "extra": {},
        "authData": json.loads(_root_auth(root_password, iterations)),
    }


def user_not_found(name: str) -> ArangoError:
    return ArangoError(404, ERROR_USER_NOT_FOUND, f"user not found: {name}")


def forbidden(message: str) -> ArangoError:
    return ArangoError(403, ERROR_FORBIDDEN, message)


def _check_fields(body: dict[str, Any]) -> None:
    if "passwd" in body and not isinstance(body["passwd"], str):
        raise bad_parameter("passwd must be a string")
    if "active" in body and not isinstance(body["active"], bool):
        raise bad_parameter("active must be a boolean")
    if "extra" in body and not isinstance(body["extra"], dict):
        raise bad_parameter("extra must be an object")


def find_user(
    tx: Tx, name: str, root_password: str, iterations: int = DEFAULT_ITERATIONS
) -> dict[str, Any] | None:
    """The user document of ``name`` (root's virtual one if root was never changed)."""
    doc = tx.get_doc(SYSTEM_DATABASE, USERS_COLLECTION, user_key(name))
    if doc is None and name == ROOT:
        return virtual_root(root_password, iterations)
    return doc


def _stored_users(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.cur.execute(
        "SELECT doc FROM documents WHERE db = ? AND coll = ? ORDER BY key",
        (SYSTEM_DATABASE, USERS_COLLECTION),
    )
    return [dict(json.loads(r[0])) for r in rows]


def list_users(
    tx: Tx, root_password: str, iterations: int = DEFAULT_ITERATIONS
) -> list[dict[str, Any]]:
    found = _stored_users(tx)
    if not any(d.get("user") == ROOT for d in found):
        found.insert(0, virtual_root(root_password, iterations))
    return found


def _store(tx: Tx, doc: dict[str, Any]) -> DocWrite:
    doc["_key"] = user_key(str(doc["user"]))
    return docs.insert(tx, SYSTEM_DATABASE, USERS_COLLECTION, doc, overwrite_mode="replace")


def create_user(
    tx: Tx,
    body: Any,
    root_password: str,
    iterations: int = DEFAULT_ITERATIONS,
    grants: dict[str, Any] | None = None,
) -> DocWrite:
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object")
    name = check_user_name(body.get("user"))
    _check_fields(body)
    if find_user(tx, name, root_password, iterations) is not None:
        raise ArangoError(409, ERROR_USER_DUPLICATE, f"duplicate user: {name}")
    doc = {
        "_key": user_key(name),
        "user": name,
        "active": body.get("active", True),
        "extra": body.get("extra", {}),
        "authData": hash_password(body.get("passwd", ""), iterations=iterations),
        "databases": dict(grants or {}),
    }
    return docs.insert(tx, SYSTEM_DATABASE, USERS_COLLECTION, doc)


def change_user(
    tx: Tx,
    name: str,
    body: Any,
    replace: bool,
    root_password: str,
    iterations: int = DEFAULT_ITERATIONS,
) -> DocWrite:
    """PATCH (``replace=False``) or PUT (``replace=True``) of user ``name``."""
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object")
    _check_fields(body)
    current = find_user(tx, name, root_password, iterations)
    if current is None:
        raise user_not_found(name)
    doc = dict(current)
    if replace:
        doc["active"] = body.get("active", True)
        doc["extra"] = body.get("extra", {})
        doc["authData"] = hash_password(body.get("passwd", ""), iterations=iterations)
    else:
        for field in ("active", "extra"):
            if field in body:
                doc[field] = body[field]
        if "passwd" in body:
            doc["authData"] = hash_password(body["passwd"], iterations=iterations)
    if name == ROOT and doc.get("active") is False:
        raise forbidden("the root user cannot be deactivated")
    return _store(tx, doc)


def rehash(
    tx: Tx, name: str, password: str, root_password: str, iterations: int
) -> DocWrite | None:
    """Store ``password`` of ``name`` in the current format, if it still verifies."""
    current = find_user(tx, name, root_password, iterations)
    if current is None or not password_matches(current.get("authData"), password):
        return None
    if not needs_rehash(current.get("authData"), iterations):
        return None
    doc = dict(current)
    doc["authData"] = hash_password(password, iterations=iterations)
    return _store(tx, doc)


def delete_user(tx: Tx, name: str) -> DocWrite:
    if name == ROOT:
        raise forbidden("the root user cannot be deleted")
    key = user_key(name)
    if not tx.doc_exists(SYSTEM_DATABASE, USERS_COLLECTION, key):
        raise user_not_found(name)
    return docs.remove(tx, SYSTEM_DATABASE, USERS_COLLECTION, key)


# -- access levels ------------------------------------------------------------------


def check_level(value: Any) -> str:
    """``rw``/``ro``/``none`` from a grant body, else 400."""
    if not isinstance(value, str) or value not in _RANK:
        raise bad_parameter('expecting {"grant": "rw"|"ro"|"none"}')
    return value


def at_least(level: str, wanted: str) -> bool:
    return _RANK.get(level, 0) >= _RANK[wanted]


def _grants(doc: dict[str, Any] | None) -> dict[str, Any]:
    grants = doc.get("databases") if doc else None
    return grants if isinstance(grants, dict) else {}


def _db_entry(doc: dict[str, Any] | None, db: str) -> dict[str, Any]:
    entry = _grants(doc).get(db)
    return entry if isinstance(entry, dict) else {}


def explicit_database_level(doc: dict[str, Any] | None, db: str) -> str | None:
    level = _db_entry(doc, db).get("level")
    return level if level in _RANK else None


def explicit_collection_level(doc: dict[str, Any] | None, db: str, coll: str) -> str | None:
    colls = _db_entry(doc, db).get("collections")
    level = colls.get(coll) if isinstance(colls, dict) else None
    return level if level in _RANK else None


def database_level(doc: dict[str, Any] | None, db: str) -> str:
    """The access level of user ``doc`` to database ``db`` (explicit, else ``*``, else none)."""
    if doc is None or not doc.get("active", True):
        return "none"
    if doc.get("user") == ROOT:
        return "rw"
    return explicit_database_level(doc, db) or explicit_database_level(doc, WILDCARD) or "none"


def collection_level(doc: dict[str, Any] | None, db: str, coll: str) -> str:
    """The access level to ``db/coll``: a collection grant overrides the database level.

    Order: the collection's own grant, the database's ``*`` collection grant,
    then the database level. Without at least ``ro`` on the database nothing
    inside it is reachable. ``_system/_users`` (password hashes, grants) is
    reachable only with ``rw`` on ``_system``, whatever the grants say.
    """
    db_level = database_level(doc, db)
    if db_level == "none" or doc is None:
        return "none"
    if doc.get("user") == ROOT:
        return "rw"
    if db == SYSTEM_DATABASE and coll == USERS_COLLECTION:
        return db_level if db_level == "rw" else "none"
    return (
        explicit_collection_level(doc, db, coll)
        or explicit_collection_level(doc, db, WILDCARD)
        or db_level
    )


def can_manage_users(doc: dict[str, Any] | None) -> bool:
    """Only users with ``rw`` on ``_system`` create, change and delete users and grants."""
    return database_level(doc, SYSTEM_DATABASE) == "rw"


def set_grant(
    tx: Tx,
    name: str,
    db: str,
    coll: str | None,
    level: str | None,
    root_password: str,
    iterations: int = DEFAULT_ITERATIONS,
) -> DocWrite:
    """Set (``level``) or clear (``None``) the grant of ``name`` on ``db`` or ``db/coll``."""
    if name == ROOT:
        raise forbidden("root always has rw access; its grants cannot be changed")
    current = find_user(tx, name, root_password, iterations)
    if current is None:
        raise user_not_found(name)
    if db != WILDCARD and not tx.database_exists(db):
        raise database_not_found(db)
    if coll is not None and coll != WILDCARD and db != WILDCARD and tx.collection(db, coll) is None:
        raise ArangoError(
            404, ERROR_ARANGO_DATA_SOURCE_NOT_FOUND, f"collection or view not found: {coll}"
        )
    doc = dict(current)
    grants = {k: dict(v) for k, v in _grants(doc).items() if isinstance(v, dict)}
    entry = grants.setdefault(db, {})
    if coll is None:
        if level is None:
            entry.pop("level", None)
        else:
            entry["level"] = level
    else:
        colls = dict(entry.get("collections") or {})
        if level is None:
            colls.pop(coll, None)
        else:
            colls[coll] = level
        entry["collections"] = colls
    if not entry.get("level") and not entry.get("collections"):
        grants.pop(db, None)
    doc["databases"] = grants
    return _store(tx, doc)


def drop_database_grants(tx: Tx, db: str) -> None:
    """Forget every grant on ``db`` (it was dropped; a new one of that name starts empty)."""
    for doc in _stored_users(tx):
        if db in _grants(doc):
            changed = dict(doc)
            changed["databases"] = {k: v for k, v in _grants(doc).items() if k != db}
            _store(tx, changed)


def grants_view(doc: dict[str, Any], databases: list[str], full: bool) -> dict[str, Any]:
    """``GET /_api/user/{user}/database``: each reachable database's level.

    ``full``: every database, as ``{"permission", "collections"}``.
    """
    out: dict[str, Any] = {}
    for db in databases:
        level = database_level(doc, db)
        if full:
            colls = _db_entry(doc, db).get("collections")
            out[db] = {"permission": level, "collections": dict(colls or {})}
        elif level != "none":
            out[db] = level
    wildcard = "rw" if doc.get("user") == ROOT else explicit_database_level(doc, WILDCARD)
    if wildcard is not None:
        out[WILDCARD] = {"permission": wildcard} if full else wildcard
    return out
