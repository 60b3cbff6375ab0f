"""Unit tests of the failover pieces with fakes (no processes): config, rollback, the Gate."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cluster.common import clock
from cluster.common.config import ConfigError, build
from cluster.common.errors import ArangoError
from cluster.server.agency_client import AgencyError
from cluster.server.config import ServerConfig
from cluster.server.follower_acks import FollowerAcks
from cluster.server.heartbeat import health_status
from cluster.server.leadership import Leadership, Role
from cluster.server.rollback import RollbackStore, divergent_entries

# ------------------------------------------------------------------ config


def _cfg(**kw: Any) -> ServerConfig:
    base = {"id": "s1", "data_dir": "/tmp/x", "agency": ["http://127.0.0.1:1"]}
    return build(ServerConfig, {}, {**base, **kw})


def test_config_accepts_defaults_and_comma_separated_agency() -> None:
    cfg = _cfg(agency=["http://a:1,http://b:2/"], peer=["s2=http://p:3"])
    assert cfg.agency == ["http://a:1", "http://b:2"]
    assert cfg.peers == {"s2": "http://p:3"}
    assert cfg.advertised == "http://127.0.0.1:8529"
    assert cfg.lease_seconds == 2.0 < cfg.agency_grace_period
    assert cfg.job_callback_allow == []  # no callbacks unless allowed
    hooks = _cfg(job_callback_allow=["http://127.0.0.1:9/hooks"])
    assert hooks.job_callback_allow == ["http://127.0.0.1:9/hooks"]


@pytest.mark.parametrize(
    "kw, fragment",
    [
        ({"lease": "3.0"}, "grace-period"),
        ({"replication": "semi"}, "async or sync"),
        ({"peer": ["s2"]}, "ID=http"),
        ({"agency": ["ftp://x"]}, "http://"),
        ({"listen": "nohost"}, "HOST:PORT"),
        ({"heartbeat_interval": "0"}, "positive"),
        ({"id": ""}, "--id"),
        ({"job_callback_allow": ["ftp://hooks"]}, "--job-callback-allow"),
        ({"job_callback_allow": ["http://"]}, "--job-callback-allow"),
    ],
)
def test_config_rejects_bad_values(kw: dict[str, Any], fragment: str) -> None:
    with pytest.raises((ConfigError, ValueError)) as err:
        _cfg(**kw)
    assert fragment in str(err.value)


# ---------------------------------------------------------------- rollback


def _entry(tick: int, epoch: int, key: str = "k") -> dict[str, Any]:
    return {
        "tick": tick,
        "epoch": epoch,
        "op": "insert",
        "db": "_system",
        "collection": "c",
        "key": key,
        "doc": {"_key": key},
        "old": None,
        "time": 1,
    }


def test_divergence_point_is_the_highest_common_pair() -> None:
    local = [_entry(t, 1) for t in range(1, 8)]
    point, divergent = divergent_entries(local, {(1, 1), (2, 1), (3, 1), (4, 2)})
    assert point == 3
    assert [e["tick"] for e in divergent] == [4, 5, 6, 7]
    assert divergent_entries(local, {(7, 1)}) == (7, [])
    point, divergent = divergent_entries(local, set())
    assert point == 0 and len(divergent) == 7


def test_rollback_store_writes_lists_and_reads(tmp_path: Path) -> None:
    store = RollbackStore(str(tmp_path))
    assert store.files() == [] and store.write(3, []) is None
    first = store.write(3, [_entry(5, 3, "a"), _entry(6, 3, "b")])
    second = store.write(3, [_entry(7, 3, "c")])
    assert first and second and first != second
    files = store.files()
    assert [(f["epoch"], f["entries"]) for f in files] == [(3, 2), (3, 1)]
    entries = store.entries(first)
    assert entries is not None and [e["doc"]["_key"] for e in entries] == ["a", "b"]
    assert set(entries[0]) >= {"tick", "epoch", "op", "doc", "collection", "db"}
    with open(os.path.join(store.dir, first), encoding="utf-8") as fh:
        assert all(json.loads(line)["epoch"] == 3 for line in fh)
    assert store.entries("../data.sqlite") is None
    assert store.entries("1-2.jsonl") is None


# ------------------------------------------------------------ the Gate


class FakeAgency:
    """An in-memory agency tree with the two calls leadership makes."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.fail = False

    def _get(self, path: str) -> Any:
        return self.tree.get(path)

    async def write(
        self, updates: dict[str, Any], preconditions: dict[str, Any] | None = None
    ) -> bool:
        if self.fail:
            raise AgencyError("s1: agency write failed: cut off")
        for path, cond in (preconditions or {}).items():
            if "oldEmpty" in cond and (self._get(path) is None) != cond["oldEmpty"]:
                return False
            if "old" in cond and self._get(path) != cond["old"]:
                return False
        for path, op in updates.items():
            if op["op"] == "set":
                self.tree[path] = op["new"]
            elif op["op"] == "increment":
                self.tree[path] = int(self.tree.get(path) or 0) + 1
        return True

    async def read(self, paths: list[str]) -> dict[str, Any]:
        if self.fail:
            raise AgencyError("s1: agency read failed: cut off")
        out: dict[str, Any] = {}
        for full, value in self.tree.items():
            if any(full.startswith(p) for p in paths):
                node = out
                parts = full.strip("/").split("/")
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                node[parts[-1]] = value
        return out


