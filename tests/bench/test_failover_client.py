"""The failover-to-client benchmark's reading of a run directory (figures, not timings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.bench.failover_client import Leg, analyse, report

S = 1_000_000_000


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _op(i: int, t: float, f: str, node: str | None, kind: str = "ok") -> dict[str, Any]:
    return {"index": i, "type": kind, "process": 0, "f": f, "time": int(t * S), "node": node}


def test_figures_of_one_fault_window(tmp_path: Path) -> None:
    start = {"event": "start", "time": 10 * S, "nodes": ["s1"], "detail": {"leader": "s1"}}
    _write(tmp_path / "nemesis.jsonl", [start, {"event": "end", "time": 18 * S}])
    _write(
        tmp_path / "history.jsonl",
        [
            _op(0, 10.5, "write", "s1"),  # the old leader still acknowledges
            _op(1, 11.0, "read", "s1"),
            _op(2, 14.2, "read", "s2"),  # a read on the new leader is no write
            _op(3, 14.4, "cas", "s2"),  # the first write on the new leader
            _op(4, 14.6, "write", "s2"),
        ],
    )
    roles = [
        {"time": 13 * S, "node": "s2", "role": "follower"},
        {"time": int(14.5 * S), "node": "s2", "role": "leader", "leader_for": 0.5},
    ]
    _write(tmp_path / "roles.jsonl", roles)
    (fault,) = analyse(tmp_path)
    assert abs(fault.to_first_write - 4.4) < 1e-6  # type: ignore[operator]
    assert abs(fault.promotion_to_write - 0.4) < 1e-6  # type: ignore[operator]  # led from 14.0
    assert abs(fault.unavailable - 3.2) < 1e-6  # type: ignore[operator]  # 11.0 -> 14.2
    assert fault.exact_promotion
    # without leaderFor (an older server) the sample's time stands in, marked inexact
    _write(tmp_path / "roles.jsonl", [{**roles[1], "leader_for": None}])
    (sampled,) = analyse(tmp_path)
    assert not sampled.exact_promotion and abs(sampled.promotion_to_write + 0.1) < 1e-6  # type: ignore[operator]
    lines = report([Leg("current", "partition-leader", [fault]), Leg("old", "kill", [sampled])])
    assert any("current" in line and "4.40" in line for line in lines)
    assert any(line.startswith("* promotion") for line in lines)


def test_a_window_without_a_write_on_a_new_leader_is_counted(tmp_path: Path) -> None:
    start = {"event": "start", "time": 1 * S, "nodes": ["s1"], "detail": {"leader": "s1"}}
    _write(tmp_path / "nemesis.jsonl", [start])
    _write(tmp_path / "history.jsonl", [_op(0, 2.0, "write", "s1")])
    _write(tmp_path / "roles.jsonl", [])
    (fault,) = analyse(tmp_path)
    assert fault.to_first_write is None and fault.unavailable is None
    lines = report([Leg("current", "kill-leader", [fault])])
    assert "1 without a write on a new leader" in lines[2]
