"""The client-facing HTTP API of a server, put together.

:func:`build_client_routes` adds every client route (each also under
``/_db/{name}/``), the authentication middleware and the
``X-Arango-Server-Id`` header on every answer to an application that already
has :func:`cluster.common.http.make_error_middleware` as its first
middleware. :func:`make_client_app` builds such an application from scratch.
"""

from __future__ import annotations

from aiohttp import web

from cluster.common.http import make_error_middleware
from cluster.server import api_collections, api_databases, api_documents, api_simple, api_users
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
from cluster.server.storage import Storage
from cluster.server.storage_batch import WriteBatcher

ROUTE_MODULES = (api_databases, api_collections, api_documents, api_simple, api_users)


def build_client_routes(
    app: web.Application, storage: Storage, gate: Gate, auth: Auth, body_limit: int
) -> None:
    """Add the client API to ``app`` (before it starts)."""
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
    for module in ROUTE_MODULES:
        module.add_routes(app)


def make_client_app(
    storage: Storage, gate: Gate, auth: Auth, body_limit: int, node_id: str
) -> web.Application:
    """A complete application serving the client API (errors as ArangoDB answers them)."""
    app = web.Application(middlewares=[make_error_middleware(node_id)], client_max_size=body_limit)
    build_client_routes(app, storage, gate, auth, body_limit)
    return app
