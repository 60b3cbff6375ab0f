"""Histories of anomalies our cluster really showed: the checkers must keep catching them
(and must keep not crying wolf where a checker once did). Each folder under
``fixtures/findings/`` has a README telling the story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.checkers import availability, set_full, split_brain
from harness.checkers.base import Checker, RunData
from harness.checkers.catalog import AvailabilityChecker, SetFullChecker, SplitBrainChecker
from harness.core import promises
from harness.core.checks import judge

FINDINGS = Path(__file__).parent / "fixtures" / "findings"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run(name: str) -> RunData:
    folder = FINDINGS / name
    rollbacks = folder / "rollbacks.json"
    return RunData(
        history=_jsonl(folder / "history.jsonl"),
        nemesis=_jsonl(folder / "nemesis.jsonl") if (folder / "nemesis.jsonl").exists() else [],
        roles=_jsonl(folder / "roles.jsonl"),
        rollbacks=json.loads(rollbacks.read_text()) if rollbacks.exists() else [],
    )


def test_sync_leader_unacknowledged_read_is_a_lost_element() -> None:
    run = _run("sync-leader-unacked-read")
    result = set_full.check(run.history, nemesis=run.nemesis)
    assert result.valid is False
    assert result.lost == [627]
    assert result.acknowledged_lost == []  # the add ended info: only a read saw 627
    assert 627 in {entry["doc"]["value"] for entry in run.rollbacks}


def test_sync_leader_unacknowledged_read_breaks_the_sync_promise() -> None:
    """Judged as the runner judges it: sync mode promises linearizable leader reads, so
    the run fails on exactly that row; nothing acknowledged was lost, nothing silently."""
    run = _run("sync-leader-unacked-read")
    checkers: list[Checker] = [SetFullChecker("set"), SplitBrainChecker(), AvailabilityChecker()]
    out = judge(run, checkers, "sync", promises.applied_families(run.nemesis))
    assert out["valid"] is False
    assert out["broken-promises"] == [promises.LEADER_LINEARIZABLE]
    rows = out["promises"]
    assert rows[promises.LEADER_LINEARIZABLE]["evidence"]["lost"] == [627]
    assert rows[promises.ACKED_WRITES_SURVIVE]["holds"] is True
    assert rows[promises.NO_SILENT_ROLLBACK]["holds"] is True
    # in async mode the same history is measured, not failed
    assert judge(run, checkers, "async", {"partition"})["valid"] is True


def test_retried_write_is_not_split_brain_thanks_to_attempt_time() -> None:
    run = _run("retried-write-attempt-time")
    result = split_brain.check(run.history, roles=run.roles)
    assert result.valid is True
    assert result.overlap_count == 0 and result.overlapping_claims == []
    assert result.servers == ["s1", "s2"]
    # the same history without attempt_time: the retry's interval reaches back to its
    # first invocation, over s1's acknowledgements, and the checker would cry split-brain
    stripped = [{k: v for k, v in op.items() if k != "attempt_time"} for op in run.history]
    naive = split_brain.check(stripped, roles=run.roles)
    assert naive.valid is False and naive.overlap_count == 2


def test_deposed_leaders_stale_claims_are_one_failover() -> None:
    run = _run("deposed-leader-stale-claims")
    result = availability.check(run.history, roles=run.roles, nemesis=run.nemesis)
    (failover,) = result.failovers
    assert (failover.old, failover.new, failover.epoch) == ("s1", "s2", 2)
    assert failover.fault is not None and failover.fault.fault == "partition-leader"
    assert failover.start == 5_000_000_000  # the partition's start
    assert failover.end == 8_500_000_000 + 5_000_000  # s2's first acknowledgement
    assert not failover.planned
    # without epochs each alternation of the two claims looks like a change of leader
    no_epochs = [{k: v for k, v in r.items() if k != "epoch"} for r in run.roles]
    assert len(availability.check(run.history, roles=no_epochs).failovers) >= 48
