"""Hard isolation (docker only): the leader's container taken off the network, then reconnected."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "isolate-leader", "async", short=True),
    Case("set", "isolate-leader", "sync"),
    Case("register", "isolate-agency-leader", "sync"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_isolate(
    case: Case, pytestconfig: pytest.Config, nemesis_run: Callable[[Case], RunResult]
) -> None:
    if pytestconfig.getoption("--backend") != "docker":
        pytest.skip("isolation needs --backend docker (docker network disconnect)")
    assert_run(nemesis_run(case))
