"""Finding a linearizability failure's window of operations in the history."""

from __future__ import annotations

from pathlib import Path

from reports.context import build, window_ops
from reports.rundir import load_run
from tests.reports.fixtures import make_register_run

S = 1_000_000_000


def test_window_with_invokes_and_completions_lists_each_op_once(tmp_path: Path) -> None:
    ctx = build(load_run(make_register_run(tmp_path / "reg")))
    entries = [op for op in ctx.run.history if op["process"] != "nemesis"][:8]
    ops = window_ops(entries, ctx)
    invokes = [e for e in entries if e["type"] == "invoke"]
    assert len(ops) == len(invokes)
    completed = [o for o in ops if o.end is not None]
    assert completed and all(o.end is not None and o.end >= o.start for o in completed)
    assert [o.start for o in ops] == sorted(o.start for o in ops)


def test_window_without_indexes_joins_invokes_with_completions(tmp_path: Path) -> None:
    ctx = build(load_run(make_register_run(tmp_path / "reg")))
    window = [
        {"process": 1, "type": "invoke", "f": "read", "value": ["k", None], "time": 1 * S},
        {"process": 2, "type": "invoke", "f": "write", "value": ["k", 3], "time": 2 * S},
        {"process": 1, "type": "ok", "f": "read", "value": ["k", 3], "time": 3 * S},
        {"process": 3, "type": "info", "f": "cas", "value": ["k", [1, 2]], "time": 4 * S},
        "not an op",
    ]
    ops = window_ops(window, ctx)
    assert [(o.process, o.f, o.value, o.start, o.end, o.outcome) for o in ops] == [
        ("1", "read", ["k", 3], 1.0, 3.0, "ok"),
        ("2", "write", ["k", 3], 2.0, None, "pending"),
        ("3", "cas", ["k", [1, 2]], 4.0, None, "info"),
    ]
    assert window_ops("garbage", ctx) == []
