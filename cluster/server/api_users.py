"""``/_api/user`` (users and their access levels) and ``POST /_open/auth``.

Users are documents in ``_system/_users``: changes are writes through the
Gate like any other and replicate to followers, grants included.

Who may do what, as in ArangoDB: users with ``rw`` on ``_system`` manage
users and grants; anyone may read their own user and grants and change their
own password (and ``extra``); root cannot be deleted.

Grants: ``PUT /_api/user/{user}/database/{db}`` ``{"grant": "rw"|"ro"|"none"}``
answers ``{"<db>": "<level>", "error": false, "code": 200}``;
``.../database/{db}/{collection}`` the same with ``"<db>/<collection>"``;
``DELETE`` on either clears the grant (202); ``GET`` answers ``{"result":
"<level>"}``; ``GET /_api/user/{user}/database`` lists the reachable
databases (``?full=true``: every database with its collection grants).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from cluster.common.errors import bad_parameter, unauthorized
from cluster.common.http import json_response
from cluster.server import users
from cluster.server.api_common import (
    context,
    may_manage_users,
    qbool,
    require_user_admin,
    route,
)
from cluster.server.auth import request_user
from cluster.server.storage_docs import DocWrite
from cluster.server.storage_tx import Tx

SELF_CHANGEABLE = frozenset({"passwd", "extra"})


def _answer(doc: dict[str, object], code: int) -> web.Response:
    return json_response({**users.public_view(doc), "error": False, "code": code}, status=code)


def _require_self_or_admin(request: web.Request, name: str) -> None:
    if request_user(request) != name:
        require_user_admin(request)


async def login(request: web.Request) -> web.Response:
    ctx = context(request)
    body = await ctx.body(request)
    if not isinstance(body, dict):
        raise bad_parameter('expecting {"username", "password"}')
    username, password = body.get("username"), body.get("password", "")
    remote = request.remote or ""
    # PBKDF2 costs ~0.1 s: keep it off the event loop
    if not await asyncio.to_thread(ctx.auth.check_password, username, password, remote):
        raise unauthorized("wrong credentials")
    return json_response({"jwt": ctx.auth.user_token(str(username))})


async def list_users(request: web.Request) -> web.Response:
    """Every user for an administrator; only oneself for anyone else (as ArangoDB)."""
    ctx = context(request)
    headers = ctx.read_headers(request)
    root_password, iterations = ctx.auth.root_password, ctx.auth.iterations
    found = ctx.storage.read(lambda tx: users.list_users(tx, root_password, iterations))
    if not may_manage_users(request):
        me = request_user(request)
        found = [doc for doc in found if doc.get("user") == me]
    result = [users.public_view(doc) for doc in found]
    return json_response({"error": False, "code": 200, "result": result}, headers=headers)


def _find(request: web.Request, name: str) -> dict[str, Any]:
    auth = context(request).auth
    root_password, iterations = auth.root_password, auth.iterations
    doc = context(request).storage.read(
        lambda tx: users.find_user(tx, name, root_password, iterations)
    )
    if doc is None:
        raise users.user_not_found(name)
    return doc


async def get_user(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    name = request.match_info["user"]
    _require_self_or_admin(request, name)
    doc = _find(request, name)
    return json_response({**users.public_view(doc), "error": False, "code": 200}, headers=headers)


async def create_user(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    require_user_admin(request)
    body, root_password, iterations = await ctx.body(request), *_auth_settings(request)
    result = await ctx.write(lambda tx: users.create_user(tx, body, root_password, iterations))
    await ctx.commit(result.tick)
    assert result.new is not None
    return _answer(result.new, 201)


def _auth_settings(request: web.Request) -> tuple[str, int]:
    auth = context(request).auth
    return auth.root_password, auth.iterations


async def change_user(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    name, replace = request.match_info["user"], request.method == "PUT"
    body = await ctx.body(request)
    if not may_manage_users(request):
        # oneself: the password and extra only (never "active", never a PUT that resets it)
        if request_user(request) != name or replace:
            require_user_admin(request)
        if isinstance(body, dict) and not set(body) <= SELF_CHANGEABLE:
            require_user_admin(request)
    root_password, iterations = _auth_settings(request)
    result = await ctx.write(
        lambda tx: users.change_user(tx, name, body, replace, root_password, iterations)
    )
    await ctx.commit(result.tick)
    assert result.new is not None
    return _answer(result.new, 200)


async def delete_user(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    require_user_admin(request)
    name = request.match_info["user"]
    result = await ctx.write(lambda tx: users.delete_user(tx, name))
    await ctx.commit(result.tick)
    return json_response({"error": False, "code": 202}, status=202)


# -- grants ---------------------------------------------------------------------------


async def list_grants(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    name = request.match_info["user"]
    _require_self_or_admin(request, name)
    doc = _find(request, name)
    full = qbool(request, "full", False)
    result = users.grants_view(doc, ctx.storage.list_databases(), full)
    return json_response({"error": False, "code": 200, "result": result}, headers=headers)


async def get_grant(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    name, db = request.match_info["user"], request.match_info["dbname"]
    coll = request.match_info.get("collection")
    _require_self_or_admin(request, name)
    doc = _find(request, name)
    level = users.collection_level(doc, db, coll) if coll else users.database_level(doc, db)
    return json_response({"error": False, "code": 200, "result": level}, headers=headers)


async def set_grant(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    require_user_admin(request)
    name, db = request.match_info["user"], request.match_info["dbname"]
    coll = request.match_info.get("collection")
    level: str | None = None
    if request.method == "PUT":
        body = await ctx.body(request)
        if not isinstance(body, dict):
            raise bad_parameter('expecting {"grant": "rw"|"ro"|"none"}')
        level = users.check_level(body.get("grant"))
    root_password, iterations = _auth_settings(request)

    def op(tx: Tx) -> DocWrite:
        return users.set_grant(tx, name, db, coll, level, root_password, iterations)

    result = await ctx.write(op)
    await ctx.commit(result.tick)
    if level is None:
        return json_response({"error": False, "code": 202}, status=202)
    target = f"{db}/{coll}" if coll else db
    return json_response({target: level, "error": False, "code": 200})


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/_open/auth", login)
    route(app, "GET", "/_api/user", list_users)
    route(app, "GET", "/_api/user/", list_users)
    route(app, "POST", "/_api/user", create_user)
    route(app, "GET", "/_api/user/{user}", get_user)
    route(app, "PATCH", "/_api/user/{user}", change_user)
    route(app, "PUT", "/_api/user/{user}", change_user)
    route(app, "DELETE", "/_api/user/{user}", delete_user)
    route(app, "GET", "/_api/user/{user}/database", list_grants)
    route(app, "GET", "/_api/user/{user}/database/", list_grants)
    grant = "/_api/user/{user}/database/{dbname}"
    for path in (grant, grant + "/{collection}"):
        route(app, "GET", path, get_grant)
        route(app, "PUT", path, set_grant)
        route(app, "DELETE", path, set_grant)
