"""``/_api/user`` (list, create, get, update, replace, delete) and ``POST /_open/auth``.

Users are documents in ``_system/_users``: changes are writes through the
Gate like any other and replicate to followers.
"""

from __future__ import annotations

from aiohttp import web

from cluster.common.errors import bad_parameter, unauthorized
from cluster.common.http import json_response
from cluster.server import users
from cluster.server.api_common import context, route


def _answer(doc: dict[str, object], code: int) -> web.Response:
    return json_response({**users.public_view(doc), "error": False, "code": code}, status=code)


async def login(request: web.Request) -> web.Response:
    ctx = context(request)
    body = await ctx.body(request)
    if not isinstance(body, dict):
        raise bad_parameter('expecting {"username", "password"}')
    username, password = body.get("username"), body.get("password", "")
    if not ctx.auth.check_password(username, password):
        raise unauthorized("wrong credentials")
    return json_response({"jwt": ctx.auth.user_token(str(username))})


async def list_users(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    root_password = ctx.auth.root_password
    found = ctx.storage.read(lambda tx: users.list_users(tx, root_password))
    result = [users.public_view(doc) for doc in found]
    return json_response({"error": False, "code": 200, "result": result}, headers=headers)


async def get_user(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    name, root_password = request.match_info["user"], ctx.auth.root_password
    doc = ctx.storage.read(lambda tx: users.find_user(tx, name, root_password))
    if doc is None:
        raise users.user_not_found(name)
    return json_response({**users.public_view(doc), "error": False, "code": 200}, headers=headers)


async def create_user(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    body, root_password = await ctx.body(request), ctx.auth.root_password
    result = await ctx.write(lambda tx: users.create_user(tx, body, root_password))
    await ctx.commit(result.tick)
    assert result.new is not None
    return _answer(result.new, 201)


async def change_user(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    name, replace = request.match_info["user"], request.method == "PUT"
    body, root_password = await ctx.body(request), ctx.auth.root_password
    result = await ctx.write(lambda tx: users.change_user(tx, name, body, replace, root_password))
    await ctx.commit(result.tick)
    assert result.new is not None
    return _answer(result.new, 200)


async def delete_user(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    name = request.match_info["user"]
    result = await ctx.write(lambda tx: users.delete_user(tx, name))
    await ctx.commit(result.tick)
    return json_response({"error": False, "code": 202}, status=202)


async def user_databases(request: web.Request) -> web.Response:
    """Every user may use every database (no per-database permissions here)."""
    ctx = context(request)
    headers = ctx.read_headers(request)
    result = {db: "rw" for db in ctx.storage.list_databases()}
    return json_response({"error": False, "code": 200, "result": result}, headers=headers)


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/_open/auth", login)
    route(app, "GET", "/_api/user", list_users)
    route(app, "GET", "/_api/user/", list_users)
    route(app, "POST", "/_api/user", create_user)
    route(app, "GET", "/_api/user/{user}", get_user)
    route(app, "PATCH", "/_api/user/{user}", change_user)
    route(app, "PUT", "/_api/user/{user}", change_user)
    route(app, "DELETE", "/_api/user/{user}", delete_user)
    route(app, "GET", "/_api/user/{user}/database", user_databases)
