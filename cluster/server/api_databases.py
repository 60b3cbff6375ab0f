"""``/_api/version`` and ``/_api/database``: list, create, drop, current, user."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.common.build import source_id
from cluster.common.errors import ERROR_ARANGO_USE_SYSTEM_DATABASE, ArangoError, bad_parameter
from cluster.common.http import json_response
from cluster.server import storage_ddl as ddl
from cluster.server import users
from cluster.server.api_common import context, database, qbool, require_access, route
from cluster.server.auth import request_user
from cluster.server.keys import SYSTEM_DATABASE
from cluster.server.storage_tx import Tx

VERSION = "3.11.14"


def require_system(db: str) -> None:
    if db != SYSTEM_DATABASE:
        raise ArangoError(
            403, ERROR_ARANGO_USE_SYSTEM_DATABASE, "operation only allowed in system database"
        )


async def get_version(request: web.Request) -> web.Response:
    body: dict[str, Any] = {"server": "arango", "license": "community", "version": VERSION}
    if qbool(request, "details", False):
        body["details"] = {
            "mode": "server",
            "role": "SINGLE",
            "engine": "sqlite",
            "afcheck-server-id": context(request).gate.server_id,
            "afcheck-build": source_id(),
        }
    return json_response(body)


async def list_databases(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    require_system(database(request))
    require_access(request, SYSTEM_DATABASE, "ro")
    return json_response(
        {"error": False, "code": 200, "result": ctx.storage.list_databases()}, headers=headers
    )


async def user_databases(request: web.Request) -> web.Response:
    """The databases the current user can reach (at least ``ro``)."""
    ctx = context(request)
    headers = ctx.read_headers(request)
    database(request)
    user = request_user(request)
    result = [
        db
        for db in ctx.storage.list_databases()
        if not ctx.auth.enabled or ctx.auth.database_level(user, db) != "none"
    ]
    return json_response({"error": False, "code": 200, "result": result}, headers=headers)


async def current_database(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    info = ctx.storage.database_info(database(request))
    return json_response({"error": False, "code": 200, "result": info}, headers=headers)


def _users_to_create(body: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = body.get("users", [])
    if not isinstance(wanted, list) or not all(isinstance(u, dict) for u in wanted):
        raise bad_parameter("users must be an array of objects")
    out = []
    for item in wanted:
        spec = {"user": item.get("username", item.get("user"))}
        for src, dst in (("passwd", "passwd"), ("password", "passwd"), ("active", "active")):
            if src in item:
                spec[dst] = item[src]
        if "extra" in item:
            spec["extra"] = item["extra"]
        out.append(spec)
    return out


async def create_database(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    require_system(database(request))
    require_access(request, SYSTEM_DATABASE, "rw")
    body = await ctx.body(request)
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object with a name")
    wanted = _users_to_create(body)
    root_password, iterations = ctx.auth.root_password, ctx.auth.iterations

    def op(tx: Tx) -> None:
        # As ArangoDB: the users named get rw on the new database; missing ones are created.
        db = str(ddl.create_database(tx, body.get("name"))["name"])
        for spec in wanted:
            name = spec.get("user")
            if isinstance(name, str) and users.find_user(tx, name, root_password) is not None:
                if name != users.ROOT:
                    users.set_grant(tx, name, db, None, "rw", root_password, iterations)
                continue
            users.create_user(tx, spec, root_password, iterations, grants={db: {"level": "rw"}})

    await ctx.write_ddl(op)
    return json_response({"error": False, "code": 201, "result": True}, status=201)


async def drop_database(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    require_system(database(request))
    require_access(request, SYSTEM_DATABASE, "rw")
    name = request.match_info["name"]

    def op(tx: Tx) -> None:
        ddl.drop_database(tx, name)
        users.drop_database_grants(tx, name)

    await ctx.write_ddl(op)
    return json_response({"error": False, "code": 200, "result": True})


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/_api/version", get_version)
    route(app, "GET", "/_api/database", list_databases)
    route(app, "GET", "/_api/database/user", user_databases)
    route(app, "GET", "/_api/database/current", current_database)
    route(app, "POST", "/_api/database", create_database)
    route(app, "DELETE", "/_api/database/{name}", drop_database)
