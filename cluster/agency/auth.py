"""Who may talk to an agent: holders of the cluster secret, and nobody else.

Every route (the client API, ``config``, the Raft RPCs and the test hook
under ``/_api/agency_priv``) needs ``Authorization: bearer <JWT>`` signed
with the cluster secret and naming a server (``server_id``), as ArangoDB's
agency does. Anything else gets 401 before a handler runs, with ArangoDB's
body (``errorNum`` 11). Tokens are decoded strictly
(:mod:`cluster.common.tokens`).

An agent gets the secret as a file (``--jwt-secret-file``); without one it
refuses to start unless told ``--insecure-no-auth``, which it logs loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cluster.common.errors import ERROR_FORBIDDEN, ArangoError
from cluster.common.tokens import MIN_SECRET_BYTES, SecretError, member_claims, read_secret_file

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NOT_AUTHORIZED = "not authorized to execute this request"


def resolve_secret(node_id: str, secret_file: str, insecure_no_auth: bool) -> str:
    """The cluster secret from ``secret_file``; ``""`` (auth off) only with ``insecure_no_auth``.

    Raises :class:`cluster.common.tokens.SecretError` when there is neither, or
    the file cannot be read or is too short.
    """
    if secret_file:
        return read_secret_file(secret_file, "cluster secret", MIN_SECRET_BYTES)
    if insecure_no_auth:
        log.warning(
            "%s: --insecure-no-auth: AUTHENTICATION IS OFF; anyone who reaches this agent may "
            "read and write the whole agency and send Raft RPCs. Pass --jwt-secret-file PATH.",
            node_id,
        )
        return ""
    raise SecretError(
        "no cluster secret: pass --jwt-secret-file PATH (or --insecure-no-auth for a test "
        "agency that needs no authentication)"
    )


def not_authorized() -> ArangoError:
    return ArangoError(401, ERROR_FORBIDDEN, NOT_AUTHORIZED)


def auth_middleware(secret: str) -> Any:
    """aiohttp middleware: a member's token signed with ``secret`` on every request."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if secret and member_claims(request.headers.get("Authorization"), secret) is None:
            raise not_authorized()
        return await handler(request)

    return check
