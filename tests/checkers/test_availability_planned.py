"""Planned and unplanned failovers: by fault name, and by the switchovers a fault reports."""

from __future__ import annotations

from typing import Any

from harness.checkers.availability import is_planned
from harness.checkers.base import fault_windows


def _events(end_detail: dict[str, Any]) -> list[dict[str, Any]]:
    detail = {"planned": True}
    start = {"id": 0, "event": "start", "fault": "rolling-restart", "time": 10, "detail": detail}
    end = {"id": 0, "event": "end", "fault": "rolling-restart", "time": 90, "detail": end_detail}
    return [start, end]


def test_the_end_events_detail_joins_the_window() -> None:
    (window,) = fault_windows(_events({"switchovers": [{"epoch": 4}]}))
    assert window.detail == {"planned": True, "switchovers": [{"epoch": 4}]}
    assert (window.start, window.end) == (10, 90)


def test_with_recorded_switchovers_only_their_epochs_are_planned() -> None:
    (window,) = fault_windows(_events({"switchovers": [{"epoch": 4}]}))
    assert is_planned(window, 4)
    assert not is_planned(window, 5)  # supervision failed over inside the window
    assert is_planned(window)  # epoch unknown: by the fault's name


def test_without_records_the_fault_decides() -> None:
    (window,) = fault_windows(_events({}))
    assert is_planned(window, 5)
    assert not is_planned(None, 5)
