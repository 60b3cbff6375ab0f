"""Partitions: the leader cut off, random halves, agency minority, ring, bridge, client-leader."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "partition-leader", "async", short=True),
    Case("set", "partition-leader", "sync"),
    Case("register", "partition-leader", "sync"),
    Case("dirty-read", "partition-leader", "async", short=True),
    Case("set", "partition-random-halves", "sync"),
    Case("register", "partition-agency-minority", "async"),
    Case("set", "partition-majorities-ring", "async"),
    Case("set", "bridge", "sync"),
    Case("set", "partition-client-leader", "async"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_partition(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
