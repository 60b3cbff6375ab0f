"""The pandas analysis behind the report: pairing, rates, sampling, faults, roles, losses."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import analysis
from reports.analysis import Fault

S = 1_000_000_000


def _op(
    i: int, kind: str, process: Any, f: str, value: Any, t: float, **extra: Any
) -> dict[str, Any]:
    return {
        "index": i,
        "type": kind,
        "process": process,
        "f": f,
        "value": value,
        "time": int(t * S),
        **extra,
    }


HISTORY = [
    _op(0, "invoke", 0, "add", 1, 0.0),
    _op(1, "invoke", 1, "add", 2, 0.1),
    _op(2, "ok", 0, "add", 1, 0.2, node="s1"),
    _op(3, "info", "nemesis", "start", {"fault": "kill", "nodes": ["s1"]}, 0.3),
    _op(4, "info", 1, "add", 2, 2.0, error="timeout"),
    _op(5, "invoke", 0, "add", 3, 2.1),
    _op(6, "fail", 0, "add", 3, 2.15, error={"code": 503}),
    _op(7, "invoke", 4, "add", 4, 2.2),  # never completes
    _op(8, "info", "nemesis", "stop", None, 3.0),
]


def test_pair_ops_joins_invokes_with_their_completions() -> None:
    ops = analysis.pair_ops(analysis.history_frame(HISTORY))
    assert list(ops["outcome"]) == ["ok", "info", "fail", "pending"]
    assert list(ops["invoke_value"]) == [1, 2, 3, 4]
    assert ops.loc[0, "latency"] == 0.2 and ops.loc[0, "node"] == "s1"
    assert ops.loc[1, "error"] == "timeout"
    assert ops["end"].isna().tolist() == [False, False, False, True]


def test_faults_from_history_pair_start_and_stop() -> None:
    frame = analysis.history_frame(HISTORY)
    faults = analysis.faults_from_history(frame, end=5.0)
    assert [(f.name, f.start, f.end, f.nodes) for f in faults] == [("kill", 0.3, 3.0, ["s1"])]


def test_faults_from_nemesis_pair_by_id_and_keep_open_ones() -> None:
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
    faults = analysis.faults_from_nemesis(events, end=9.0)
    assert [(f.name, f.start, f.end, f.open) for f in faults] == [
        ("partition-leader", 1.0, 4.0, False),
        ("pause", 2.0, 9.0, True),
    ]
    assert faults[0].links == [["s1", "a1"]] and faults[0].label() == "partition-leader s1"


def test_role_segments_merge_equal_samples() -> None:
    roles = [
        {"time": int(t * S), "node": n, "role": r, "epoch": e, "leader": None}
        for t, n, r, e in [
            (0.0, "s1", "leader", 1),
            (0.5, "s1", "leader", 1),
            (1.0, "s1", "down", None),
            (1.5, "s1", "down", None),
            (2.0, "s1", "follower", 2),
            (0.0, "s2", "follower", 1),
        ]
    ]
    seg = analysis.role_segments(roles, end=3.0)
    s1 = seg[seg["node"] == "s1"]
    assert list(zip(s1["role"], s1["start"], s1["end"], strict=True)) == [
        ("leader", 0.0, 1.0),
        ("down", 1.0, 2.0),
        ("follower", 2.0, 3.0),
    ]
    assert list(seg[seg["node"] == "s2"]["end"]) == [3.0]


def test_throughput_counts_completions_per_second() -> None:
    ops = analysis.pair_ops(analysis.history_frame(HISTORY))
    table, width = analysis.throughput(ops, end=3.0)
    assert width == 1.0
    assert table["ok"].tolist()[0] == 1
    assert table["info"].tolist()[2] == 1 and table["fail"].tolist()[2] == 1
    assert table.to_numpy().sum() == 3  # the pending op has no completion


def test_throughput_widens_bins_for_long_runs() -> None:
    history = [
        _op(2 * i + k, kind, 0, "add", i, i * 3.0 + k * 0.01)
        for i in range(500)
        for k, kind in enumerate(("invoke", "ok"))
    ]
    ops = analysis.pair_ops(analysis.history_frame(history))
    table, width = analysis.throughput(ops, end=1500.0, max_bins=300)
    assert width == 5.0 and len(table) <= 301
    assert table["ok"].sum() * width == 500


def test_latency_points_downsample_but_keep_failures() -> None:
    history = []
    for i in range(3000):
        kind = "fail" if i % 100 == 0 else "ok"
        history += [
            _op(2 * i, "invoke", i % 7, "add", i, i * 0.01),
            _op(2 * i + 1, kind, i % 7, "add", i, i * 0.01 + 0.002),
        ]
    ops = analysis.pair_ops(analysis.history_frame(history))
    points, note = analysis.latency_points(ops, max_points=500)
    assert len(points) == 500
    assert (points["outcome"] == "fail").sum() == 30
    assert "500 of 3,000" in note
    assert analysis.latency_points(ops, max_points=5000)[1] == ""


def test_lost_writes_computed_from_history_when_details_absent() -> None:
    ops = analysis.pair_ops(analysis.history_frame(HISTORY))
    faults = [Fault(id=1, name="kill", start=0.3, end=3.0, nodes=["s1"])]
    lost = analysis.lost_writes({"set-full": {"lost": [1, 99]}}, ops, faults)
    assert [(w.value, w.ack, w.node) for w in lost] == [(1, 0.2, "s1"), (99, None, None)]
    assert lost[0].fault is faults[0] and lost[0].fault_note
    assert lost[1].fault is None


def test_lost_writes_use_details_and_split_keys() -> None:
    ops = analysis.pair_ops(analysis.history_frame(HISTORY))
    faults = [Fault(id=1, name="kill", start=0.3, end=3.0, nodes=["s1"])]
    details = [
        {
            "element": ["k1", 5],
            "ack_time": 2 * S,
            "node": "s1",
            "preceding_fault": {"fault": "kill", "start": int(0.3 * S), "end": 3 * S},
        },
        {
            "element": 6,
            "ack_time": None,
            "node": None,
            "preceding_fault": {"fault": "clock", "start": 7 * S, "end": None},
        },
    ]
    lost = analysis.lost_writes({"set-full": {"lost": [], "lost-details": details}}, ops, faults)
    assert (lost[0].key, lost[0].value, lost[0].ack, lost[0].fault) == ("k1", 5, 2.0, faults[0])
    assert (
        lost[1].fault is not None and lost[1].fault.name == "clock" and lost[1].fault.start == 7.0
    )


def test_fault_for_prefers_the_active_then_the_next_fault() -> None:
    a = Fault(id=1, name="a", start=1.0, end=2.0)
    b = Fault(id=2, name="b", start=5.0, end=6.0)
    assert analysis.fault_for(1.5, [a, b]) is a
    assert analysis.fault_for(3.0, [a, b]) is b
    assert analysis.fault_for(7.0, [a, b]) is None


def test_unavailable_windows_and_failovers_from_roles() -> None:
    ops = analysis.pair_ops(analysis.history_frame(HISTORY))
    assert analysis.unavailable_windows(ops, end=3.0) == [(0.2, 2.15)]
    seg = pd.DataFrame(
        {
            "node": ["s1", "s2"],
            "role": ["leader", "leader"],
            "start": [0.0, 4.0],
            "end": [3.0, 9.0],
            "epoch": ["1", "2"],
            "leader": ["s1", "s2"],
        }
    )
    assert analysis.failovers_from_roles(seg) == [
        {"from": "s1", "to": "s2", "start": 3.0, "end": 4.0}
    ]


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Well-formed histories: each process invokes, then maybe completes, in time order."""
    t, out = 0, []
    open_ops: dict[int, int] = {}
    for step in range(draw(st.integers(0, 60))):
        process = draw(st.integers(0, 4))
        t += draw(st.integers(0, 10**6))
        if process in open_ops:
            kind = draw(st.sampled_from(["ok", "fail", "info", "ok"]))
            out.append(
                {
                    "index": step,
                    "type": kind,
                    "process": process,
                    "f": "add",
                    "value": open_ops.pop(process),
                    "time": t,
                }
            )
        else:
            open_ops[process] = step
            out.append(
                {
                    "index": step,
                    "type": "invoke",
                    "process": process,
                    "f": "add",
                    "value": step,
                    "time": t,
                }
            )
    return out


