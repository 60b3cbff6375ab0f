"""How each row of the promise table is judged from a run's evidence.

A judge reads the checkers' typed results (and, for some rows, the history
with ``roles.jsonl``, the servers' rollback files or ``nemesis.jsonl``) and
answers a :class:`Judgement`: ``holds`` ``True``/``False``, or ``None`` with a
:class:`NotMeasured` reason. :mod:`harness.core.promises` holds the table and
says which judge decides which row.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from harness.checkers.availability import AvailabilityResult
from harness.checkers.dirty_reads import DirtyReadsResult
from harness.checkers.linearizable_result import LinearizableResult
from harness.checkers.result import CheckerCrash, CheckResult, Verdict
from harness.checkers.set_full import SetFullResult
from harness.checkers.split_brain import SplitBrainResult
from harness.core.intruders import intruder_requests, not_refused

R = TypeVar("R", bound=CheckResult)


class NotMeasured(Enum):
    """Why a row's ``holds`` is ``None``."""

    NOT_EXERCISED = "not exercised by this workload"
    CHECKER_MISSING = "its checker did not run"
    UNDECIDED = "its checker could not decide"
    NO_ROLES = "no roles.jsonl samples"
    NO_ROLLBACKS = "rollback files could not be collected"

    @property
    def undecided(self) -> bool:
        """Whether a promised row left so makes the run's verdict ``unknown``: the run should
        have measured it. A property the workload does not exercise leaves the verdict alone."""
        return self is not NotMeasured.NOT_EXERCISED


@dataclass(frozen=True)
class Judgement:
    """Whether a property held in this run, with its evidence; ``reason`` when ``holds`` is None."""

    holds: bool | None
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: NotMeasured | None = None
    detail: str = ""  # what the reason is about (the checker needed, its summary)

    @classmethod
    def not_measured(cls, reason: NotMeasured, detail: str = "") -> Judgement:
        return cls(None, {}, reason, detail)


def find_result(results: Mapping[str, CheckResult], kind: type[R]) -> R | CheckResult | None:
    """The result of type ``kind``; else a crashed checker that owed one; else None."""
    for result in results.values():
        if isinstance(result, kind):
            return result
    for result in results.values():
        if isinstance(result, CheckerCrash) and result.expected is kind:
            return result
    return None


def acked_survive(results: Mapping[str, CheckResult]) -> Judgement:
    """Lost elements whose add was acknowledged (set-full's ``lost`` also holds
    elements only a read ever saw: those break linearizability, not this row)."""
    sf = find_result(results, SetFullResult)
    if not isinstance(sf, SetFullResult):
        return missing(sf, NotMeasured.NOT_EXERCISED, "needs set-full")
    acked = sf.acknowledged_lost
    # no per-element detail (an old result): count every loss
    acked_count = len(sf.lost) if len(sf.lost_details) < len(sf.lost) else len(acked)
    return Judgement(
        acked_count == 0,
        {
            "acked-lost-count": acked_count,
            "lost-count": len(sf.lost),
            "acked-lost": [d.to_json() for d in acked[:50]],
            "lost": sf.lost[:50],
        },
    )


def no_split_brain(results: Mapping[str, CheckResult]) -> Judgement:
    sb = find_result(results, SplitBrainResult)
    if not isinstance(sb, SplitBrainResult):
        return missing(sb, NotMeasured.CHECKER_MISSING, "split-brain")
    return Judgement(
        sb.overlap_count == 0,
        {
            "overlap-count": sb.overlap_count,
            "overlapping-writes": [p.to_json() for p in sb.overlapping_writes[:20]],
            "claims-count": len(sb.overlapping_claims),
        },
    )


def no_unplanned_failover(results: Mapping[str, CheckResult]) -> Judgement:
    av = find_result(results, AvailabilityResult)
    if not isinstance(av, AvailabilityResult):
        return missing(av, NotMeasured.CHECKER_MISSING, "availability")
    unplanned = av.unplanned_failovers
    return Judgement(
        not unplanned,
        {
            "failover-count": len(av.failovers),
            "unplanned-failover-count": len(unplanned),
            "unplanned": [f.to_json() for f in unplanned[:20]],
        },
    )


def intruders_refused(nemesis: list[dict[str, Any]] | None) -> Judgement:
    """Every intruder request refused: none answered 2xx (taken) or 5xx (failed on)."""
    requests = intruder_requests(nemesis or [])
    if not requests:
        return Judgement.not_measured(NotMeasured.NOT_EXERCISED, "no intruder request recorded")
    taken = [r for r in requests if not_refused(r)]
    statuses: dict[str, int] = {}
    for r in requests:
        statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
    return Judgement(
        not taken,
        {"requests": len(requests), "statuses": statuses, "not-refused": taken[:20]},
    )


def dirty_marked(results: Mapping[str, CheckResult]) -> Judgement:
    dr = find_result(results, DirtyReadsResult)
    if not isinstance(dr, DirtyReadsResult):
        return missing(dr, NotMeasured.NOT_EXERCISED, "needs dirty-reads")
    return Judgement(dr.unmarked_count == 0, {"reads": dr.reads, "unmarked": dr.unmarked[:20]})


