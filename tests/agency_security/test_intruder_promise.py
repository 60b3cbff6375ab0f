"""The promise "intruders change nothing", judged from what the intruder fault recorded."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.result import Verdict
from harness.checkers.split_brain import SplitBrainResult
from harness.cli.registry import REGISTRY
from harness.core import promises as p
from harness.core.fault import FAMILIES


def _events(*statuses: int) -> list[dict[str, Any]]:
    requests = [{"node": "a1", "attack": f"a{i}", "status": s} for i, s in enumerate(statuses)]
    start = {"requests": requests}
    return [
        {"event": "start", "fault": "intruder", "family": "intruder", "detail": start},
        {"event": "end", "fault": "intruder", "family": "intruder", "detail": {}},
    ]


def _row(mode: str, families: set[str], nemesis: list[dict[str, Any]]) -> p.PromiseRow:
    results = {"split-brain": SplitBrainResult(verdict=Verdict.VALID)}
    table = p.evaluate(mode, families, results, [], [], [], nemesis)
    return table[p.INTRUDERS_CHANGE_NOTHING]


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_refusals_keep_the_promise(mode: str) -> None:
    row = _row(mode, {"intruder"}, _events(401, 401, 400, 413, 0, 404))
    assert row.status == "promised" and row.holds is True
    assert row.judgement.evidence["requests"] == 6


@pytest.mark.parametrize("status", [200, 201, 202, 500, 503])
def test_an_accepted_or_failing_request_breaks_it(status: int) -> None:
    row = _row("async", {"intruder"}, _events(401, status))
    assert row.broken
    assert row.judgement.evidence["not-refused"] == [
        {"node": "a1", "attack": "a1", "status": status}
    ]


def test_without_intruders_it_is_only_measured() -> None:
    row = _row("sync", {"kill"}, [])
    assert row.status == "measured" and row.holds is None


def test_the_intruder_is_a_family_and_drawn_in_mixed() -> None:
    assert "intruder" in FAMILIES and "intruder" in p.FAMILIES
    assert p.family_of("intruder") == "intruder"
    assert "intruder" in [f.name for f in REGISTRY.faults_for("mixed")]