@settings(max_examples=60, deadline=None)
@given(histories())
def test_pairing_keeps_every_invoke_and_orders_times(history: list[dict[str, Any]]) -> None:
    ops = analysis.pair_ops(analysis.history_frame(history))
    assert len(ops) == sum(1 for op in history if op["type"] == "invoke")
    done = ops[ops["outcome"] != "pending"]
    assert (done["latency"] >= 0).all()
    assert len(done) == sum(1 for op in history if op["type"] != "invoke")
    end = max((op["time"] for op in history), default=0) / S
    table, width = analysis.throughput(ops, end=end)
    assert round(float(table.to_numpy().sum()) * width) == len(done)


def test_claims_and_failovers_from_overlapping_roles() -> None:
    roles = [
        {"time": int(t * S), "node": n, "role": r, "epoch": e, "leader": None}
        for t, n, r, e in [
            (0.0, "s1", "leader", 1),
            (5.0, "s1", "leader", 1),
            (7.0, "s1", "follower", 2),
            (0.0, "s2", "follower", 1),
            (6.0, "s2", "leader", 2),
            (6.5, "s2", "leader", 2),
        ]
    ]
    seg = analysis.role_segments(roles, end=9.0)
    assert analysis.claims_from_roles(seg) == [(["s1", "s2"], 6.0, 7.0)]
    cut = Fault(id=1, name="partition-leader", start=4.0, end=8.0, nodes=["s1"])
    assert analysis.failovers_from_roles(seg, [cut]) == [
        {"from": "s1", "to": "s2", "start": 4.0, "end": 6.0}
    ]
    assert analysis.failovers_from_roles(seg)[0]["start"] == 6.0  # no fault: the overlap start
