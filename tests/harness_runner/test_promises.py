"""Unit tests: the promise table per mode and how each row is judged."""

from __future__ import annotations

from typing import Any

from harness.core import promises as p


def test_table_per_mode() -> None:
    a = p.table_for("async", {"partition"})
    assert a[p.ACKED_WRITES_SURVIVE] == "measured"
    assert a[p.NO_SPLIT_BRAIN] == "promised"
    assert a[p.LEADER_LINEARIZABLE] == "measured"
    assert a[p.DIRTY_READS_MARKED] == "promised"
    assert p.table_for("async", {"pause"})[p.NO_SPLIT_BRAIN] == "measured"
    s = p.table_for("sync", {"pause", "clock"})
    assert all(v == "promised" for v in s.values())


def test_families() -> None:
    assert p.family_of("partition-leader") == "partition"
    assert p.family_of("bridge") == "partition"
    assert p.family_of("kill-agency-leader") == "kill"
    assert p.family_of("pause-leader") == "pause"
    assert p.family_of("clock-strobe") == "clock"
    assert p.family_of("flaky-network") == "network"


def _set_full(lost: list[int], acked: bool = True) -> dict[str, Any]:
    details = [{"element": e, "ack_time": 5 if acked else None, "node": "s1"} for e in lost]
    return {
        "valid": not lost,
        "summary": "",
        "lost": lost,
        "lost-count": len(lost),
        "lost-details": details,
        "stale-count": 0,
    }


def test_async_loss_is_measured_not_failing() -> None:
    results = {
        "set-full": _set_full([3, 4]),
        "split-brain": {"valid": True, "overlap-count": 0, "claims-count": 0},
    }
    rollbacks: list[dict[str, Any]] = [
        {"collection": "set", "key": "3"},
        {"collection": "set", "doc": {"_key": "4"}},
    ]
    roles = [{"time": 0, "node": "s1", "role": "leader"}]
    table = p.evaluate("async", ["partition-leader"], results, [], roles, rollbacks, "set")
    assert table[p.ACKED_WRITES_SURVIVE]["holds"] is False
    assert table[p.ACKED_WRITES_SURVIVE]["status"] == "measured"
    assert table[p.NO_SILENT_ROLLBACK]["holds"] is True
    assert p.verdict(table) is True
    sync = p.evaluate("sync", ["partition-leader"], results, [], roles, rollbacks, "set")
    assert p.verdict(sync) is False
    assert p.ACKED_WRITES_SURVIVE in p.broken_promises(sync)


def test_silent_drop_breaks_a_promise() -> None:
    results = {"set-full": _set_full([3, 4]), "split-brain": {"overlap-count": 0}}
    table = p.evaluate("async", ["kill-leader"], results, [], [], [], "set")
    assert table[p.NO_SILENT_ROLLBACK]["holds"] is False
    assert table[p.NO_SILENT_ROLLBACK]["evidence"]["silently-dropped"] == ["3", "4"]
    assert p.verdict(table) is False


def test_plain_read_served_by_follower() -> None:
    roles = [{"time": t, "node": "s2", "role": "follower"} for t in (0, 100, 200, 300)] + [
        {"time": t, "node": "s1", "role": "leader"} for t in (0, 100, 200, 300)
    ]
    history = [
        {"index": 0, "type": "invoke", "process": 0, "f": "read", "value": None, "time": 120},
        {
            "index": 1,
            "type": "ok",
            "process": 0,
            "f": "read",
            "value": [],
            "time": 150,
            "node": "s2",
        },
        {"index": 2, "type": "invoke", "process": 1, "f": "read", "value": None, "time": 120},
        {
            "index": 3,
            "type": "ok",
            "process": 1,
            "f": "read",
            "value": [],
            "time": 150,
            "node": "s1",
        },
        {
            "index": 4,
            "type": "invoke",
            "process": 2,
            "f": "read",
            "value": None,
            "time": 120,
            "allow_dirty": True,
        },
        {
            "index": 5,
            "type": "ok",
            "process": 2,
            "f": "read",
            "value": [],
            "time": 150,
            "node": "s2",
            "allow_dirty": True,
            "dirty": True,
        },
    ]
    bad = p.plain_reads_on_followers(history, roles)
    assert [op["index"] for op in bad] == [1]
    # a sample gap around the read: not provably a follower, not counted
    assert p.plain_reads_on_followers(history, roles[:1]) == []


def test_undecided_promise_gives_unknown() -> None:
    results = {"split-brain": {"valid": "unknown", "summary": "crashed"}}
    table = p.evaluate("sync", ["partition-leader"], results, [], [], None)
    assert p.verdict(table) == "unknown"


def test_read_but_unacknowledged_loss_breaks_linearizability_not_durability() -> None:
    roles = [{"time": 0, "node": "s1", "role": "leader"}]
    results = {"set-full": _set_full([7], acked=False), "split-brain": {"overlap-count": 0}}
    kept = [{"collection": "set", "key": "7"}]
    table = p.evaluate("sync", ["partition-leader"], results, [], roles, kept, "set")
    assert table[p.ACKED_WRITES_SURVIVE]["holds"] is True
    assert table[p.LEADER_LINEARIZABLE]["holds"] is False
    assert p.broken_promises(table) == [p.LEADER_LINEARIZABLE]


def test_a_crashing_checker_is_reported_unknown_and_hides_no_other_verdict() -> None:
    from harness.checkers.base import RunData
    from harness.checkers.catalog import SplitBrainChecker, rolled_back_pairs
    from harness.core.checks import combined_validity, run_checkers

    class Crashing:
        name = "x"

        def check(self, run: RunData) -> dict[str, Any]:
            raise ValueError("bad history")

    run = RunData(history=[])
    out = run_checkers([Crashing(), SplitBrainChecker()], run)
    assert out["x"]["valid"] == "unknown" and "bad history" in out["x"]["summary"]
    assert out["split-brain"]["valid"] is True
    assert combined_validity({"a": {"valid": True}, "b": {"valid": "unknown"}}) == "unknown"
    assert combined_validity({"a": {"valid": False}, "b": {"valid": "unknown"}}) is False
    pairs = rolled_back_pairs([{"key": "3", "doc": {"_key": "3", "value": 9}}])
    assert pairs == [(3, 9)]
