"""``POST /_admin/cluster/switchover``: hand leadership over without stopping the leader.

Superuser only (a JWT signed with the cluster secret; anyone when
authentication is off). Body, optional: ``{"to": "s2", "timeout": 5}`` (or
``?to=s2&timeout=5``): the server to hand over to (default: the first GOOD
follower holding every write) and how long to wait for it, in seconds.

Answers ``200 {"old", "new", "epoch", "tick", "seconds"}`` once the leader
key names the new leader; ``503`` / ``1496`` with ``X-Arango-Endpoint`` on a
follower (ask the leader); ``503`` / ``503`` when no follower caught up in
time (the leader keeps leading); ``400`` on a bad body, an unknown server or
the leader itself; ``409`` while another switchover runs. See
:mod:`cluster.server.handover`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from cluster.common.errors import ERROR_HTTP_SERVER_ERROR, ArangoError, bad_parameter
from cluster.common.http import json_response, read_json
from cluster.server.api_common import context, route
from cluster.server.auth import require_superuser
from cluster.server.handover import DEFAULT_TIMEOUT, validate_target

MAX_TIMEOUT = 60.0


@runtime_checkable
class Switchable(Protocol):
    """A gate that can hand its leadership over (:class:`~cluster.server.leadership.Leadership`)."""

    async def switchover(self, to: str | None = None, wait_s: float = ...) -> dict[str, Any]: ...


def _timeout(raw: Any) -> float:
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= MAX_TIMEOUT:
        raise bad_parameter(f"'timeout' must be a number of seconds in (0, {MAX_TIMEOUT:g}]")
    return value


async def switchover(request: web.Request) -> web.Response:
    require_superuser(request)
    ctx = context(request)
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        body = await read_json(request, ctx.body_limit)
        if not isinstance(body, dict) or set(body) - {"to", "timeout"}:
            raise bad_parameter('expecting {"to": server id, "timeout": seconds}, both optional')
        params.update(body)
    to = validate_target(params.get("to"))
    timeout = _timeout(params.get("timeout"))
    gate = ctx.gate
    if not isinstance(gate, Switchable):
        raise ArangoError(
            501, ERROR_HTTP_SERVER_ERROR, f"{gate.server_id} cannot hand its leadership over"
        )
    return json_response(await gate.switchover(to, timeout))


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/_admin/cluster/switchover", switchover)
