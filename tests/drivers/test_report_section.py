"""Unit tests: the report's Client section counts the driver's errors from the history."""

from __future__ import annotations

from typing import Any

from reports.drivers import client_mode, error_kind, tally


def test_tally_counts_outcomes_and_driver_errors_by_kind() -> None:
    refused = {
        "driver": "python-arango",
        "class": "ArangoServerError",
        "code": 503,
        "errorNum": 1496,
    }
    reset = {"driver": "arangojs", "class": "FetchFailedError", "cause": "UND_ERR_SOCKET"}
    history: list[dict[str, Any]] = [
        {"type": "invoke", "process": 0, "f": "add"},
        {"type": "ok", "process": 0, "f": "add"},
        {"type": "fail", "process": 1, "f": "add", "error": refused},
        {"type": "fail", "process": 2, "f": "add", "error": refused},
        {"type": "info", "process": 3, "f": "add", "error": reset},
        {"type": "info", "process": 4, "f": "add", "error": "timeout after 2.00s"},  # native
        {"type": "info", "process": "nemesis", "f": "start", "value": {}},
    ]
    outcomes, errors = tally(history)
    assert dict(outcomes) == {"ok": 1, "fail": 2, "info": 2}
    assert errors == {
        ("fail", "ArangoServerError", "503", "1496"): 2,
        ("info", "FetchFailedError", "", ""): 1,
    }
    assert error_kind({"code": 503}) is None  # the native client's error: no driver


def test_client_mode_of_runs_from_before_client_modes_is_native() -> None:
    assert client_mode({}) == "native"
    assert client_mode({"client": "arangojs:failover"}) == "arangojs:failover"
