"""The set workload: unique inserts, periodic reads of all elements, a final read.

Each ``add`` inserts a new integer element as a document keyed by it; a
``read`` lists every key of the collection on the leader (``PUT
/_api/simple/all-keys``, following the cursor). After healing, a final read
tells which acknowledged elements survived: Jepsen's ``set-full`` judges the
history.

With ``generation_size`` G > 0 the set comes in **generations**: element n
lives in collection ``<collection>_g<n // G>``, created by the first add that
needs it, and a ``read`` lists only the live generation (its invocation value
is the generation's number). Each read then stays at most G elements long
however long the run is, so a marathon's history grows linearly, not
quadratically, and set-full judges each element by the reads of its own
generation. The final read (value ``None``) lists every generation's
collection on one node and reads each.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, SetFullChecker, SplitBrainChecker
from harness.checkers.follower_choice import FollowerChoiceChecker
from harness.checkers.set_full_result import generation_collection
from harness.core.client import ArangoClient, Response
from harness.core.protocols import Client, Completion, Invocation, OpSource
from workloads.common import (
    DUPLICATE_NAME,
    SYSTEM,
    CollectionWorkload,
    completion,
    db_path,
    doc_path,
)

COLLECTION_NOT_FOUND = 1203


@dataclass
class SetConfig:
    collection: str = "set"
    database: str = SYSTEM  # another database: every request goes under /_db/<database>/
    read_fraction: float = 0.05  # share of operations that read the whole set
    batch_size: int = 10000
    generation_size: int = 0  # > 0: a fresh collection every this many adds; reads see one

    def __post_init__(self) -> None:
        if not isinstance(self.generation_size, int) or self.generation_size < 0:
            raise ValueError(
                f"set: generation_size must be a whole number >= 0, got {self.generation_size!r}"
            )

    def generation_of(self, element: int) -> int | None:
        return element // self.generation_size if self.generation_size else None

    def collection_of(self, generation: int | None) -> str:
        return generation_collection(self.collection, generation)


class SetOps:
    """Adds of consecutive unique integers, with occasional full reads."""

    def __init__(self, config: SetConfig) -> None:
        self.config = config
        self._next = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        if rng.random() < self.config.read_fraction:
            live = self.config.generation_of(max(0, self._next - 1))
            return Invocation("read", live)
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
        self._created: set[int] = set()  # generations this client has seen created

    async def invoke(self, op: Invocation) -> Completion:
        if op.f == "add":
            return await self._add(op.value)
        if op.f == "read":
            if op.value is None and self.cfg.generation_size:
                return await self._read_generations()
            return await self._read_all(self.cfg.collection_of(op.value), op.value)
        return Completion("fail", op.value, error=f"unknown set op {op.f!r}")

    async def _add(self, element: int) -> Completion:
        generation = self.cfg.generation_of(element)
        coll = self.cfg.collection_of(generation)
        if generation is not None and generation not in self._created:
            made = await self.http.request(
                "POST", db_path(self.cfg.database, "/_api/collection"), body={"name": coll}
            )
            if not (made.outcome == "ok" or made.error_num == DUPLICATE_NAME):
                # the add itself was never sent: it certainly did not happen
                return Completion("fail", element, node=made.node, error={"create": made.error})
            self._created.add(generation)
        resp = await self.http.request(
            "POST",
            doc_path(coll, database=self.cfg.database),
            body={"_key": str(element), "value": element},
        )
        if generation is not None and resp.error_num == COLLECTION_NOT_FOUND:
            self._created.discard(generation)  # lost in a failover: create it again next time
        return completion(resp, element)

    async def _read_all(
        self, collection: str, generation: int | None, node: str | None = None
    ) -> Completion:
        resp = await self.http.request(
            "PUT",
            db_path(self.cfg.database, "/_api/simple/all-keys"),
            body={"collection": collection, "type": "key", "batchSize": self.cfg.batch_size},
            target=node,
            read_only=True,
        )
        if generation is not None and resp.status == 404 and resp.error_num == COLLECTION_NOT_FOUND:
            # a generation no add has created yet (or one a failover lost): it is empty
            return Completion("ok", [], node=resp.node)
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

    async def _read_generations(self) -> Completion:
        """Every generation's elements, all read from the node that listed the collections."""
        listing = await self.http.request(
            "GET", db_path(self.cfg.database, "/_api/collection"), read_only=True
        )
        if listing.outcome != "ok" or not isinstance(listing.body, dict):
            return completion(listing, None)
        prefix = f"{self.cfg.collection}_g"
        generations = sorted(
            int(name[len(prefix) :])
            for c in listing.body.get("result") or []
            if isinstance(c, dict)
            and isinstance(name := c.get("name"), str)
            and name.startswith(prefix)
            and name[len(prefix) :].isdigit()
        )
        elements: list[int] = []
        for g in generations:
            part = await self._read_all(self.cfg.collection_of(g), g, node=listing.node)
            if part.type != "ok":
                return Completion("fail", None, node=listing.node, error={"generation": g})
            elements.extend(part.value)
        return Completion("ok", sorted(elements), node=listing.node)

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
        return [
            SetFullChecker(self.cfg.collection, self.cfg.generation_size),
            SplitBrainChecker(),
            AvailabilityChecker(),
            FollowerChoiceChecker(),
        ]

    def __init__(self, config: SetConfig | None = None) -> None:
        super().__init__(config or SetConfig())

    def ops(self) -> OpSource:
        return SetOps(self.cfg)

    def client(self, http: ArangoClient) -> Client:
        return SetClient(http, self.cfg)

    def final_ops(self) -> list[Invocation]:
        return [Invocation("read", None)]
