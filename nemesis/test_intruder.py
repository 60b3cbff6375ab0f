"""Intruders: requests from outside the cluster without its secret, forged Raft RPCs,
wrong-key tokens, malformed and oversized bodies, slow half-open connections.

Promised in both modes: every intruder request is refused (never 2xx, never
5xx), and the other promised properties hold as usual.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.core.runner import RunResult
from nemesis.suite import Case, assert_run, params

CASES = [
    Case("set", "intruder", "async", short=True),
    Case("register", "intruder", "sync", short=True),
    Case("dirty-read", "intruder", "async"),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", params(CASES))
def test_intruder(case: Case, nemesis_run: Callable[[Case], RunResult]) -> None:
    assert_run(nemesis_run(case))
