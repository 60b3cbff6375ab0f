"""The report's queue section: jobs per state, lost and duplicated jobs with their tries,
the leader change and the fault that followed their acknowledgement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.checkers.jobs import check
from harness.checkers.jobs_result import JobsResult
from harness.core import promises
from reports.render import UNRENDERED, write_report
from tests.checkers.test_jobs import MS, History
from tests.reports.fixtures import make_set_run

WEIRD = "<script>alert('x')</script>"


def _result(final_read: bool = True) -> JobsResult:
    hist = History()
    hist.enqueue(0)
    hist.enqueue(1, state=None, runs=0)  # lost: its enqueue did not survive the failover
    hist.enqueue(2, runs=2)  # ran twice
    hist.enqueue(3, key=True)
    hist.jobs[1]["tries"].append({"try": 2, "server": WEIRD, "epoch": 2, "outcome": "done"})
    roles = [
        {"time": 0, "node": "s1", "role": "leader", "epoch": 1},
        {"time": 30 * MS, "node": "s2", "role": "leader", "epoch": 2},
    ]
    nemesis = [
        {"event": "start", "id": 1, "fault": "kill-leader", "time": 2 * MS, "nodes": ["s1"]},
        {"event": "end", "id": 1, "fault": "kill-leader", "time": 9 * MS},
    ]
    return check(hist.finish(read=final_read), nemesis=nemesis, roles=roles)


def _with_result(run: Path, result: JobsResult, mode: str = "sync") -> Path:
    path = run / "results.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data["checkers"][result.NAME] = result.to_json()
    rows = promises.evaluate(mode, {"kill"}, {result.NAME: result}, [], [], [])
    for name in (promises.ACKED_JOBS_EXECUTED, promises.KEYED_JOBS_ONCE):
        data["promises"][name] = rows[name].to_json()
    path.write_text(json.dumps(data), encoding="utf-8")
    return run


def test_queue_section_lists_states_lost_and_duplicated_jobs(tmp_path: Path) -> None:
    run = _with_result(make_set_run(tmp_path / "run"), _result())
    page = write_report(run).read_text(encoding="utf-8")
    assert 'id="jobs"' in page and "Queued jobs" in page and UNRENDERED not in page
    section = page[page.index('id="jobs"') :]
    section = section[: section.index("</section>")]
    assert "Lost jobs (1)" in section and "Duplicated jobs (1)" in section
    assert "did not survive" in section and "missing" in section
    assert "s1 → s2 at 0.03 s (epoch 2)" in section  # the failover after the ack
    assert "kill-leader on s1" in section
    assert "#1 s1@e1 done" in section
    assert WEIRD not in page and "&lt;script&gt;" in section
    assert "an acknowledged job in the replicated queue is executed" in page


def test_queue_section_without_a_final_read_says_so(tmp_path: Path) -> None:
    run = _with_result(make_set_run(tmp_path / "run"), _result(final_read=False))
    page = write_report(run).read_text(encoding="utf-8")
    assert "not judged" in page and "no final read" in page


def test_no_queue_section_without_the_jobs_checker(tmp_path: Path) -> None:
    page = write_report(make_set_run(tmp_path / "run")).read_text(encoding="utf-8")
    assert 'id="jobs"' not in page


def test_sync_judges_lost_jobs_as_a_broken_promise(tmp_path: Path) -> None:
    result = _result()
    sync = promises.evaluate("sync", {"kill"}, {"jobs": result}, [], [], [])
    assert sync[promises.ACKED_JOBS_EXECUTED].broken
    assert not sync[promises.KEYED_JOBS_ONCE].broken
    measured = promises.evaluate("async", {"kill"}, {"jobs": result}, [], [], [])
    row = measured[promises.ACKED_JOBS_EXECUTED]
    assert row.status == "measured" and row.holds is False and not row.broken
    assert measured[promises.UNKEYED_JOBS_ONCE].holds is False
    other = promises.evaluate("sync", {"kill"}, {}, [], [], [])
    assert other[promises.ACKED_JOBS_EXECUTED].holds is None
    assert not other[promises.ACKED_JOBS_EXECUTED].undecided  # not exercised: no verdict change
