"""Soak rounds in processes of their own: the verdict, a harness failure, a crash, signals.

The round command here is a stand-in for ``python -m harness.cli.soak_round``
that speaks the same protocol (test.json in, outcome.json out, SIGTERM ends
the workload early) without starting a cluster.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cli.registry import FAULTS, REGISTRY
from harness.soak.plan import build_matrix
from harness.soak.runner import SoakConfig, SoakRunner
from harness.soak.state import SoakState

MATRIX = build_matrix(["set"], FAULTS, "local", only_nemeses=["kill-leader"])

FAKE_ROUND = r"""
import json, os, signal, sys, time
from pathlib import Path

if sys.argv[1] == "report":
    sys.exit(0)
spec, out = sys.argv[2], sys.argv[3]
test = json.loads(Path(spec).read_text())
mode = os.environ["FAKE_ROUND"]
signals = []
signal.signal(signal.SIGTERM, lambda *a: signals.append(1))
if mode == "crash":
    sys.exit(7)
if mode == "error":
    Path(out).write_text(json.dumps({"run_dir": None, "error": "RuntimeError: no leader", "cancelled": False}))
    sys.exit(0)
if mode == "wait":  # a workload that runs until the soak passes a signal on
    deadline = time.time() + 20
    while not signals and time.time() < deadline:
        time.sleep(0.02)
run = Path(test["store"]) / test["name"] / "20261201T000000"
run.mkdir(parents=True)
(run / "test.json").write_text(json.dumps(test))
valid = mode != "invalid"
results = {"valid": valid, "broken-promises": [] if valid else ["acked-writes-survive"],
           "signals-seen": len(signals)}
(run / "results.json").write_text(json.dumps(results))
Path(out).write_text(json.dumps({"run_dir": str(run), "error": "", "cancelled": False,
                                 "peak_rss_kb": 1234}))
"""


def soak(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch, signal_after: float = 0
) -> tuple[int, dict[str, Any]]:
    script = tmp_path / "fake_round.py"
    script.write_text(FAKE_ROUND)
    monkeypatch.setenv("FAKE_ROUND", mode)
    store = tmp_path / "store"
    store.mkdir()
    cfg = SoakConfig(
        store=store, duration_s=3600, seed=5, shard=(1, 1), matrix=MATRIX, max_rounds=1
    )
    st = SoakState(5, (1, 1), MATRIX.to_json(), "local", 60.0, 3600.0, "c0ffee")
    runner = SoakRunner(
        cfg, st, REGISTRY, out=io.StringIO(), round_command=[sys.executable, str(script)]
    )

    async def main() -> int:
        if signal_after:
            asyncio.get_running_loop().call_later(signal_after, runner._on_signal, "SIGTERM")
        return await runner.run()

    code = asyncio.run(main())
    assert not list(store.glob(".round-*")), "the round's spec directory was left behind"
    return code, st.rounds[0]


def results_of(store: Path, record: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = json.loads((store / record["run_dir"] / "results.json").read_text())
    return results


def test_a_valid_round_in_its_own_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, rec = soak(tmp_path, "valid", monkeypatch)
    assert (code, rec["status"], rec["round_peak_rss_kb"]) == (0, "valid", 1234)
    assert rec["rss_kb"] > 0


def test_an_invalid_round_in_its_own_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, rec = soak(tmp_path, "invalid", monkeypatch)
    assert (code, rec["status"], rec["broken"]) == (1, "invalid", ["acked-writes-survive"])


def test_a_harness_failure_in_the_round_process_is_recorded_as_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, rec = soak(tmp_path, "error", monkeypatch)
    assert (code, rec["status"], rec["error"]) == (3, "error", "RuntimeError: no leader")


def test_a_round_process_that_dies_without_an_outcome_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, rec = soak(tmp_path, "crash", monkeypatch)
    assert (code, rec["status"]) == (3, "error")
    assert "exited with status 7" in rec["error"]


def test_the_soak_passes_its_signal_to_the_round_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, rec = soak(tmp_path, "wait", monkeypatch, signal_after=0.5)
    assert (rec["status"], rec["verdict"]) == ("incomplete", "valid")
    assert rec["seconds"] < 15, "the round ran on instead of ending at the signal"
    store = tmp_path / "store"
    assert results_of(store, rec)["signals-seen"] == 1
    assert "incomplete" in results_of(store, rec)
