"""Integration: a short local kill-leader run records what the follower-choice checker reads.

A real cluster (processes): the run directory gets ``failovers.json`` (the
agency's failover jobs, with each candidate's heartbeat tick and the eligible
servers) ``wal_ticks.jsonl`` (each server's log as tick ranges per epoch, sampled
during the run) and ``wal_ticks.json`` (the same at the end),
and ``results.json`` judges each job.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(360)]
AFCHECK = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def test_kill_leader_run_records_failover_jobs_and_wal_ticks(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = subprocess.run(
        [
            *AFCHECK,
            "run",
            "--workload",
            "set",
            "--nemesis",
            "kill-leader",
            "--time-limit",
            "16",
            "--healthy",
            "4",
            "--fault",
            "6",
            "--seed",
            "3",
            "--store",
            str(store),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert proc.returncode in (0, 1, 2), proc.stderr + proc.stdout
    run = (store / "latest").resolve()
    jobs = json.loads((run / "failovers.json").read_text())
    assert jobs, "a killed leader must have been failed over"
    for job in jobs:
        assert {"old", "new", "epoch", "candidates", "eligible", "sync"} <= set(job)
        assert job["new"] in job["eligible"] and job["sync"] is None
        assert all("lastTick" in c and "health" in c for c in job["candidates"].values())
    ticks = json.loads((run / "wal_ticks.json").read_text())
    assert set(ticks) == {"s1", "s2", "s3"}
    for server in ticks.values():
        assert server["last_tick"] > 0
        for span in server["epochs"].values():
            assert span["first"] <= span["last"] and span["count"] >= 1
    samples = [json.loads(line) for line in (run / "wal_ticks.jsonl").read_text().splitlines()]
    assert {s["node"] for s in samples} == {"s1", "s2", "s3"}
    assert all(isinstance(s["time"], int) and s["epochs"] for s in samples)
    results = json.loads((run / "results.json").read_text())
    choice = results["checkers"]["follower-choice"]
    assert choice["valid"] is True and choice["failovers"] == len(jobs)
    assert choice["judged"] >= 1
    row = results["promises"]["best-follower-promoted"]
    assert row["status"] == "measured"
    assert 'id="follower-choice"' in (run / "report.html").read_text(encoding="utf-8")