class FakeStorage:
    def __init__(self) -> None:
        self.tick = 2
        self._epoch = 0

    def last_tick(self) -> int:
        return self.tick

    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        self._epoch = epoch


class FakeApplier:
    def __init__(self) -> None:
        self.following: tuple[str, str, int] | None = None

    def start(self, leader_id: str, leader_url: str, epoch: int) -> None:
        self.following = (leader_id, leader_url, epoch)

    async def stop(self, drain_timeout: float) -> None:
        self.following = None

    def status(self) -> dict[str, Any]:
        return {"phase": "tailing" if self.following else "stopped"}


def _leadership(**kw: Any) -> tuple[Leadership, FakeAgency, FakeStorage, FakeApplier]:
    cfg = _cfg(**kw)
    agency, storage, applier = FakeAgency(), FakeStorage(), FakeApplier()
    lead = Leadership(cfg, storage, agency, applier)  # type: ignore[arg-type]
    return lead, agency, storage, applier


async def _cycles(lead: Leadership, n: int = 2) -> None:
    for _ in range(n):
        if not await lead._cycle(clock.monotonic()):
            break
    await asyncio.sleep(0.01)


def _role(lead: Leadership) -> Role:
    """The current role (a call, so a type checker does not carry an earlier narrowing)."""
    return lead.role


def _following(applier: FakeApplier) -> tuple[str, str, int] | None:
    return applier.following


