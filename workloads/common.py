"""What every workload shares: creating its database and collection, and request paths.

A workload works in ``_system`` unless its config names another ``database``;
then every path it sends goes under ``/_db/<database>/``, as ArangoDB clients
address a database, and set-up creates the database first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar
from urllib.parse import quote

from harness.core.client import ArangoClient, Response
from harness.core.protocols import ATTEMPT_MONO_NS, Completion, Invocation

DUPLICATE_NAME = 1207
SYSTEM = "_system"
DOCUMENT_NOT_FOUND = 1202


class SetupError(RuntimeError):
    """A workload could not prepare the cluster (no leader answered in time)."""


async def _create(
    http: ArangoClient, path: str, body: dict[str, Any], what: str, deadline_s: float
) -> None:
    """POST ``body`` to ``path`` on the leader until created (an existing one is fine)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    last: Response | None = None
    while loop.time() < end:
        last = await http.request("POST", path, body=body)
        if last.outcome == "ok" or (last.status == 409 and last.error_num == DUPLICATE_NAME):
            return
        await asyncio.sleep(0.3)
    detail = last.error if last is not None else "no attempt"
    raise SetupError(f"creating {what} failed within {deadline_s}s: {detail}")


async def ensure_collection(
    http: ArangoClient, name: str, deadline_s: float = 60.0, database: str = SYSTEM
) -> None:
    """Create ``name`` (and ``database``, unless ``_system``) on the leader; an existing one is
    fine; retry until a leader answers."""
    if database != SYSTEM:
        await _create(
            http, "/_api/database", {"name": database}, f"database {database!r}", deadline_s
        )
    await _create(
        http,
        db_path(database, "/_api/collection"),
        {"name": name},
        f"collection {name!r}",
        deadline_s,
    )


def db_path(database: str, path: str) -> str:
    """``path`` addressed to ``database``: unchanged for ``_system``, else under ``/_db/``."""
    return path if database == SYSTEM else f"/_db/{quote(database, safe='')}{path}"


def doc_path(collection: str, key: str | None = None, database: str = SYSTEM) -> str:
    path = f"/_api/document/{collection}" + (f"/{key}" if key is not None else "")
    return db_path(database, path)


def completion(resp: Response, value: Any) -> Completion:
    """A completion carrying the response's outcome, node and error.

    It also carries when the answered attempt was sent: earlier attempts were
    refused (a follower, a vacuum) and certainly did not happen, and a cas's
    read came before it, so the operation took effect after that moment
    (the split-brain checker bounds acknowledged writes with it).
    """
    extra: dict[str, Any] = {}
    if resp.sent_ns is not None:
        extra[ATTEMPT_MONO_NS] = resp.sent_ns
    return Completion(resp.outcome, value, node=resp.node, error=resp.error, extra=extra)


def is_not_found(resp: Response) -> bool:
    return resp.status == 404 and resp.error_num == DOCUMENT_NOT_FOUND


class CollectionConfig(Protocol):
    """A workload's configuration dataclass: it names the collection it uses."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    collection: str


C = TypeVar("C", bound=CollectionConfig)


class CollectionWorkload(Generic[C]):
    """What every workload over one collection shares: its config, set-up and description.

    A workload supplies ``name``, ``config_type`` (its configuration dataclass),
    ``checkers()``, ``ops()`` and ``client()``. ``from_config`` is its factory
    for a registry: it builds the workload from the settings ``test.json`` holds.
    """

    name = "workload"
    config_type: ClassVar[type[Any]]

    def __init__(self, config: C) -> None:
        self.cfg = config

    @classmethod
    def from_config(cls, settings: Mapping[str, Any] | None = None) -> Self:
        """The workload with ``settings`` (defaults for any left out); ``ValueError``
        names a setting it does not have."""
        known = {f.name for f in fields(cls.config_type)}
        unknown = sorted(set(settings or {}) - known)
        if unknown:
            raise ValueError(
                f"workload {cls.name}: unknown setting(s) {', '.join(unknown)}"
                f" (known: {', '.join(sorted(known))})"
            )
        return cls(cls.config_type(**dict(settings or {})))

    def final_ops(self) -> list[Invocation]:
        return []

    async def setup(self, http: ArangoClient) -> None:
        database = str(getattr(self.cfg, "database", SYSTEM))
        await ensure_collection(http, self.cfg.collection, database=database)

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)
