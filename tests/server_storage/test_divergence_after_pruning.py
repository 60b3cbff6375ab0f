"""Pruned logs still let a returning old leader find where it left the new leader's log.

Real storages on both sides and the real applier; the new leader is a small
HTTP app answering ``match``, ``snapshot`` and ``wal/tail`` with the same
functions the server's replication API uses (:mod:`cluster.server.replication_base`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.common.http import client_session
from cluster.server.applier import Applier
from cluster.server.config import ServerConfig
from cluster.server.replication_base import (
    ERROR_REPLICATION_START_TICK_NOT_PRESENT,
    epoch_at,
    present_pairs,
)
from cluster.server.rollback import RollbackStore
from cluster.server.storage import Storage

KEEP = 20


async def serve_leader(storage: Storage, data_dir: str, epoch: int) -> tuple[web.AppRunner, str]:
    headers = {"X-Arango-Epoch": str(epoch)}

    async def match(request: web.Request) -> web.Response:
        pairs = [(int(t), int(e)) for t, e in (await request.json())["pairs"]]
        present = present_pairs(storage, data_dir, pairs)
        return web.json_response({"present": [list(p) for p in present]}, headers=headers)

    async def snapshot(request: web.Request) -> web.Response:
        tick, snap = storage.dump_all()
        body = {"tick": tick, "epoch": epoch_at(storage, data_dir, tick, epoch), "snapshot": snap}
        return web.json_response(body, headers=headers)

    async def tail(request: web.Request) -> web.Response:
        from_tick = int(request.query["from"])
        if storage.tick_gone(from_tick):
            body = {"error": True, "errorNum": ERROR_REPLICATION_START_TICK_NOT_PRESENT}
            return web.json_response(body, status=410, headers=headers)
        await asyncio.sleep(0.05)
        raw = storage.tail_raw(from_tick, 100)
        return web.Response(
            text='{"entries":[' + ",".join(raw) + "]}",
            content_type="application/json",
            headers=headers,
        )

    app = web.Application()
    app.router.add_post("/_api/replication/match", match)
    app.router.add_get("/_api/replication/snapshot", snapshot)
    app.router.add_get("/_api/wal/tail", tail)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def rejoin(
    follower: Storage, data_dir: Path, leader: Storage, leader_dir: Path, epoch: int
) -> tuple[RollbackStore, int]:
    """Run the follower's applier against ``leader`` until it resynced; returns its rollbacks."""
    rollbacks = RollbackStore(str(data_dir))
    cfg = ServerConfig(id="old", data_dir=str(data_dir), agency=["http://127.0.0.1:9"])

    async def run() -> int:
        runner, url = await serve_leader(leader, str(leader_dir), epoch)
        session = client_session(10.0, limit=4)
        applier = Applier(cfg, follower, session, lambda: "t", rollbacks)
        try:
            applier.start("new", url, epoch)
            for _ in range(400):
                status = applier.status()
                if status["phase"] == "tailing" and follower.last_tick() == leader.last_tick():
                    break
                await asyncio.sleep(0.05)
            await applier.stop(0.0)
            return int(applier.status()["resyncs"])
        finally:
            await session.close()
            await runner.cleanup()

    return rollbacks, asyncio.run(run())


def docs(s: Storage) -> list[dict[str, Any]]:
    return s.all_documents("_system", "c")


