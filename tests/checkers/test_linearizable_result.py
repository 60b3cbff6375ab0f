"""The linearizability checker's typed result: failure windows paired into operations."""

from __future__ import annotations

from harness.checkers.base import RunData
from harness.checkers.catalog import LinearizableChecker, result_from_json
from harness.checkers.linearizable_result import LinearizableResult, window_ops

S = 1_000_000_000


def test_window_without_indexes_joins_invokes_with_completions() -> None:
    window = [
        {"process": 1, "type": "invoke", "f": "read", "value": ["k", None], "time": 1 * S},
        {"process": 2, "type": "invoke", "f": "write", "value": ["k", 3], "time": 2 * S},
        {"process": 1, "type": "ok", "f": "read", "value": ["k", 3], "time": 3 * S},
        {"process": 3, "type": "info", "f": "cas", "value": ["k", [1, 2]], "time": 4 * S},
        {"process": 4, "type": "ok", "f": "read", "time": "not a time"},
    ]
    ops = window_ops(window)
    assert [(o.process, o.f, o.value, o.start, o.end, o.outcome) for o in ops] == [
        ("1", "read", ["k", 3], 1 * S, 3 * S, "ok"),
        ("2", "write", ["k", 3], 2 * S, None, "pending"),
        ("3", "cas", ["k", [1, 2]], 4 * S, 4 * S, "info"),
    ]


def test_checker_wraps_the_search_into_a_typed_result_that_round_trips() -> None:
    history = [
        {"index": 0, "type": "invoke", "process": 0, "f": "write", "value": 1, "time": 0},
        {"index": 1, "type": "ok", "process": 0, "f": "write", "value": 1, "time": 10},
        {"index": 2, "type": "invoke", "process": 1, "f": "read", "value": None, "time": 20},
        {"index": 3, "type": "ok", "process": 1, "f": "read", "value": 2, "time": 30},
    ]
    result = LinearizableChecker().check(RunData(history=history))
    assert isinstance(result, LinearizableResult)
    assert result.valid is False and result.keys_checked == 1
    (failure,) = result.failures
    assert failure.ops and all(o.end is not None for o in failure.ops)
    assert [o.index for o in failure.ops] == sorted(o.index or 0 for o in failure.ops)
    again = result_from_json("linearizable", result.to_json())
    assert again == result


def test_old_results_without_ops_are_paired_on_load() -> None:
    old = {
        "valid": False,
        "summary": "1 of 1 keys not linearizable",
        "failures": [
            {
                "key": None,
                "explanation": "x",
                "window": [
                    {"index": 2, "type": "invoke", "process": 1, "f": "read", "time": 20},
                    {"index": 3, "type": "ok", "process": 1, "f": "read", "value": 2, "time": 30},
                ],
            },
            7,
        ],
        "keys-checked": 1,
        "check-time-s": 0.5,
    }
    result = result_from_json("linearizable", old)
    assert isinstance(result, LinearizableResult) and result.check_time_s == 0.5
    (failure,) = result.failures  # the malformed entry is left out
    assert [(o.start, o.end, o.value, o.index) for o in failure.ops] == [(20, 30, 2, 2)]
