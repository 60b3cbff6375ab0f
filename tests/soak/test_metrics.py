"""The marathon's metrics sampler reads /proc and the servers' SQLite files."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

from harness.infra.backends.base import Node
from harness.soak.metrics import MetricsSampler, node_sample, proc_sample, wal_rows


def server(tmp_path: Path, pid: int | None) -> Node:
    data = tmp_path / "s1" / "data"
    data.mkdir(parents=True)
    conn = sqlite3.connect(data / "server.sqlite")
    conn.execute("CREATE TABLE wal (tick INTEGER PRIMARY KEY, epoch INTEGER, entry TEXT)")
    conn.executemany("INSERT INTO wal VALUES (?, 1, 'x')", [(i,) for i in range(7)])
    conn.commit()
    conn.close()
    return Node("s1", "server", "http://x", "http://x", str(data), "", "", pid=pid)


def test_proc_sample_of_this_process() -> None:
    s = proc_sample(os.getpid())
    assert s["rss_kb"] > 1000 and s["fds"] >= 3
    assert proc_sample(2**22 + 12345) == {}  # no such process


def test_node_sample_reads_wal_rows_and_sizes(tmp_path: Path) -> None:
    node = server(tmp_path, os.getpid())
    s = node_sample(node)
    assert s["wal_rows"] == 7 and s["data_bytes"] > 0 and s["rss_kb"] > 0
    assert wal_rows(tmp_path) is None


def test_sampler_writes_metrics_jsonl(tmp_path: Path) -> None:
    node = server(tmp_path, os.getpid())
    out = tmp_path / "metrics.jsonl"
    sampler = MetricsSampler(lambda: [node], out, interval=0.05)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sampler.run(stop))
        await asyncio.sleep(0.3)
        stop.set()
        await task

    asyncio.run(go())
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert {x["node"] for x in lines} == {"s1", "harness"}
    assert sampler.samples >= 2
