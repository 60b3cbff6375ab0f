"""``/_api/collection``: list, create, info, properties, count, truncate, drop."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.common.errors import bad_parameter
from cluster.common.http import json_response
from cluster.server import storage_ddl as ddl
from cluster.server.api_common import context, database, qbool, require_access, route

BASIC_FIELDS = ("id", "name", "status", "type", "isSystem", "globallyUniqueId")


def basic(props: dict[str, Any]) -> dict[str, Any]:
    return {field: props.get(field) for field in BASIC_FIELDS}


def answer(body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"error": False, "code": 200, **body}, headers=headers)


async def list_collections(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    exclude_system = qbool(request, "excludeSystem", False)
    db = database(request)
    require_access(request, db, "ro")
    result = [
        basic(props)
        for props in ctx.storage.list_collections(db)
        if not (exclude_system and props.get("isSystem"))
    ]
    return answer({"result": result}, headers)


async def create_collection(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db = database(request)
    require_access(request, db, "rw")
    body = await ctx.body(request)
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object with a name")
    props = await ctx.write_ddl(lambda tx: ddl.create_collection(tx, db, body.get("name"), body))
    return answer(props)


async def collection_info(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "ro", name)
    props = ctx.storage.collection_info(db, name)
    return answer(basic(props), headers)


async def collection_properties(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "ro", name)
    props = ctx.storage.collection_info(db, name)
    return answer(props, headers)


async def collection_count(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "ro", name)
    props = ctx.storage.collection_info(db, name)
    return answer({**props, "count": ctx.storage.count(db, name)}, headers)


async def change_properties(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "rw")
    body = await ctx.body(request)
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object of properties")
    props = await ctx.write_ddl(lambda tx: ddl.change_collection(tx, db, name, body))
    return answer(props)


async def truncate(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "rw", name)
    props = await ctx.write_ddl(lambda tx: ddl.truncate_collection(tx, db, name))
    return answer(basic(props))


async def load_or_unload(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "ro", name)
    props = ctx.storage.collection_info(db, name)
    return answer({**basic(props), "count": ctx.storage.count(db, name)}, headers)


async def drop(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, name = database(request), request.match_info["name"]
    require_access(request, db, "rw")
    allow_system = qbool(request, "isSystem", False)
    props = await ctx.write_ddl(lambda tx: ddl.drop_collection(tx, db, name, allow_system))
    return answer({"id": props["id"]})


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/_api/collection", list_collections)
    route(app, "POST", "/_api/collection", create_collection)
    route(app, "GET", "/_api/collection/{name}", collection_info)
    route(app, "DELETE", "/_api/collection/{name}", drop)
    route(app, "GET", "/_api/collection/{name}/properties", collection_properties)
    route(app, "PUT", "/_api/collection/{name}/properties", change_properties)
    route(app, "GET", "/_api/collection/{name}/count", collection_count)
    route(app, "PUT", "/_api/collection/{name}/truncate", truncate)
    route(app, "PUT", "/_api/collection/{name}/load", load_or_unload)
    route(app, "PUT", "/_api/collection/{name}/unload", load_or_unload)
