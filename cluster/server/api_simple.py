"""``PUT /_api/simple/all-keys`` (every document of a collection as paths, ids
or keys) and ``PUT /_api/simple/all`` (every document).

As ArangoDB answers them: a complete cursor (``hasMore: false``), status 201.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cluster.common.errors import bad_parameter
from cluster.common.http import json_response
from cluster.server.api_common import context, database, require_access, route

KEY_TYPES = ("path", "id", "key")


def cursor(result: list[Any], headers: dict[str, str]) -> web.Response:
    return json_response(
        {"result": result, "hasMore": False, "count": len(result), "error": False, "code": 201},
        status=201,
        headers=headers,
    )


async def _collection_query(request: web.Request) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Database, body (with a ``collection`` name) and read headers of a simple query."""
    headers = context(request).read_headers(request)
    db = database(request)
    body = await context(request).body(request)
    if not isinstance(body, dict) or not isinstance(body.get("collection"), str):
        raise bad_parameter('expecting {"collection": name}')
    require_access(request, db, "ro", body["collection"])
    return db, body, headers


async def all_documents(request: web.Request) -> web.Response:
    db, body, headers = await _collection_query(request)
    return cursor(context(request).storage.all_documents(db, body["collection"]), headers)


async def all_keys(request: web.Request) -> web.Response:
    db, body, headers = await _collection_query(request)
    coll = body["collection"]
    kind = body.get("type", "path")
    if kind not in KEY_TYPES:
        raise bad_parameter("type must be one of path, id, key")
    keys = context(request).storage.all_keys(db, coll)
    if kind == "id":
        result = [f"{coll}/{k}" for k in keys]
    elif kind == "path":
        result = [f"/_db/{db}/_api/document/{coll}/{k}" for k in keys]
    else:
        result = keys
    return cursor(result, headers)


def add_routes(app: web.Application) -> None:
    route(app, "PUT", "/_api/simple/all-keys", all_keys)
    route(app, "PUT", "/_api/simple/all", all_documents)