def test_returning_old_leader_keeps_exactly_its_divergent_writes(tmp_path: Path) -> None:
    old = Storage(str(tmp_path / "old" / "data.sqlite"))
    new = Storage(str(tmp_path / "new" / "data.sqlite"))
    try:
        old.set_epoch(1)
        old.create_collection("_system", "c", {})
        for i in range(30):
            old.insert("_system", "c", {"_key": f"a{i}"})
        # the follower copies all but the last 5 entries, then the old leader goes on alone
        shared = old.last_tick() - 5
        new.apply_replicated([e for e in old.tail(0, -1) if e["tick"] <= shared])
        for i in range(10):
            old.insert("_system", "c", {"_key": f"lost{i}"})
        # the follower is promoted and writes far more than it keeps
        new.set_epoch(2)
        for i in range(100):
            new.insert("_system", "c", {"_key": f"b{i}"})
        new.prune_wal(new.last_tick() - KEEP + 1)
        old.prune_wal(old.last_tick() - KEEP + 1)
        assert new.wal_entry(shared) is None  # the shared point itself is pruned on the leader
        assert old.wal_entry(shared) is not None

        rollbacks, resyncs = rejoin(old, tmp_path / "old", new, tmp_path / "new", 2)

        files = rollbacks.files()
        assert len(files) == 1, files
        kept = rollbacks.entries(files[0]["name"]) or []
        # exactly the entries the new leader never had: not one of the shared ones
        assert [e["tick"] for e in kept] == list(range(shared + 1, shared + 16))
        assert {e["key"] for e in kept} == {f"a{i}" for i in range(25, 30)} | {
            f"lost{i}" for i in range(10)
        }
        assert resyncs == 1
        assert docs(old) == docs(new)
    finally:
        old.close()
        new.close()


def test_follower_behind_a_pruned_leader_resyncs_without_rollback(tmp_path: Path) -> None:
    leader = Storage(str(tmp_path / "l" / "data.sqlite"))
    follower = Storage(str(tmp_path / "f" / "data.sqlite"))
    try:
        leader.set_epoch(1)
        leader.create_collection("_system", "c", {})
        for i in range(10):
            leader.insert("_system", "c", {"_key": f"a{i}"})
        follower.apply_replicated(leader.tail(0, -1))
        behind = follower.last_tick()
        for i in range(100):
            leader.update("_system", "c", f"a{i % 10}", {"n": i})
        leader.prune_wal(leader.last_tick() - KEEP + 1)
        assert leader.tick_gone(behind + 1)

        rollbacks, resyncs = rejoin(follower, tmp_path / "f", leader, tmp_path / "l", 1)

        assert rollbacks.files() == []
        assert resyncs == 1
        assert docs(follower) == docs(leader)
        assert json.dumps(follower.inventory()["databases"]) == json.dumps(
            leader.inventory()["databases"]
        )
    finally:
        leader.close()
        follower.close()


def test_divergent_writes_pruned_before_the_failover_are_kept_as_state(tmp_path: Path) -> None:
    """The new leader had fallen behind the old one's WAL bound when it was promoted:
    the old leader's divergent entries are partly pruned, so the documents they
    produced are kept instead (op ``state``), and nothing is dropped silently."""
    old = Storage(str(tmp_path / "old" / "data.sqlite"))
    new = Storage(str(tmp_path / "new" / "data.sqlite"))
    try:
        old.set_epoch(1)
        old.create_collection("_system", "c", {})
        for i in range(10):
            old.insert("_system", "c", {"_key": f"a{i}"})
        new.apply_replicated(old.tail(0, -1))
        for i in range(60):  # never replicated: the follower had fallen behind
            old.insert("_system", "c", {"_key": f"lost{i}"})
        old.update("_system", "c", "a3", {"changed": True})
        old.prune_wal(old.last_tick() - KEEP + 1)
        new.set_epoch(2)
        for i in range(40):
            new.insert("_system", "c", {"_key": f"b{i}"})
        new.prune_wal(new.last_tick() - KEEP + 1)

        rollbacks, resyncs = rejoin(old, tmp_path / "old", new, tmp_path / "new", 2)

        assert resyncs == 1 and docs(old) == docs(new)
        files = rollbacks.files()
        assert len(files) == 2, files
        entries = [e for f in files for e in rollbacks.entries(f["name"]) or []]
        state = {e["key"] for e in entries if e["op"] == "state"}
        assert state == {f"lost{i}" for i in range(60)} | {"a3"}
        changed = [e["doc"] for e in entries if e["op"] == "state" and e["key"] == "a3"]
        assert changed[0]["changed"] is True
        # the divergent entries still in the WAL are kept as entries too
        logged = [e for e in entries if e["op"] != "state"]
        assert len(logged) == KEEP and all(e["epoch"] == 1 for e in logged)
    finally:
        old.close()
        new.close()
