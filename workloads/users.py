"""The users workload: users and their permissions, which must hold on whoever leads.

ArangoDB's Active Failover keeps users and their grants in ``_system/_users``,
replicated like any data, so a user created on the old leader must log in,
with the same rights, on the new one. Each ``add`` creates a new user
``<n>`` (marked as ours in its ``extra``) with a password and grants it ``ro`` on the workload's database
(two requests; the add is ``ok`` only when both were acknowledged). A
``read`` lists, from ``_system/_users``, the users that hold that grant: the
set's elements are granted users.

The final read is stricter: it lists them on the leader and then *logs in
as each one* and checks its rights on the database: reading a document must
succeed (``ro``), writing one must be refused with 403. A user that exists but
cannot log in, or has other rights, is left out of the final read, so Jepsen's
set-full counts it as lost: an acknowledged user that is not valid on the
leader after a failover is a lost write. Why each one was left out is kept in
the final read's ``extra``.
"""

from __future__ import annotations

import asyncio
import base64
import random
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import Checker
from harness.checkers.catalog import AvailabilityChecker, SetFullChecker, SplitBrainChecker
from harness.core.client import ArangoClient
from harness.core.protocols import Client, Completion, Invocation, OpSource
from workloads.common import (
    CollectionWorkload,
    SetupError,
    completion,
    doc_path,
    ensure_collection,
)

MARK = {"workload": "users"}  # in each user's ``extra``: ours, not root or anyone else's
VERIFY = "verify"  # the final read's invocation value: list the users, then log in as each
PROBE_KEY = "probe"
OK, UNAUTHORIZED, FORBIDDEN = 200, 401, 403
# answers that decide a user's check; anything else (no answer, 503, 5xx) is retried
DEFINITE = frozenset({200, 201, 202, 401, 403, 404})


@dataclass(frozen=True)
class Check:
    valid: bool | None  # None: no definite answer
    why: str


@dataclass
class UsersConfig:
    collection: str = "probe"  # in ``database``: what each user's rights are tried on
    database: str = "users"
    add_fraction: float = 0.1  # share of operations that create a user (the rest list them)
    max_users: int = 300  # a run creates at most this many (the final read logs in as each)
    verify_concurrency: int = 8
    verify_attempts: int = 6


def granted(doc: dict[str, Any], database: str) -> str | None:
    """The level a ``_users`` document grants on ``database`` explicitly (None: no grant)."""
    entry = (doc.get("databases") or {}).get(database)
    return entry.get("level") if isinstance(entry, dict) else None


def user_name(n: int) -> str:
    """The element itself: a user's document key is its name, so a user a returning
    old leader rolled back is found in its rollback file under the element's key."""
    return str(n)


def password(n: int) -> str:
    return f"pw-{n}-afcheck"


