"""A resync that keeps failing: one rollback file, and retries that back off."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.common.http import client_session
from cluster.server.applier import RETRY_CAP, RETRY_PAUSE, Applier, next_pause
from cluster.server.config import ServerConfig
from cluster.server.rollback import RollbackStore
from cluster.server.storage import Storage

LEADER_EPOCH = 4


def divergent_follower(path: Path) -> Storage:
    """A returning old leader: entries of epoch 2 that the new leader never saw."""
    s = Storage(str(path / "data.sqlite"))
    s.set_epoch(2)
    s.create_collection("_system", "c", {})
    for i in range(5):
        s.insert("_system", "c", {"_key": f"k{i}", "n": i})
    return s


async def fake_leader(calls: dict[str, int]) -> tuple[web.AppRunner, str]:
    """A leader that knows none of the follower's entries and cannot hand out a snapshot."""
    headers = {"X-Arango-Epoch": str(LEADER_EPOCH)}

    async def match(request: web.Request) -> web.Response:
        calls["match"] = calls.get("match", 0) + 1
        return web.json_response({"present": [], "lastTick": 100}, headers=headers)

    async def snapshot(request: web.Request) -> web.Response:
        calls["snapshot"] = calls.get("snapshot", 0) + 1
        return web.json_response(
            {"error": True, "errorNum": 4, "errorMessage": "disk full", "code": 500},
            status=500,
            headers=headers,
        )

    app = web.Application()
    app.router.add_post("/_api/replication/match", match)
    app.router.add_get("/_api/replication/snapshot", snapshot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def test_backoff_doubles_up_to_the_cap() -> None:
    pauses = [RETRY_PAUSE]
    for _ in range(10):
        pauses.append(next_pause(pauses[-1]))
    assert pauses[:4] == [RETRY_PAUSE, 2 * RETRY_PAUSE, 4 * RETRY_PAUSE, 8 * RETRY_PAUSE]
    assert max(pauses) == RETRY_CAP == pauses[-1]


def test_failing_resync_retries_with_backoff_and_leaves_one_rollback_file(
    tmp_path: Path,
) -> None:
    retries = 8
    data_dir = tmp_path / "s2"
    storage = divergent_follower(data_dir)
    rollbacks = RollbackStore(str(data_dir))
    cfg = ServerConfig(id="s2", data_dir=str(data_dir), agency=["http://127.0.0.1:9"])

    async def run() -> list[float]:
        calls: dict[str, int] = {}
        runner, url = await fake_leader(calls)
        session = client_session(10.0, limit=4)
        pauses: list[float] = []
        enough = asyncio.Event()

        async def sleep(seconds: float) -> None:  # the injected clock: no real waiting
            pauses.append(seconds)
            if len(pauses) >= retries:
                enough.set()
            await asyncio.sleep(0)

        applier = Applier(cfg, storage, session, lambda: "token", rollbacks, sleep=sleep)
        try:
            applier.start("s1", url, LEADER_EPOCH)
            await asyncio.wait_for(enough.wait(), 60)
            await applier.stop(0.0)
            assert calls["snapshot"] >= retries and calls["match"] >= retries
            assert applier.status()["retries"] >= retries
            assert "disk full" in applier.status()["lastError"]
        finally:
            await session.close()
            await runner.cleanup()
        return pauses

    try:
        pauses = asyncio.run(run())
        files = rollbacks.files()
        assert len(files) == 1, files
        entries = rollbacks.entries(files[0]["name"])
        assert entries is not None
        assert [e["key"] for e in entries if e["op"] == "insert"] == [f"k{i}" for i in range(5)]
        assert all(e["epoch"] == 2 for e in entries)
        # nothing was lost: the local data is still there for the next attempt
        assert storage.count("_system", "c") == 5
    finally:
        storage.close()
    expected = [RETRY_PAUSE]
    while len(expected) < len(pauses):
        expected.append(next_pause(expected[-1]))
    assert pauses == expected
    assert pauses[-1] == RETRY_CAP


def test_identical_entries_share_one_file_and_different_ones_do_not(tmp_path: Path) -> None:
    store = RollbackStore(str(tmp_path))
    entries: list[dict[str, Any]] = [
        {
            "tick": 7,
            "epoch": 2,
            "time": 1,
            "op": "insert",
            "db": "_system",
            "collection": "c",
            "key": "a",
            "doc": {"_key": "a"},
            "old": None,
        },
    ]
    first = store.write(2, entries)
    assert store.write(2, [dict(e) for e in entries]) == first
    other = store.write(2, [{**entries[0], "key": "b"}])
    assert other is not None and other != first
    assert len(store.files()) == 2
    # a fresh store (a restarted server) recognises the file by its content too
    assert RollbackStore(str(tmp_path)).write(2, entries) == first
    assert len(store.files()) == 2
