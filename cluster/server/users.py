"""Users: documents in ``_system/_users`` that replicate like any other document.

A user document is ``{"_key", "user", "active", "extra", "authData": {"simple":
{"method": "sha256", "salt", "hash"}}}`` (ArangoDB's layout). Its key is the
user name when that is a valid document key, else a hash of the name, so one
name maps to exactly one key and duplicates are caught by the primary index.

``root`` exists from the first start without a document: until someone
changes it, root's password is the configured one on every server, so a
follower promoted to leader accepts the same root credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from cluster.common.errors import (
    ERROR_USER_DUPLICATE,
    ERROR_USER_NOT_FOUND,
    ArangoError,
    bad_parameter,
)
from cluster.server import storage_docs as docs
from cluster.server.keys import SYSTEM_DATABASE, check_user_name, is_valid_key
from cluster.server.storage_docs import DocWrite
from cluster.server.storage_tx import USERS_COLLECTION, Tx

ROOT = "root"


def user_key(name: str) -> str:
    """The ``_users`` key of user ``name``."""
    if is_valid_key(name) and not name.startswith("h_"):
        return name
    return "h_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str, salt: str | None = None) -> dict[str, Any]:
    salt = salt if salt is not None else secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode("utf-8", "surrogatepass")).hexdigest()
    return {"simple": {"method": "sha256", "salt": salt, "hash": digest}}


def password_matches(auth_data: Any, password: str) -> bool:
    try:
        simple = auth_data["simple"]
        expected = str(simple["hash"])
        salt = str(simple["salt"])
    except (KeyError, TypeError):
        return False
    got = hash_password(password, salt)["simple"]["hash"]
    return hmac.compare_digest(expected, got)


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What ``/_api/user`` shows of a user document."""
    return {
        "user": doc.get("user"),
        "active": bool(doc.get("active", True)),
        "extra": doc.get("extra") or {},
    }


def virtual_root(root_password: str) -> dict[str, Any]:
    """The root user as it is before any change (no document yet)."""
    return {
        "_key": ROOT,
        "user": ROOT,
        "active": True,
        "extra": {},
        "authData": hash_password(root_password, salt=""),
    }


def user_not_found(name: str) -> ArangoError:
    return ArangoError(404, ERROR_USER_NOT_FOUND, f"user not found: {name}")


def _check_fields(body: dict[str, Any]) -> None:
    if "passwd" in body and not isinstance(body["passwd"], str):
        raise bad_parameter("passwd must be a string")
    if "active" in body and not isinstance(body["active"], bool):
        raise bad_parameter("active must be a boolean")
    if "extra" in body and not isinstance(body["extra"], dict):
        raise bad_parameter("extra must be an object")


def find_user(tx: Tx, name: str, root_password: str) -> dict[str, Any] | None:
    """The user document of ``name`` (root's virtual one if root was never changed)."""
    doc = tx.get_doc(SYSTEM_DATABASE, USERS_COLLECTION, user_key(name))
    if doc is None and name == ROOT:
        return virtual_root(root_password)
    return doc


def list_users(tx: Tx, root_password: str) -> list[dict[str, Any]]:
    rows = tx.cur.execute(
        "SELECT doc FROM documents WHERE db = ? AND coll = ? ORDER BY key",
        (SYSTEM_DATABASE, USERS_COLLECTION),
    )
    found = [dict(json.loads(r[0])) for r in rows]
    if not any(d.get("user") == ROOT for d in found):
        found.insert(0, virtual_root(root_password))
    return found


def create_user(tx: Tx, body: Any, root_password: str) -> DocWrite:
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object")
    name = check_user_name(body.get("user"))
    _check_fields(body)
    if find_user(tx, name, root_password) is not None:
        raise ArangoError(409, ERROR_USER_DUPLICATE, f"duplicate user: {name}")
    doc = {
        "_key": user_key(name),
        "user": name,
        "active": body.get("active", True),
        "extra": body.get("extra", {}),
        "authData": hash_password(body.get("passwd", "")),
    }
    return docs.insert(tx, SYSTEM_DATABASE, USERS_COLLECTION, doc)


def change_user(tx: Tx, name: str, body: Any, replace: bool, root_password: str) -> DocWrite:
    """PATCH (``replace=False``) or PUT (``replace=True``) of user ``name``."""
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object")
    _check_fields(body)
    current = find_user(tx, name, root_password)
    if current is None:
        raise user_not_found(name)
    doc = dict(current) if not replace else {"_key": current["_key"], "user": name}
    if replace:
        doc["active"] = body.get("active", True)
        doc["extra"] = body.get("extra", {})
        doc["authData"] = hash_password(body.get("passwd", ""))
    else:
        for field in ("active", "extra"):
            if field in body:
                doc[field] = body[field]
        if "passwd" in body:
            doc["authData"] = hash_password(body["passwd"])
    doc["_key"] = user_key(name)
    return docs.insert(tx, SYSTEM_DATABASE, USERS_COLLECTION, doc, overwrite_mode="replace")


def delete_user(tx: Tx, name: str) -> DocWrite:
    key = user_key(name)
    if not tx.doc_exists(SYSTEM_DATABASE, USERS_COLLECTION, key):
        raise user_not_found(name)
    return docs.remove(tx, SYSTEM_DATABASE, USERS_COLLECTION, key)
