"""aiohttp helpers shared by the agency and the servers.

* :func:`error_middleware` turns :class:`ArangoError` (and aiohttp's own
  404/405/413) into ArangoDB-style JSON answers, and any unexpected exception
  into a 500 that names the node and the operation, without taking the
  process down.
* :func:`read_json` reads a request body with a size limit and a clear error.
* :func:`client_session` makes an outgoing session whose every request has a
  timeout.
* :func:`app_runner` serves an app with a bounded shutdown.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from cluster.common.errors import (
    ERROR_HTTP_SERVER_ERROR,
    ArangoError,
    corrupted_json,
    method_not_allowed,
    not_found,
    too_large,
)

log = logging.getLogger(__name__)

DEFAULT_BODY_LIMIT = 16 * 1024 * 1024
# How long a stopping node lets its open connections finish (s). aiohttp's own
# default is 60 s, and a keep-alive or lingering connection could hold a SIGTERM
# for 10 s or more, past the launchers' grace before SIGKILL.
SHUTDOWN_GRACE_S = 2.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A compact JSON response."""
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(err: ArangoError) -> web.Response:
    return json_response(err.body(), status=err.code, headers=err.headers)


def make_error_middleware(node_id: str) -> Any:
    """Middleware: every failure becomes an ArangoDB-style error answer."""

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ArangoError as err:
            return error_response(err)
        except web.HTTPRequestEntityTooLarge as exc:
            return error_response(too_large(int(getattr(exc, "max_size", 0) or 0)))
        except web.HTTPMethodNotAllowed:
            return error_response(method_not_allowed(request.method))
        except web.HTTPNotFound:
            return error_response(not_found(f"unknown path '{request.path}'"))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(ArangoError(exc.status, exc.status, exc.reason))
        except Exception as exc:  # a bug: answer 500, keep the node alive
            log.exception("%s: %s %s failed", node_id, request.method, request.path)
            return error_response(
                ArangoError(
                    500,
                    ERROR_HTTP_SERVER_ERROR,
                    f"{node_id}: internal error in {request.method} {request.path}: "
                    f"{type(exc).__name__}: {exc}",
                )
            )

    return error_middleware


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes with 413."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int = DEFAULT_BODY_LIMIT) -> Any:
    """The request body parsed as JSON, or a 400 with errorNum 600 saying why."""
    raw = await read_body(request, limit)
    if not raw.strip():
        raise corrupted_json("request body is empty; expecting JSON")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise corrupted_json(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise corrupted_json("request body is nested too deeply") from exc


def client_session(total_timeout: float, limit: int = 100) -> ClientSession:
    """An outgoing HTTP session; every request times out after ``total_timeout`` s."""
    return ClientSession(
        timeout=ClientTimeout(total=total_timeout),
        connector=TCPConnector(limit=limit, force_close=False),
        json_serialize=lambda obj: json.dumps(obj, separators=(",", ":")),
    )


def setup_logging(node_id: str, level: str = "INFO") -> None:
    """Log lines on stderr, each naming the node."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        stream=sys.stderr,
        format=f"%(asctime)s {node_id} %(levelname)s %(name)s: %(message)s",
    )


def app_runner(app: web.Application) -> web.AppRunner:
    """A runner for a node's app: no access log, no signal handling of its own, and a
    cleanup that gives open connections at most :data:`SHUTDOWN_GRACE_S` per stage."""
    return web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S
    )
