"""Planned operations: a graceful restart of the leader (a switchover) and rolling restarts.

Promised in both modes: no acknowledged write is lost, and no failover is
unplanned (every leader change comes from a switchover).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "rolling-restart", "async", short=True),
    Case("set", "rolling-restart", "sync"),
    Case("set", "restart-leader", "async", short=True),
    Case("register", "restart-leader", "sync"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_planned(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
