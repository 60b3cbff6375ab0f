"""dirty-reads on hand-written histories."""

from __future__ import annotations

from harness.checkers.base import RoleSample
from harness.checkers.dirty_reads import check, check_dirty_reads
from harness.core.history import Op
from tests.checkers.helpers import MS, S, history

LEADER = [RoleSample(t * MS, "s1", "leader") for t in range(0, 40, 5)] + [
    RoleSample(t * MS, "s2", "follower") for t in range(0, 40, 5)
]


def _write(p: int, k: str, v: int) -> list[tuple[object, ...]]:
    return [(p, "invoke", "write", [k, v]), (p, "ok", "write", [k, v], {"node": "s1"})]


def _read(p: int, k: str, v: object, node: str, dirty: bool | None) -> list[tuple[object, ...]]:
    return [
        (p, "invoke", "read", [k, None]),
        (p, "ok", "read", [k, v], {"node": node, "dirty": dirty}),
    ]


def test_current_dirty_read_is_valid_and_fresh() -> None:
    r = check_dirty_reads(history(*_write(0, "x", 1), *_read(1, "x", 1, "s2", True)), LEADER)
    assert r.valid is True
    assert r.evidence["staleness"]["count"] == 0
    assert r.evidence["staleness"]["versions"]["max"] == 0


def test_unmarked_follower_read_is_invalid() -> None:
    r = check_dirty_reads(history(*_write(0, "x", 1), *_read(1, "x", 1, "s2", False)), LEADER)
    assert r.valid is False
    assert r.evidence["unmarked-count"] == 1


def test_unmarked_leader_read_is_fine() -> None:
    r = check_dirty_reads(history(*_write(0, "x", 1), *_read(1, "x", 1, "s1", None)), LEADER)
    assert r.valid is True


def test_follower_known_without_roles() -> None:
    r = check_dirty_reads(history(*_write(0, "x", 1), *_read(1, "x", 1, "s2", None)))
    assert r.evidence["unmarked-count"] == 1


def test_staleness_in_versions_and_time() -> None:
    h = history(
        *_write(0, "x", 1), *_write(0, "x", 2), *_write(0, "x", 3), *_read(1, "x", 1, "s2", True)
    )
    r = check_dirty_reads(h, LEADER)
    stale = r.evidence["stale-reads"][0]
    assert stale["versions_behind"] == 2
    # superseded by the ack of x=2 at 3 ms; the read began at 6 ms
    assert stale["staleness_ms"] == 3.0
    assert r.valid is True


def test_read_of_never_written_value_is_invalid() -> None:
    r = check_dirty_reads(history(*_write(0, "x", 1), *_read(1, "x", 7, "s2", True)), LEADER)
    assert r.valid is False
    assert r.evidence["never-written-count"] == 1


def test_rolled_back_value_is_reported_not_invalid() -> None:
    h = history(*_write(0, "x", 1), *_read(1, "x", 1, "s2", True))
    r = check_dirty_reads(h, LEADER, rolled_back=[("x", 1)])
    assert r.evidence["rolled-back-count"] == 1
    assert r.valid is True


def test_entry_point_with_role_lines() -> None:
    h = [op.to_dict() for op in history(*_write(0, "x", 1), *_read(1, "x", 1, "s2", False))]
    roles = [
        {"time": 0, "node": "s1", "role": "leader"},
        {"time": 0, "node": "s2", "role": "follower"},
    ]
    assert check(h, roles=roles).valid is False


def test_read_in_a_gap_of_unanswered_samples_between_leader_claims_is_the_leaders() -> None:
    # found in a soak (partition-majorities-ring): the role sampler got no answer from
    # anyone for seconds; s1 led before and after, at the same epoch, and its reads in
    # the gap (unmarked, as a leader's are) were taken for unmarked follower reads
    def samples(node: str, role: str, seconds: tuple[int, ...]) -> list[RoleSample]:
        return [RoleSample(t * S, node, role) for t in seconds]

    roles = sorted(  # as roles.jsonl has them: in time order
        [
            *samples("s1", "leader", (0, 2, 9, 11)),
            *samples("s2", "follower", (0, 2, 9, 11)),
            *samples("s1", "down", (4, 6)),
            *samples("s2", "down", (4, 6)),
        ],
        key=lambda r: r.time,
    )

    def read_at(node: str) -> list[Op]:
        return history(
            (0, "invoke", "write", ["x", 1], {"time": 0}),
            (0, "ok", "write", ["x", 1], {"node": "s1", "time": S // 10}),
            (1, "invoke", "read", ["x", None], {"time": 5 * S}),
            (1, "ok", "read", ["x", 1], {"node": node, "dirty": False, "time": 5 * S + MS}),
        )

    assert check_dirty_reads(read_at("s1"), roles).evidence["unmarked-count"] == 0
    # the same gap on a follower: its answered samples around the read say follower
    assert check_dirty_reads(read_at("s2"), roles).evidence["unmarked-count"] == 1
