"""The set workload: unique inserts, periodic reads of all elements, a final read.

Each ``add`` inserts a new integer element as a document keyed by it; a
``read`` lists every key of the collection on the leader (``PUT
/_api/simple/all-keys``, following the cursor). After healing, a final read
tells which acknowledged elements survived: Jepsen's ``set-full`` judges the
history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, SetFullChecker, SplitBrainChecker
from harness.core.client import ArangoClient, Response
from harness.core.protocols import Client, Completion, Invocation, OpSource
from workloads.common import SYSTEM, CollectionWorkload, completion, db_path, doc_path


@dataclass
class SetConfig:
    collection: str = "set"
    database: str = SYSTEM  # another database: every request goes under /_db/<database>/
    read_fraction: float = 0.05  # share of operations that read the whole set
    batch_size: int = 10000


class SetOps:
    """Adds of consecutive unique integers, with occasional full reads."""

    def __init__(self, config: SetConfig) -> None:
        self.config = config
        self._next = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        if rng.random() < self.config.read_fraction:
            return Invocation("read", None)
        element = self._next
        self._next += 1
        return Invocation("add", element)


def key_of(entry: Any) -> str:
    """A key from an all-keys entry: a key, an id ``c/k`` or a path ``.../c/k``."""
    return str(entry).rsplit("/", 1)[-1]


class SetClient:
    def __init__(self, http: ArangoClient, config: SetConfig) -> None:
        self.http = http
        self.cfg = config

    async def invoke(self, op: Invocation) -> Completion:
        if op.f == "add":
            resp = await self.http.request(
                "POST",
                doc_path(self.cfg.collection, database=self.cfg.database),
                body={"_key": str(op.value), "value": op.value},
            )
            return completion(resp, op.value)
        if op.f == "read":
            return await self._read_all()
        return Completion("fail", op.value, error=f"unknown set op {op.f!r}")

    async def _read_all(self) -> Completion:
        resp = await self.http.request(
            "PUT",
            db_path(self.cfg.database, "/_api/simple/all-keys"),
            body={
                "collection": self.cfg.collection,
                "type": "key",
                "batchSize": self.cfg.batch_size,
            },
            read_only=True,
        )
        if resp.outcome != "ok" or not isinstance(resp.body, dict):
            return completion(resp, None)
        keys: list[Any] = list(resp.body.get("result") or [])
        body: dict[str, Any] = resp.body
        while body.get("hasMore") and body.get("id") is not None:
            more = await self._next_batch(str(body["id"]), resp.node)
            if more.outcome != "ok" or not isinstance(more.body, dict):
                return Completion("fail", None, node=resp.node, error={"cursor": more.error})
            body = more.body
            keys.extend(body.get("result") or [])
        elements: list[int] = []
        for entry in keys:
            try:
                elements.append(int(key_of(entry)))
            except ValueError:
                return Completion("fail", None, node=resp.node, error=f"foreign key {entry!r}")
        return Completion("ok", sorted(elements), node=resp.node)

    async def _next_batch(self, cursor: str, node: str | None) -> Response:
        target = node if node in {s.id for s in self.http.servers} else None
        return await self.http.request(
            "PUT",
            db_path(self.cfg.database, f"/_api/cursor/{cursor}"),
            target=target,
            read_only=True,
        )


class SetWorkload(CollectionWorkload[SetConfig]):
    name = "set"
    config_type = SetConfig

    def checkers(self) -> list[Checker]:
        return [SetFullChecker(self.cfg.collection), SplitBrainChecker(), AvailabilityChecker()]

    def __init__(self, config: SetConfig | None = None) -> None:
        super().__init__(config or SetConfig())

    def ops(self) -> OpSource:
        return SetOps(self.cfg)

    def client(self, http: ArangoClient) -> Client:
        return SetClient(http, self.cfg)

    def final_ops(self) -> list[Invocation]:
        return [Invocation("read", None)]
