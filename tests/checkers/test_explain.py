"""``afcheck check --explain``: readable counterexamples from the result's evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers.explain import render, timeline
from harness.checkers.linearizable import check_linearizable
from harness.cli import main
from harness.core.history import write_edn
from tests.checkers.helpers import history


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
