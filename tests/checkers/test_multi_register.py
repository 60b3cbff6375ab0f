"""The multi-register model: atomic reads and writes of several keys, through the search."""

from __future__ import annotations

from harness.checkers.linearizable import check_linearizable
from tests.checkers.helpers import history


def test_atomic_txns_are_linearizable() -> None:
    h = history(
        (0, "invoke", "txn", [["w", "x", 1], ["w", "y", 1]]),
        (0, "ok", "txn", [["w", "x", 1], ["w", "y", 1]]),
        (1, "invoke", "txn", [["r", "x", None], ["r", "y", None]]),
        (1, "ok", "txn", [["r", "x", 1], ["r", "y", 1]]),
    )
    assert check_linearizable(h, "multi-register").valid is True


def test_torn_read_is_caught() -> None:
    h = history(
        (0, "invoke", "txn", [["w", "x", 1], ["w", "y", 1]]),
        (0, "ok", "txn", [["w", "x", 1], ["w", "y", 1]]),
        (1, "invoke", "txn", [["r", "x", None], ["r", "y", None]]),
        (1, "ok", "txn", [["r", "x", 1], ["r", "y", None]]),
    )
    result = check_linearizable(h, "multi-register")
    assert result.valid is False
    assert "txn" in result.summary


def test_info_txn_reads_are_unknown_but_writes_may_happen() -> None:
    h = history(
        (0, "invoke", "txn", [["r", "x", None], ["w", "x", 2]]),
        (0, "info", "txn", [["r", "x", None], ["w", "x", 2]]),
        (1, "invoke", "txn", [["w", "x", 1]]),
        (1, "ok", "txn", [["w", "x", 1]]),
        (2, "invoke", "txn", [["r", "x", None]]),
        (2, "ok", "txn", [["r", "x", 2]]),
    )
    assert check_linearizable(h, "multi-register").valid is True
