"""What a run keeps for judging each failover's choice of follower.

At the end of a run, while the cluster is still up, :func:`record` writes two
files into the run directory:

* ``failovers.json``: the agency's ``Target/FailoverJobs``, the jobs supervision
  recorded (old and new leader, the new epoch, each candidate's health and the
  ``lastTick`` of its last heartbeat, the eligible servers);
* ``wal_ticks.jsonl`` (during the run, :class:`WalSampler`): each server's tick
  ranges per epoch whenever they change;
* ``wal_ticks.json``: each server's replication log as tick ranges, per server
  ``{"epochs": {epoch: {"first", "last", "count", "first_time", "last_time"}},
  "marks": [[tick, epoch], ...], "last_tick", "epoch"}``. ``first_time`` and
  ``last_time`` are the entries' ``time`` (the writing leader's wall clock, ms);
  ``marks`` are the last ``(tick, epoch)`` of each epoch whose entries were pruned.

Together with the rollback files (``rollbacks.json``) they say which ticks of
each epoch a server ever held. :func:`load` reads both files back for the
checker (:class:`harness.checkers.follower_choice_evidence.FailoverRunData`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.checkers.base import RunData
from harness.checkers.follower_choice_evidence import FailoverRunData
from harness.core import observe
from harness.core.run_files import JsonlFile, read_jsonl, write_json
from harness.infra.backends.base import Backend

FAILOVERS = "failovers.json"
WAL_TICKS = "wal_ticks.json"
JOBS_KEY = "/arango/Target/FailoverJobs"
DATA_FILE = "data.sqlite"
TIMELINE = "wal_ticks.jsonl"
SAMPLE_S = 1.0


def wal_ticks_of(data_file: Path, with_times: bool = True) -> dict[str, Any] | None:
    """One server's log as tick ranges per epoch (None when the file cannot be read).

    Opens the SQLite file read-only; the server may still be running (WAL
    journal mode lets a reader see the last committed state).
    """
    if not data_file.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{data_file}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error:
        return None
    try:
        epochs: dict[str, dict[str, Any]] = {}
        rows = conn.execute(
            "SELECT epoch, MIN(tick), MAX(tick), COUNT(*) FROM wal GROUP BY epoch ORDER BY epoch"
        ).fetchall()
        for epoch, first, last, count in rows:
            epochs[str(epoch)] = {
                "first": first,
                "last": last,
                "count": count,
            }
            if with_times:
                epochs[str(epoch)]["first_time"] = _entry_time(conn, first)
                epochs[str(epoch)]["last_time"] = _entry_time(conn, last)
        marks = conn.execute("SELECT tick, epoch FROM wal_marks ORDER BY tick").fetchall()
        meta = dict(conn.execute("SELECT k, v FROM meta").fetchall())
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return {
        "epochs": epochs,
        "marks": [[int(t), int(e)] for t, e in marks],
        "last_tick": _int(meta.get("last_tick")),
        "epoch": _int(meta.get("epoch")),
    }


def _entry_time(conn: sqlite3.Connection, tick: int) -> int | None:
    row = conn.execute("SELECT entry FROM wal WHERE tick = ?", (tick,)).fetchone()
    if row is None:
        return None
    try:
        entry = json.loads(row[0])
    except ValueError:
        return None
    return _int(entry.get("time")) if isinstance(entry, dict) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def wal_ticks(data_dirs: dict[str, str], with_times: bool = True) -> dict[str, Any]:
    """:func:`wal_ticks_of` for every server (a server whose file cannot be read is left out)."""
    out: dict[str, Any] = {}
    for node_id, data_dir in sorted(data_dirs.items()):
        ticks = wal_ticks_of(Path(data_dir) / DATA_FILE, with_times)
        if ticks is not None:
            out[node_id] = ticks
    return out


class WalSampler:
    """Appends each server's tick ranges per epoch to ``wal_ticks.jsonl`` when they change.

    A log restored from a snapshot (a server resyncing) forgets its past; the
    samples keep what each server held during the run. Every ``interval``
    seconds: ``{"time": ns since start, "node", "epochs": {epoch: [first, last]}}``.
    """

    def __init__(self, data_dirs: dict[str, str], out: JsonlFile, now: Callable[[], int]) -> None:
        self.data_dirs = data_dirs
        self.out = out
        self.now = now
        self._last: dict[str, Any] = {}

    def sample(self) -> None:
        t = self.now()
        for node, info in wal_ticks(self.data_dirs, with_times=False).items():
            spans = {e: [v["first"], v["last"]] for e, v in info["epochs"].items()}
            if spans != self._last.get(node):
                self._last[node] = spans
                self.out.write({"time": t, "node": node, "epochs": spans})

    async def run(self, stop: asyncio.Event, interval: float = SAMPLE_S) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError, sqlite3.Error, ValueError):
                await asyncio.to_thread(self.sample)  # observation must never end the test
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def record(backend: Backend, run_dir: Path, notes: list[str]) -> None:
    """Write ``failovers.json`` and ``wal_ticks.json``; a failure becomes a note, never an error."""
    try:
        jobs = await observe.agency_read(backend, JOBS_KEY, wait=5.0)
        write_json(run_dir / FAILOVERS, jobs if isinstance(jobs, list) else [])
    except LookupError as exc:
        notes.append(f"failover jobs not recorded: {exc}")
    data_dirs = {n.id: n.data_dir for n in backend.nodes() if n.kind == "server"}
    try:
        ticks = await asyncio.to_thread(wal_ticks, data_dirs)
    except OSError as exc:
        notes.append(f"WAL ticks not recorded: {exc}")
        return
    write_json(run_dir / WAL_TICKS, ticks)


def _read(path: Path) -> Any:
    if not path.is_file():
        return None
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text(encoding="utf-8"))
    return None


def load(run: RunData, run_dir: Path) -> FailoverRunData:
    """``run`` with the failover jobs and WAL ticks of ``run_dir`` (None where a file is missing)."""
    jobs = _read(run_dir / FAILOVERS)
    ticks = _read(run_dir / WAL_TICKS)
    return FailoverRunData.extend(
        run,
        failover_jobs=[j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else None,
        wal_ticks=ticks if isinstance(ticks, dict) else None,
        wal_timeline=read_jsonl(run_dir / TIMELINE),
    )
