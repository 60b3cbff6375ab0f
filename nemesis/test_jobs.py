"""The replicated job queue under faults: a killed leader (short profile) and a cut-off one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("jobs", "kill-leader", "sync", short=True),  # acknowledged jobs run on the new leader
    Case("jobs", "kill-leader", "async"),
    Case("jobs", "partition-leader", "async"),
    Case("jobs", "partition-leader", "sync"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_jobs(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
