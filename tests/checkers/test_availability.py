"""availability on hand-written histories."""

from __future__ import annotations

from harness.checkers.availability import AvailabilityResult, check, check_availability
from harness.checkers.base import FaultWindow, RoleSample, Verdict
from tests.checkers.helpers import history

S = 1_000_000_000


def _ok(p: int, t: float, node: str = "s1") -> list[tuple[object, ...]]:
    return [
        (p, "invoke", "write", 1, {"time": int(t * S)}),
        (p, "ok", "write", 1, {"time": int(t * S) + 1000, "node": node}),
    ]


def test_no_window_when_always_available() -> None:
    r = check_availability(history(*_ok(0, 0), *_ok(0, 0.5), *_ok(0, 1.0)))
    assert r.verdict is Verdict.VALID and r.windows == []


def test_window_matched_to_the_fault() -> None:
    h = history(*_ok(0, 0), *_ok(0, 5), *_ok(0, 5.5))
    faults = [FaultWindow(1, "kill", 1 * S, 2 * S)]
    r = check_availability(h, faults)
    (window,) = r.windows
    assert window.fault is not None and window.fault.fault == "kill"
    assert window.duration_ns > 4 * S
    assert r.longest_unavailable_ns == window.duration_ns
    assert r.to_json()["windows"][0]["fault"]["fault"] == "kill"


def test_failover_from_roles() -> None:
    h = history(*_ok(0, 0, "s1"), *_ok(0, 1, "s1"), *_ok(1, 6, "s2"))
    roles = [RoleSample(int(0.5 * S), "s1", "leader"), RoleSample(int(4 * S), "s2", "leader")]
    faults = [FaultWindow(1, "partition-leader", int(0.8 * S), 3 * S)]
    r = check_availability(h, faults, roles)
    (move,) = r.failovers
    assert (move.old, move.new) == ("s1", "s2")
    assert move.start == int(0.8 * S)
    assert move.end == 6 * S + 1000
    assert not move.planned and r.unplanned_failovers == [move]


def test_stale_claims_of_a_deposed_leader_are_not_failovers() -> None:
    """s1 (epoch 1) keeps claiming while cut off after s2 (epoch 2) took over: one failover."""
    h = history(*_ok(0, 0, "s1"), *_ok(1, 6, "s2"))
    roles = [RoleSample(int(0.5 * S), "s1", "leader", epoch=1)]
    for k in range(8):
        t = int((4 + k * 0.25) * S)
        roles.append(RoleSample(t, "s2", "leader", epoch=2))
        roles.append(RoleSample(t + 1, "s1", "leader", epoch=1))
    (move,) = check_availability(h, [], roles).failovers
    assert (move.old, move.new, move.epoch) == ("s1", "s2", 2)


def test_failover_inferred_from_answering_server() -> None:
    h = history(*_ok(0, 0, "s1"), *_ok(1, 3, "s2"))
    (move,) = check_availability(h).failovers
    assert move.duration_ns == 3 * S


def test_no_ok_is_unknown_and_nemesis_ops_in_history_count() -> None:
    h = history(
        ("nemesis", "info", "start", "kill", {"time": 0}),
        (0, "invoke", "write", 1, {"time": 1}),
        (0, "info", "write", 1, {"time": 3 * S}),
        ("nemesis", "info", "stop", "kill", {"time": 4 * S}),
    )
    r = check([op.to_dict() for op in h])
    assert r.valid == "unknown"
    assert r.evidence["windows"][0]["fault"]["fault"] == "kill"


def test_a_switchover_is_a_planned_failover() -> None:
    h = history(*_ok(0, 0, "s1"), *_ok(1, 2, "s2"))
    roles = [
        RoleSample(int(0.5 * S), "s1", "leader", 1),
        RoleSample(int(1.5 * S), "s2", "leader", 2),
    ]
    switchover = FaultWindow(1, "switchover", 1 * S, int(1.6 * S))
    r = check_availability(h, [switchover], roles)
    (move,) = r.failovers
    assert move.planned and r.unplanned_failovers == []
    assert r.to_json()["unplanned-failover-count"] == 0
    moved = FaultWindow(2, "custom", 1 * S, None, detail={"planned": True})
    assert check_availability(h, [moved], roles).failovers[0].planned


def test_result_round_trips_through_json() -> None:
    h = history(*_ok(0, 0, "s1"), *_ok(0, 1, "s1"), *_ok(1, 6, "s2"))
    roles = [RoleSample(int(0.5 * S), "s1", "leader"), RoleSample(int(4 * S), "s2", "leader")]
    r = check_availability(h, [FaultWindow(None, "kill", int(0.8 * S), 3 * S, ("s1",))], roles)
    assert AvailabilityResult.from_json(r.to_json()) == r
