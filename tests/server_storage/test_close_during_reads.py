"""Closing the storage while other threads read: it waits for them, never closes under them.

A server's jobs worker scans its queue on a pool thread; a stop that closed the
reader connection under that scan crashed the whole process inside SQLite.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cluster.server.storage import Storage
from cluster.server.storage_tx import Tx


def _blocking_read(
    store: Storage, entered: threading.Event, release: threading.Event
) -> list[object]:
    out: list[object] = []

    def op(tx: Tx) -> int:
        entered.set()
        assert release.wait(10)
        return len(tx.cur.execute("SELECT name FROM databases").fetchall())

    def run() -> None:
        try:
            out.append(store.read(op))
        except Exception as exc:  # recorded for the assertion below
            out.append(exc)

    threading.Thread(target=run, daemon=True).start()
    assert entered.wait(10)
    return out


def test_close_waits_for_a_read_in_flight_then_refuses_new_reads(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "data.sqlite"))
    entered, release = threading.Event(), threading.Event()
    out = _blocking_read(store, entered, release)
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive(), "close() returned while a read was still running"
    release.set()
    closer.join(10)
    assert not closer.is_alive()
    assert out == [1], "the read in flight finished on an open connection"
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        store.list_databases()


def test_a_read_that_never_ends_keeps_its_connection_and_close_returns(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "data.sqlite"))
    entered, release = threading.Event(), threading.Event()
    out = _blocking_read(store, entered, release)
    store.close(read_wait_s=0.2)
    release.set()
    for _ in range(100):
        if out:
            break
        threading.Event().wait(0.05)
    assert out == [1], "the stuck read's connection was closed under it"


def _read_until_closed(store: Storage, stop: threading.Event, errors: list[BaseException]) -> None:
    while not stop.is_set():
        try:
            assert len(store.all_keys("_system", "c")) == 50
        except sqlite3.ProgrammingError:
            return
        except BaseException as exc:
            errors.append(exc)
            return


@pytest.mark.parametrize("round_", range(5))
def test_many_readers_racing_close_end_in_results_or_clean_errors(
    tmp_path: Path, round_: int
) -> None:
    store = Storage(str(tmp_path / "data.sqlite"))
    store.create_collection("_system", "c", {})
    for i in range(50):
        store.insert("_system", "c", {"_key": f"k{i}"})
    stop = threading.Event()
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_read_until_closed, args=(store, stop, errors)) for _ in range(4)
    ]
    for t in threads:
        t.start()
    threading.Event().wait(0.01 * (round_ + 1))
    store.close()
    stop.set()
    for t in threads:
        t.join(10)
    assert errors == []
