"""Unit tests: workload clients against a fake server (cas via If-Match, set reads)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

from harness.core.client import ArangoClient, ServerAddress
from harness.core.protocols import Invocation
from tests.harness_runner.fakes import FakeServer, answer
from workloads.common import db_path
from workloads.register import RegisterClient
from workloads.set import SetClient, SetConfig, SetWorkload


class FakeDocs:
    """One collection of documents with ``_rev`` and If-Match, as a leader keeps it."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.rev = 0
        self.puts: list[str | None] = []
        self.databases: list[str] = []  # the database each request addressed
        self.created: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path, db = request.path, "_system"
        if path.startswith("/_db/"):
            _, _, db, rest = path.split("/", 3)
            path = "/" + rest
        self.databases.append(db)
        if request.method == "POST" and path in ("/_api/database", "/_api/collection"):
            self.created.append(f"{db}:{path}:{json.loads(await request.read())['name']}")
            return answer(201, {"result": True}, "s1")
        parts = path.strip("/").split("/")
        if path == "/_api/simple/all-keys":
            keys = sorted(self.docs)
            first = {"result": keys[:2], "hasMore": len(keys) > 2, "id": "c1"}
            return answer(201, first, "s1")
        if path.startswith("/_api/cursor/"):
            return answer(200, {"result": sorted(self.docs)[2:], "hasMore": False}, "s1")
        key = parts[3] if len(parts) > 3 else None
        if request.method == "GET":
            if key not in self.docs:
                return answer(404, {"error": True, "errorNum": 1202, "code": 404}, "s1")
            return answer(200, self.docs[key], "s1")
        body = json.loads(await request.read())
        if request.method == "PUT":
            self.puts.append(request.headers.get("If-Match"))
            if key not in self.docs or request.headers.get("If-Match") != self.docs[key]["_rev"]:
                return answer(412, {"error": True, "errorNum": 1200, "code": 412}, "s1")
        key = key or str(body["_key"])
        self.rev += 1
        self.docs[key] = {"_key": key, "_rev": f"r{self.rev}", "value": body["value"]}
        return answer(201, {"_key": key, "_rev": f"r{self.rev}"}, "s1")


def _with_fake(body: Any) -> None:
    async def run() -> None:
        docs = FakeDocs()
        server = FakeServer("s1", docs.handle)
        await server.start()
        try:
            async with ArangoClient([ServerAddress("s1", server.url)]) as http:
                await body(http, docs)
        finally:
            await server.stop()

    asyncio.run(run())


def test_register_read_write_cas() -> None:
    async def body(http: ArangoClient, docs: FakeDocs) -> None:
        c = RegisterClient(http, "register")
        missing = await c.invoke(Invocation("read", [1, None]))
        assert (missing.type, missing.value) == ("ok", [1, None])
        assert (await c.invoke(Invocation("write", [1, 3]))).type == "ok"
        mismatch = await c.invoke(Invocation("cas", [1, [2, 4]]))
        assert mismatch.type == "fail" and docs.puts == []  # no write was sent
        hit = await c.invoke(Invocation("cas", [1, [3, 4]]))
        assert hit.type == "ok" and docs.puts == ["r1"]
        read = await c.invoke(Invocation("read", [1, None]))
        assert read.value == [1, 4] and read.node == "s1"
        absent = await c.invoke(Invocation("cas", [9, [0, 1]]))
        assert absent.type == "fail"

    _with_fake(body)


def test_set_add_and_read_follows_the_cursor() -> None:
    async def body(http: ArangoClient, docs: FakeDocs) -> None:
        c = SetClient(http, SetConfig())
        for e in (5, 1, 3):
            assert (await c.invoke(Invocation("add", e))).type == "ok"
        read = await c.invoke(Invocation("read", None))
        assert read.type == "ok" and read.value == [1, 3, 5]

    _with_fake(body)


def test_a_workload_in_another_database_sends_everything_under_db() -> None:
    async def body(http: ArangoClient, docs: FakeDocs) -> None:
        workload = SetWorkload(SetConfig(database="shop"))
        await workload.setup(http)
        assert docs.created == ["_system:/_api/database:shop", "shop:/_api/collection:set"]
        c = SetClient(http, workload.cfg)
        for e in (2, 1, 3):
            assert (await c.invoke(Invocation("add", e))).type == "ok"
        read = await c.invoke(Invocation("read", None))  # all-keys, then the cursor
        assert read.type == "ok" and read.value == [1, 2, 3]
        r = RegisterClient(http, "register", "shop")
        assert (await r.invoke(Invocation("write", [7, 1]))).type == "ok"
        assert (await r.invoke(Invocation("read", [7, None]))).value == [7, 1]
        assert docs.databases[1:] == ["shop"] * (len(docs.databases) - 1)

    _with_fake(body)


def test_db_path_leaves_system_alone_and_quotes_names() -> None:
    assert db_path("_system", "/_api/document/c") == "/_api/document/c"
    assert db_path("shop", "/_api/document/c") == "/_db/shop/_api/document/c"
    assert db_path("a b/c", "/_api/x") == "/_db/a%20b%2Fc/_api/x"


class FakeCollections:
    """Collections of keys, with ArangoDB's 1203 for a collection that does not exist."""

    def __init__(self) -> None:
        self.colls: dict[str, set[str]] = {}
        self.creates = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        missing = {"error": True, "errorNum": 1203, "code": 404}
        if request.path == "/_api/collection" and request.method == "GET":
            return answer(200, {"result": [{"name": n} for n in self.colls]}, "s1")
        body = json.loads(await request.read())
        if request.path == "/_api/collection":
            self.creates += 1
            if body["name"] in self.colls:
                return answer(409, {"error": True, "errorNum": 1207, "code": 409}, "s1")
            self.colls[body["name"]] = set()
            return answer(200, {"name": body["name"]}, "s1")
        if request.path == "/_api/simple/all-keys":
            if body["collection"] not in self.colls:
                return answer(404, missing, "s1")
            return answer(201, {"result": sorted(self.colls[body["collection"]])}, "s1")
        coll = request.path.rsplit("/", 1)[-1]
        if coll not in self.colls:
            return answer(404, missing, "s1")
        self.colls[coll].add(str(body["_key"]))
        return answer(201, {"_key": body["_key"]}, "s1")


def test_set_generations_live_in_their_own_collections() -> None:
    async def run() -> None:
        fake = FakeCollections()
        server = FakeServer("s1", fake.handle)
        await server.start()
        try:
            async with ArangoClient([ServerAddress("s1", server.url)]) as http:
                c = SetClient(http, SetConfig(generation_size=3))
                empty = await c.invoke(Invocation("read", 1))  # no add created it yet
                assert empty.type == "ok" and empty.value == []
                for e in range(5):
                    assert (await c.invoke(Invocation("add", e))).type == "ok"
                assert sorted(fake.colls) == ["set_g0", "set_g1"] and fake.creates == 2
                assert (await c.invoke(Invocation("read", 1))).value == [3, 4]
                del fake.colls["set_g1"]  # a failover lost the generation's collection
                lost = await c.invoke(Invocation("add", 5))
                assert lost.type == "fail"  # 404: the document was not written
                assert (await c.invoke(Invocation("add", 5))).type == "ok"  # created again
                final = await c.invoke(Invocation("read", None))
                assert final.type == "ok" and final.value == [0, 1, 2, 5]
        finally:
            await server.stop()

    asyncio.run(run())


def test_a_negative_generation_size_is_refused() -> None:
    with pytest.raises(ValueError, match="generation_size"):
        SetConfig(generation_size=-1)