def basic(n: int) -> dict[str, str]:
    token = base64.b64encode(f"{user_name(n)}:{password(n)}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class UsersOps:
    """Creates of new users, consecutive numbers, among reads of the user list."""

    def __init__(self, config: UsersConfig) -> None:
        self.config = config
        self._next = 0

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        if self._next >= self.config.max_users or rng.random() >= self.config.add_fraction:
            return Invocation("read", None)
        n = self._next
        self._next += 1
        return Invocation("add", n)


class UsersClient:
    def __init__(self, http: ArangoClient, config: UsersConfig) -> None:
        self.http = http
        self.cfg = config

    async def invoke(self, op: Invocation) -> Completion:
        if op.f == "add":
            return await self._add(int(op.value))
        if op.f == "read":
            return await (self._verified() if op.value == VERIFY else self._list())
        return Completion("fail", op.value, error=f"unknown users op {op.f!r}")

    async def _add(self, n: int) -> Completion:
        body = {"user": user_name(n), "passwd": password(n), "extra": MARK}
        created = await self.http.request("POST", "/_api/user", body=body)
        if created.outcome != "ok":
            return completion(created, n)
        grant = await self.http.request(
            "PUT",
            f"/_api/user/{user_name(n)}/database/{self.cfg.database}",
            body={"grant": "ro"},
        )
        if grant.outcome == "fail":  # the user may exist without its right: indeterminate
            return Completion("info", n, node=grant.node, error={"grant": grant.error})
        return completion(grant, n)

    async def _list(self) -> Completion:
        """The users holding ``ro`` on the database, from ``_system/_users`` (root reads it)."""
        resp = await self.http.request(
            "PUT",
            "/_api/simple/all",
            body={"collection": "_users", "batchSize": 10000},
            read_only=True,
        )
        if resp.outcome != "ok" or not isinstance(resp.body, dict):
            return completion(resp, None)
        if resp.body.get("hasMore"):
            return Completion("fail", None, node=resp.node, error="more users than one batch")
        numbers: list[int] = []
        for doc in resp.body.get("result") or []:
            name = str(doc.get("user", "")) if isinstance(doc, dict) else ""
            ours = isinstance(doc, dict) and doc.get("extra") == MARK and name.isdigit()
            if ours and granted(doc, self.cfg.database) == "ro":
                numbers.append(int(name))
        return Completion("ok", sorted(numbers), node=resp.node)

    async def _verified(self) -> Completion:
        """The users listed on the leader that log in there with exactly ``ro``.

        A user is left out only on a definite answer (refused log-in, missing
        or extra rights). When some user's check stays undecided (timeouts,
        503s), the whole read fails: it saw nothing for certain."""
        listed = await self._list()
        if listed.type != "ok":
            return Completion("fail", None, node=listed.node, error=listed.error)
        leader = listed.node
        gate = asyncio.Semaphore(self.cfg.verify_concurrency)

        async def one(n: int) -> tuple[int, Check]:
            async with gate:
                return n, await self._check(n, leader)

        checked = await asyncio.gather(*(one(n) for n in listed.value or []))
        undecided = {str(n): c.why for n, c in checked if c.valid is None}
        if undecided:
            return Completion("fail", None, node=leader, error={"undecided-users": undecided})
        invalid = {str(n): c.why for n, c in checked if c.valid is False}
        valid = sorted(n for n, c in checked if c.valid)
        extra: dict[str, Any] = {"invalid-users": invalid} if invalid else {}
        return Completion("ok", valid, node=leader, extra=extra)

    async def _check(self, n: int, leader: str | None) -> Check:
        """Whether user ``n`` logs in on ``leader`` with ``ro`` on the database.

        Each request is retried while its answer is not definite: a log-in costs
        the server a password hash, and the first try may time out, but the
        server remembers a verified log-in, so a retry is cheap."""
        target = leader if leader in {s.id for s in self.http.servers} else None
        read = await self._definite(
            "GET", doc_path(self.cfg.collection, PROBE_KEY, self.cfg.database), n, target
        )
        if read is None:
            return Check(None, "reading as the user got no definite answer")
        if read != OK:
            return Check(False, f"reading as the user answered {read}")
        write = await self._definite(
            "POST", doc_path(self.cfg.collection, database=self.cfg.database), n, target
        )
        if write is None:
            return Check(None, "writing as the user got no definite answer")
        if write != FORBIDDEN:
            return Check(False, f"a write as the ro user answered {write}, not 403")
        return Check(True, "")

    async def _definite(self, method: str, path: str, n: int, target: str | None) -> int | None:
        """The status of ``method path`` as user ``n``, retried while not definite (None)."""
        body = {"by": user_name(n)} if method == "POST" else None
        for _ in range(self.cfg.verify_attempts):
            resp = await self.http.request(
                method, path, body=body, headers=basic(n), target=target, read_only=True
            )
            if resp.status is not None and resp.status in DEFINITE:
                return resp.status
            await asyncio.sleep(0.5)
        return None


class UsersWorkload(CollectionWorkload[UsersConfig]):
    name = "users"
    config_type = UsersConfig

    def checkers(self) -> list[Checker]:
        return [SetFullChecker("_users"), SplitBrainChecker(), AvailabilityChecker()]

    def __init__(self, config: UsersConfig | None = None) -> None:
        super().__init__(config or UsersConfig())

    async def setup(self, http: ArangoClient) -> None:
        await ensure_collection(http, self.cfg.collection, database=self.cfg.database)
        nobody = {"Authorization": "Basic " + base64.b64encode(b"nobody:wrong").decode()}
        probe_auth = await http.request("GET", "/_api/collection", headers=nobody, deadline_s=60.0)
        if probe_auth.status != UNAUTHORIZED:
            raise SetupError(
                "users workload: the cluster does not check credentials (a wrong password got "
                f"{probe_auth.status}); users and rights mean nothing with --insecure-no-auth"
            )
        probe = {"_key": PROBE_KEY, "what": "each user's rights are tried on this document"}
        resp = await http.request(
            "POST",
            doc_path(self.cfg.collection, database=self.cfg.database),
            body=probe,
            params={"overwrite": "true"},
            deadline_s=60.0,
        )
        if resp.outcome != "ok":
            raise RuntimeError(f"users workload: the probe document was not written: {resp.error}")

    def ops(self) -> OpSource:
        return UsersOps(self.cfg)

    def client(self, http: ArangoClient) -> Client:
        return UsersClient(http, self.cfg)

    def final_ops(self) -> list[Invocation]:
        return [Invocation("read", VERIFY)]