def linearizable(results: Mapping[str, CheckResult]) -> Judgement:
    lin = find_result(results, LinearizableResult)
    if lin is None:
        return _set_linearizable(results)
    if not isinstance(lin, LinearizableResult) or lin.verdict is Verdict.UNKNOWN:
        return Judgement.not_measured(NotMeasured.UNDECIDED, lin.summary)
    return Judgement(
        lin.verdict is Verdict.VALID,
        {"summary": lin.summary, "failures": [f.to_json() for f in lin.failures[:3]]},
    )


def _set_linearizable(results: Mapping[str, CheckResult]) -> Judgement:
    """A set history is linearizable only if no element is lost (acknowledged or
    read, then gone) or stale (missing from a read that began after its add was
    acknowledged): set-full's linearizable reading."""
    sf = find_result(results, SetFullResult)
    if not isinstance(sf, SetFullResult):
        return missing(sf, NotMeasured.NOT_EXERCISED, "needs linearizable or set-full")
    return Judgement(
        not sf.lost and not sf.stale,
        {
            "from": "set-full",
            "lost-count": len(sf.lost),
            "stale-count": len(sf.stale),
            "lost": sf.lost[:50],
            "stale": sf.stale[:50],
        },
    )


def missing(found: CheckResult | None, reason: NotMeasured, detail: str) -> Judgement:
    """No usable result: ``reason`` when none ran, undecided when its checker crashed."""
    if found is None:
        return Judgement.not_measured(reason, detail)
    return Judgement.not_measured(NotMeasured.UNDECIDED, found.summary)


class RoleTimeline:
    """Each server's sampled roles, to ask "what did s1 claim around time t"."""

    def __init__(self, roles: list[dict[str, Any]]) -> None:
        self._times: dict[str, list[int]] = {}
        self._roles: dict[str, list[str]] = {}
        for r in sorted(roles, key=lambda r: int(r.get("time", 0))):
            node = str(r.get("node"))
            self._times.setdefault(node, []).append(int(r.get("time", 0)))
            self._roles.setdefault(node, []).append(str(r.get("role")))

    def follower_throughout(self, node: str, start: int, end: int) -> bool:
        """True when the last sample before ``start`` through the first after ``end``
        all say ``follower`` (so the node surely was a follower the whole time)."""
        times = self._times.get(node)
        if not times:
            return False
        lo = bisect.bisect_right(times, start) - 1
        hi = bisect.bisect_left(times, end)
        if lo < 0 or hi >= len(times):
            return False
        return all(role == "follower" for role in self._roles[node][lo : hi + 1])


def plain_reads_on_followers(
    history: list[dict[str, Any]], roles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Completed reads sent without the dirty-read header but answered by a server
    that claimed to be a follower before the invocation and after the completion."""
    timeline = RoleTimeline(roles)
    invoked: dict[Any, dict[str, Any]] = {}
    bad: list[dict[str, Any]] = []
    for op in history:
        proc = op.get("process")
        if proc == "nemesis":
            continue
        if op.get("type") == "invoke":
            invoked[proc] = op
            continue
        inv = invoked.pop(proc, None)
        if inv is None or op.get("type") != "ok" or op.get("f") != "read":
            continue
        if op.get("allow_dirty") or not op.get("node"):
            continue
        if timeline.follower_throughout(str(op["node"]), int(inv["time"]), int(op["time"])):
            bad.append(op)
    return bad


def plain_reads(history: list[dict[str, Any]], roles: list[dict[str, Any]]) -> Judgement:
    if not roles:
        return Judgement.not_measured(NotMeasured.NO_ROLES)
    bad = plain_reads_on_followers(history, roles)
    return Judgement(not bad, {"violations": bad[:20], "count": len(bad)})


def rollback_keys(rollbacks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """``(collection, key)`` of every document kept in a rollback file."""
    keys: set[tuple[str, str]] = set()
    for entry in rollbacks:
        coll = entry.get("collection")
        key = entry.get("key")
        doc = entry.get("doc")
        if key is None and isinstance(doc, dict):
            key = doc.get("_key")
        if coll is not None and key is not None:
            keys.add((str(coll), str(key)))
    return keys


def no_silent_rollback(
    results: Mapping[str, CheckResult], rollbacks: list[dict[str, Any]] | None
) -> Judgement:
    sf = find_result(results, SetFullResult)
    if not isinstance(sf, SetFullResult):
        return missing(sf, NotMeasured.NOT_EXERCISED, "needs set-full")
    if sf.collection is None:
        return Judgement.not_measured(NotMeasured.NOT_EXERCISED, "set-full names no collection")
    if rollbacks is None:
        return Judgement.not_measured(NotMeasured.NO_ROLLBACKS)
    lost = sf.lost
    kept = rollback_keys(rollbacks)
    silent = [str(e) for e in lost if (sf.collection_of(e), str(e)) not in kept]
    return Judgement(
        not silent,
        {
            "lost-count": len(lost),
            "in-rollback-files": len(lost) - len(silent),
            "silently-dropped": silent[:50],
            "rollback-entries": len(rollbacks),
        },
    )
