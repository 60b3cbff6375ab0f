"""The register workload: per-key read, write and compare-and-set on the leader.

Values are Jepsen "independent" tuples ``[key, v]``; a cas carries
``[key, [old, new]]``. A key receives at most ``ops_per_key`` operations and
is then retired for a fresh one, which keeps each key's history small enough
for the linearizability search.

A cas is made atomic with ArangoDB's API: read the document (value and
``_rev``); if the value is not ``old`` the cas fails without writing (it
certainly did not happen); otherwise replace the document with
``If-Match: <_rev>``, which the server refuses with 412 when anyone wrote in
between.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, LinearizableChecker, SplitBrainChecker
from harness.checkers.follower_choice import FollowerChoiceChecker
from harness.core.client import ArangoClient
from harness.core.protocols import Client, Completion, Invocation, OpSource
from workloads.common import (
    SYSTEM,
    CollectionWorkload,
    completion,
    doc_path,
    is_not_found,
)


@dataclass
class RegisterConfig:
    collection: str = "register"
    database: str = SYSTEM  # another database: every request goes under /_db/<database>/
    keys: int = 5  # keys in use at once
    ops_per_key: int = 200
    values: int = 5  # unused since writes are unique; kept so old test.json files load


class RegisterOps:
    """Random read/write/cas over a rotating set of keys."""

    def __init__(self, config: RegisterConfig) -> None:
        self.config = config
        self._slots = list(range(config.keys))
        self._used = [0] * config.keys
        self._next_key = config.keys
        # every write and cas writes a value never written before in this run, so a
        # read names the write it saw and the checker decides in O(n log n); values
        # are numbered per worker, so a worker's values do not depend on the others
        self._written: dict[int, int] = {}
        self._recent: dict[int, list[int]] = {}

    def _fresh(self, worker: int) -> int:
        n = self._written.get(worker, 0) + 1
        self._written[worker] = n
        return (worker + 1) * 1_000_000 + n

    def _key(self, rng: random.Random) -> int:
        slot = rng.randrange(len(self._slots))
        if self._used[slot] >= self.config.ops_per_key:
            self._slots[slot] = self._next_key
            self._next_key += 1
            self._used[slot] = 0
        self._used[slot] += 1
        return self._slots[slot]

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        key = self._key(rng)
        f = rng.choice(("read", "write", "cas"))
        if f == "read":
            return Invocation("read", [key, None])
        new = self._fresh(worker)
        recent = self._recent.setdefault(key, [])
        if f == "write" or not recent:
            recent.append(new)
            del recent[:-3]
            return Invocation("write", [key, new])
        old = rng.choice(recent)  # one of the key's last three values: cas succeeds often
        recent.append(new)
        del recent[:-3]
        return Invocation("cas", [key, [old, new]])


class RegisterClient:
    def __init__(self, http: ArangoClient, collection: str, database: str = SYSTEM) -> None:
        self.http = http
        self.collection = collection
        self.database = database

    async def invoke(self, op: Invocation) -> Completion:
        key, arg = op.value
        if op.f == "read":
            return await self._read(key)
        if op.f == "write":
            resp = await self.http.request(
                "POST",
                doc_path(self.collection, database=self.database),
                body={"_key": str(key), "value": arg},
                params={"overwrite": "true"},
            )
            return completion(resp, [key, arg])
        if op.f == "cas":
            return await self._cas(key, arg[0], arg[1])
        return Completion("fail", op.value, error=f"unknown register op {op.f!r}")

    async def _read(self, key: int) -> Completion:
        resp = await self.http.request(
            "GET", doc_path(self.collection, str(key), self.database), read_only=True
        )
        if resp.outcome == "ok" and isinstance(resp.body, dict):
            return Completion("ok", [key, resp.body.get("value")], node=resp.node)
        if is_not_found(resp):
            return Completion("ok", [key, None], node=resp.node)
        return completion(resp, [key, None])

    async def _cas(self, key: int, old: Any, new: Any) -> Completion:
        value = [key, [old, new]]
        got = await self.http.request("GET", doc_path(self.collection, str(key), self.database))
        if got.outcome != "ok" or not isinstance(got.body, dict):
            reason = "not found" if is_not_found(got) else got.error
            # only a read was sent: the cas certainly did not happen
            return Completion("fail", value, node=got.node, error={"cas-read": reason})
        if got.body.get("value") != old:
            return Completion(
                "fail", value, node=got.node, error={"cas-mismatch": got.body.get("value")}
            )
        rev = str(got.body.get("_rev", ""))
        resp = await self.http.request(
            "PUT",
            doc_path(self.collection, str(key), self.database),
            body={"value": new},
            headers={"If-Match": rev},
        )
        return completion(resp, value)


class RegisterWorkload(CollectionWorkload[RegisterConfig]):
    name = "register"
    config_type = RegisterConfig

    def checkers(self) -> list[Checker]:
        return [
            LinearizableChecker(),
            SplitBrainChecker(),
            AvailabilityChecker(),
            FollowerChoiceChecker(),
        ]

    def __init__(self, config: RegisterConfig | None = None) -> None:
        super().__init__(config or RegisterConfig())

    def ops(self) -> OpSource:
        return RegisterOps(self.cfg)

    def client(self, http: ArangoClient) -> Client:
        return RegisterClient(http, self.cfg.collection, self.cfg.database)
