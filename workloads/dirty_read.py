"""The dirty-read workload: increasing writes on the leader, dirty reads on followers.

Writes put ``[key, n]`` with ``n`` increasing per key through the leader.
Follower reads go straight to a server other than the believed leader with
``X-Arango-Allow-Dirty-Read: true`` (history lines carry ``"allow_dirty":
true``); the completion records the answering ``node`` and whether the
answer was marked ``X-Arango-Potential-Dirty-Read`` (``dirty``). Plain reads
go to the leader. The ``dirty-reads`` checker judges marking, staleness and
reads of values never written or rolled back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, DirtyReadsChecker, SplitBrainChecker
from harness.core.client import HEADER_ALLOW_DIRTY, ArangoClient
from harness.core.protocols import Client, Completion, Invocation, OpSource
from workloads.common import (
    CollectionWorkload,
    completion,
    doc_path,
    is_not_found,
)


@dataclass
class DirtyReadConfig:
    collection: str = "dirty"
    keys: int = 3
    write_fraction: float = 0.4
    follower_read_fraction: float = 0.4  # the rest are reads on the leader


class DirtyReadOps:
    def __init__(self, config: DirtyReadConfig) -> None:
        self.config = config
        self._counters = [0] * config.keys

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        key = rng.randrange(self.config.keys)
        draw = rng.random()
        if draw < self.config.write_fraction:
            self._counters[key] += 1
            return Invocation("write", [key, self._counters[key]])
        if draw < self.config.write_fraction + self.config.follower_read_fraction:
            return Invocation("read", [key, None], meta={"allow_dirty": True})
        return Invocation("read", [key, None])


class DirtyReadClient:
    def __init__(self, http: ArangoClient, collection: str) -> None:
        self.http = http
        self.collection = collection
        self._turn = 0

    def _follower(self) -> str:
        leader = self.http.leader
        others = [s.id for s in self.http.servers if leader is None or s.id != leader.id]
        self._turn += 1
        return others[self._turn % len(others)] if others else self.http.servers[0].id

    async def invoke(self, op: Invocation) -> Completion:
        key, arg = op.value
        path = doc_path(self.collection, str(key))
        if op.f == "write":
            resp = await self.http.request(
                "POST",
                doc_path(self.collection),
                body={"_key": str(key), "value": arg},
                params={"overwrite": "true"},
            )
            return completion(resp, [key, arg])
        if op.f != "read":
            return Completion("fail", op.value, error=f"unknown dirty-read op {op.f!r}")
        if op.meta.get("allow_dirty"):
            resp = await self.http.request(
                "GET",
                path,
                headers={HEADER_ALLOW_DIRTY: "true"},
                target=self._follower(),
                read_only=True,
            )
        else:
            resp = await self.http.request("GET", path, read_only=True)
        if resp.outcome == "ok" and isinstance(resp.body, dict):
            value: Any = resp.body.get("value")
        elif is_not_found(resp):
            value = None
        else:
            return completion(resp, [key, None])
        return Completion("ok", [key, value], node=resp.node, dirty=resp.dirty)


class DirtyReadWorkload(CollectionWorkload[DirtyReadConfig]):
    name = "dirty-read"
    config_type = DirtyReadConfig

    def checkers(self) -> list[Checker]:
        return [DirtyReadsChecker(), SplitBrainChecker(), AvailabilityChecker()]

    def __init__(self, config: DirtyReadConfig | None = None) -> None:
        super().__init__(config or DirtyReadConfig())

    def ops(self) -> OpSource:
        return DirtyReadOps(self.cfg)

    def client(self, http: ArangoClient) -> Client:
        return DirtyReadClient(http, self.cfg.collection)
