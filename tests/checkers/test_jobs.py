"""The jobs checker on hand-written histories with known verdicts, and mutated ones."""

from __future__ import annotations

import copy
import random
from typing import Any

from harness.checkers.catalog import result_from_json
from harness.checkers.jobs import check, leader_changes
from harness.checkers.jobs_result import JobsResult
from harness.checkers.result import Verdict

MS = 1_000_000
T0 = 1_700_000_000_000  # server wall ms at the test's start


class History:
    """Builds a jobs history: enqueues (ok/info/fail), a drain and a final read."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []
        self.jobs: list[dict[str, Any]] = []
        self.elements: list[int] = []
        self.time = 0
        self.process = 0

    def _op(self, kind: str, f: str, value: Any, process: int, **extra: Any) -> None:
        self.time += MS
        self.ops.append(
            {
                "index": len(self.ops),
                "type": kind,
                "process": process,
                "f": f,
                "value": value,
                "time": self.time,
                **extra,
            }
        )

    def enqueue(
        self,
        element: int,
        outcome: str = "ok",
        key: bool = False,
        delay_ms: int = 0,
        state: str | None = "done",
        runs: int = 1,
        started: int | None = None,
    ) -> None:
        """One enqueue; ``state`` None: no job at the end; ``runs``: copies in the set."""
        self.process += 1
        value = {"element": element, "key": f"job-{element}" if key else None, "delay_ms": delay_ms}
        self._op("invoke", "enqueue", value, self.process)
        job_id = f"j{element}"
        created = T0 + element * 10
        delay_until = created + delay_ms if delay_ms else 0
        done = {**value, "delayUntil": delay_until}
        if outcome == "ok":
            done["id"] = job_id
        self._op(outcome, "enqueue", done, self.process, node="s1")
        if state is not None:
            begin = started if started is not None else max(created, delay_until) + 5
            tries = [{"try": 1, "server": "s1", "epoch": 1, "startedAt": begin, "outcome": state}]
            self.jobs.append(
                {
                    "id": job_id,
                    "element": element,
                    "state": state,
                    "keyed": key,
                    "delayUntil": delay_until,
                    "createdAt": created,
                    "tries": tries if state != "pending" else [],
                }
            )
        self.elements.extend([element] * runs)

    def finish(self, drained: bool = True, read: bool = True) -> list[dict[str, Any]]:
        self.process += 1
        self._op("invoke", "drain", None, self.process)
        self._op("ok" if drained else "fail", "drain", {"pending": 0, "running": 0}, self.process)
        if read:
            self.process += 1
            self._op("invoke", "final-read", None, self.process)
            value = {"jobs": self.jobs, "elements": self.elements}
            self._op("ok", "final-read", value, self.process, node="s2")
        return self.ops


def _valid_history(n: int = 20, seed: int = 7) -> History:
    rng = random.Random(seed)
    hist = History()
    for e in range(n):
        hist.enqueue(e, key=rng.random() < 0.5, delay_ms=rng.choice([0, 0, 300]))
    return hist


def test_every_job_run_once_is_valid() -> None:
    result = check(_valid_history().finish())
    assert result.verdict is Verdict.VALID, result.summary
    assert result.ok_count == result.executed_count == 20
    assert result.states == {"done": 20} and result.drained is True
    assert not (result.lost or result.duplicated or result.late or result.early)


def test_acknowledged_job_gone_and_element_absent_is_lost() -> None:
    hist = History()
    hist.enqueue(0)
    hist.enqueue(1, state=None, runs=0)  # the enqueue did not survive the failover
    hist.enqueue(2, state="failed", runs=0)
    hist.enqueue(3, state="pending", runs=0)
    roles = [
        {"time": 0, "node": "s1", "role": "leader", "epoch": 1},
        {"time": 50 * MS, "node": "s2", "role": "leader", "epoch": 2},
    ]
    nemesis = [
        {"event": "start", "id": 1, "fault": "kill-leader", "time": 40 * MS, "nodes": ["s1"]},
        {"event": "end", "id": 1, "fault": "kill-leader", "time": 60 * MS},
    ]
    result = check(hist.finish(), nemesis=nemesis, roles=roles)
    assert result.verdict is Verdict.INVALID
    lost = {j.element: j for j in result.lost}
    assert set(lost) == {1, 2, 3}
    assert lost[1].state == "missing" and "did not survive" in lost[1].reason
    assert lost[2].state == "failed" and lost[3].state == "pending"
    assert lost[1].failover is not None and lost[1].failover.new == "s2"
    assert lost[1].failover.old == "s1" and lost[1].node == "s1"
    assert lost[1].preceding_fault is not None
    assert lost[1].preceding_fault.fault == "kill-leader"
    assert result.states == {"done": 1, "failed": 1, "missing": 1, "pending": 1}


def test_an_id_reused_by_another_job_does_not_stand_for_the_lost_one() -> None:
    # job j0 (element 0) did not survive a failover; the new leader gave its id to the
    # job of element 1, which ran: element 0's job is missing, not "done"
    hist = History()
    hist.enqueue(0, state=None, runs=0)
    hist.enqueue(1)
    hist.jobs[0]["id"] = hist.ops[-1]["value"]["id"] = "j0"  # its ack named the reused id
    result = check(hist.finish())
    (lost,) = result.lost
    assert lost.element == 0 and lost.state == "missing"
    assert result.states == {"done": 1, "missing": 1}


def test_unacknowledged_enqueues_are_never_lost_and_may_be_recovered() -> None:
    hist = History()
    hist.enqueue(0, outcome="info", state=None, runs=0)
    hist.enqueue(1, outcome="info")
    hist.enqueue(2, outcome="fail", state=None, runs=0)
    result = check(hist.finish())
    assert result.verdict is Verdict.VALID and result.recovered == [1]


def test_unkeyed_duplicates_are_measured_keyed_ones_invalid() -> None:
    hist = History()
    hist.enqueue(0, runs=2)
    measured = check(copy.deepcopy(hist).finish())
    assert measured.verdict is Verdict.VALID
    assert [(d.element, d.copies, d.keyed) for d in measured.duplicated] == [(0, 2, False)]
    hist.enqueue(1, key=True, runs=3)
    broken = check(hist.finish())
    assert broken.verdict is Verdict.INVALID
    assert [(d.element, d.copies) for d in broken.keyed_duplicated] == [(1, 3)]


def test_late_and_early_jobs() -> None:
    hist = History()
    hist.enqueue(0, delay_ms=100, started=T0 + 100 + 9_000)  # 9 s after due
    hist.enqueue(1, delay_ms=1_000, started=T0 + 10 + 500)  # before its delayUntil
    hist.enqueue(2, delay_ms=100, started=T0 + 20 + 100 + 4_000)  # within the bound
    result = check(hist.finish(), late_bound_ms=5_000)
    assert [(j.element, j.late_ms) for j in result.late] == [(0, 9_000)]
    assert [j.element for j in result.early] == [1]
    assert result.verdict is Verdict.INVALID  # early breaks delayUntil


def test_unexpected_element_and_missing_final_read() -> None:
    hist = History()
    hist.enqueue(0)
    hist.elements.append(99)
    result = check(hist.finish())
    assert result.verdict is Verdict.INVALID and result.unexpected == [99]
    unread = History()
    unread.enqueue(0)
    undecided = check(unread.finish(read=False))
    assert undecided.verdict is Verdict.UNKNOWN and not undecided.final_read


def test_mutations_of_a_valid_history_are_caught() -> None:
    """Drop an executed element, or execute a keyed job twice: each must be caught."""
    for seed in range(5):
        base = _valid_history(seed=seed)
        ops = base.finish()
        assert check(ops).verdict is Verdict.VALID
        read = ops[-1]["value"]
        rng = random.Random(seed)
        victim = rng.choice(read["elements"])
        dropped = copy.deepcopy(ops)
        dropped[-1]["value"]["elements"].remove(victim)
        for job in dropped[-1]["value"]["jobs"]:
            if job["element"] == victim:
                job["state"] = "pending"
        lost = check(dropped)
        assert [j.element for j in lost.lost] == [victim] and lost.verdict is Verdict.INVALID
        keyed = next(j["element"] for j in read["jobs"] if j["keyed"])
        doubled = copy.deepcopy(ops)
        doubled[-1]["value"]["elements"].append(keyed)
        assert check(doubled).verdict is Verdict.INVALID


def test_result_round_trips_through_results_json() -> None:
    hist = History()
    hist.enqueue(0, state=None, runs=0)
    hist.enqueue(1, runs=2)
    roles = [
        {"time": 0, "node": "s1", "role": "leader"},
        {"time": 1, "node": "s2", "role": "leader", "epoch": 2},
    ]
    result = check(hist.finish(), roles=roles)
    back = result_from_json("jobs", result.to_json())
    assert isinstance(back, JobsResult)
    assert back.to_json() == result.to_json()
    assert result_from_json("jobs", {"checker": "jobs", "lost": "junk"}).verdict is Verdict.UNKNOWN


def test_leader_changes_from_role_samples() -> None:
    roles: list[dict[str, Any]] = [
        {"time": 1, "node": "s1", "role": "leader", "epoch": 1},
        {"time": 2, "node": "s2", "role": "follower"},
        {"time": 3, "node": "s1", "role": "leader", "epoch": 1},
        {"time": 4, "node": "s2", "role": "leader", "epoch": 2},
        {"time": 5, "node": "s1", "role": "fenced"},
        {"time": "bad", "node": "s3", "role": "leader"},
    ]
    assert [(f.old, f.new, f.epoch, f.time) for f in leader_changes(roles)] == [("s1", "s2", 2, 4)]
