"""The agent's HTTP API: ArangoDB's agency API for clients, Raft RPCs for peers.

Client API (``/_api/agency/...``): ``write``, ``transact``, ``transient``,
``read``, ``inquire`` (POST), ``poll`` and ``stores`` (GET), in
:mod:`cluster.agency.client_api`, and ``config`` (GET). A non-leader answers
307 with ``Location`` at the leader's URL as this agent knows it (its peer
URL); 503 when it knows no leader. Malformed input gets 400, oversized bodies
413, wrong methods 405, unknown paths 404, all ArangoDB-style.

Peer API (``/_api/agency_priv/...``): ``requestVote``, ``appendEntries``,
``installSnapshot`` (POST), plus ``GET state?path=/a/b``: this agent's
*local* (possibly stale) value at a path with its commit/apply position, for
tests and the harness to compare agents. It is not a client read.

Every route needs a member's token signed with the cluster secret
(:mod:`cluster.agency.auth`); without it the answer is 401.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from cluster.agency.auth import auth_middleware
from cluster.agency.client_api import add_client_routes
from cluster.agency.raft_types import (
    RPC_APPEND_ENTRIES,
    RPC_INSTALL_SNAPSHOT,
    RPC_REQUEST_VOTE,
    RPCS,
)
from cluster.agency.tree_paths import PathError, normalize_path
from cluster.common.errors import (
    ERROR_HTTP_BAD_PARAMETER,
    ArangoError,
    bad_parameter,
    not_found,
)
from cluster.common.http import json_response, make_error_middleware, read_json

if TYPE_CHECKING:
    from cluster.agency.agent import Agent

VERSION = "3.11.0-afcheck"
PRIV_BODY_LIMIT = 128 * 1024 * 1024  # snapshots (the whole tree) may exceed a client body


def build_app(agent: Agent) -> web.Application:
    """The aiohttp application serving ``agent``."""
    app = web.Application(
        middlewares=[make_error_middleware(agent.cfg.id), auth_middleware(agent.secret)],
        client_max_size=max(agent.cfg.body_limit, PRIV_BODY_LIMIT),
    )
    limit = agent.cfg.body_limit

    async def config(request: web.Request) -> web.StreamResponse:
        return json_response(agent.config_view())

    async def version(request: web.Request) -> web.StreamResponse:
        return json_response({"server": "arango", "version": VERSION, "license": "community"})

    async def role(request: web.Request) -> web.StreamResponse:
        return json_response({"error": False, "code": 200, "role": "AGENT", "mode": "default"})

    async def priv(request: web.Request) -> web.StreamResponse:
        rpc = request.match_info["rpc"]
        if rpc not in RPCS:
            raise not_found(f"unknown agency RPC '{rpc}'")
        body = await read_json(request, max(limit, PRIV_BODY_LIMIT))
        if not isinstance(body, dict):
            raise bad_parameter(f"{rpc} body must be an object")
        try:
            if rpc == RPC_REQUEST_VOTE:
                answer = agent.raft.handle_request_vote(body)
            elif rpc == RPC_APPEND_ENTRIES:
                answer = agent.raft.handle_append_entries(body)
            else:
                assert rpc == RPC_INSTALL_SNAPSHOT
                answer = agent.raft.handle_install_snapshot(body)
        except ValueError as exc:
            raise bad_parameter(f"{agent.cfg.id}: {rpc}: {exc}") from exc
        return json_response(answer)

    async def state(request: web.Request) -> web.StreamResponse:
        try:
            path = normalize_path(request.query.get("path", "/"))
        except PathError as exc:
            raise ArangoError(400, ERROR_HTTP_BAD_PARAMETER, str(exc)) from exc
        status = agent.raft.status()
        return json_response(
            {
                "id": agent.cfg.id,
                "path": path,
                "value": agent.store.get(path),
                "commitIndex": status["commitIndex"],
                "lastApplied": status["lastApplied"],
                "term": status["term"],
                "role": status["role"],
            }
        )

    add_client_routes(app, agent)
    app.router.add_get("/_api/agency/config", config)
    app.router.add_get("/_api/version", version)
    app.router.add_get("/_admin/server/role", role)
    app.router.add_get("/_api/agency_priv/state", state)
    app.router.add_post("/_api/agency_priv/{rpc}", priv)
    return app
