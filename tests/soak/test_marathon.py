"""The marathon: one cluster for the whole soak, faults every N seconds, node metrics sampled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("soak")]


def test_marathon_samples_every_node_and_checks_the_history(tmp_path: Path) -> None:
    store = tmp_path / "m"
    code = main(
        [
            "soak", "--marathon", "--duration", "20s", "--fault-every", "6",
            "--sample-every", "3", "--workloads", "set", "--modes", "sync",
            "--nemeses", "kill-leader", "--store", str(store), "--seed", "4",
        ]
    )  # fmt: skip
    assert code in (0, 1)
    state = json.loads((store / "soak.json").read_text())
    assert len(state["rounds"]) == 1 and state["rounds"][0]["status"] in ("valid", "invalid")
    run = store / state["rounds"][0]["run_dir"]
    test = json.loads((run / "test.json").read_text())
    assert test["time_limit"] == pytest.approx(20, abs=2) and test["nemesis"] == "kill-leader"
    results = json.loads((run / "results.json").read_text())
    assert "kill-leader" in results["nemesis"]["applied"]  # faults were injected throughout
    samples = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    servers = [s for s in samples if s["kind"] == "server" and "rss_kb" in s]
    assert {s["node"] for s in servers} == {"s1", "s2", "s3"}
    assert any(s.get("wal_rows") for s in servers) and all(s["fds"] > 0 for s in servers)
    assert sum(1 for s in samples if s["node"] == "harness") >= 3
