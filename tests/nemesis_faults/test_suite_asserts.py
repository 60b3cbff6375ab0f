"""Unit tests: a nemesis suite case fails when the run tested nothing (synthetic results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, case_test

PROMISES = {
    "acked-writes-survive": {"status": "measured", "holds": False, "description": "", "evidence": {}},
    "no-split-brain": {"status": "promised", "holds": True, "description": "", "evidence": {}},
}  # fmt: skip


def result(
    *,
    valid: Any = True,
    applied: list[str] | None = None,
    ok: int = 120,
    promises: dict[str, Any] | None = None,
    notes: list[str] | None = None,
    fault: str = "kill-leader",
) -> RunResult:
    test = case_test(Case("set", fault, "async"), "short", "local", "store", seed=1)
    results = {
        "valid": valid,
        "promises": promises or PROMISES,
        "nemesis": {
            "applied": ["kill-leader"] if applied is None else applied,
            "skipped": [] if applied is None or applied else ["kill-leader"] * 2,
        },
        "operations": {"ok": ok, "fail": 3, "info": 1},
        "notes": notes or ["s2 led 2.0s after healing"],
    }
    return RunResult(Path("store/x"), valid, results, None, test)


def test_a_good_run_passes() -> None:
    assert_run(result())


def test_a_run_without_faults_passes_when_it_asked_for_none() -> None:
    assert_run(result(fault="none", applied=[]))


def test_every_fault_skipped_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="no fault acted"):
        assert_run(result(applied=[]))


def test_no_ok_operation_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="no operation completed ok"):
        assert_run(result(ok=0))


def test_unknown_verdict_fails() -> None:
    undecided = {**PROMISES, "no-split-brain": {**PROMISES["no-split-brain"], "holds": None}}
    with pytest.raises(pytest.fail.Exception, match="verdict 'unknown'.*\n.*no-split-brain"):
        assert_run(result(valid="unknown", promises=undecided))


def test_a_broken_promise_fails_with_its_evidence() -> None:
    broken = {
        **PROMISES,
        "no-split-brain": {
            "status": "promised",
            "holds": False,
            "description": "no two servers acknowledge writes in overlapping time",
            "evidence": {"overlapping-writes": [[1, 2]]},
        },
    }
    with pytest.raises(pytest.fail.Exception, match="overlapping-writes"):
        assert_run(result(valid=False, promises=broken))


def test_no_recovery_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="did not recover"):
        assert_run(result(notes=["no leader within 60s after healing"]))
