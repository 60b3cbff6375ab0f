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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from cluster.common.errors import ArangoError, bad_parameter, corrupted_json
from cluster.common.http import read_body
from cluster.server.auth import Auth
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

    async def body(self, request: web.Request) -> Any:
        """The JSON body (400/600 if malformed; ``NaN`` and ``Infinity`` are not JSON)."""
        raw = await read_body(request, self.body_limit)
        if not raw.strip():
            raise corrupted_json("request body is empty; expecting JSON")
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise corrupted_json(f"request body is not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise corrupted_json("request body is nested too deeply") from exc


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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


CONTEXT = web.AppKey("afcheck.client_context", ClientContext)


def context(request: web.Request) -> ClientContext:
    return request.app[CONTEXT]


def database(request: web.Request) -> str:
    """The database the request addresses (``/_db/{db}/...``, default ``_system``); 404/1228 if absent."""
    db = request.match_info.get("db", SYSTEM_DATABASE)
    if not context(request).storage.database_exists(db):
        raise database_not_found(db)
    return db


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
