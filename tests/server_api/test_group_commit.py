"""Group commit keeps every request's own outcome: concurrent inserts racing for
the same keys each get exactly one winner, and the WAL matches the answers."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.server_api.conftest import RunningServer

CLIENTS = 16
KEYS = 60


async def race(url: str) -> list[tuple[str, int, str | None]]:
    outcomes: list[tuple[str, int, str | None]] = []
    timeout = aiohttp.ClientTimeout(total=30)
    auth = {"Authorization": "Basic cm9vdDo="}  # root with the empty password
    async with aiohttp.ClientSession(timeout=timeout, headers=auth) as http:

        async def client(n: int) -> None:
            for i in range(KEYS):
                key = f"k{(i * 7 + n) % KEYS}"
                async with http.post(f"{url}/_api/document/c", json={"_key": key, "by": n}) as resp:
                    body = await resp.json()
                    outcomes.append((key, resp.status, body.get("_rev")))

        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return outcomes


def test_concurrent_duplicate_inserts_have_one_winner_per_key(server: RunningServer) -> None:
    server.call("POST", "/_api/collection", json={"name": "c"})
    start = server.storage.last_tick()
    outcomes = asyncio.run(race(server.url))
    assert len(outcomes) == CLIENTS * KEYS
    assert {status for _, status, _ in outcomes} <= {202, 409}
    winners = [(key, rev) for key, status, rev in outcomes if status == 202]
    assert sorted(k for k, _ in winners) == sorted(f"k{i}" for i in range(KEYS))
    docs = {d["_key"]: d for d in server.storage.all_documents("_system", "c")}
    assert {k: docs[k]["_rev"] for k, _ in winners} == dict(winners)
    entries = server.storage.entries_after(start)
    assert [e["op"] for e in entries] == ["insert"] * KEYS
    assert [e["tick"] for e in entries] == list(range(start + 1, start + KEYS + 1))