async def _until(check: Any, limit: float = 2.0) -> None:
    """Poll ``check()`` every 10 ms until it is true (AssertionError after ``limit`` s)."""
    for _ in range(int(limit / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {limit} s")


def _refuses_writes(lead: Leadership) -> bool:
    try:
        lead.check_write()
    except ArangoError:
        return True
    return False


def test_gate_refuses_with_1495_before_any_leader_is_known() -> None:
    lead, *_ = _leadership()
    with pytest.raises(ArangoError) as err:
        lead.check_write()
    assert err.value.code == 503 and err.value.error_num == 1495
    assert err.value.headers["X-Arango-Endpoint"] == ""
    assert lead.check_read(True) is True


def test_startup_race_winner_leads_and_its_lease_expires() -> None:
    async def run() -> None:
        lead, agency, storage, _ = _leadership(lease="0.3", heartbeat_interval="0.1")
        await _cycles(lead)
        assert lead.role == Role.LEADER and lead.epoch == 1 and storage.epoch == 1
        assert agency.tree["/Plan/AsyncReplication/Leader"] == "s1"
        lead.check_write()
        assert lead.check_read(False) is False
        endpoints = lead.endpoints()
        assert endpoints is not None and endpoints[0] == lead.servers["s1"]
        assert lead.role_info()["leaderFor"] >= 0
        await lead.commit(3)  # async mode: returns at once
        agency.fail = True  # cut off from the agency: no confirming heartbeat
        with pytest.raises(AgencyError):
            await lead._cycle(clock.monotonic())
        await _until(lambda: _refuses_writes(lead))  # the 0.3 s lease runs out
        # fenced: it names no leader, least of all itself, to clients asking for one
        assert lead.known_leader() is None and lead.endpoints() is None
        with pytest.raises(ArangoError) as err:
            lead.check_write()
        assert err.value.error_num == 1496
        with pytest.raises(ArangoError) as err2:
            await lead.commit(4)
        assert err2.value.error_num == 1457

    asyncio.run(run())


def test_follower_points_at_the_leader_and_steps_down_when_replaced() -> None:
    async def run() -> None:
        lead, agency, _, applier = _leadership()
        agency.tree["/Plan/AsyncReplication/Leader"] = "s2"
        agency.tree["/Plan/AsyncReplication/Epoch"] = 4
        agency.tree["/Sync/ServerStates/s2"] = {"endpoint": "http://leader:9"}
        await _cycles(lead)
        await _until(lambda: _role(lead) == Role.FOLLOWER and lead.leader_id == "s2")
        assert applier.following == ("s2", "http://leader:9", 4)
        with pytest.raises(ArangoError) as err:
            lead.check_write()
        assert err.value.error_num == 1496
        assert err.value.headers["X-Arango-Endpoint"] == "http://leader:9"
        endpoints = lead.endpoints()
        assert endpoints is not None and endpoints[0] == "http://leader:9"
        # promoted by supervision: takes over at the new epoch
        agency.tree["/Plan/AsyncReplication/Leader"] = "s1"
        agency.tree["/Plan/AsyncReplication/Epoch"] = 5
        await _cycles(lead)
        assert _role(lead) == Role.LEADER and lead.epoch == 5 and _following(applier) is None
        lead.check_write()
        # replaced again: stops taking writes at once
        agency.tree["/Plan/AsyncReplication/Leader"] = "s2"
        agency.tree["/Plan/AsyncReplication/Epoch"] = 6
        await _cycles(lead)
        with pytest.raises(ArangoError):
            lead.check_write()
        assert lead.role == Role.FOLLOWER

    asyncio.run(run())


def test_sync_commit_waits_for_the_named_follower() -> None:
    async def run() -> None:
        lead, agency, storage, _ = _leadership(replication="sync", sync_timeout="0.3")
        await _cycles(lead)
        assert lead.role == Role.LEADER
        # no GOOD follower: writes are refused up front with a clear message
        with pytest.raises(ArangoError) as err:
            lead.check_write()
        assert err.value.code == 503 and "sync follower" in err.value.message
        assert agency.tree["/Plan/AsyncReplication/SyncFollower"] == "s1"
        agency.tree["/Supervision/Health/s2"] = {"Status": "GOOD"}
        lead.record_tail("s2", 1, storage.tick + 1)  # s2 holds everything so far
        await _cycles(lead)
        assert lead.sync.current == "s2"
        assert agency.tree["/Plan/AsyncReplication/SyncFollower"] == "s2"
        lead.check_write()
        storage.tick = 10
        waiter = asyncio.create_task(lead.commit(10))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        lead.record_tail("s2", 0, 11)  # an old epoch's request never counts
        await asyncio.sleep(0.05)
        assert not waiter.done()
        lead.record_tail("s2", 1, 11)
        await asyncio.wait_for(waiter, 1.0)
        with pytest.raises(ArangoError) as err:
            await lead.commit(11)  # never acknowledged
        assert err.value.error_num == 1457

    asyncio.run(run())


def test_health_status_reads_strings_and_objects() -> None:
    assert health_status("good") == "GOOD"
    assert health_status({"Status": "FAILED"}) == "FAILED"
    assert health_status(None) == "UNKNOWN"


def test_follower_acks_count_only_the_current_epoch() -> None:
    async def run() -> None:
        acks = FollowerAcks()
        acks.reset(3)
        acks.record("s2", 2, 50)
        assert acks.acked("s2") == -1
        acks.record("s2", 3, 50)
        assert acks.acked("s2") == 49
        acks.reset(4)
        assert acks.acked("s2") == -1

    asyncio.run(run())
