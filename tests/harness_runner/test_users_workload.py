"""The users workload: the set's elements are granted users; the final read logs in as each."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aiohttp import web

from harness.core.client import ArangoClient, ServerAddress
from harness.core.protocols import Invocation
from tests.harness_runner.fakes import FakeServer, answer
from workloads.common import SetupError
from workloads.users import (
    MARK,
    VERIFY,
    UsersClient,
    UsersConfig,
    UsersOps,
    UsersWorkload,
    basic,
    granted,
    user_name,
)


def user_doc(n: int, level: str | None) -> dict[str, Any]:
    grants = {} if level is None else {"users": {"level": level}}
    return {"_key": user_name(n), "user": user_name(n), "databases": grants, "extra": MARK}


class FakeUsers:
    """``_users`` with four users, and what each may do when it logs in."""

    def __init__(self) -> None:
        # 1: fine; 2: cannot log in; 3: may write (not ro); 4: no grant; 5: never answers at first
        self.docs = [user_doc(1, "ro"), user_doc(2, "ro"), user_doc(3, "ro"), user_doc(4, None)]
        self.docs.append(user_doc(5, "ro"))
        self.docs.append({"_key": "7", "user": "7", "databases": {"users": {"level": "ro"}}})
        self.docs.append({"_key": "root", "user": "root", "extra": MARK})  # not ours
        self.slow_left = 2
        self.auth = {basic(n)["Authorization"]: n for n in range(1, 6)}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/_api/simple/all":
            return answer(201, {"result": self.docs, "hasMore": False}, "s1")
        who = self.auth.get(request.headers.get("Authorization", ""))
        if who == 2:
            return answer(401, {"error": True, "errorNum": 401, "code": 401}, "s1")
        if who == 5 and self.slow_left > 0:
            self.slow_left -= 1
            return answer(503, {"error": True, "errorNum": 503, "code": 503}, "s1")
        if request.method == "GET":
            return answer(200, {"_key": "probe"}, "s1")
        if who == 3:
            return answer(202, {"_key": "x"}, "s1")
        return answer(403, {"error": True, "errorNum": 11, "code": 403}, "s1")


def test_list_counts_granted_users_and_final_read_leaves_out_invalid_ones() -> None:
    async def run() -> None:
        fake = FakeUsers()
        server = FakeServer("s1", fake.handle)
        await server.start()
        try:
            async with ArangoClient([ServerAddress("s1", server.url)]) as http:
                client = UsersClient(http, UsersConfig(verify_attempts=4))
                listed = await client.invoke(Invocation("read", None))
                assert (listed.type, listed.value) == ("ok", [1, 2, 3, 5])
                final = await client.invoke(Invocation("read", VERIFY))
                assert (final.type, final.value) == ("ok", [1, 5])  # 5 answered on a retry
                why = final.extra["invalid-users"]
                assert set(why) == {"2", "3"}
                assert "401" in why["2"] and "202" in why["3"]
                fake.slow_left = 100  # user 5 never answers definitely: nothing is certain
                undecided = await client.invoke(Invocation("read", VERIFY))
                assert undecided.type == "fail" and "5" in undecided.error["undecided-users"]
        finally:
            await server.stop()

    asyncio.run(run())


def test_ops_create_consecutive_users_up_to_the_bound() -> None:
    ops = UsersOps(UsersConfig(add_fraction=1.0, max_users=3))
    rng = random.Random(1)
    drawn = [ops.next_op(rng, 0) for _ in range(5)]
    assert [(o.f, o.value) for o in drawn if o] == [
        ("add", 0),
        ("add", 1),
        ("add", 2),
        ("read", None),
        ("read", None),
    ]
    assert granted(user_doc(1, "rw"), "users") == "rw" and granted({"user": "x"}, "users") is None


def test_setup_refuses_a_cluster_that_does_not_check_credentials() -> None:
    async def insecure(request: web.Request) -> web.StreamResponse:
        return answer(201 if request.method == "POST" else 200, {"result": []}, "s1")

    async def run() -> None:
        server = FakeServer("s1", insecure)
        await server.start()
        try:
            async with ArangoClient([ServerAddress("s1", server.url)]) as http:
                with pytest.raises(SetupError, match="does not check credentials"):
                    await UsersWorkload().setup(http)
        finally:
            await server.stop()

    asyncio.run(run())
