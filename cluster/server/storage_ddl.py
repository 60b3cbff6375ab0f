"""Database and collection operations inside a write transaction.

Each writes one WAL entry (``create-database``, ``drop-database``,
``create-collection``, ``change-collection``, ``drop-collection``,
``truncate``) whose ``doc`` holds the properties a follower needs to repeat it.
"""

from __future__ import annotations

from typing import Any

from cluster.common.errors import (
    ERROR_ARANGO_DUPLICATE_NAME,
    ERROR_FORBIDDEN,
    ArangoError,
    bad_parameter,
)
from cluster.server.keys import SYSTEM_DATABASE, check_collection_name, check_database_name
from cluster.server.storage_tx import USERS_COLLECTION, Tx, database_not_found

ERROR_ARANGO_COLLECTION_TYPE_INVALID = 1218
DOCUMENT_COLLECTION = 2
EDGE_COLLECTION = 3
CHANGEABLE_PROPERTIES = ("waitForSync", "cacheEnabled", "schema")


def database_props(name: str, tick: int) -> dict[str, Any]:
    return {
        "name": name,
        "id": str(tick),
        "isSystem": name == SYSTEM_DATABASE,
        "path": "none",
        "sharding": "",
        "replicationFactor": 1,
        "writeConcern": 1,
    }


def create_database(tx: Tx, name: Any) -> dict[str, Any]:
    name = check_database_name(name)
    if tx.database_exists(name):
        raise ArangoError(409, ERROR_ARANGO_DUPLICATE_NAME, "duplicate database name")
    tick = tx.next_tick()
    props = database_props(name, tick)
    tx.put_database(name, props)
    tx.log(name, "create-database", None, None, props, None, tick=tick)
    return props


def drop_database(tx: Tx, name: str) -> int:
    if name == SYSTEM_DATABASE:
        raise ArangoError(403, ERROR_FORBIDDEN, "the _system database cannot be dropped")
    if not tx.database_exists(name):
        raise database_not_found(name)
    tx.delete_database(name)
    return tx.log(name, "drop-database", None, None, None, None)


def collection_props(name: str, tick: int, epoch: int, options: dict[str, Any]) -> dict[str, Any]:
    ctype = options.get("type", DOCUMENT_COLLECTION)
    if ctype not in (DOCUMENT_COLLECTION, EDGE_COLLECTION) or isinstance(ctype, bool):
        raise ArangoError(400, ERROR_ARANGO_COLLECTION_TYPE_INVALID, "invalid collection type")
    wait = options.get("waitForSync", False)
    if not isinstance(wait, bool):
        raise bad_parameter("waitForSync must be a boolean")
    key_options = options.get("keyOptions") or {}
    if not isinstance(key_options, dict):
        raise bad_parameter("keyOptions must be an object")
    allow_user_keys = key_options.get("allowUserKeys", True)
    return {
        "id": str(tick),
        "name": name,
        "type": ctype,
        "status": 3,
        "isSystem": name.startswith("_"),
        "waitForSync": wait,
        "globallyUniqueId": f"c{tick}-{epoch}",
        "keyOptions": {
            "type": "traditional",
            "allowUserKeys": bool(allow_user_keys),
            "lastValue": 0,
        },
        "cacheEnabled": False,
        "schema": None,
        "computedValues": None,
        "writeConcern": 1,
        "replicationFactor": 1,
        "numberOfShards": 1,
        "shardKeys": ["_key"],
        "syncByRevision": True,
        "usesRevisionsAsDocumentIds": True,
        "isSmart": False,
        "isDisjoint": False,
    }


def create_collection(tx: Tx, db: str, name: Any, options: dict[str, Any]) -> dict[str, Any]:
    tx.require_database(db)
    name = check_collection_name(name)
    if tx.collection(db, name) is not None:
        raise ArangoError(409, ERROR_ARANGO_DUPLICATE_NAME, f"duplicate name: {name}")
    tick = tx.next_tick()
    props = collection_props(name, tick, tx.epoch, options)
    tx.put_collection(db, props)
    tx.log(db, "create-collection", name, None, props, None, tick=tick)
    return props


def change_collection(tx: Tx, db: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
    old = tx.require_collection(db, name)
    props = dict(old)
    for field in CHANGEABLE_PROPERTIES:
        if field in changes:
            props[field] = changes[field]
    if not isinstance(props["waitForSync"], bool):
        raise bad_parameter("waitForSync must be a boolean")
    tx.put_collection(db, props)
    tx.log(db, "change-collection", name, None, props, old)
    return props


def drop_collection(tx: Tx, db: str, name: str, allow_system: bool) -> dict[str, Any]:
    props = tx.require_collection(db, name)
    if db == SYSTEM_DATABASE and name == USERS_COLLECTION:
        raise ArangoError(403, ERROR_FORBIDDEN, "the _users collection cannot be dropped")
    if props.get("isSystem") and not allow_system:
        raise ArangoError(403, ERROR_FORBIDDEN, f"system collection {name} needs isSystem=true")
    tx.delete_collection(db, name)
    tx.log(db, "drop-collection", name, None, None, props)
    return props


def truncate_collection(tx: Tx, db: str, name: str) -> dict[str, Any]:
    props = tx.require_collection(db, name)
    tx.truncate(db, name)
    tx.log(db, "truncate", name, None, None, None)
    return props
