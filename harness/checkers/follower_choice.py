"""Was the best follower promoted? Each failover job against its other candidates.

Supervision promotes the eligible follower whose last heartbeat reported the
highest ``lastTick``; that heartbeat can be a beat old. For each failover job
recorded in the agency this checker finds, for every candidate, the highest
tick of the failed leader's epoch it really held when the job ran, and counts
the **regret**: acknowledged writes that an eligible candidate held beyond the
promoted server's last tick of that epoch, which choosing it would have kept.
The job's regret is that of its best alternative; the run's is their sum.

Positions (all from :mod:`harness.checkers.follower_choice_evidence`):

* the promoted server's: the last tick before the new epoch in a log that holds
  the new epoch and an earlier one (the new leader wrote the new epoch from the
  next tick on), else the highest tick of the old epoch it ever held;
* a candidate's: the highest tick of the old epoch it ever held (its log,
  pruning marks, and the rollback files where it put the entries it gave up
  when it followed the new leader), lowered to the tick it reported in
  ``roles.jsonl`` at or after the new epoch was first seen while it still
  followed the old epoch (it cannot have held more when the job ran).

The writes between the two positions are identified by the rollback files'
entries and matched to acknowledged ``add``/``write``/``cas`` operations by
``(key, value)``; only writes acknowledged before the new epoch was first seen
count. In ``sync`` mode only the named sync follower is eligible, so the
regret is 0 by the rule; the other candidates' ticks are shown all the same.

Measured, never judged: the verdict is valid, or unknown when the run
recorded no failover jobs or WAL ticks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from harness.checkers.base import RunData
from harness.checkers.follower_choice_evidence import (
    WRITE_FS,
    FailoverJob,
    FailoverRunData,
    Holdings,
    entry_identity,
    op_identity,
    parse_jobs,
)
from harness.checkers.follower_choice_result import (
    NAME,
    CandidateTicks,
    FollowerChoiceResult,
    JobChoice,
)
from harness.checkers.result import CheckResult, Verdict, opt_int
from harness.core.history import Op, pair_ops

__all__ = ["NAME", "FollowerChoiceChecker", "FollowerChoiceResult", "check"]


class Acknowledged:
    """Acknowledged writes by identity, with their acknowledgement times (ns)."""

    def __init__(self, ops: Sequence[Op]) -> None:
        self._times: dict[str, list[int]] = {}
        for pair in pair_ops(ops):
            done = pair.complete
            if done is None or done.type != "ok" or pair.invoke.f not in WRITE_FS:
                continue
            identity = op_identity(pair.invoke.f, pair.invoke.value)
            if identity is not None:
                self._times.setdefault(identity, []).append(done.time)

    def before(self, bound: int | None) -> Counter[str]:
        """How many times each write was acknowledged at or before ``bound`` (None: ever)."""
        return Counter(
            {
                i: n
                for i, times in self._times.items()
                if (n := sum(1 for t in times if bound is None or t <= bound))
            }
        )


def epoch_seen_at(roles: Sequence[dict[str, Any]], epoch: int) -> int | None:
    """The first time (ns) a server reported acting under ``epoch`` or a later one."""
    times = [
        int(r["time"])
        for r in roles
        if isinstance(r.get("time"), int) and (opt_int(r.get("epoch")) or 0) >= epoch
    ]
    return min(times) if times else None


def roles_cap(
    roles: Sequence[dict[str, Any]], server: str, after: int | None, epoch: int
) -> int | None:
    """The tick ``server`` reported in its first answer at or after ``after`` if it still
    acted under an epoch before ``epoch`` then (an upper bound of what it held at the job)."""
    if after is None:
        return None
    samples = sorted(
        (r for r in roles if r.get("node") == server and isinstance(r.get("time"), int)),
        key=lambda r: int(r["time"]),
    )
    for r in samples:
        if int(r["time"]) < after or r.get("role") in ("down", "unknown"):
            continue
        seen_epoch, tick = opt_int(r.get("epoch")), opt_int(r.get("last_tick"))
        if seen_epoch is not None and seen_epoch < epoch and tick is not None:
            return tick
        return None
    return None


def _candidate(
    job: FailoverJob,
    server: str,
    holdings: Holdings,
    roles: Sequence[dict[str, Any]],
    seen_at: int | None,
    promoted_tick: int,
    acked: Counter[str],
) -> tuple[CandidateTicks, list[Any]]:
    """One candidate's ticks, and the acknowledged writes it held beyond the promoted one."""
    old_epoch = job.epoch - 1
    held: int | None = promoted_tick
    held_from = "promoted"
    if server != job.new:
        held, held_from = holdings.last(server, old_epoch), "log"
        cap = roles_cap(roles, server, seen_at, job.epoch)
        if held is None:
            held_from = "none recorded"
        elif cap is not None and cap < held:
            held, held_from = cap, "log, capped by roles"
    kept: list[Any] = []
    if held is not None and held > promoted_tick:
        left = Counter(acked)
        for entry in holdings.known_entries(old_epoch, promoted_tick, held):
            identity = entry_identity(entry)
            if identity is not None and left[identity] > 0:
                left[identity] -= 1
                doc = entry.get("doc") or {}
                kept.append([entry.get("key", doc.get("_key")), doc.get("value")])
    ticks = CandidateTicks(
        server=server,
        health=job.health.get(server, "unknown"),
        eligible=server in job.eligible,
        promoted=server == job.new,
        heartbeat_tick=job.heartbeat_ticks.get(server),
        held_tick=held,
        held_from=held_from,
        ticks_beyond=max(0, held - promoted_tick) if held is not None else 0,
        writes_kept=len(kept),
    )
    return ticks, kept


