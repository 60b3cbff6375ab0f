"""Unit tests: the promise table per mode and how each row is judged from typed results."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.availability import AvailabilityResult, Failover
from harness.checkers.base import FaultWindow, RunData
from harness.checkers.catalog import SetFullChecker, SplitBrainChecker, rolled_back_pairs
from harness.checkers.linearizable_result import LinearizableResult
from harness.checkers.result import CheckerCrash, CheckResult, Verdict
from harness.checkers.set_full import LostElement, SetFullResult
from harness.checkers.split_brain import SplitBrainResult
from harness.core import promises as p
from harness.core.checks import combined_validity, judge, run_checkers


def test_table_per_mode() -> None:
    a = p.table_for("async", {"partition"})
    assert a[p.ACKED_WRITES_SURVIVE] == "measured"
    assert a[p.NO_SPLIT_BRAIN] == "promised"
    assert a[p.LEADER_LINEARIZABLE] == "measured"
    assert a[p.DIRTY_READS_MARKED] == "promised"
    assert p.table_for("async", {"pause"})[p.NO_SPLIT_BRAIN] == "measured"
    s = p.table_for("sync", {"pause", "clock"})
    # rows about one kind of fault (planned restarts, intruders) need such a fault to act
    about_rows = {row.property for row in p.TABLE if row.about}
    assert {p.PLANNED_NO_LOSS, p.NO_UNPLANNED_FAILOVER} <= about_rows
    # rows no mode ever promises (measured properties) stay measured
    never = {row.property for row in p.TABLE if not row.promised_sync and not row.promised_async}
    assert all(v == "promised" for k, v in s.items() if k not in about_rows | never)
    assert all(s[k] == "measured" for k in never)
    assert all(s[k] == "measured" for k in about_rows)
    # no fault applied: what a mode promises at all is promised, the rest measured
    none = p.table_for("async", set())
    assert none[p.NO_SPLIT_BRAIN] == "promised" and none[p.ACKED_WRITES_SURVIVE] == "measured"


def test_planned_rows_are_promised_only_in_runs_of_planned_faults() -> None:
    for mode in ("async", "sync"):
        planned = p.table_for(mode, {"planned"})
        assert planned[p.PLANNED_NO_LOSS] == planned[p.NO_UNPLANNED_FAILOVER] == "promised"
        mixed = p.table_for(mode, {"planned", "kill"})
        assert mixed[p.PLANNED_NO_LOSS] == mixed[p.NO_UNPLANNED_FAILOVER] == "measured"
        assert p.table_for(mode, set())[p.NO_UNPLANNED_FAILOVER] == "measured"
    assert p.family_of("rolling-restart") == p.family_of("restart-leader") == "planned"


def test_families_of_known_fault_names_and_nothing_guessed() -> None:
    assert p.family_of("partition-leader") == "partition"
    assert p.family_of("bridge") == "partition"
    assert p.family_of("isolate-leader") == "partition"
    assert p.family_of("kill-agency-leader") == "kill"
    assert p.family_of("pause-leader") == "pause"
    assert p.family_of("clock-strobe") == "clock"
    assert p.family_of("flaky-network") == "network"
    with pytest.raises(p.UnknownFault, match="disk-full"):
        p.family_of("disk-full")
    with pytest.raises(p.UnknownFamily, match="disk"):
        p.table_for("sync", {"disk"})


def test_applied_families_prefer_the_declared_family() -> None:
    events = [
        {"event": "start", "fault": "partition-leader", "time": 1},
        {"event": "end", "fault": "partition-leader", "time": 2},
        {"event": "start", "fault": "something-new", "family": "pause", "time": 3},
    ]
    assert p.applied_families(events) == {"partition", "pause"}
    with pytest.raises(p.UnknownFault):
        p.applied_families([{"event": "start", "fault": "something-new", "time": 3}])


def _set_full(lost: list[int], acked: bool = True, collection: str | None = "set") -> SetFullResult:
    details = [LostElement(e, 5 if acked else None, "s1", None) for e in lost]
    return SetFullResult(
        verdict=Verdict.INVALID if lost else Verdict.VALID,
        lost=lost,
        lost_details=details,
        collection=collection,
    )


def _no_split_brain() -> SplitBrainResult:
    return SplitBrainResult(verdict=Verdict.VALID)


def _results(*found: CheckResult) -> dict[str, CheckResult]:
    return {r.name: r for r in found}


def test_async_loss_is_measured_not_failing() -> None:
    results = _results(_set_full([3, 4]), _no_split_brain())
    rollbacks: list[dict[str, Any]] = [
        {"collection": "set", "key": "3"},
        {"collection": "set", "doc": {"_key": "4"}},
    ]
    roles = [{"time": 0, "node": "s1", "role": "leader"}]
    table = p.evaluate("async", {"partition"}, results, [], roles, rollbacks)
    assert table[p.ACKED_WRITES_SURVIVE].holds is False
    assert table[p.ACKED_WRITES_SURVIVE].status == "measured"
    assert table[p.NO_SILENT_ROLLBACK].holds is True
    assert p.verdict(table) is True
    sync = p.evaluate("sync", {"partition"}, results, [], roles, rollbacks)
    assert p.verdict(sync) is False
    assert p.ACKED_WRITES_SURVIVE in p.broken_promises(sync)


def test_silent_drop_breaks_a_promise() -> None:
    results = _results(_set_full([3, 4]), _no_split_brain())
    table = p.evaluate("async", {"kill"}, results, [], [], [])
    assert table[p.NO_SILENT_ROLLBACK].holds is False
    assert table[p.NO_SILENT_ROLLBACK].judgement.evidence["silently-dropped"] == ["3", "4"]
    assert p.verdict(table) is False


def test_rollback_files_of_a_set_in_generations_name_each_generation() -> None:
    sf = _set_full([3, 1004])
    sf.generation_size = 1000
    results = _results(sf, _no_split_brain())
    kept = [{"collection": "set_g0", "key": "3"}, {"collection": "set", "key": "1004"}]
    table = p.evaluate("async", {"kill"}, results, [], [], kept)
    # 1004 lives in set_g1: a rollback of set/1004 is some other document
    assert table[p.NO_SILENT_ROLLBACK].judgement.evidence["silently-dropped"] == ["1004"]
    kept[1]["collection"] = "set_g1"
    table = p.evaluate("async", {"kill"}, results, [], [], kept)
    assert table[p.NO_SILENT_ROLLBACK].holds is True
    again = SetFullResult.from_json(sf.to_json())
    assert again.generation_size == 1000 and again.collection_of(1004) == "set_g1"


def test_plain_read_served_by_follower() -> None:
    roles = [{"time": t, "node": "s2", "role": "follower"} for t in (0, 100, 200, 300)] + [
        {"time": t, "node": "s1", "role": "leader"} for t in (0, 100, 200, 300)
    ]

    def read(i: int, process: int, node: str, **extra: Any) -> list[dict[str, Any]]:
        invoke = {"index": i, "type": "invoke", "process": process, "f": "read", "time": 120}
        done = {"index": i + 1, "type": "ok", "process": process, "f": "read", "value": []}
        done.update(time=150, node=node)
        return [{**invoke, **extra}, {**done, **extra}]

    history = read(0, 0, "s2") + read(2, 1, "s1") + read(4, 2, "s2", allow_dirty=True, dirty=True)
    bad = p.plain_reads_on_followers(history, roles)
    assert [op["index"] for op in bad] == [1]
    # a sample gap around the read: not provably a follower, not counted
    assert p.plain_reads_on_followers(history, roles[:1]) == []


def test_not_measured_reasons_are_typed_and_only_undecided_ones_count() -> None:
    """A property the workload does not exercise leaves the verdict alone; one whose
    checker crashed or whose input is missing makes a promised row undecided."""
    table = p.evaluate("sync", {"partition"}, _results(_no_split_brain()), [], [], [])
    assert table[p.DIRTY_READS_MARKED].judgement.reason is p.NotMeasured.NOT_EXERCISED
    assert table[p.ACKED_WRITES_SURVIVE].judgement.reason is p.NotMeasured.NOT_EXERCISED
    assert table[p.FOLLOWER_REFUSES_PLAIN_READS].judgement.reason is p.NotMeasured.NO_ROLES
    assert p.verdict(table) == "unknown"  # no roles.jsonl: plain reads undecided
    row = table[p.DIRTY_READS_MARKED].to_json()
    assert row["holds"] is None and row["not-measured"] == "not-exercised"
    assert row["evidence"] == "not exercised by this workload (needs dirty-reads)"
    roles = [{"time": 0, "node": "s1", "role": "leader"}]
    table = p.evaluate("sync", {"partition"}, _results(_no_split_brain()), [], roles, [])
    assert p.verdict(table) is True
    table = p.evaluate("sync", {"partition"}, {}, [], roles, [])
    assert table[p.NO_SPLIT_BRAIN].judgement.reason is p.NotMeasured.CHECKER_MISSING
    assert p.verdict(table) == "unknown"


def test_undecided_promise_gives_unknown() -> None:
    crash = CheckerCrash(
        verdict=Verdict.UNKNOWN, summary="crashed", error="x", expected=SplitBrainResult
    )
    table = p.evaluate("sync", {"partition"}, {"split-brain": crash}, [], [], None)
    assert table[p.NO_SPLIT_BRAIN].judgement.reason is p.NotMeasured.UNDECIDED
    assert p.verdict(table) == "unknown"
    lin = LinearizableResult(verdict=Verdict.UNKNOWN, summary="search gave up")
    roles = [{"time": 0, "node": "s1", "role": "leader"}]
    table = p.evaluate("sync", {"kill"}, _results(lin, _no_split_brain()), [], roles, [])
    assert table[p.LEADER_LINEARIZABLE].judgement.reason is p.NotMeasured.UNDECIDED
    assert p.verdict(table) == "unknown"


def test_read_but_unacknowledged_loss_breaks_linearizability_not_durability() -> None:
    roles = [{"time": 0, "node": "s1", "role": "leader"}]
    results = _results(_set_full([7], acked=False), _no_split_brain())
    kept = [{"collection": "set", "key": "7"}]
    table = p.evaluate("sync", {"partition"}, results, [], roles, kept)
    assert table[p.ACKED_WRITES_SURVIVE].holds is True
    assert table[p.LEADER_LINEARIZABLE].holds is False
    assert p.broken_promises(table) == [p.LEADER_LINEARIZABLE]


def test_a_crashing_checker_is_reported_unknown_and_hides_no_other_verdict() -> None:
    class Crashing:
        name = "x"
        result_type = SetFullResult

        def check(self, run: RunData) -> CheckResult:
            raise ValueError("bad history")

    run = RunData(history=[])
    out = run_checkers([Crashing(), SplitBrainChecker()], run)
    crash = out["x"]
    assert isinstance(crash, CheckerCrash) and crash.expected is SetFullResult
    assert crash.valid == "unknown" and "bad history" in crash.summary
    assert out["split-brain"].valid is True
    unknown = CheckResult("a", "unknown", "")
    assert combined_validity([CheckResult("b", True, ""), unknown]) == "unknown"
    assert combined_validity([CheckResult("b", False, ""), unknown]) is False
    pairs = rolled_back_pairs([{"key": "3", "doc": {"_key": "3", "value": 9}}])
    assert pairs == [(3, 9)]
    # the crashed set-full makes its promised rows undecided, not "not exercised"
    table = p.evaluate("sync", {"kill"}, out, [], [{"time": 0, "node": "s1", "role": "x"}], [])
    assert table[p.ACKED_WRITES_SURVIVE].judgement.reason is p.NotMeasured.UNDECIDED


def test_judge_writes_the_results_json_shape() -> None:
    history = [
        {"index": 0, "type": "invoke", "process": 0, "f": "add", "value": 1, "time": 0},
        {"index": 1, "type": "ok", "process": 0, "f": "add", "value": 1, "time": 5, "node": "s1"},
        {"index": 2, "type": "invoke", "process": 0, "f": "read", "value": None, "time": 6},
        {"index": 3, "type": "ok", "process": 0, "f": "read", "value": [1], "time": 9},
    ]
    run = RunData(history=history, roles=[{"time": 0, "node": "s1", "role": "leader"}])
    out = judge(run, [SetFullChecker("set"), SplitBrainChecker()], "async", {"partition"})
    assert out["valid"] is True and out["checkers-valid"] is True
    assert set(out["checkers"]) == {"set-full", "split-brain", "performance"}
    assert out["checkers"]["set-full"]["valid"] is True
    assert out["checkers"]["set-full"]["collection"] == "set"
    assert out["checkers"]["performance"]["outcomes"] == {"add": {"ok": 1}, "read": {"ok": 1}}
    assert out["promises"][p.NO_SPLIT_BRAIN] == {
        "status": "promised",
        "holds": True,
        "description": p.TABLE[1].description,
        "evidence": {"overlap-count": 0, "overlapping-writes": [], "claims-count": 0},
    }
    assert out["broken-promises"] == [] and out["families"] == ["partition"]


def test_fault_window_round_trips() -> None:
    window = FaultWindow(1, "kill", 5, None, ("s1",))
    assert FaultWindow.from_json(window.to_json()) == FaultWindow(None, "kill", 5, None, ("s1",))


def test_an_unplanned_failover_in_a_planned_run_breaks_the_promise() -> None:
    planned = Failover("s1", "s2", 0, 10, None, planned=True, epoch=2)
    unplanned = Failover("s2", "s3", 20, 30, None, planned=False, epoch=3)
    for failovers, holds in (([planned], True), ([planned, unplanned], False)):
        avail = AvailabilityResult(verdict=Verdict.VALID, summary="", failovers=failovers)
        results = _results(avail, _set_full([]), _no_split_brain())
        table = p.evaluate("async", {"planned"}, results, [], [], [])
        row = table[p.NO_UNPLANNED_FAILOVER]
        assert row.status == "promised" and row.holds is holds and row.broken is not holds
        assert table[p.PLANNED_NO_LOSS].holds is True
    no_checker = p.evaluate("async", {"planned"}, _results(_set_full([])), [], [], [])
    assert no_checker[p.NO_UNPLANNED_FAILOVER].holds is None
