"""``/_api/document``: insert (one or many), read, head, replace, update, remove.

Answers follow ArangoDB: 201 when the write was synced on request
(``waitForSync`` or the collection's property), else 202; an array body gets an
array answer with a per-item error object where an item failed, and the
``X-Arango-Error-Codes`` header counting them; ``If-Match`` mismatches give 412
with errorNum 1200, ``If-None-Match`` matches on reads give 304.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cluster.common.errors import ArangoError, bad_parameter
from cluster.common.http import json_response
from cluster.server import storage_docs as docs
from cluster.server.api_common import (
    ClientContext,
    context,
    database,
    if_match,
    if_none_match,
    qbool,
    require_access,
    route,
)
from cluster.server.keys import check_key
from cluster.server.storage_docs import OVERWRITE_MODES, DocWrite
from cluster.server.storage_tx import Tx

ItemResult = DocWrite | ArangoError


@dataclass(frozen=True)
class WriteOptions:
    """Query parameters of a document write."""

    overwrite_mode: str | None
    wait_for_sync: bool
    return_new: bool
    return_old: bool
    silent: bool
    keep_null: bool
    merge_objects: bool
    ignore_revs: bool

    @staticmethod
    def parse(request: web.Request) -> WriteOptions:
        mode = request.query.get("overwriteMode")
        if mode is not None and mode not in OVERWRITE_MODES:
            raise bad_parameter(f"overwriteMode must be one of {', '.join(OVERWRITE_MODES)}")
        if mode is None and qbool(request, "overwrite", False):
            mode = "replace"
        return WriteOptions(
            overwrite_mode=mode,
            wait_for_sync=qbool(request, "waitForSync", False),
            return_new=qbool(request, "returnNew", False),
            return_old=qbool(request, "returnOld", False),
            silent=qbool(request, "silent", False),
            keep_null=qbool(request, "keepNull", True),
            merge_objects=qbool(request, "mergeObjects", True),
            ignore_revs=qbool(request, "ignoreRevs", True),
        )


def _collection_name(request: web.Request) -> str:
    name = request.match_info.get("coll") or request.query.get("collection")
    if not name:
        raise bad_parameter("collection name missing: use /_api/document/{collection}")
    return name


def item_body(result: ItemResult, opts: WriteOptions) -> dict[str, Any]:
    """One item of a write answer."""
    if isinstance(result, ArangoError):
        return result.body()
    out = result.meta
    if opts.return_new and result.new is not None:
        out["new"] = result.new
    if opts.return_old and result.old is not None:
        out["old"] = result.old
    return out


def _status(opts: WriteOptions, synced_collection: bool, removal: bool = False) -> int:
    if opts.wait_for_sync or synced_collection:
        return 200 if removal else 201
    return 202


async def _write_one(
    ctx: ClientContext,
    request: web.Request,
    db: str,
    coll: str,
    op: Callable[[Tx], DocWrite],
    opts: WriteOptions,
    removal: bool = False,
) -> web.Response:
    def run(tx: Tx) -> tuple[DocWrite, bool]:
        props = tx.require_collection(db, coll)
        return op(tx), bool(props.get("waitForSync"))

    result, synced = await ctx.write(run)
    await ctx.commit(result.tick)
    meta = result.meta
    headers = {"ETag": f'"{meta["_rev"]}"'}
    if not removal:
        headers["Location"] = f"/_db/{db}/_api/document/{meta['_id']}"
    body = {} if opts.silent else item_body(result, opts)
    return json_response(body, status=_status(opts, synced, removal), headers=headers)


def _bind(item_op: Callable[[Tx, Any], DocWrite], item: Any) -> Callable[[Tx], DocWrite]:
    return lambda tx: item_op(tx, item)


async def _write_many(
    ctx: ClientContext,
    db: str,
    coll: str,
    items: list[Any],
    item_op: Callable[[Tx, Any], DocWrite],
    opts: WriteOptions,
    removal: bool = False,
) -> web.Response:
    def run(tx: Tx) -> tuple[list[ItemResult], bool]:
        props = tx.require_collection(db, coll)
        results = [tx.attempt(_bind(item_op, item)) for item in items]
        return results, bool(props.get("waitForSync"))

    results, synced = await ctx.write(run)
    ticks = [r.tick for r in results if isinstance(r, DocWrite)]
    await ctx.commit(max(ticks, default=0))
    errors = Counter(str(r.error_num) for r in results if isinstance(r, ArangoError))
    headers = {"X-Arango-Error-Codes": json.dumps(dict(errors))} if errors else {}
    body = [item_body(r, opts) for r in results if not (opts.silent and isinstance(r, DocWrite))]
    return json_response(body, status=_status(opts, synced, removal), headers=headers)


def _expected_rev(request: web.Request, body: Any, opts: WriteOptions) -> str | None:
    header = if_match(request)
    if header is not None:
        return header
    if not opts.ignore_revs and isinstance(body, dict) and isinstance(body.get("_rev"), str):
        return str(body["_rev"])
    return None


def _item_key_and_rev(item: Any, opts: WriteOptions) -> tuple[str, str | None]:
    """Key and expected revision of one item of a many-documents body."""
    if isinstance(item, str):
        return check_key(item.rpartition("/")[2]), None
    item = docs.require_object(item)
    key = check_key(item.get("_key"))
    rev = item.get("_rev") if not opts.ignore_revs and isinstance(item.get("_rev"), str) else None
    return key, rev


# -- handlers ------------------------------------------------------------------
async def insert(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, coll = database(request), _collection_name(request)
    require_access(request, db, "rw", coll)
    opts = WriteOptions.parse(request)
    body = await ctx.body(request, documents=True)
    mode, keep_null, merge_objects = opts.overwrite_mode, opts.keep_null, opts.merge_objects

    def one(tx: Tx, doc: Any) -> DocWrite:
        return docs.insert(tx, db, coll, doc, mode, keep_null, merge_objects)

    if isinstance(body, list):
        return await _write_many(ctx, db, coll, body, one, opts)
    return await _write_one(ctx, request, db, coll, lambda tx: one(tx, body), opts)


async def read(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db = database(request)
    coll, key = request.match_info["coll"], request.match_info["key"]
    require_access(request, db, "ro", coll)
    doc = ctx.storage.get(db, coll, key)
    if doc is None:
        raise docs.document_not_found()
    rev = str(doc["_rev"])
    headers["ETag"] = f'"{rev}"'
    none_match = if_none_match(request)
    if none_match is not None and none_match == rev:
        return web.Response(status=304, headers=headers)
    docs.check_rev(doc, if_match(request))
    return json_response(doc, headers=headers)


async def replace_or_update(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, coll = database(request), request.match_info["coll"]
    require_access(request, db, "rw", coll)
    opts = WriteOptions.parse(request)
    body = await ctx.body(request, documents=True)
    patch = request.method == "PATCH"

    def one(tx: Tx, key: str, doc: Any, rev: str | None) -> DocWrite:
        if patch:
            return docs.update(tx, db, coll, key, doc, rev, opts.keep_null, opts.merge_objects)
        return docs.replace(tx, db, coll, key, doc, rev)

    if "key" in request.match_info:
        key, rev = request.match_info["key"], _expected_rev(request, body, opts)
        return await _write_one(ctx, request, db, coll, lambda tx: one(tx, key, body, rev), opts)
    if not isinstance(body, list):
        raise bad_parameter("expecting an array of documents")

    def item_op(tx: Tx, item: Any) -> DocWrite:
        key, rev = _item_key_and_rev(item, opts)
        return one(tx, key, item, rev)

    return await _write_many(ctx, db, coll, body, item_op, opts)


async def remove(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, coll = database(request), request.match_info["coll"]
    require_access(request, db, "rw", coll)
    opts = WriteOptions.parse(request)
    if "key" in request.match_info:
        key, rev = request.match_info["key"], if_match(request)
        op = lambda tx: docs.remove(tx, db, coll, key, rev)  # noqa: E731
        return await _write_one(ctx, request, db, coll, op, opts, removal=True)
    body = await ctx.body(request, documents=True)
    if not isinstance(body, list):
        raise bad_parameter("expecting an array of keys or documents")

    def item_op(tx: Tx, item: Any) -> DocWrite:
        key, rev = _item_key_and_rev(item, opts)
        return docs.remove(tx, db, coll, key, rev)

    return await _write_many(ctx, db, coll, body, item_op, opts, removal=True)


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/_api/document", insert)
    route(app, "POST", "/_api/document/{coll}", insert)
    route(app, "PUT", "/_api/document/{coll}", replace_or_update)
    route(app, "PATCH", "/_api/document/{coll}", replace_or_update)
    route(app, "DELETE", "/_api/document/{coll}", remove)
    route(app, "GET", "/_api/document/{coll}/{key}", read)
    route(app, "PUT", "/_api/document/{coll}/{key}", replace_or_update)
    route(app, "PATCH", "/_api/document/{coll}/{key}", replace_or_update)
    route(app, "DELETE", "/_api/document/{coll}/{key}", remove)
