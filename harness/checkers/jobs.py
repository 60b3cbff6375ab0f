"""What happened to every job enqueued in the replicated queue (the ``jobs`` workload).

The history holds ``enqueue`` operations (invocation value ``{"element",
"key", "delay_ms"}``; an ``ok`` completion adds the job's ``id`` and
``delayUntil``), ``drain`` operations (``ok`` once no job is pending or
running) and a ``final-read``: ``{"jobs": [...], "elements": [...]}``, every
job's state and tries, and every element of the set the jobs insert into,
with repetitions. Each job inserts its own element once per execution, so an
element's copies count its executions that survived.

Per attempted job:

- **lost**: the enqueue was acknowledged, its element is absent at the end and
  the job is not ``done`` (gone, ``failed``, or never run; a ``done`` job
  whose element is absent is lost too);
- **duplicated**: its element is in the set more than once (executed more than
  once); for a job with an idempotency key this breaks the queue's promise;
- **late**: its first try started more than ``late_bound_ms`` after it was due
  (``max(delayUntil, createdAt)``, the servers' wall clock);
- **early**: a try started before ``delayUntil``;
- **recovered**: an enqueue that ended ``info``/``fail`` whose job ran (fine);
- **unexpected**: an element no enqueue attempted.

Valid iff nothing is lost, early or unexpected and no keyed job is duplicated;
duplicates without a key (at-least-once) and late jobs are measured. Unknown
without a final read. Each issue names the leader change (``roles.jsonl``) and
the fault (``nemesis.jsonl``) that followed its acknowledgement.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from harness.checkers.base import FaultWindow, as_ops, fault_windows, role_samples
from harness.checkers.jobs_result import NAME, Failover, JobIssue, JobsResult
from harness.checkers.result import Verdict
from harness.core.history import Op

__all__ = ["NAME", "Failover", "JobIssue", "JobsResult", "check", "check_jobs", "leader_changes"]
DEFAULT_LATE_BOUND_MS = 5000
TRY_FIELDS = ("try", "server", "epoch", "startedAt", "outcome")


def leader_changes(roles: Iterable[dict[str, Any]]) -> list[Failover]:
    """Each time a server other than the current leader first claims leadership."""
    out: list[Failover] = []
    current: str | None = None
    for s in role_samples(roles):
        if s.role != "leader" or s.node == current:
            continue
        if current is not None:
            out.append(Failover(s.time, s.node, current, s.epoch))
        current = s.node
    return out


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, Hashable) else repr(value)


def _brief_tries(job: dict[str, Any] | None) -> list[dict[str, Any]]:
    tries = job.get("tries") if job else None
    if not isinstance(tries, list):
        return []
    return [{k: t.get(k) for k in TRY_FIELDS} for t in tries if isinstance(t, dict)]


def _ms(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class _Enqueues:
    """The enqueue operations by element: invocation and last completion."""

    def __init__(self, ops: Sequence[Op]) -> None:
        self.invoked: dict[Hashable, Op] = {}
        self.done: dict[Hashable, Op] = {}
        self.final: Op | None = None
        self.drained: bool | None = None
        open_ops: dict[Any, Op] = {}
        for op in ops:
            if not op.is_client:
                continue
            if op.type == "invoke":
                open_ops[op.process] = op
                if op.f == "enqueue" and isinstance(op.value, dict):
                    self.invoked[_hashable(op.value.get("element"))] = op
                continue
            inv = open_ops.pop(op.process, None)
            if inv is None or inv.f != op.f:
                continue
            if op.f == "enqueue" and isinstance(inv.value, dict):
                self.done[_hashable(inv.value.get("element"))] = op
            elif op.f == "drain":
                self.drained = op.type == "ok"
            elif op.f == "final-read" and op.type == "ok" and isinstance(op.value, dict):
                self.final = op

    def job_id(self, element: Hashable) -> str | None:
        done = self.done.get(element)
        if done is None or done.type != "ok" or not isinstance(done.value, dict):
            return None
        job_id = done.value.get("id")
        return str(job_id) if job_id is not None else None


def check_jobs(
    ops: Sequence[Op],
    faults: Sequence[FaultWindow] = (),
    failovers: Sequence[Failover] = (),
    late_bound_ms: int = DEFAULT_LATE_BOUND_MS,
) -> JobsResult:
    """Run the analysis on a history of the jobs workload."""
    seen = _Enqueues(ops)
    attempted = list(seen.invoked)
    acked = [e for e in attempted if seen.job_id(e) is not None]
    keyed = [e for e in attempted if seen.invoked[e].value.get("key") is not None]
    result = JobsResult(
        verdict=Verdict.UNKNOWN,
        summary=f"{len(attempted)} attempted, {len(acked)} acknowledged; no final read",
        attempt_count=len(attempted),
        ok_count=len(acked),
        keyed_count=len(keyed),
        drained=seen.drained,
        late_bound_ms=late_bound_ms,
        failovers=list(failovers),
    )
    if seen.final is None:
        return result
    final: dict[str, Any] = seen.final.value
    jobs = [j for j in final.get("jobs") or [] if isinstance(j, dict)]
    by_id = {str(j.get("id")): j for j in jobs}
    by_element: dict[Hashable, dict[str, Any]] = {}
    for j in jobs:
        by_element.setdefault(_hashable(j.get("element")), j)
    copies = Counter(_hashable(e) for e in final.get("elements") or [])
    states = Counter(str(j.get("state")) for j in jobs)
    issues = _Issues(seen, faults, failovers, late_bound_ms)
    for e in attempted:
        job_id = seen.job_id(e)
        job = by_id.get(job_id) if job_id is not None else by_element.get(e)
        if job is not None and job_id is not None and _hashable(job.get("element")) != e:
            job = None  # its id now names another job (a server that reused ids): this one is gone
        if job_id is not None and job is None:
            states["missing"] += 1
        issues.judge(e, job, copies[e])
    unexpected = sorted((e for e in copies if e not in seen.invoked), key=repr)
    bad = issues.lost or issues.early or unexpected or any(d.keyed for d in issues.duplicated)
    keyed_dups = sum(1 for d in issues.duplicated if d.keyed)
    summary = (
        f"{len(attempted)} attempted ({len(keyed)} keyed), {len(acked)} acknowledged, "
        f"{issues.executed} executed, {len(issues.lost)} lost, "
        f"{len(issues.duplicated)} duplicated ({keyed_dups} keyed), {len(issues.late)} late, "
        f"{len(issues.early)} early, {len(issues.recovered)} recovered, "
        f"{len(unexpected)} unexpected"
    )
    return dataclasses.replace(
        result,
        verdict=Verdict.INVALID if bad else Verdict.VALID,
        summary=summary,
        executed_count=issues.executed,
        states=dict(sorted(states.items())),
        final_read=True,
        lost=issues.lost,
        duplicated=issues.duplicated,
        late=issues.late,
        early=issues.early,
        recovered=sorted(issues.recovered, key=repr),
        unexpected=unexpected,
    )


class _Issues:
    """Classifies each job and collects the issues with their context."""

    def __init__(
        self,
        seen: _Enqueues,
        faults: Sequence[FaultWindow],
        failovers: Sequence[Failover],
        late_bound_ms: int,
    ) -> None:
        self.seen = seen
        self.faults = faults
        self.failovers = sorted(failovers, key=lambda f: f.time)
        self.late_bound_ms = late_bound_ms
        self.executed = 0
        self.lost: list[JobIssue] = []
        self.duplicated: list[JobIssue] = []
        self.late: list[JobIssue] = []
        self.early: list[JobIssue] = []
        self.recovered: list[Hashable] = []

    def judge(self, e: Hashable, job: dict[str, Any] | None, n: int) -> None:
        job_id = self.seen.job_id(e)
        if n:
            self.executed += 1
            if job_id is None:
                self.recovered.append(e)
        state = str(job.get("state")) if job else "missing"
        if job_id is not None and n == 0:
            self.lost.append(self._issue(e, job, n, state, _lost_reason(job)))
        if n > 1:
            self.duplicated.append(self._issue(e, job, n, state, f"executed {n} times"))
        tries = _brief_tries(job)
        starts = [s for t in tries if (s := _ms(t.get("startedAt"))) is not None]
        if not job or not starts:
            return
        delay_until = _ms(job.get("delayUntil")) or 0
        due = max(delay_until, _ms(job.get("createdAt")) or 0)
        if min(starts) > due + self.late_bound_ms:
            issue = self._issue(e, job, n, state, f"first try {min(starts) - due} ms after due")
            self.late.append(_with_late(issue, min(starts) - due))
        if delay_until and min(starts) < delay_until:
            reason = f"a try started {delay_until - min(starts)} ms before delayUntil"
            self.early.append(self._issue(e, job, n, state, reason))

    def _issue(
        self, e: Hashable, job: dict[str, Any] | None, n: int, state: str, reason: str
    ) -> JobIssue:
        done = self.seen.done.get(e)
        acked = done is not None and done.type == "ok"
        since = done.time if acked and done is not None else self.seen.invoked[e].time
        return JobIssue(
            element=e,
            job_id=self.seen.job_id(e) or (str(job.get("id")) if job else None),
            keyed=self.seen.invoked[e].value.get("key") is not None,
            state=state,
            reason=reason,
            copies=n,
            tries=_brief_tries(job),
            ack_time=done.time if acked and done is not None else None,
            node=done.node if acked and done is not None else None,
            failover=next((f for f in self.failovers if f.time >= since), None),
            preceding_fault=next((f for f in self.faults if f.end is None or f.end >= since), None),
        )


def _with_late(issue: JobIssue, late_ms: int) -> JobIssue:
    return dataclasses.replace(issue, late_ms=late_ms)


def _lost_reason(job: dict[str, Any] | None) -> str:
    if job is None:
        return "job gone: its enqueue did not survive the failover"
    state = job.get("state")
    if state == "failed":
        return f"failed: {str(job.get('lastError') or '')[:200]}"
    if state == "done":
        return "done, yet its element is absent"
    return f"{state} at the end: never completed"


def check(
    history: Sequence[Op | dict[str, Any]],
    nemesis: Iterable[dict[str, Any]] = (),
    roles: Iterable[dict[str, Any]] = (),
    late_bound_ms: int = DEFAULT_LATE_BOUND_MS,
) -> JobsResult:
    """Run-directory entry point: history, ``nemesis.jsonl`` and ``roles.jsonl`` lines."""
    return check_jobs(as_ops(history), fault_windows(nemesis), leader_changes(roles), late_bound_ms)
