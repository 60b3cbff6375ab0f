"""What every client route shares: the context, routing under ``/_db/{name}``,
query parameters, and the write and read paths through the Gate.

A write is: ``gate.check_write()``, then the storage operation (group-committed
through the :class:`WriteBatcher`), then ``await gate.commit(tick)``, then the
answer. A read is: ``gate.check_read(dirty allowed?)``, then storage; a read a
follower served carries ``X-Arango-Potential-Dirty-Read: true``. A leader read
is answered only after ``await gate.confirm_read(tick)`` with the tick the read
could see (:func:`confirm_leader_reads`, a middleware, so that error answers
such as 404 are confirmed too: they reveal state as well).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from cluster.common.errors import (
    ERROR_FORBIDDEN,
    ArangoError,
    bad_parameter,
    corrupted_json,
    unauthorized,
)
from cluster.common.http import read_body
from cluster.server import users
from cluster.server.auth import Auth, is_superuser, request_user
from cluster.server.gate import Gate
from cluster.server.keys import SYSTEM_DATABASE
from cluster.server.storage import Storage
from cluster.server.storage_batch import WriteBatcher
from cluster.server.storage_tx import Tx, database_not_found

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ALLOW_DIRTY_HEADER = "X-Arango-Allow-Dirty-Read"
DIRTY_HEADER = "X-Arango-Potential-Dirty-Read"
SERVER_ID_HEADER = "X-Arango-Server-Id"
DIRTY_REQUEST_KEY = web.RequestKey("afcheck.dirty", bool)
LEADER_READ_KEY = web.RequestKey("afcheck.leader_read", bool)
TRUE_VALUES = frozenset({"true", "1", "yes", "on", ""})
FALSE_VALUES = frozenset({"false", "0", "no", "off"})


@dataclass
class ClientContext:
    """Everything a client route needs; stored in the app under :data:`CONTEXT`."""

    storage: Storage
    gate: Gate
    auth: Auth
    batcher: WriteBatcher
    body_limit: int

    async def write(self, op: Callable[[Tx], T]) -> T:
        """Run a mutation if this server may take writes (not yet committed to followers).

        The Gate is asked twice: before queueing, and again on the writer
        thread right before the operation runs, so a write queued just before
        a demotion cannot land in the storage of what is by then a follower.
        """
        self.gate.check_write()
        check_write = self.gate.check_write

        def guarded(tx: Tx) -> T:
            check_write()
            return op(tx)

        return await self.batcher.run(guarded)

    async def commit(self, tick: int) -> None:
        """Wait until ``tick`` may be acknowledged (sync mode: the sync follower has it)."""
        if tick > 0:
            await self.gate.commit(tick)

    async def write_ddl(self, op: Callable[[Tx], T]) -> T:
        """A mutation whose tick is not in its result: commit up to the current last tick."""
        result = await self.write(op)
        await self.commit(self.storage.last_tick())
        return result

    def read_headers(self, request: web.Request) -> dict[str, str]:
        """Allow a read here or raise; the headers the answer must carry."""
        allow_dirty = request.headers.get(ALLOW_DIRTY_HEADER, "").strip().lower() == "true"
        if not self.gate.check_read(allow_dirty):
            request[LEADER_READ_KEY] = True  # confirmed before answering
            return {}
        # Error answers (404 for a missing document, ...) are dirty too: the
        # response hook adds the header to whatever this request answers.
        request[DIRTY_REQUEST_KEY] = True
        return {DIRTY_HEADER: "true"}

    async def body(self, request: web.Request, documents: bool = False) -> Any:
        """The JSON body, within the input limits (400 otherwise).

        ``documents``: the body is one document or an array of documents, and
        the nesting limit applies to each document (the array around them does
        not count). Any other body must stay within the limit as a whole.
        """
        raw = await read_body(request, self.body_limit)
        value = parse_json(raw)
        if documents and isinstance(value, list):
            for item in value:
                check_depth(item)
        else:
            check_depth(value)
        return value


@web.middleware
async def confirm_leader_reads(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a leader read (also an error answer) only once the Gate confirms it."""
    try:
        response = await handler(request)
    except ArangoError:
        await _confirm_read(request)
        raise
    await _confirm_read(request)
    return response


