"""A soak records each round in soak.json; --resume skips the rounds already done."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli.registry import FAULTS, REGISTRY
from harness.core.runner import RunResult
from harness.core.test import Test
from harness.soak import runner as soak_runner
from harness.soak.plan import build_matrix, draw
from harness.soak.runner import SoakConfig, SoakRunner, exit_status
from harness.soak.state import SoakState, load_state

MATRIX = build_matrix(["set"], FAULTS, "local", only_nemeses=["kill-leader", "pause-leader"])


def fake_run_test(verdicts: dict[int, Any], ran: list[str]) -> Any:
    async def run_test(test: Test, stop: asyncio.Event | None = None) -> RunResult:
        ran.append(test.test_name())
        k = int(test.test_name()[1:6])
        run = Path(test.store) / test.test_name() / f"20261201T0000{k:02d}"
        run.mkdir(parents=True)
        (run / "test.json").write_text(json.dumps({**test.to_json(), "repeat": "afcheck run"}))
        (run / "cluster" / "nodes" / "s1" / "data").mkdir(parents=True)
        (run / "cluster" / "nodes" / "s1" / "data" / "db.sqlite").write_bytes(b"x" * 5000)
        (run / "nodes" / "s1").mkdir(parents=True)
        (run / "nodes" / "s1" / "s1.log").write_text("line\n" * 200)
        (run / "nodes" / "toxiproxy").mkdir()
        (run / "nodes" / "toxiproxy" / "toxiproxy.log").write_text("debug\n" * 200)
        valid = verdicts.get(k, True)
        if valid == "raise":
            raise RuntimeError("a node would not start")
        results = {"valid": valid, "broken-promises": [] if valid else ["acked-writes-survive"]}
        (run / "results.json").write_text(json.dumps(results))
        return RunResult(run, valid, results, None, test)

    return run_test


def config(store: Path, **kw: Any) -> SoakConfig:
    return SoakConfig(store=store, duration_s=3600, seed=5, shard=(1, 1), matrix=MATRIX, **kw)


def state() -> SoakState:
    return SoakState(5, (1, 1), MATRIX.to_json(), "local", 60.0, 3600.0, "c0ffee")


def run_session(cfg: SoakConfig, st: SoakState) -> int:
    return asyncio.run(SoakRunner(cfg, st, REGISTRY, out=io.StringIO()).run())


def test_resume_skips_completed_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(soak_runner, "run_test", fake_run_test({1: False, 2: "raise"}, ran))
    code = run_session(config(tmp_path, max_rounds=3), state())
    assert code == 1  # round 1 broke a promise; round 2's harness failure did not stop the soak
    st = load_state(tmp_path)
    assert st is not None
    assert [r["status"] for r in st.rounds] == ["valid", "invalid", "error"]
    assert ran == [draw(5, MATRIX, k).name() for k in range(3)]
    ran.clear()
    run_session(config(tmp_path, max_rounds=2, resume=True), st)
    assert ran == [draw(5, MATRIX, k).name() for k in (3, 4)]
    st2 = load_state(tmp_path)
    assert st2 is not None and st2.sessions == 2
    assert [r["index"] for r in st2.rounds] == [0, 1, 2, 3, 4]
    latest = (tmp_path / "latest").resolve()
    assert latest == (tmp_path / st2.rounds[-1]["run_dir"]).resolve()
    # the commit under test is in each test.json
    assert json.loads((latest / "test.json").read_text())["commit"] == "c0ffee"


def test_passing_rounds_are_compacted_failing_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(soak_runner, "run_test", fake_run_test({1: False}, []))
    run_session(config(tmp_path, max_rounds=2), state())
    st = load_state(tmp_path)
    assert st is not None
    passing, failing = (tmp_path / r["run_dir"] for r in st.rounds)
    assert not (passing / "cluster").exists()
    assert (passing / "nodes" / "s1" / "s1.log.gz").exists()
    assert not (passing / "nodes" / "toxiproxy").exists()
    assert (failing / "nodes" / "toxiproxy" / "toxiproxy.log.gz").exists()
    assert (failing / "cluster.tar.gz").exists() and not (failing / "cluster").exists()
    assert all(r["rss_kb"] > 0 for r in st.rounds)


def test_keep_passing_evicts_oldest_passing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(soak_runner, "run_test", fake_run_test({0: False}, []))
    run_session(config(tmp_path, max_rounds=5, keep_passing=2), state())
    st = load_state(tmp_path)
    assert st is not None
    evicted = [r["index"] for r in st.rounds if r.get("evicted")]
    assert evicted == [1, 2]
    assert (tmp_path / st.rounds[0]["run_dir"]).exists()  # the failing round stays
    assert all((tmp_path / r["run_dir"]).exists() for r in st.rounds[3:])


def test_exit_status() -> None:
    assert exit_status([{"status": "valid"}]) == 0
    assert exit_status([{"status": "valid"}, {"status": "invalid"}]) == 1
    assert exit_status([{"status": "error"}, {"status": "unknown"}]) == 3
    assert exit_status([{"status": "incomplete", "broken": ["x"]}]) == 1
