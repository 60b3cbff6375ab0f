"""Per-node resource samples for the marathon: RSS, open fds, data-dir size, WAL rows.

Every ``interval`` seconds one line per node goes to ``metrics.jsonl``, plus one
for the harness itself, so a leak (RSS, fds, WAL rows that never shrink) shows
as a slope. Local nodes are read from ``/proc/<pid>`` through the backend's
node table; a node in a container gives what its data directory shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.core.run_files import JsonlFile
from harness.infra.backends.base import Node
from harness.soak.rundir import dir_size


def proc_sample(pid: int) -> dict[str, Any]:
    """RSS (kB) and open fds of a live process (empty when it is gone)."""
    out: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
    with contextlib.suppress(OSError):
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def wal_rows(data_dir: Path) -> int | None:
    """Rows in a server's ``wal`` table (read-only, 1 s lock timeout; None: no such file)."""
    for db in sorted(data_dir.glob("*.sqlite")):
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
            try:
                row = conn.execute("SELECT count(*) FROM wal").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            continue
        return int(row[0])
    return None


def node_sample(node: Node) -> dict[str, Any]:
    sample: dict[str, Any] = {"node": node.id, "kind": node.kind, "pid": node.pid}
    if node.pid:
        sample.update(proc_sample(node.pid))
    data = Path(node.data_dir)
    if data.is_dir():
        sample["data_bytes"] = dir_size(data)
        if node.kind == "server":
            sample["wal_rows"] = wal_rows(data)
    return sample


class MetricsSampler:
    """Samples every node of ``nodes()`` (and this process) into ``out`` every ``interval`` s."""

    def __init__(self, nodes: Callable[[], list[Node]], out: Path, interval: float = 60.0) -> None:
        self.nodes = nodes
        self.out = out
        self.interval = interval
        self.samples = 0

    def sample_once(self, file: JsonlFile, t0: float) -> None:
        t = round(time.monotonic() - t0, 1)
        for node in self.nodes():
            file.write({"t": t, **node_sample(node)})
        file.write({"t": t, "node": "harness", "kind": "harness", **proc_sample(os.getpid())})
        self.samples += 1

    async def run(self, stop: asyncio.Event) -> None:
        t0 = time.monotonic()
        file = JsonlFile(self.out)
        try:
            while not stop.is_set():
                with contextlib.suppress(Exception):  # sampling never ends the marathon
                    await asyncio.to_thread(self.sample_once, file, t0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)
        finally:
            file.close()
