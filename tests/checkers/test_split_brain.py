"""split-brain on hand-written histories."""

from __future__ import annotations

from harness.checkers.base import RoleSample
from harness.checkers.split_brain import check, check_split_brain
from tests.checkers.helpers import MS, history


def test_sequential_writes_of_two_servers_are_fine() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (0, "ok", "write", 1, {"node": "s1"}),
        (1, "invoke", "write", 2),
        (1, "ok", "write", 2, {"node": "s2"}),
    )
    r = check_split_brain(h)
    assert r.valid is True and r.evidence["overlap-count"] == 0


def test_overlapping_acknowledged_writes_of_two_servers() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (1, "invoke", "write", 2),
        (0, "ok", "write", 1, {"node": "s1"}),
        (1, "ok", "write", 2, {"node": "s2"}),
    )
    r = check_split_brain(h)
    assert r.valid is False
    pair = r.evidence["overlapping-writes"][0]
    assert sorted(pair["nodes"]) == ["s1", "s2"]
    assert pair["overlap_ns"] == 1 * MS


def test_same_server_and_unacknowledged_overlaps_are_fine() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (1, "invoke", "write", 2),
        (2, "invoke", "write", 3),
        (0, "ok", "write", 1, {"node": "s1"}),
        (1, "ok", "write", 2, {"node": "s1"}),
        (2, "info", "write", 3, {"node": "s2"}),
    )
    assert check_split_brain(h).valid is True


def test_attempt_time_narrows_a_retried_write() -> None:
    h = history(
        (0, "invoke", "write", 1),
        (1, "invoke", "write", 2),
        (0, "ok", "write", 1, {"node": "s1"}),
        (1, "ok", "write", 2, {"node": "s2", "attempt_time": 2 * MS + 1}),
    )
    assert check_split_brain(h).valid is True


def test_counts_pairs_beyond_the_listed_cap() -> None:
    entries: list[tuple[object, ...]] = []
    for p in range(150):
        entries.append((p, "invoke", "write", p))
    for p in range(150):
        entries.append((p, "ok", "write", p, {"node": "s1" if p % 2 else "s2"}))
    r = check_split_brain(history(*entries))
    assert r.evidence["overlap-count"] == 75 * 75
    assert len(r.evidence["overlapping-writes"]) == 100


def test_overlapping_claims_are_reported_but_valid() -> None:
    samples = [
        RoleSample(0, "s1", "leader"),
        RoleSample(10, "s1", "leader"),
        RoleSample(20, "s1", "follower"),
        RoleSample(5, "s2", "follower"),
        RoleSample(15, "s2", "leader"),
        RoleSample(25, "s2", "leader"),
    ]
    r = check_split_brain([], samples)
    assert r.valid is True
    assert r.evidence["claims-count"] == 1
    claim = r.evidence["overlapping-claims"][0]
    assert claim["nodes"] == ["s1", "s2"] and claim["start"] == 15 and claim["end"] == 20


def test_entry_point_with_role_lines() -> None:
    roles = [{"time": 0, "node": "s1", "role": "leader"}, {"time": 1, "node": "s1", "role": "down"}]
    assert check([], roles=roles).evidence["claims-count"] == 0
