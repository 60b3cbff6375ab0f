"""The report draws the linearizability counterexample: stuck op, prefix, states, window."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.checkers.linearizable import check_linearizable
from harness.checkers.linearizable_result import LinearizableResult
from harness.core.history import Op
from reports.render import UNRENDERED, write_report
from tests.reports.fixtures import make_register_run

MS = 1_000_000


def _ops(*entries: tuple[Any, ...]) -> list[Op]:
    return [Op(i, kind, p, f, v, (i + 1) * MS) for i, (p, kind, f, v) in enumerate(entries)]


def stale_read() -> list[Op]:
    """Key 1: a read returns the value a completed cas replaced (decided by the search)."""
    return _ops(
        (0, "invoke", "write", [1, 1]),
        (0, "ok", "write", [1, 1]),
        (1, "invoke", "cas", [1, [1, 2]]),
        (1, "ok", "cas", [1, [1, 2]]),
        (2, "invoke", "read", [1, None]),
        (2, "ok", "read", [1, 1]),
    )


def lost_write() -> list[Op]:
    """Key 2: an acknowledged write is gone: a later read sees the initial nil (zones)."""
    return _ops(
        (3, "invoke", "write", [2, 5]),
        (3, "ok", "write", [2, 5]),
        (4, "invoke", "read", [2, None]),
        (4, "ok", "read", [2, None]),
    )


def _page_with(run: Path, ops: list[Op]) -> str:
    result = check_linearizable(ops, "cas-register")
    results = json.loads((run / "results.json").read_text())
    results["checkers"]["linearizable"] = result.to_json()
    (run / "results.json").write_text(json.dumps(results, default=str))
    page = write_report(run).read_text(encoding="utf-8")
    assert UNRENDERED not in page
    return page


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_stale_read_shows_prefix_states_and_window(tmp_path: Path) -> None:
    page = _page_with(make_register_run(tmp_path / "run"), stale_read())
    text = _text(page)
    assert "Cannot be placed: p2 read 1" in text
    assert "Longest linearizable prefix: 2 operations" in text
    assert "Model states tried after the prefix: 2" in text
    assert "Smallest failing window (3 operations)" in text
    assert 'stroke="#b00000"' in page  # the stuck op is outlined on the timeline
    assert "(cannot be placed)" in page


def test_lost_write_shows_the_conflicting_ops(tmp_path: Path) -> None:
    page = _page_with(make_register_run(tmp_path / "run"), lost_write())
    text = _text(page)
    assert "Cannot be placed: p4 read nil" in text
    assert "Decided by the unique-value check (zones)" in text
    assert "Operations in conflict" in text and "write 5" in text


def test_undecided_keys_show_their_bound(tmp_path: Path) -> None:
    run = make_register_run(tmp_path / "run")
    results = json.loads((run / "results.json").read_text())
    results["checkers"]["linearizable"] = LinearizableResult.from_json(
        {
            "valid": "unknown",
            "summary": "1 of 1 keys undecided",
            "undecided": [
                {"key": 7, "reason": "memo full", "bound": "1 bytes", "prefix-completed": 3}
            ],
        }
    ).to_json()
    (run / "results.json").write_text(json.dumps(results))
    text = _text(write_report(run).read_text(encoding="utf-8"))
    assert "Undecided keys" in text and "memo full" in text and "1 bytes" in text


def test_set_run_brackets_each_lost_element(tmp_path: Path) -> None:
    from tests.reports.fixtures import make_set_run

    run = make_set_run(tmp_path / "set")
    details = json.loads((run / "results.json").read_text())["checkers"]["set-full"]["lost-details"]
    assert details and all(d["missed_by"] is not None for d in details)
    text = _text(write_report(run).read_text(encoding="utf-8"))
    assert "Lost elements and the operations around them" in text
    assert "read that missed it (invoked, index)" in text


def test_set_run_brackets_each_stale_element(tmp_path: Path) -> None:
    from tests.reports.fixtures import make_set_run

    run = make_set_run(tmp_path / "set")
    results = json.loads((run / "results.json").read_text())
    stale = {"element": 42, "stable-latency": 250_000_000}
    stale |= {"known_index": 10, "missed_by": 12, "seen_again": 20}
    results["checkers"]["set-full"]["worst-stale"] = [stale]
    (run / "results.json").write_text(json.dumps(results))
    text = _text(write_report(run).read_text(encoding="utf-8"))
    assert "Stalest elements and the operations around them" in text
    assert "first read after that saw it (invoked, index)" in text
    row = text.split("Stalest elements and the operations around them", 1)[1]
    assert all(str(v) in row for v in (42, 250, 10, 12, 20))