def judge_job(
    job: FailoverJob,
    holdings: Holdings,
    roles: Sequence[dict[str, Any]],
    acknowledged: Acknowledged,
) -> JobChoice:
    """One failover job: the promoted server's position, each candidate's, the regret."""
    old_epoch = job.epoch - 1
    seen_at = epoch_seen_at(roles, job.epoch)
    # the promoted server never held a tick of the old epoch beyond where it began to lead
    promoted_tick = holdings.last(job.new, old_epoch)
    if promoted_tick is None:
        promoted_tick = holdings.line_before(job.epoch, job.new)
    base = JobChoice(
        index=job.index,
        old=job.old,
        new=job.new,
        epoch=job.epoch,
        time_ms=job.time_ms,
        seen_at=seen_at,
        promoted_tick=promoted_tick,
    )
    servers = sorted(set(job.health) | set(job.eligible) | {job.new})
    if promoted_tick is None:
        candidates = tuple(
            CandidateTicks(
                server=s,
                health=job.health.get(s, "unknown"),
                eligible=s in job.eligible,
                promoted=s == job.new,
                heartbeat_tick=job.heartbeat_ticks.get(s),
                held_tick=holdings.last(s, old_epoch),
                held_from="log" if holdings.last(s, old_epoch) is not None else "none recorded",
            )
            for s in servers
        )
        note = f"{job.new}'s last tick of epoch {old_epoch} is not recorded"
        return replace(base, candidates=candidates, decided=False, note=note)
    acked = acknowledged.before(seen_at)
    judged = [_candidate(job, s, holdings, roles, seen_at, promoted_tick, acked) for s in servers]
    best: tuple[CandidateTicks, list[Any]] | None = None
    for ticks, kept in judged:
        if ticks.eligible and not ticks.promoted and kept:
            if best is None or len(kept) > len(best[1]):
                best = (ticks, kept)
    return replace(
        base,
        promoted_tick=promoted_tick,
        candidates=tuple(t for t, _ in judged),
        regret_writes=len(best[1]) if best else 0,
        better=best[0].server if best else None,
        regret=tuple(best[1]) if best else (),
    )


def check(
    jobs: list[dict[str, Any]] | None,
    wal_ticks: dict[str, Any] | None,
    rollbacks: list[dict[str, Any]],
    ops: Sequence[Op],
    roles: Sequence[dict[str, Any]],
    timeline: Sequence[dict[str, Any]] = (),
) -> FollowerChoiceResult:
    """Judge every failover job (``jobs``/``wal_ticks`` None: not recorded, verdict unknown)."""
    if jobs is None or (jobs and wal_ticks is None):
        missing = "failover jobs" if jobs is None else "WAL ticks"
        return FollowerChoiceResult(
            verdict=Verdict.UNKNOWN, summary=f"not measured: the run recorded no {missing}"
        )
    holdings = Holdings(wal_ticks or {}, rollbacks, timeline)
    acknowledged = Acknowledged(ops)
    judged = [judge_job(j, holdings, roles, acknowledged) for j in parse_jobs(jobs)]
    result = FollowerChoiceResult(verdict=Verdict.VALID, jobs=judged)
    undecided = len(judged) - len(result.judged)
    result.summary = (
        f"{len(judged)} failovers ({len(result.judged)} judged), "
        f"{result.compared} other eligible candidates compared, "
        f"regret {result.regret_writes} acknowledged writes"
        f" in {len(result.regretted)} failovers" + (f"; {undecided} undecided" if undecided else "")
    )
    return result


@dataclass(frozen=True)
class FollowerChoiceChecker:
    """Regret of each failover's choice of follower (needs the runner's failover evidence)."""

    result_type: ClassVar[type[CheckResult]] = FollowerChoiceResult
    name: str = NAME

    def check(self, run: RunData) -> FollowerChoiceResult:
        if not isinstance(run, FailoverRunData):
            return check(None, None, run.rollbacks, run.ops, run.roles)
        return check(
            run.failover_jobs,
            run.wal_ticks,
            run.rollbacks,
            run.ops,
            run.roles,
            run.wal_timeline,
        )
