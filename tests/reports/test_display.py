"""What the report reads straight from raw files (display only): faults, role segments,
servers, the run's extent, and set-full's lost writes as listed."""

from __future__ import annotations

from pathlib import Path

from harness.checkers.base import FaultWindow, Verdict
from harness.checkers.set_full import LostElement, SetFullResult
from reports import display
from reports.context import lost_writes
from reports.display import Fault
from reports.rundir import RunDir
from tests.checkers.helpers import S, line

HISTORY = [
    line(0, "invoke", 0, "add", 1, 0.0),
    line(1, "invoke", 1, "add", 2, 0.1),
    line(2, "ok", 0, "add", 1, 0.2, node="s1"),
    line(3, "info", "nemesis", "start", {"fault": "kill", "nodes": ["s1"]}, 0.3),
    line(4, "info", 1, "add", 2, 2.0, error="timeout"),
    line(5, "info", "nemesis", "stop", None, 3.0),
]


def test_faults_from_history_pair_start_and_stop(tmp_path: Path) -> None:
    run = RunDir(path=tmp_path, history=HISTORY)
    faults = display.faults(run, end=5.0)
    assert [(f.name, f.start, f.end, f.nodes, f.open) for f in faults] == [
        ("kill", 0.3, 3.0, ["s1"], False)
    ]
    assert display.client_operations(run) == 2
    assert display.run_end(run) == 3.0
    assert display.servers(run, []) == ["s1"]


def test_faults_from_nemesis_pair_by_id_and_keep_open_ones(tmp_path: Path) -> None:
    (tmp_path / "nemesis.jsonl").write_text("")
    events = [
        {
            "id": 1,
            "event": "start",
            "fault": "partition-leader",
            "time": 1 * S,
            "nodes": ["s1"],
            "links": [["s1", "a1"]],
        },
        {"id": 2, "event": "start", "fault": "pause", "time": 2 * S, "nodes": ["a1"]},
        {"id": 1, "event": "end", "fault": "partition-leader", "time": 4 * S},
    ]
    run = RunDir(path=tmp_path, history=[], nemesis=events)
    faults = display.faults(run, end=9.0)
    assert [(f.name, f.start, f.end, f.open) for f in faults] == [
        ("partition-leader", 1.0, 4.0, False),
        ("pause", 2.0, 9.0, True),
    ]
    assert faults[0].links == [("s1", "a1")] and faults[0].label() == "partition-leader s1"


def test_role_segments_merge_equal_samples() -> None:
    roles = [
        {"time": int(t * S), "node": n, "role": r, "epoch": e, "leader": None}
        for t, n, r, e in [
            (0.0, "s1", "leader", 1),
            (0.5, "s1", "leader", 1),
            (1.0, "s1", "down", None),
            (1.5, "s1", "down", None),
            (2.0, "s1", "follower", 2),
            (0.0, "s10", "follower", 1),
            (0.0, "s2", "follower", 1),
        ]
    ]
    seg = display.role_segments(roles, end=3.0)
    assert [(s.node, s.role, s.start, s.end, s.epoch) for s in seg] == [
        ("s1", "leader", 0.0, 1.0, "1"),
        ("s1", "down", 1.0, 2.0, ""),
        ("s1", "follower", 2.0, 3.0, "2"),
        ("s2", "follower", 0.0, 3.0, "1"),
        ("s10", "follower", 0.0, 3.0, "1"),
    ]


def test_lost_writes_use_details_split_keys_and_match_applied_faults() -> None:
    applied = [Fault(name="kill", start=0.3, end=3.0, nodes=["s1"])]
    sf = SetFullResult(
        verdict=Verdict.INVALID,
        lost=[["k1", 5], 6, 7],
        lost_details=[
            LostElement(["k1", 5], 2 * S, "s1", FaultWindow(None, "kill", int(0.3 * S), 3 * S)),
            LostElement(6, None, None, FaultWindow(None, "clock", 7 * S, None)),
        ],
    )
    lost = lost_writes(sf, applied)
    assert (lost[0].key, lost[0].value, lost[0].ack, lost[0].fault) == ("k1", 5, 2.0, applied[0])
    assert lost[1].fault is not None and (lost[1].fault.name, lost[1].fault.start) == ("clock", 7.0)
    # an element without details (an old result) is listed with nothing but itself
    assert (lost[2].value, lost[2].ack, lost[2].node, lost[2].fault) == (7, None, None, None)
