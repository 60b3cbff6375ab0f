"""Clock skew through each node's clock file: bumps and strobes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "clock-bump", "sync", short=True),
    Case("register", "clock-strobe", "async"),
    Case("set", "clock-strobe", "sync"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_clock(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
