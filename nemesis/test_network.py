"""Degraded links: latency with jitter, and connections reset or cut after some bytes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "slow-network", "async", short=True),
    Case("register", "flaky-network", "sync"),
    Case("set", "flaky-network", "async"),
    Case("dirty-read", "slow-network", "sync"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_network(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
