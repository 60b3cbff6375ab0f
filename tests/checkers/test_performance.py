"""performance: outcomes, latency points (sampled), throughput bins."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.checkers.base import as_ops
from harness.checkers.performance import PerformanceResult, check, check_performance
from tests.checkers.helpers import S, line

HISTORY = [
    line(0, "invoke", 0, "add", 1, 0.0),
    line(1, "invoke", 1, "add", 2, 0.1),
    line(2, "ok", 0, "add", 1, 0.2, node="s1"),
    line(3, "info", "nemesis", "start", {"fault": "kill"}, 0.3),
    line(4, "info", 1, "add", 2, 2.0, error="timeout", node="s2"),
    line(5, "invoke", 0, "add", 3, 2.1),
    line(6, "fail", 0, "add", 3, 2.15, error={"code": 503}),
    line(7, "invoke", 4, "add", 4, 2.2),  # never completes
    line(8, "info", "nemesis", "stop", None, 3.0),
]


def test_outcomes_points_and_throughput() -> None:
    r = check(HISTORY)
    assert r.valid is True
    assert r.outcomes == {"add": {"fail": 1, "info": 1, "ok": 1, "pending": 1}}
    assert r.operations == 4 and r.completed == 3
    assert [(p.outcome, p.latency) for p in r.latency_points] == [
        ("ok", int(0.2 * S)),
        ("info", int(2.0 * S) - int(0.1 * S)),
        ("fail", int(2.15 * S) - int(2.1 * S)),
    ]
    assert r.latency_points[1].node == "s2" and r.latency_points[1].error == "timeout"
    assert r.throughput.bin_s == 1.0
    assert r.throughput.rates["ok"][0] == 1
    assert r.throughput.rates["info"][2] == 1 and r.throughput.rates["fail"][2] == 1
    assert PerformanceResult.from_json(r.to_json()) == r


def test_throughput_widens_bins_for_long_runs() -> None:
    history = [
        line(2 * i + k, kind, 0, "add", i, i * 3.0 + k * 0.01)
        for i in range(500)
        for k, kind in enumerate(("invoke", "ok"))
    ]
    r = check_performance(as_ops(history), max_bins=300)
    assert r.throughput.bin_s == 5.0 and r.throughput.bins <= 301
    assert round(sum(r.throughput.rates["ok"]) * r.throughput.bin_s) == 500


def test_latency_points_downsample_but_keep_failures() -> None:
    history = []
    for i in range(3000):
        kind = "fail" if i % 100 == 0 else "ok"
        history += [
            line(2 * i, "invoke", i % 7, "add", i, i * 0.01),
            line(2 * i + 1, kind, i % 7, "add", i, i * 0.01 + 0.002),
        ]
    r = check_performance(as_ops(history), max_points=500)
    assert len(r.latency_points) == 500 and r.completed == 3000
    assert sum(1 for p in r.latency_points if p.outcome == "fail") == 30
    starts = [p.start for p in r.latency_points]
    assert starts == sorted(starts)
    assert len(check_performance(as_ops(history)).latency_points) == 3000


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Well-formed histories: each process invokes, then maybe completes, in time order."""
    t, out = 0, []
    open_ops: dict[int, int] = {}
    for step in range(draw(st.integers(0, 60))):
        process = draw(st.integers(0, 4))
        t += draw(st.integers(0, 10**9))
        if process in open_ops:
            kind = draw(st.sampled_from(["ok", "fail", "info", "ok"]))
            out.append(line(step, kind, process, "add", open_ops.pop(process), t / S))
        else:
            open_ops[process] = step
            out.append(line(step, "invoke", process, "add", step, t / S))
    return out


@settings(max_examples=60, deadline=None)
@given(histories())
@example([])
def test_every_invoke_counted_and_every_completion_binned(history: list[dict[str, Any]]) -> None:
    r = check(history)
    assert r.operations == sum(1 for op in history if op["type"] == "invoke")
    done = sum(1 for op in history if op["type"] != "invoke")
    assert r.completed == done == len(r.latency_points)
    assert all(p.latency >= 0 for p in r.latency_points)
    total = sum(sum(rates) for rates in r.throughput.rates.values()) * r.throughput.bin_s
    assert round(total) == done
