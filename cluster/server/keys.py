"""ArangoDB's naming rules: document keys, collection names, database names, user names.

Keys: 1 to 254 bytes of ``a-zA-Z0-9_-:.@()+,=;$!*'%``.
Collection names (traditional): a letter or ``_`` (system collections) first,
then letters, digits, ``_`` and ``-``; at most 256 characters.
Database names (traditional): a letter first (or exactly ``_system``), then
letters, digits, ``_`` and ``-``; at most 64 characters.
"""

from __future__ import annotations

import re
from typing import Any

from cluster.common.errors import (
    ERROR_ARANGO_DATABASE_NAME_INVALID,
    ERROR_ARANGO_DOCUMENT_KEY_BAD,
    ERROR_ARANGO_ILLEGAL_NAME,
    ERROR_USER_INVALID_NAME,
    ArangoError,
)

MAX_KEY_BYTES = 254
MAX_COLLECTION_NAME = 256
MAX_DATABASE_NAME = 64
MAX_USER_NAME = 254
SYSTEM_DATABASE = "_system"

_KEY_RE = re.compile(r"[a-zA-Z0-9_\-:.@()+,=;$!*'%]{1,254}")
_COLLECTION_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_\-]{0,255}")
_DATABASE_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_\-]{0,63}")


def is_valid_key(key: Any) -> bool:
    """True when ``key`` is a string ArangoDB accepts as a document key."""
    return isinstance(key, str) and _KEY_RE.fullmatch(key) is not None


def check_key(key: Any) -> str:
    """``key`` if valid, else ArangoError 400/1221."""
    if not is_valid_key(key):
        raise ArangoError(400, ERROR_ARANGO_DOCUMENT_KEY_BAD, "illegal document key")
    return str(key)


def is_valid_collection_name(name: Any) -> bool:
    return isinstance(name, str) and _COLLECTION_RE.fullmatch(name) is not None


def check_collection_name(name: Any) -> str:
    """``name`` if valid, else ArangoError 400/1208."""
    if not is_valid_collection_name(name):
        raise ArangoError(400, ERROR_ARANGO_ILLEGAL_NAME, f"illegal name: {str(name)[:300]!r}")
    return str(name)


def is_valid_database_name(name: Any) -> bool:
    if name == SYSTEM_DATABASE:
        return True
    return isinstance(name, str) and _DATABASE_RE.fullmatch(name) is not None


def check_database_name(name: Any) -> str:
    """``name`` if valid, else ArangoError 400/1229."""
    if not is_valid_database_name(name):
        raise ArangoError(
            400, ERROR_ARANGO_DATABASE_NAME_INVALID, f"database name invalid: {str(name)[:100]!r}"
        )
    return str(name)


def check_user_name(name: Any) -> str:
    """``name`` if a non-empty string of at most 254 bytes without control characters."""
    if (
        not isinstance(name, str)
        or not name
        or len(name.encode("utf-8", "surrogatepass")) > MAX_USER_NAME
        or any(ord(ch) < 32 for ch in name)
    ):
        raise ArangoError(400, ERROR_USER_INVALID_NAME, "invalid user name")
    return name


def split_document_id(handle: str) -> tuple[str, str] | None:
    """``("coll", "key")`` from ``"coll/key"``, or None when malformed."""
    coll, sep, key = handle.partition("/")
    if not sep or not is_valid_collection_name(coll) or not is_valid_key(key):
        return None
    return coll, key
