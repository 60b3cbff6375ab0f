"""The lost figure a soak round records, per workload."""

from __future__ import annotations

from harness.soak.store_index import run_figures


def test_set_rounds_count_lost_elements() -> None:
    assert run_figures({"checkers": {"set-full": {"lost-count": 3}}}) == (3, [])


def test_job_rounds_count_acknowledged_jobs_never_executed() -> None:
    results = {
        "checkers": {
            "jobs": {"lost-count": 504},
            "availability": {"failovers": [{"duration_ns": 4_520_000_000, "planned": False}]},
        }
    }
    assert run_figures(results) == (504, [4.52])


def test_the_promise_evidence_comes_first_and_no_figure_is_none() -> None:
    promise = {"acked-writes-survive": {"evidence": {"acked-lost-count": 0}}}
    both = {"promises": promise, "checkers": {"jobs": {"lost-count": 7}}}
    assert run_figures(both) == (0, [])
    assert run_figures({"checkers": {"dirty-reads": {}}}) == (None, [])
