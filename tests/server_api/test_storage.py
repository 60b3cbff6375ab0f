"""Storage unit tests: ticks, WAL, replication round trips, snapshots, rollbacks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.common.errors import ArangoError
from cluster.server import storage_docs as docs
from cluster.server.storage import Storage, StorageOpenError
from cluster.server.storage_tx import Tx


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Storage]:
    s = Storage(str(tmp_path / "a" / "data.sqlite"))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Storage]:
    s = Storage(str(tmp_path / "b" / "data.sqlite"))
    try:
        yield s
    finally:
        s.close()


def snapshot_docs(s: Storage) -> dict[str, object]:
    _, snap = s.dump_all()
    return snap


def workload(s: Storage) -> None:
    s.create_database("shop")
    s.create_collection("shop", "c", {})
    s.create_collection("_system", "d", {"waitForSync": True})
    for i in range(20):
        s.insert("shop", "c", {"_key": f"k{i}", "n": i})
    s.insert("shop", "c", {"auto": True})
    s.update("shop", "c", "k1", {"m": 1})
    s.replace("shop", "c", "k2", {"r": 2})
    s.remove("shop", "c", "k3")
    s.insert("_system", "d", {"_key": "x"})
    s.truncate("_system", "d")
    s.change_collection("shop", "c", {"waitForSync": True})
    s.create_collection("shop", "gone", {})
    s.drop_collection("shop", "gone")
    s.create_database("tmp")
    s.drop_database("tmp")


def test_first_start_has_system_database_and_users(store: Storage) -> None:
    assert store.list_databases() == ["_system"]
    assert store.collection_exists("_system", "_users")
    assert store.last_tick() == 2


def test_ticks_strictly_increase_and_every_write_is_logged(store: Storage) -> None:
    workload(store)
    entries = store.tail(0, 10_000)
    ticks = [e["tick"] for e in entries]
    assert ticks == sorted(set(ticks))
    assert ticks[-1] == store.last_tick()
    assert {e["op"] for e in entries} >= {
        "insert", "update", "replace", "remove", "truncate", "create-collection",
        "drop-collection", "change-collection", "create-database", "drop-database",
    }  # fmt: skip
    assert all(e["epoch"] == 0 for e in entries)


def test_failed_operation_leaves_no_tick_and_no_change(store: Storage) -> None:
    store.create_collection("_system", "c", {})
    store.insert("_system", "c", {"_key": "k"})
    before = store.last_tick()
    results = store.run_batch(
        [
            lambda tx: docs.insert(tx, "_system", "c", {"_key": "k"}),
            lambda tx: docs.insert(tx, "_system", "c", {"_key": "new"}),
        ]
    )
    assert isinstance(results[0], ArangoError) and results[0].error_num == 1210
    assert not isinstance(results[1], ArangoError) and results[1].tick == before + 1
    assert store.last_tick() == before + 1
    assert store.all_keys("_system", "c") == ["k", "new"]


def test_epoch_is_carried_and_persisted(tmp_path: Path) -> None:
    path = str(tmp_path / "data.sqlite")
    s = Storage(path)
    s.set_epoch(7)
    s.create_collection("_system", "c", {})
    w = s.insert("_system", "c", {})
    assert s.wal_entry(w.tick)["epoch"] == 7  # type: ignore[index]
    s.close()
    again = Storage(path)
    try:
        assert again.epoch == 7 and again.last_tick() == w.tick
    finally:
        again.close()


def test_tail_apply_round_trip_gives_identical_data(store: Storage, other: Storage) -> None:
    workload(store)
    from_tick = other.last_tick() + 1
    while True:
        batch = store.tail(from_tick, 7)
        if not batch:
            break
        other.apply_replicated(batch)
        from_tick = batch[-1]["tick"] + 1
    assert other.last_tick() == store.last_tick()
    assert snapshot_docs(other) == snapshot_docs(store)
    assert other.tail(0, 10_000)[2:] == store.tail(0, 10_000)[2:]
    # idempotent: applying everything again changes nothing
    assert other.apply_replicated(store.tail(0, 10_000)) == store.last_tick()
    assert snapshot_docs(other) == snapshot_docs(store)


def test_apply_rejects_malformed_entries_atomically(store: Storage) -> None:
    good = {"tick": 10, "epoch": 1, "db": "_system", "op": "create-collection",
            "collection": "c", "key": None, "doc": {"name": "c", "id": "10"}, "old": None}  # fmt: skip
    for bad in [
        5,
        {"tick": "x"},
        {**good, "tick": 11, "op": "explode"},
        {**good, "tick": 11, "doc": None},
    ]:
        with pytest.raises(ArangoError) as err:
            store.apply_replicated([good, bad])  # type: ignore[list-item]
        assert err.value.error_num == 1402
    assert store.last_tick() == 2 and not store.collection_exists("_system", "c")


def test_reset_from_snapshot_replaces_everything(store: Storage, other: Storage) -> None:
    workload(store)
    other.create_collection("_system", "local-only", {})
    other.insert("_system", "local-only", {"_key": "lost"})
    tick, snap = store.dump_all()
    other.reset_from_snapshot(tick, 4, snap)
    assert other.last_tick() == tick and other.epoch == 4
    assert snapshot_docs(other) == snapshot_docs(store)
    assert other.wal_entry(3) is None and other.entries_after(0) == []
    # tailing continues from the snapshot tick
    store.insert("shop", "c", {"_key": "after"})
    other.apply_replicated(store.tail(tick + 1, 100))
    assert other.get("shop", "c", "after") is not None
    inv = store.inventory()
    assert set(inv["databases"]) == {"_system", "shop"} and inv["tick"] == store.last_tick()
    assert "documents" not in inv["databases"]["shop"]["collections"]["c"]
    batches = list(store.dump("shop", "c", 5))
    assert sum(len(b) for b in batches) == store.count("shop", "c") and max(map(len, batches)) == 5


def test_entries_after_lists_what_a_rollback_discards(store: Storage) -> None:
    store.create_collection("_system", "c", {})
    mark = store.last_tick()
    a = store.insert("_system", "c", {"_key": "a"})
    b = store.remove("_system", "c", "a")
    after = store.entries_after(mark)
    assert [(e["tick"], e["op"], e["key"]) for e in after] == [
        (a.tick, "insert", "a"),
        (b.tick, "remove", "a"),
    ]
    assert after[1]["old"]["_key"] == "a" and after[1]["doc"] is None
    assert store.wal_entry(a.tick) == after[0]
    assert store.first_tick() == 1


def test_generated_keys_skip_existing_user_keys(store: Storage) -> None:
    store.create_collection("_system", "c", {})
    nxt = store.last_tick() + 1
    store.insert("_system", "c", {"_key": str(nxt + 1)})
    w = store.insert("_system", "c", {})
    assert w.new is not None and w.new["_key"] != str(nxt + 1)
    assert store.count("_system", "c") == 2


def test_read_errors_name_what_is_missing(store: Storage) -> None:
    with pytest.raises(ArangoError) as err:
        store.get("nope", "c", "k")
    assert err.value.error_num == 1228
    with pytest.raises(ArangoError) as err:
        store.get("_system", "nope", "k")
    assert err.value.error_num == 1203
    with pytest.raises(ArangoError) as err:
        store.write(lambda tx: docs.insert(tx, "_system", "_users", {"_key": "bad key"}))
    assert err.value.error_num == 1221


def test_unexpected_failure_in_one_op_spares_the_batch(store: Storage) -> None:
    store.create_collection("_system", "c", {})

    def broken(tx: Tx) -> None:
        docs.insert(tx, "_system", "c", {"_key": "half"})
        raise RuntimeError("bug")

    results = store.run_batch([broken, lambda tx: docs.insert(tx, "_system", "c", {"_key": "ok"})])
    assert isinstance(results[0], ArangoError) and results[0].code == 500
    assert store.all_keys("_system", "c") == ["ok"]


def test_prune_wal_keeps_data(store: Storage) -> None:
    store.create_collection("_system", "c", {})
    for i in range(5):
        store.insert("_system", "c", {"_key": f"k{i}"})
    last = store.last_tick()
    assert store.prune_wal(last) == last - 1
    assert store.first_tick() == last and [e["tick"] for e in store.tail(0, 100)] == [last]
    assert store.count("_system", "c") == 5 and store.last_tick() == last


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "data.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageOpenError, match="cannot open data file"):
        Storage(str(bad))


def test_visible_tick_bounds_what_concurrent_reads_see(store: Storage) -> None:
    """A read on another thread never sees data past ``visible_tick()`` (the read barrier's input)."""
    store.create_collection("_system", "c", {})
    done = threading.Event()
    violations: list[tuple[int, int]] = []

    def reader() -> None:
        while not done.is_set():
            row = store.read(
                lambda tx: tx.cur.execute("SELECT v FROM meta WHERE k = 'last_tick'").fetchone()
            )
            seen = int(row[0])
            bound = store.visible_tick()
            if seen > bound:
                violations.append((seen, bound))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(300):
            store.insert("_system", "c", {"_key": f"k{i}"})
    finally:
        done.set()
        thread.join(timeout=10)
    assert not violations
    assert store.visible_tick() == store.last_tick()
