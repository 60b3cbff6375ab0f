"""The follower-choice checker on hand-built evidence with known verdicts.

The story: s1 leads epoch 1 and writes elements 0..9 as ticks 1..10 (element
n is tick n+1), each acknowledged. s1 fails; supervision promotes s2 (epoch 2)
although s3 may have held more. Each test says what s2 and s3 really held.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.catalog import result_from_json
from harness.checkers.follower_choice import FollowerChoiceChecker, check
from harness.checkers.follower_choice_evidence import FailoverRunData, parse_job
from harness.checkers.follower_choice_result import FollowerChoiceResult
from harness.checkers.result import Verdict
from harness.core import promises
from harness.core.judges_choice import best_follower
from tests.checkers.helpers import MS, history

SEEN_AT = 100 * MS  # a server first reports epoch 2


def adds(n: int = 10, unacked: tuple[int, ...] = ()) -> list[Any]:
    """``add 0..n-1`` by process 0, acknowledged (``info`` for ``unacked``) at 2v+1 ms."""
    entries: list[tuple[Any, ...]] = []
    for v in range(n):
        entries.append((0, "invoke", "add", v))
        entries.append((0, "info" if v in unacked else "ok", "add", v))
    return history(*entries)


def entry(server: str, element: int, epoch: int = 1) -> dict[str, Any]:
    """A rollback entry of ``server`` for ``add element`` (tick element+1)."""
    doc = {"_key": str(element), "value": element}
    return {
        "server": server,
        "tick": element + 1,
        "epoch": epoch,
        "op": "insert",
        "collection": "set",
        "key": str(element),
        "doc": doc,
    }


def job(eligible: list[str] | None = None, sync: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "old": "s1",
        "new": "s2",
        "reason": "leader s1 FAILED; promoting the GOOD follower with the highest lastTick",
        "candidates": {
            "s2": {"health": "GOOD", "lastTick": 6},
            "s3": {"health": "GOOD", "lastTick": 5},
        },
        "time": 1_700_000_000_000,
        "epoch": 2,
        "sync": sync,
    }
    if eligible is not None:
        out["eligible"] = eligible
    return out


def evidence(s2_held: int, s3_held: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """WAL ticks after convergence on s2's line, and the rollback entries of s1 and s3.

    s2 kept ticks 1..s2_held of epoch 1 and wrote epoch 2 from the next tick on;
    s3 resynced (its log shows only epoch 2) after rolling back what it held
    beyond s2; s1 rolled back everything beyond s2 up to tick 10.
    """
    wal = {
        "s2": {
            "epochs": {"1": {"first": 1, "last": s2_held}, "2": {"first": s2_held + 1, "last": 30}}
        },
        "s3": {"epochs": {"2": {"first": s2_held + 1, "last": 30}}},
        "s1": {"epochs": {"2": {"first": 25, "last": 30}}},
    }
    rollbacks = [entry("s1", v) for v in range(s2_held, 10)]
    rollbacks += [entry("s3", v) for v in range(s2_held, s3_held)]
    return wal, rollbacks


ROLES = [
    {"time": 50 * MS, "node": "s3", "role": "follower", "epoch": 1, "last_tick": 5},
    {"time": SEEN_AT, "node": "s2", "role": "leader", "epoch": 2, "last_tick": 6},
]


def run(s2_held: int, s3_held: int, **kw: Any) -> FollowerChoiceResult:
    wal, rollbacks = evidence(s2_held, s3_held)
    ops = kw.pop("ops", None) or adds()
    roles = kw.pop("roles", ROLES)
    return check([job(**kw)], wal, rollbacks, ops, roles)


def test_zero_regret_when_the_best_was_promoted() -> None:
    result = run(s2_held=8, s3_held=6, eligible=["s2", "s3"])
    assert result.verdict is Verdict.VALID
    (j,) = result.jobs
    assert j.decided and j.promoted_tick == 8
    assert j.regret_writes == 0 and j.better is None
    assert result.compared == 1 and result.regret_writes == 0
    s3 = next(c for c in j.candidates if c.server == "s3")
    assert s3.eligible and not s3.promoted and s3.ticks_beyond == 0


def test_regret_counts_the_acknowledged_writes_the_better_candidate_held() -> None:
    # s2 held ticks up to 6, s3 up to 9: elements 6, 7 and 8 were s3's alone
    result = run(s2_held=6, s3_held=9, eligible=["s2", "s3"])
    (j,) = result.jobs
    assert j.promoted_tick == 6
    assert j.regret_writes == 3 and j.better == "s3"
    assert sorted(v for _, v in j.regret) == [6, 7, 8]
    s3 = next(c for c in j.candidates if c.server == "s3")
    assert (s3.heartbeat_tick, s3.held_tick, s3.ticks_beyond, s3.writes_kept) == (5, 9, 3, 3)
    assert result.regret_writes == 3 and len(result.regretted) == 1
    assert "regret 3 acknowledged writes" in result.summary


def test_unacknowledged_and_late_writes_are_no_regret() -> None:
    # element 7 was never acknowledged; element 8 only after the new epoch was seen
    ops = adds(unacked=(7,))
    late = [op for op in ops if op.value == 8 and op.type == "ok"]
    late[0].time = SEEN_AT + MS
    result = run(s2_held=6, s3_held=9, eligible=["s2", "s3"], ops=ops)
    (j,) = result.jobs
    assert j.regret_writes == 1 and j.regret == (["6", 6],)
    s3 = next(c for c in j.candidates if c.server == "s3")
    assert s3.ticks_beyond == 3  # three entries beyond, one of them an acknowledged write


def test_sync_mode_only_the_named_sync_follower_is_eligible() -> None:
    result = run(s2_held=6, s3_held=9, eligible=["s2"], sync="s2")
    (j,) = result.jobs
    assert j.regret_writes == 0 and j.compared == 0 and result.compared == 0
    s3 = next(c for c in j.candidates if c.server == "s3")
    assert not s3.eligible and s3.writes_kept == 3  # shown, not counted


def test_a_candidate_is_capped_by_the_tick_it_reported_after_the_job() -> None:
    # after the new epoch was seen, s3 still followed epoch 1 at tick 7: it held at most 7
    roles = [
        *ROLES,
        {"time": SEEN_AT + MS, "node": "s3", "role": "follower", "epoch": 1, "last_tick": 7},
    ]
    result = run(s2_held=6, s3_held=9, eligible=["s2", "s3"], roles=roles)
    (j,) = result.jobs
    s3 = next(c for c in j.candidates if c.server == "s3")
    assert (s3.held_tick, s3.held_from) == (7, "log, capped by roles")
    assert j.regret_writes == 1


def test_a_candidate_that_is_not_good_is_not_compared() -> None:
    raw = job()
    raw["candidates"]["s3"]["health"] = "BAD"
    wal, rollbacks = evidence(6, 9)
    del raw["sync"]  # a job recorded before "eligible": GOOD candidates are eligible
    result = check([raw], wal, rollbacks, adds(), ROLES)
    assert result.jobs[0].regret_writes == 0 and result.compared == 0


def test_old_jobs_without_eligible() -> None:
    parsed = parse_job(job(), 0)
    assert parsed is not None and parsed.eligible == ("s2", "s3")
    sync_job = {**job(), "reason": "leader s1 FAILED; promoting sync follower s2"}
    parsed = parse_job(sync_job, 0)
    assert parsed is not None and parsed.eligible == ("s2",) and parsed.sync == "s2"
    assert parse_job({"old": "s1"}, 0) is None


def test_an_unknown_promoted_position_leaves_the_job_undecided() -> None:
    wal, rollbacks = evidence(6, 9)
    del wal["s2"]
    result = check([job(eligible=["s2", "s3"])], wal, rollbacks, adds(), ROLES)
    assert not result.jobs[0].decided and result.judged == []
    assert "undecided" in result.summary


def test_missing_evidence_is_unknown_and_no_failover_is_not_exercised() -> None:
    plain = FollowerChoiceChecker().check(FailoverRunData(history=[]))
    assert plain.verdict is Verdict.UNKNOWN
    assert best_follower({"follower-choice": plain}).reason is not None
    none = check([], None, [], adds(), [])
    assert none.verdict is Verdict.VALID and none.jobs == []
    judged = best_follower({"follower-choice": none})
    assert judged.holds is None and judged.detail == "no failover"


def test_judge_and_promise_row() -> None:
    bad = run(s2_held=6, s3_held=9, eligible=["s2", "s3"])
    judged = best_follower({"follower-choice": bad})
    assert judged.holds is False and judged.evidence["regret-writes"] == 3
    good = run(s2_held=8, s3_held=6, eligible=["s2", "s3"])
    assert best_follower({"follower-choice": good}).holds is True
    for mode in ("async", "sync"):
        table = promises.table_for(mode, {"kill", "partition"})
        assert table[promises.BEST_FOLLOWER_PROMOTED] == "measured"
    rows = promises.evaluate("async", {"kill"}, {"follower-choice": bad}, [], [], [])
    assert not rows[promises.BEST_FOLLOWER_PROMOTED].broken  # measured: never fails a run


def test_result_round_trips_through_results_json() -> None:
    result = run(s2_held=6, s3_held=9, eligible=["s2", "s3"])
    back = result_from_json("follower-choice", result.to_json())
    assert isinstance(back, FollowerChoiceResult)
    assert back.to_json() == result.to_json()
    assert back.jobs[0].candidates == result.jobs[0].candidates


def test_the_promoted_position_is_read_from_another_log_of_the_line() -> None:
    # s2 was later restored from a snapshot (its log shows epoch 2 only); s4's log
    # still runs from epoch 1 into epoch 2, so epoch 2 began after tick 6
    wal, rollbacks = evidence(6, 9)
    wal["s2"] = {"epochs": {"2": {"first": 20, "last": 30}}}
    wal["s4"] = {"epochs": {"1": {"first": 1, "last": 3}, "2": {"first": 7, "last": 30}}}
    wal["s4"]["marks"] = [[6, 1]]  # ticks 4..6 of epoch 1 were pruned
    result = check([job(eligible=["s2", "s3"])], wal, rollbacks, adds(), ROLES)
    (j,) = result.jobs
    assert j.decided and j.promoted_tick == 6 and j.regret_writes == 3


def test_samples_taken_during_the_run_keep_what_a_snapshot_restore_erased() -> None:
    # at the end every log was restored from a snapshot; the samples still show that
    # s2 held epoch 1 up to tick 6 and s3 up to tick 9 before the failover
    _, rollbacks = evidence(6, 9)
    wal = {s: {"epochs": {"2": {"first": 25, "last": 30}}} for s in ("s1", "s2", "s3")}
    timeline = [
        {"time": 40 * MS, "node": "s2", "epochs": {"1": [1, 6]}},
        {"time": 40 * MS, "node": "s3", "epochs": {"1": [1, 9]}},
    ]
    assert not check([job(eligible=["s2", "s3"])], wal, [], adds(), ROLES).jobs[0].decided
    result = check([job(eligible=["s2", "s3"])], wal, rollbacks, adds(), ROLES, timeline)
    (j,) = result.jobs
    assert j.decided and j.promoted_tick == 6 and j.regret_writes == 3
