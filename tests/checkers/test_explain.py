"""``afcheck check --explain``: readable counterexamples from the result's evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checkers.explain import render, timeline
from harness.checkers.linearizable import check_linearizable
from harness.cli import main
from harness.core.history import write_edn
from tests.checkers.helpers import history, line


def _search_failure() -> list:  # type: ignore[type-arg]
    # cas makes the key go to the search (not the zones)
    return history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (1, "invoke", "cas", [1, 2]),
        (1, "ok", "cas", [1, 2]),
        (2, "invoke", "read", None),
        (2, "ok", "read", 1),
    )


def test_search_failure_names_the_op_prefix_and_states() -> None:
    result = check_linearizable(_search_failure())
    ex = result.evidence["failures"][0]["explain"]
    assert ex["method"] == "search"
    assert ex["blocked"]["f"] == "read" and ex["blocked"]["value"] == 1
    assert ex["prefix-completed"] == 2
    assert ex["states-tried"] == ["2"]
    assert [o["f"] for o in ex["prefix-tail"]] == ["write", "cas"]
    text = render(result.to_json())
    assert "cannot be placed: read 1 by process 2" in text
    assert "longest linearizable prefix: 2 ops" in text
    assert "model states tried there: 2" in text
    assert "p2" in text and "|" in text


def test_zone_failure_names_the_conflicting_ops() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1),
        (1, "invoke", "write", 2),
        (1, "ok", "write", 2),
        (2, "invoke", "read", None),
        (2, "ok", "read", 1),
    )
    result = check_linearizable(h)
    ex = result.evidence["failures"][0]["explain"]
    assert ex["method"] == "zones"
    assert {o["value"] for o in ex["conflicting-ops"]} >= {1, 2}
    assert "read 1" in render(result.to_json())


def test_timeline_marks_pending_ops() -> None:
    rows = timeline(
        [
            {"process": 0, "f": "write", "value": 1, "index": 0, "end-index": 3, "outcome": "ok"},
            {
                "process": 1,
                "f": "write",
                "value": 2,
                "index": 1,
                "end-index": None,
                "outcome": "info",
            },
        ]
    )
    assert len(rows) == 2 and rows[1].rstrip().endswith("write 2 (info) @1")
    assert ">" in rows[1]


def test_cli_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "history.edn"
    write_edn(path, _search_failure())
    assert main(["check", "--model", "cas-register", "--explain", str(path)]) == 1
    out = capsys.readouterr().out
    assert "cannot be placed" in out and "window" in out


def test_cli_explain_brackets_lost_and_stale_set_elements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = [
        line(0, "invoke", 0, "add", 1, 0.0),
        line(1, "ok", 0, "add", 1, 0.1),
        line(2, "invoke", 0, "add", 2, 0.2),
        line(3, "ok", 0, "add", 2, 0.3),
        line(4, "invoke", 1, "read", None, 0.4),
        line(5, "ok", 1, "read", [1], 0.5),  # misses 2 for now
        line(6, "invoke", 1, "read", None, 0.6),
        line(7, "ok", 1, "read", [2], 0.7),  # 1 is gone from here on: lost
        line(8, "invoke", 1, "read", None, 0.8),
        line(9, "ok", 1, "read", [2], 0.9),
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(op) + "\n" for op in ops))
    assert main(["check", "--model", "set", "--explain", str(path)]) == 1
    out = capsys.readouterr().out
    assert "lost 1: add acknowledged at index 1; last seen by the read invoked at index 4" in out
    assert "missing from the read invoked at index 8" in out
    assert "stale 2: reads missed it for 100 ms after it was known" in out
    assert "known at index 3; last missed by the read invoked at index 4" in out
    assert "seen again by the read invoked at index 6" in out
