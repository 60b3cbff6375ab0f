"""The report's follower-choice section: each failover job beside its candidates' ticks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.checkers.follower_choice import check
from harness.checkers.follower_choice_result import FollowerChoiceResult
from harness.core import promises
from reports.render import UNRENDERED, write_report
from tests.checkers.helpers import MS, history
from tests.reports.fixtures import make_set_run

WEIRD = "<script>alert('x')</script>"


def _result(old: str = "s1") -> FollowerChoiceResult:
    """s1 fails; s2 (promoted, held tick 6) lacked elements 6..8 that s3 held (tick 9)."""
    ops = history(*[(0, kind, "add", v) for v in range(10) for kind in ("invoke", "ok")])
    job = {
        "old": old,
        "new": "s2",
        "candidates": {
            "s2": {"health": "GOOD", "lastTick": 6},
            "s3": {"health": "GOOD", "lastTick": 5},
        },
        "epoch": 2,
        "eligible": ["s2", "s3"],
    }
    wal = {
        "s2": {"epochs": {"1": {"first": 1, "last": 6}, "2": {"first": 7, "last": 20}}},
        "s3": {"epochs": {"2": {"first": 7, "last": 20}}},
    }
    rollbacks = [
        {
            "server": "s3",
            "tick": v + 1,
            "epoch": 1,
            "op": "insert",
            "key": str(v),
            "doc": {"_key": str(v), "value": v},
        }
        for v in (6, 7, 8)
    ]
    roles = [{"time": 500 * MS, "node": "s2", "role": "leader", "epoch": 2, "last_tick": 7}]
    return check([job], wal, rollbacks, ops, roles)


def _with_result(run: Path, result: FollowerChoiceResult) -> Path:
    path = run / "results.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data["checkers"][result.NAME] = result.to_json()
    rows = promises.evaluate("async", {"partition"}, {result.NAME: result}, [], [], [])
    row = rows[promises.BEST_FOLLOWER_PROMOTED]
    data["promises"][promises.BEST_FOLLOWER_PROMOTED] = row.to_json()
    path.write_text(json.dumps(data), encoding="utf-8")
    return run


def _section(page: str) -> str:
    match = re.search(r'<section id="follower-choice">.*?</section>', page, re.S)
    assert match, "no follower-choice section"
    return match.group(0)


def test_each_job_is_shown_with_its_candidates_ticks_and_regret(tmp_path: Path) -> None:
    run = _with_result(make_set_run(tmp_path / "set"), _result())
    page = write_report(run).read_text(encoding="utf-8")
    assert UNRENDERED not in page
    part = _section(page)
    assert "Was the best follower promoted?" in part
    assert "s2 (promoted)" in part and "s3 (better)" in part
    # s3: heartbeat tick 5, held tick 9, 3 ticks and 3 acknowledged writes beyond s2
    s3_row = re.search(r"<tr><td></td><td></td><td></td><td>s3 \(better\)</td>.*?</tr>", part)
    assert s3_row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", s3_row.group(0))
    assert cells[4:11] == ["GOOD", "yes", "5", "9", "log", "3", "3"]
    assert "held 3 acknowledged writes" in part
    # the promise row: measured, and it did not hold
    promise = re.search(r"<tr>(?:(?!</tr>).)*best-follower-promoted.*?</tr>", page, re.S)
    assert promise is not None and "measured" in promise.group(0)


def test_no_failover_and_not_measured(tmp_path: Path) -> None:
    empty = check([], {}, [], [], [])
    part = _section(write_report(_with_result(make_set_run(tmp_path / "a"), empty)).read_text())
    assert "0 failovers" in part
    missing = check(None, None, [], [], [])
    part = _section(write_report(_with_result(make_set_run(tmp_path / "b"), missing)).read_text())
    assert "not measured" in part
    # a run without the checker has no such section
    page = write_report(make_set_run(tmp_path / "c")).read_text(encoding="utf-8")
    assert 'id="follower-choice"' not in page


def test_server_names_are_escaped(tmp_path: Path) -> None:
    run = _with_result(make_set_run(tmp_path / "w"), _result(old=WEIRD))
    part = _section(write_report(run).read_text(encoding="utf-8"))
    assert WEIRD not in part and "&lt;script&gt;" in part
