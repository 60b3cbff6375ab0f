"""WAL retention on Storage directly: the floor, pruning, epoch marks, shrinking the file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.server import storage_docs as docs
from cluster.server.storage import Storage
from cluster.server.storage_docs import DocWrite
from cluster.server.storage_retention import (
    MAX_MARKS,
    RetentionPolicy,
    WalPruner,
    choose_floor,
)
from cluster.server.storage_tx import Tx


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Storage]:
    s = Storage(str(tmp_path / "a" / "data.sqlite"))
    s.create_collection("_system", "c", {})
    try:
        yield s
    finally:
        s.close()


def put(body: dict[str, Any]) -> Callable[[Tx], DocWrite]:
    return lambda tx: docs.insert(tx, "_system", "c", body, overwrite_mode="replace")


def write(s: Storage, n: int, pad: int = 50, keys: int = 10) -> None:
    """``n`` writes (one WAL entry each) over ``keys`` documents, 100 per transaction."""
    for start in range(0, n, 100):
        ops = [
            put({"_key": f"k{i % keys}", "n": i, "pad": "x" * pad})
            for i in range(start, min(n, start + 100))
        ]
        results = s.run_batch(ops)
        assert not any(isinstance(r, Exception) for r in results), results


def ticks(s: Storage) -> list[int]:
    return [int(e["tick"]) for e in s.tail(0, -1)]


# -- the floor ------------------------------------------------------------------


def test_floor_keeps_newest_and_what_followers_need_within_bounds() -> None:
    p = RetentionPolicy(keep_ticks=10, max_ticks=100, max_bytes=0)
    assert choose_floor(1000, p, None, 0) == 991  # newest 10
    assert choose_floor(1000, p, 950, 0) == 950  # a follower acked 950: keep 950 on
    assert choose_floor(1000, p, 5, 0) == 901  # but never more than 100 entries
    assert choose_floor(1000, p, 950, 995) == 995  # the byte bound wins
    assert choose_floor(5, p, None, 0) == 0  # short log: nothing to prune
    assert choose_floor(1000, RetentionPolicy(1, 0, 0), None, 5000) == 1000  # never the last


def test_policy_rejects_contradictions() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(keep_ticks=0)
    with pytest.raises(ValueError):
        RetentionPolicy(keep_ticks=100, max_ticks=10)
    with pytest.raises(ValueError):
        RetentionPolicy(max_bytes=-1)


def test_retention_floor_by_bytes(store: Storage) -> None:
    write(store, 200, pad=200)
    last = store.last_tick()
    entry_size = store.wal_stats()["bytes"] // store.wal_stats()["rows"]
    policy = RetentionPolicy(keep_ticks=150, max_ticks=0, max_bytes=entry_size * 20)
    floor = store.retention_floor(policy, None)
    # about 20 entries fit (entry sizes differ a little)
    assert last - 25 <= floor <= last - 15
    store.prune_wal(floor)
    assert store.wal_stats()["bytes"] <= entry_size * 20 + entry_size


# -- pruning and the marks -----------------------------------------------------


def test_prune_keeps_data_and_tail_starts_at_floor(store: Storage) -> None:
    write(store, 100)
    before = store.all_documents("_system", "c")
    last = store.last_tick()
    dropped = store.prune_wal(last - 9)
    assert dropped == store.last_tick() - 10 - (min(ticks(store)) - (last - 9))
    assert ticks(store) == list(range(last - 9, last + 1))
    assert store.all_documents("_system", "c") == before
    assert store.first_tick() == last - 9
    assert store.tick_gone(last - 10) and store.tick_gone(1)
    assert not store.tick_gone(last - 9) and not store.tick_gone(last + 1)


def test_pruned_ticks_keep_their_epoch_through_marks(store: Storage) -> None:
    write(store, 10)  # epoch 0
    b0 = store.last_tick()
    store.set_epoch(3)
    write(store, 10)
    b3 = store.last_tick()
    store.set_epoch(5)
    write(store, 10)
    last = store.last_tick()
    store.prune_wal(last - 2)
    assert store.first_tick() == last - 2
    assert store.pair_epoch(b0) == 0 and store.pair_epoch(1) == 0
    assert store.pair_epoch(b0 + 1) == 3 and store.pair_epoch(b3) == 3
    assert store.pair_epoch(b3 + 1) == 5 and store.pair_epoch(last - 3) == 5
    assert store.pair_epoch(last) == 5  # still in the WAL
    assert store.pair_epoch(last + 1) is None  # never held
    # pruning again keeps one mark per epoch
    write(store, 10)
    store.prune_wal(store.last_tick())
    with sqlite3.connect(store.path) as conn:
        marks = conn.execute("SELECT tick, epoch FROM wal_marks ORDER BY tick").fetchall()
    assert [e for _, e in marks] == [0, 3, 5]
    assert store.pair_epoch(b3) == 3 and store.pair_epoch(last) == 5


def test_marks_are_bounded_and_the_origin_moves_past_forgotten_epochs(store: Storage) -> None:
    epochs = MAX_MARKS + 5
    starts: dict[int, int] = {}
    for epoch in range(1, epochs + 1):
        store.set_epoch(epoch)
        starts[epoch] = store.last_tick() + 1
        write(store, 2)
        store.prune_wal(store.last_tick())
    assert store.pair_epoch(starts[epochs - 1]) == epochs - 1
    assert store.pair_epoch(starts[3]) is None  # forgotten, never guessed
    assert store.pair_epoch(1) is None


def test_snapshot_restore_resets_the_origin(store: Storage, tmp_path: Path) -> None:
    write(store, 20)
    store.prune_wal(store.last_tick() - 3)
    leader = Storage(str(tmp_path / "l" / "data.sqlite"))
    try:
        leader.set_epoch(7)
        leader.create_collection("_system", "c", {})
        write(leader, 50)
        tick, snap = leader.dump_all()
    finally:
        leader.close()
    store.reset_from_snapshot(tick, 7, snap)
    assert store.first_tick() == 0 and store.tick_gone(tick) and not store.tick_gone(tick + 1)
    assert store.pair_epoch(tick) is None and store.pair_epoch(5) is None
    store.update("_system", "c", "k1", {"after": True})
    store.prune_wal(store.last_tick())
    assert store.pair_epoch(tick) is None  # older than the origin: unknown
    assert store.pair_epoch(store.last_tick()) == 7


# -- the SQLite file -----------------------------------------------------------


def test_new_files_use_incremental_auto_vacuum(store: Storage) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2


def file_size(s: Storage) -> int:
    return sum(
        os.path.getsize(s.path + suffix)
        for suffix in ("", "-wal")
        if os.path.exists(s.path + suffix)
    )


def test_pruning_shrinks_the_file(store: Storage) -> None:
    write(store, 3000, pad=400)
    store.compact()
    grown = os.path.getsize(store.path)
    store.prune_wal(store.last_tick() - 10)
    store.compact()
    store.compact()  # the second pass vacuums what the checkpoint moved
    assert os.path.getsize(store.path) < grown / 3


def test_steady_writes_with_the_pruner_stay_bounded(store: Storage) -> None:
    policy = RetentionPolicy(keep_ticks=200, max_ticks=1000, max_bytes=0)
    pruner = WalPruner(store, policy, 1.0, lambda: None, "t")
    sizes = []
    for _ in range(8):
        write(store, 500, pad=300)
        pruner.prune_once()
        sizes.append(file_size(store))
        assert store.wal_stats()["rows"] == 200
    # the file stops growing once the log is at its bound
    assert max(sizes[3:]) <= sizes[2] * 1.2


def test_pruner_keeps_what_a_follower_needs(store: Storage) -> None:
    write(store, 300)
    needed = store.last_tick() - 250
    pruner = WalPruner(store, RetentionPolicy(10, 1000, 0), 1.0, lambda: needed, "t")
    pruner.prune_once()
    assert store.first_tick() == needed and pruner.last_floor == needed
    pruner.needed = lambda: 1  # beyond the 1000-entry bound? no: 300 entries only
    pruner.prune_once()
    assert store.first_tick() == needed
