"""Kills: the leader, a random node, the agency leader (each restarted after the hold)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "kill-leader", "async", short=True),
    Case("set", "kill-leader", "sync"),
    Case("set", "kill-leader", "sync", short=True, database="shop"),  # not only _system
    Case("users", "kill-leader", "sync", short=True),  # users and grants hold on the new leader
    Case("users", "kill-leader", "async"),
    Case("register", "kill-leader", "sync"),
    Case("set", "kill-random", "async"),
    Case("register", "kill-agency-leader", "sync"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_kill(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
