"""Pauses (SIGSTOP/SIGCONT): the leader, the agency leader."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "pause-leader", "async", short=True),
    Case("set", "pause-leader", "sync"),
    Case("register", "pause-agency-leader", "async"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_pause(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
