"""The agent's HTTP API: ArangoDB's agency API for clients, Raft RPCs for peers.

Client API (``/_api/agency/...``): ``write``, ``transient``, ``read``,
``inquire`` (POST) and ``config`` (GET). A non-leader answers 307 with
``Location`` at the leader's URL as this agent knows it (its peer URL); 503
when it knows no leader. Malformed input gets 400, oversized bodies 413,
wrong methods 405, unknown paths 404, all ArangoDB-style.

Peer API (``/_api/agency_priv/...``): ``requestVote``, ``appendEntries``,
``installSnapshot`` (POST), plus ``GET state?path=/a/b``: this agent's
*local* (possibly stale) value at a path with its commit/apply position, for
tests and the harness to compare agents. It is not a client read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from cluster.agency.raft_types import (
    RPC_APPEND_ENTRIES,
    RPC_INSTALL_SNAPSHOT,
    RPC_REQUEST_VOTE,
    RPCS,
)
from cluster.agency.store import parse_read, parse_transient, parse_write
from cluster.agency.tree_paths import PathError, normalize_path
from cluster.common import clock
from cluster.common.errors import (
    ERROR_HTTP_BAD_PARAMETER,
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ArangoError,
    bad_parameter,
    not_found,
)
from cluster.common.http import json_response, make_error_middleware, read_json

if TYPE_CHECKING:
    from cluster.agency.agent import Agent

VERSION = "3.11.0-afcheck"
PRIV_BODY_LIMIT_FACTOR = 8  # snapshots may exceed a client body


def _unavailable(agent: Agent, operation: str, why: str) -> ArangoError:
    return ArangoError(
        503,
        ERROR_HTTP_SERVICE_UNAVAILABLE,
        f"{agent.cfg.id}: {operation}: {why}",
        extra={"leaderId": agent.raft.leader_id},
    )


def _redirect_or_unavailable(agent: Agent, request: web.Request, operation: str) -> None:
    """Raise the answer a non-leader gives: 307 to the leader, or 503 with no leader."""
    leader = agent.raft.leader_id
    url = agent.url_of(leader) if leader and leader != agent.cfg.id else None
    if url is None:
        raise _unavailable(agent, operation, "no leader known")
    raise web.HTTPTemporaryRedirect(location=url + request.path_qs)


def build_app(agent: Agent) -> web.Application:
    """The aiohttp application serving ``agent``."""
    app = web.Application(
        middlewares=[make_error_middleware(agent.cfg.id)],
        client_max_size=agent.cfg.body_limit * PRIV_BODY_LIMIT_FACTOR,
    )
    limit = agent.cfg.body_limit

    async def write(request: web.Request) -> web.StreamResponse:
        transient = request.path.endswith("/transient")
        op = "transient" if transient else "write"
        if not agent.raft.is_leader():
            _redirect_or_unavailable(agent, request, op)
        body = await read_json(request, limit)
        parse = parse_transient if transient else parse_write
        entries = parse(body, clock.wall())
        if not agent.raft.is_leader():
            _redirect_or_unavailable(agent, request, op)
        results = await agent.propose(entries, op)
        status = 412 if any(r == 0 for r in results) else 200
        return json_response({"results": results}, status=status)

    async def read(request: web.Request) -> web.StreamResponse:
        if not agent.raft.is_leader():
            _redirect_or_unavailable(agent, request, "read")
        queries = parse_read(await read_json(request, limit))
        await agent.linearizable_barrier("read")
        return json_response(agent.store.read(queries))

    async def inquire(request: web.Request) -> web.StreamResponse:
        if not agent.raft.is_leader():
            _redirect_or_unavailable(agent, request, "inquire")
        body = await read_json(request, limit)
        if not isinstance(body, list) or not all(isinstance(x, str) for x in body):
            raise bad_parameter("inquire body must be an array of clientId strings")
        await agent.linearizable_barrier("inquire")
        found = agent.store.client_ids(body)
        results = [max(found[cid]) if found[cid] else 0 for cid in body]
        return json_response({"results": results, "clientIds": found})

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
        body = await read_json(request, limit * PRIV_BODY_LIMIT_FACTOR)
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

    app.router.add_post("/_api/agency/write", write)
    app.router.add_post("/_api/agency/transient", write)
    app.router.add_post("/_api/agency/read", read)
    app.router.add_post("/_api/agency/inquire", inquire)
    app.router.add_get("/_api/agency/config", config)
    app.router.add_get("/_api/version", version)
    app.router.add_get("/_admin/server/role", role)
    app.router.add_get("/_api/agency_priv/state", state)
    app.router.add_post("/_api/agency_priv/{rpc}", priv)
    return app
