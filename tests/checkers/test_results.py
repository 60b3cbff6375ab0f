"""Typed results: each reads back from its results.json form, equal to what was written,
and an old or malformed entry reads without crashing (what cannot be read is left out)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.checkers.base import FaultWindow, RoleSample
from harness.checkers.catalog import RESULT_TYPES, result_from_json
from harness.checkers.dirty_reads import DirtyReadsResult, check_dirty_reads
from harness.checkers.result import CheckerCrash, CheckResult, TypedResult, Verdict
from harness.checkers.set_full import SetFullResult, check_set_full
from harness.checkers.split_brain import SplitBrainResult, check_split_brain
from tests.checkers.helpers import MS, history


def _json(result: CheckResult) -> dict[str, Any]:
    """Through real JSON, as results.json stores it (tuples become lists)."""
    return dict(json.loads(json.dumps(result.to_json())))


def test_set_full_round_trips() -> None:
    h = history(
        (0, "invoke", "add", 1),
        (0, "ok", "add", 1, {"node": "s1"}),
        (1, "invoke", "add", 2),
        (1, "ok", "add", 2, {"node": "s1"}),
        (2, "invoke", "read", None),
        (2, "ok", "read", [1, 2, 2]),
        (2, "invoke", "read", None),
        (2, "ok", "read", [2]),
    )
    r = check_set_full(h, [FaultWindow(None, "kill", 0, 5 * MS, ("s1",))])
    r.collection = "set"
    assert r.verdict is Verdict.INVALID and r.lost == [1] and r.duplicated == {"2": 2}
    again = result_from_json("set-full", _json(r))
    assert again == r and isinstance(again, SetFullResult)


def test_split_brain_round_trips() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (1, "invoke", "write", 2),
        (0, "ok", "write", 1, {"node": "s1"}),
        (1, "ok", "write", 2, {"node": "s2"}),
    )
    roles = [
        RoleSample(0, "s1", "leader"),
        RoleSample(1, "s2", "leader"),
        RoleSample(5, "s1", "follower"),
        RoleSample(6, "s2", "leader"),
    ]
    r = check_split_brain(h, roles)
    assert r.overlap_count == 1 and len(r.overlapping_claims) == 1
    assert SplitBrainResult.from_json(_json(r)) == r


def test_dirty_reads_round_trips() -> None:
    h = history(
        (0, "invoke", "write", ["x", 1]),
        (0, "ok", "write", ["x", 1], {"node": "s1"}),
        (0, "invoke", "write", ["x", 2]),
        (0, "ok", "write", ["x", 2], {"node": "s1"}),
        (1, "invoke", "read", ["x", None]),
        (1, "ok", "read", ["x", 1], {"node": "s2", "dirty": True}),
    )
    r = check_dirty_reads(h, [RoleSample(0, "s1", "leader"), RoleSample(0, "s2", "follower")])
    assert r.stale_count == 1 and r.stale_reads[0].versions_behind == 1
    assert DirtyReadsResult.from_json(_json(r)) == r


@pytest.mark.parametrize("name", sorted(RESULT_TYPES))
@pytest.mark.parametrize(
    "garbage",
    [
        {},
        {"valid": "maybe", "summary": 3},
        {key: 7 for key in ("lost", "windows", "failures", "stale-reads", "overlapping-writes")},
        {key: [1, "x", None, {}] for key in ("lost-details", "failovers", "latency-points")},
    ],
)
def test_malformed_entries_read_without_crashing(name: str, garbage: dict[str, Any]) -> None:
    result = result_from_json(name, garbage)
    assert isinstance(result, TypedResult)
    assert result.verdict in (Verdict.UNKNOWN, Verdict.VALID, Verdict.INVALID)
    json.dumps(result.to_json())


def test_unknown_and_crashed_entries_stay_untyped() -> None:
    other = result_from_json("mine", {"valid": True, "summary": "ok", "things": [1]})
    assert not isinstance(other, TypedResult)
    assert other.valid is True and other.evidence == {"things": [1]}
    crash = CheckerCrash(verdict=Verdict.UNKNOWN, summary="checker crashed: boom", error="boom")
    again = result_from_json("set-full", crash.to_json())
    assert not isinstance(again, SetFullResult) and again.valid == "unknown"
    assert again.summary == "checker crashed: boom"