async def _confirm_read(request: web.Request) -> None:
    if request.get(LEADER_READ_KEY):
        ctx = context(request)
        await ctx.gate.confirm_read(ctx.storage.visible_tick())


# -- input limits (docs/server-api.md, "Input limits") ----------------------------
MAX_DEPTH = 64  # most nested levels of objects and arrays in one document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range (not a finite double)")
    return value


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON: 400/600 when malformed, or when a number is not a finite double.

    ``NaN``, ``Infinity`` and numbers such as ``1e400`` (which would become an
    infinity, and be written back as the non-JSON ``Infinity``) are refused.
    Nesting is bounded by :func:`check_depth`, and before it by the parser's
    own recursion limit (far deeper bodies answer 400 here, never 500).
    """
    if not raw.strip():
        raise corrupted_json("request body is empty; expecting JSON")
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise corrupted_json(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise corrupted_json(f"request body nests deeper than {MAX_DEPTH} levels") from exc


def json_depth(value: Any) -> int:
    """Levels of objects and arrays: ``1`` -> 0, ``{}`` -> 1, ``{"a": [1]}`` -> 2."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """400/600 when ``value`` nests objects and arrays deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise corrupted_json(f"document nests deeper than {limit} levels of objects and arrays")
        stack.extend((child, depth + 1) for child in children)


CONTEXT = web.AppKey("afcheck.client_context", ClientContext)


def context(request: web.Request) -> ClientContext:
    return request.app[CONTEXT]


def database(request: web.Request) -> str:
    """The database the request addresses (``/_db/{db}/...``, default ``_system``); 404/1228 if absent."""
    db = request.match_info.get("db", SYSTEM_DATABASE)
    if not context(request).storage.database_exists(db):
        raise database_not_found(db)
    return db


def _user_doc(request: web.Request) -> dict[str, Any] | None:
    return context(request).auth.user_doc(request_user(request))


def _unrestricted(request: web.Request) -> bool:
    auth = context(request).auth
    return not auth.enabled or is_superuser(request) or request_user(request) == users.ROOT


def require_access(request: web.Request, db: str, level: str, coll: str | None = None) -> None:
    """Refuse unless the user has ``level`` (``ro``/``rw``) on ``db`` or on ``db/coll``.

    No access to the database at all answers 401, too low a level 403
    (errorNum 11), as ArangoDB does.
    """
    if _unrestricted(request):
        return
    doc = _user_doc(request)
    if users.database_level(doc, db) == "none":
        raise unauthorized(f"not authorized to access database {db[:100]!r}")
    have = users.collection_level(doc, db, coll) if coll else users.database_level(doc, db)
    if not users.at_least(have, level):
        target = f"{db}/{coll}" if coll else db
        raise ArangoError(
            403, ERROR_FORBIDDEN, f"forbidden: {level} access to {target[:200]!r} is needed"
        )


def may_manage_users(request: web.Request) -> bool:
    """True for users with ``rw`` on ``_system`` (and the cluster's own superuser)."""
    return _unrestricted(request) or users.can_manage_users(_user_doc(request))


def require_user_admin(request: web.Request) -> None:
    if not may_manage_users(request):
        raise ArangoError(
            403, ERROR_FORBIDDEN, "forbidden: managing users needs rw access to _system"
        )


def qbool(request: web.Request, name: str, default: bool) -> bool:
    """A boolean query parameter (``true``/``false``/``1``/``0``); 400 on anything else."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise bad_parameter(f"query parameter {name} must be true or false")


def route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """Add ``path`` and ``/_db/{db}`` + ``path`` (GET also answers HEAD)."""
    for full in (path, "/_db/{db}" + path):
        if method == "GET":
            app.router.add_get(full, handler)
        else:
            app.router.add_route(method, full, handler)


def if_match(request: web.Request) -> str | None:
    """The revision in ``If-Match`` (quotes stripped), if any."""
    return _strip_etag(request.headers.get("If-Match"))


def if_none_match(request: web.Request) -> str | None:
    return _strip_etag(request.headers.get("If-None-Match"))


def _strip_etag(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value or None
