"""The client-facing HTTP API of a server, put together.

:func:`build_client_routes` adds every client route (each also under
``/_db/{name}/``), the authentication middleware and the
``X-Arango-Server-Id`` header on every answer to an application that already
has :func:`cluster.common.http.make_error_middleware` as its first
middleware. :func:`make_client_app` builds such an application from scratch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from cluster.common.errors import ArangoError
from cluster.common.http import make_error_middleware
from cluster.server import (
    api_admin,
    api_collections,
    api_databases,
    api_documents,
    api_queue,
    api_simple,
    api_users,
    users,
)
from cluster.server.api_common import (
    CONTEXT,
    DIRTY_HEADER,
    DIRTY_REQUEST_KEY,
    SERVER_ID_HEADER,
    ClientContext,
    confirm_leader_reads,
)
from cluster.server.auth import Auth
from cluster.server.gate import Gate
from cluster.server.jobs_model import CallbackPolicy
from cluster.server.storage import Storage
from cluster.server.storage_batch import WriteBatcher

log = logging.getLogger(__name__)

ROUTE_MODULES = (api_databases, api_collections, api_documents, api_simple, api_users, api_admin)


def build_client_routes(
    app: web.Application,
    storage: Storage,
    gate: Gate,
    auth: Auth,
    body_limit: int,
    callback_allow: tuple[str, ...] = (),
) -> None:
    """Add the client API to ``app`` (before it starts), with the queue worker
    (``callback_allow``: URL prefixes ``http-callback`` jobs may POST to)."""
    batcher = WriteBatcher(storage)
    app[CONTEXT] = ClientContext(storage, gate, auth, batcher, body_limit)
    app.middlewares.append(auth.middleware())
    app.middlewares.append(confirm_leader_reads)

    async def add_server_id(request: web.Request, response: web.StreamResponse) -> None:
        response.headers[SERVER_ID_HEADER] = gate.server_id
        if request.get(DIRTY_REQUEST_KEY):
            response.headers[DIRTY_HEADER] = "true"

    async def stop_batcher(app: web.Application) -> None:
        batcher.close()

    app.on_response_prepare.append(add_server_id)
    app.on_cleanup.append(stop_batcher)
    auth.rehash, remember_loop = _rehasher(app[CONTEXT])
    app.on_startup.append(remember_loop)
    for module in ROUTE_MODULES:
        module.add_routes(app)
    api_queue.add_routes(app, CallbackPolicy(callback_allow))


def _rehasher(
    ctx: ClientContext,
) -> tuple[Callable[[str, str], None], Callable[[web.Application], Awaitable[None]]]:
    """Store an outdated password hash anew after a successful login (leader only).

    Best effort, in the background: a follower, or a write that fails, leaves
    the old hash in place (it still verifies) until the next login.
    """
    pending: set[str] = set()
    tasks: set[asyncio.Task[None]] = set()
    loop: list[asyncio.AbstractEventLoop] = []

    async def remember_loop(app: web.Application) -> None:
        loop[:] = [asyncio.get_running_loop()]

    async def run(name: str, password: str) -> None:
        auth = ctx.auth
        try:
            await ctx.write(
                lambda tx: users.rehash(tx, name, password, auth.root_password, auth.iterations)
            )
        except ArangoError as exc:
            log.debug("rehash of %s's password skipped: %s", name, exc.message)
        finally:
            pending.discard(name)

    def start(name: str, password: str) -> None:  # on the event loop
        if name in pending:
            return
        try:
            ctx.gate.check_write()
        except ArangoError:
            return  # not the leader: the old hash stays until a login there
        pending.add(name)
        task = asyncio.get_running_loop().create_task(run(name, password))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def schedule(name: str, password: str) -> None:  # on the thread that checked the login
        if loop:
            loop[0].call_soon_threadsafe(start, name, password)

    return schedule, remember_loop


def make_client_app(
    storage: Storage,
    gate: Gate,
    auth: Auth,
    body_limit: int,
    node_id: str,
    callback_allow: tuple[str, ...] = (),
) -> web.Application:
    """A complete application serving the client API (errors as ArangoDB answers them)."""
    app = web.Application(middlewares=[make_error_middleware(node_id)], client_max_size=body_limit)
    build_client_routes(app, storage, gate, auth, body_limit, callback_allow)
    return app
