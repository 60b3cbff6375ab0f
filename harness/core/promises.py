"""The promise table of the design handbook, as data, and how each row is judged.

Every replication mode states what it guarantees. A *promised* property is
asserted by the nemesis suites and decides a run's verdict; a *measured* one
is computed the same way and shown in the report, but never fails a run.

Whether a row is promised depends on the mode and on the **families** of the
faults applied (``partition``, ``kill``, ...), which the caller gives: each
fault declares its family. :func:`family_of` maps the fault names we know to
their families for callers that only have names (old runs, ``afcheck check``);
it raises on a name it does not know rather than guess.

Each row is judged from the checkers' typed results (and, for two rows, from
the history with ``roles.jsonl`` and the servers' rollback files). ``holds`` is
``True``/``False``, or ``None`` with a :class:`NotMeasured` reason.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeVar

from harness.checkers.availability import AvailabilityResult
from harness.checkers.dirty_reads import DirtyReadsResult
from harness.checkers.linearizable_result import LinearizableResult
from harness.checkers.result import UNKNOWN, CheckerCrash, CheckResult, Validity, Verdict
from harness.checkers.set_full import SetFullResult
from harness.checkers.split_brain import SplitBrainResult
from harness.core.intruders import INTRUDER, intruder_requests, not_refused

Mode = Literal["async", "sync"]
Status = Literal["promised", "measured"]
FAMILIES = ("partition", "kill", "pause", "clock", "network", "planned", "intruder")

ACKED_WRITES_SURVIVE = "acked-writes-survive"
NO_SPLIT_BRAIN = "no-split-brain"
FOLLOWER_REFUSES_PLAIN_READS = "follower-refuses-plain-reads"
DIRTY_READS_MARKED = "dirty-reads-marked"
LEADER_LINEARIZABLE = "leader-linearizable"
NO_SILENT_ROLLBACK = "no-silent-rollback"
PLANNED_NO_LOSS = "planned-switchover-no-loss"
NO_UNPLANNED_FAILOVER = "no-unplanned-failover"
INTRUDERS_CHANGE_NOTHING = "intruders-change-nothing"

R = TypeVar("R", bound=CheckResult)


class UnknownFault(KeyError):
    """A fault name :func:`family_of` does not know."""


class UnknownFamily(ValueError):
    """A fault family the promise table does not know."""


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
class Promise:
    property: str
    description: str
    # the families under which each mode promises it; any other family: measured.
    # An empty set: never promised in that mode.
    promised_async: frozenset[str]
    promised_sync: frozenset[str]
    # a property about one kind of fault is promised only in runs where such a fault acted
    about: frozenset[str] = frozenset()

    def status(self, mode: str, families: Collection[str]) -> Status:
        promised = self.promised_sync if mode == "sync" else self.promised_async
        if self.about and not self.about & set(families):
            return "measured"
        return "promised" if promised and set(families) <= promised else "measured"


ALL = frozenset(FAMILIES)
NOTHING: frozenset[str] = frozenset()
PLANNED = frozenset({"planned"})  # switchovers and graceful restarts only
INTRUDERS = frozenset({INTRUDER})

TABLE: tuple[Promise, ...] = (
    Promise(
        ACKED_WRITES_SURVIVE,
        "an acknowledged write survives any single failover",
        NOTHING,
        ALL,
    ),
    Promise(
        NO_SPLIT_BRAIN,
        "no two servers acknowledge writes in overlapping time (no split-brain)",
        # the leader lease runs on the monotonic clock: pauses and clock-rate
        # skew stretch it, so async only measures split-brain under those
        frozenset({"partition", "kill", "network"}),
        ALL,
    ),
    Promise(
        FOLLOWER_REFUSES_PLAIN_READS,
        "a follower never serves a read without the dirty-read header",
        ALL,
        ALL,
    ),
    Promise(
        DIRTY_READS_MARKED,
        "every dirty read is marked X-Arango-Potential-Dirty-Read: true",
        ALL,
        ALL,
    ),
    Promise(
        LEADER_LINEARIZABLE,
        "reads and writes on the leader are linearizable",
        NOTHING,
        ALL,
    ),
    Promise(
        NO_SILENT_ROLLBACK,
        "a returning old leader never drops writes silently (each is in a rollback file)",
        ALL,
        ALL,
    ),
    Promise(
        PLANNED_NO_LOSS,
        "a planned switchover or rolling restart loses no acknowledged write",
        PLANNED,
        PLANNED,
        about=PLANNED,
    ),
    Promise(
        NO_UNPLANNED_FAILOVER,
        "a rolling restart causes no unplanned failover",
        PLANNED,
        PLANNED,
        about=PLANNED,
    ),
    Promise(
        INTRUDERS_CHANGE_NOTHING,
        "intruders (requests without the cluster secret, forged Raft RPCs, malformed bodies) "
        "change nothing",
        ALL,
        ALL,
        about=INTRUDERS,
    ),
)

# fault names (``--nemesis``, nemesis.jsonl) -> family, for callers without fault objects
FAULT_FAMILIES: dict[str, str] = {
    "partition": "partition",
    "partition-leader": "partition",
    "partition-client-leader": "partition",
    "partition-random-halves": "partition",
    "partition-agency-minority": "partition",
    "partition-majorities-ring": "partition",
    "bridge": "partition",
    "isolate": "partition",  # a container disconnected from the network
    "isolate-leader": "partition",
    "isolate-agency-leader": "partition",
    "kill": "kill",
    "kill-leader": "kill",
    "kill-random": "kill",
    "kill-agency-leader": "kill",
    "pause": "pause",
    "pause-leader": "pause",
    "pause-agency-leader": "pause",
    "clock-bump": "clock",
    "clock-strobe": "clock",
    "slow-network": "network",
    "flaky-network": "network",
    "switchover": "planned",
    "restart-leader": "planned",
    "rolling-restart": "planned",
    "intruder": "intruder",
}


def family_of(fault: str) -> str:
    """The family of a known fault name (``partition-leader`` -> ``partition``)."""
    try:
        return FAULT_FAMILIES[fault]
    except KeyError:
        raise UnknownFault(
            f"unknown fault {fault!r}: its family is not known (known: {', '.join(FAULT_FAMILIES)})"
        ) from None


def families_of(faults: Iterable[str]) -> set[str]:
    """The families of known fault names; raises :class:`UnknownFault` on any other."""
    return {family_of(f) for f in faults}


def applied_families(nemesis: Iterable[Mapping[str, Any]]) -> set[str]:
    """Families of the faults started in ``nemesis.jsonl``: each event's declared ``family``,
    else the family of its ``fault`` name (:func:`family_of`, which raises on unknown names)."""
    found: set[str] = set()
    for event in nemesis:
        if event.get("event") != "start":
            continue
        family = event.get("family")
        found.add(family if isinstance(family, str) else family_of(str(event.get("fault"))))
    return found


def table_for(mode: str, families: Collection[str]) -> dict[str, Status]:
    """Each property's status in ``mode`` under faults of ``families``."""
    unknown = sorted(set(families) - ALL)
    if unknown:
        raise UnknownFamily(
            f"unknown fault families {unknown}: the promise table knows {', '.join(FAMILIES)}"
        )
    return {p.property: p.status(mode, families) for p in TABLE}


# ---- one judged row -----------------------------------------------------------


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


@dataclass(frozen=True)
class PromiseRow:
    """One row of the table for this run."""

    promise: Promise
    status: Status
    judgement: Judgement

    @property
    def holds(self) -> bool | None:
        return self.judgement.holds

    @property
    def broken(self) -> bool:
        return self.status == "promised" and self.holds is False

    @property
    def undecided(self) -> bool:
        """A promised property this run should have decided and did not."""
        reason = self.judgement.reason
        return self.status == "promised" and reason is not None and reason.undecided

    def to_json(self) -> dict[str, Any]:
        j = self.judgement
        out: dict[str, Any] = {
            "status": self.status,
            "holds": j.holds,
            "description": self.promise.description,
        }
        if j.reason is None:
            out["evidence"] = j.evidence
        else:
            out["not-measured"] = j.reason.name.lower().replace("_", "-")
            out["evidence"] = j.reason.value + (f" ({j.detail})" if j.detail else "")
        return out


def _find(results: Mapping[str, CheckResult], kind: type[R]) -> R | CheckResult | None:
    """The result of type ``kind``; else a crashed checker that owed one; else None."""
    for result in results.values():
        if isinstance(result, kind):
            return result
    for result in results.values():
        if isinstance(result, CheckerCrash) and result.expected is kind:
            return result
    return None


def _acked_survive(results: Mapping[str, CheckResult]) -> Judgement:
    """Lost elements whose add was acknowledged (set-full's ``lost`` also holds
    elements only a read ever saw: those break linearizability, not this row)."""
    sf = _find(results, SetFullResult)
    if not isinstance(sf, SetFullResult):
        return _missing(sf, NotMeasured.NOT_EXERCISED, "needs set-full")
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


def _no_split_brain(results: Mapping[str, CheckResult]) -> Judgement:
    sb = _find(results, SplitBrainResult)
    if not isinstance(sb, SplitBrainResult):
        return _missing(sb, NotMeasured.CHECKER_MISSING, "split-brain")
    return Judgement(
        sb.overlap_count == 0,
        {
            "overlap-count": sb.overlap_count,
            "overlapping-writes": [p.to_json() for p in sb.overlapping_writes[:20]],
            "claims-count": len(sb.overlapping_claims),
        },
    )


def _no_unplanned_failover(results: Mapping[str, CheckResult]) -> Judgement:
    av = _find(results, AvailabilityResult)
    if not isinstance(av, AvailabilityResult):
        return _missing(av, NotMeasured.CHECKER_MISSING, "availability")
    unplanned = av.unplanned_failovers
    return Judgement(
        not unplanned,
        {
            "failover-count": len(av.failovers),
            "unplanned-failover-count": len(unplanned),
            "unplanned": [f.to_json() for f in unplanned[:20]],
        },
    )


def _intruders_refused(nemesis: list[dict[str, Any]] | None) -> Judgement:
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


def _dirty_marked(results: Mapping[str, CheckResult]) -> Judgement:
    dr = _find(results, DirtyReadsResult)
    if not isinstance(dr, DirtyReadsResult):
        return _missing(dr, NotMeasured.NOT_EXERCISED, "needs dirty-reads")
    return Judgement(dr.unmarked_count == 0, {"reads": dr.reads, "unmarked": dr.unmarked[:20]})


def _linearizable(results: Mapping[str, CheckResult]) -> Judgement:
    lin = _find(results, LinearizableResult)
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
    sf = _find(results, SetFullResult)
    if not isinstance(sf, SetFullResult):
        return _missing(sf, NotMeasured.NOT_EXERCISED, "needs linearizable or set-full")
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


def _missing(found: CheckResult | None, reason: NotMeasured, detail: str) -> Judgement:
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


def _plain_reads(history: list[dict[str, Any]], roles: list[dict[str, Any]]) -> Judgement:
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


def _no_silent_rollback(
    results: Mapping[str, CheckResult], rollbacks: list[dict[str, Any]] | None
) -> Judgement:
    sf = _find(results, SetFullResult)
    if not isinstance(sf, SetFullResult):
        return _missing(sf, NotMeasured.NOT_EXERCISED, "needs set-full")
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


def evaluate(
    mode: str,
    families: Collection[str],
    results: Mapping[str, CheckResult],
    history: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]] | None,
    nemesis: list[dict[str, Any]] | None = None,
) -> dict[str, PromiseRow]:
    """The table for this run: each property's status and judgement (``nemesis``: the
    events of ``nemesis.jsonl``, where the intruder fault records its requests)."""
    statuses = table_for(mode, families)
    judges: dict[str, Callable[[], Judgement]] = {
        ACKED_WRITES_SURVIVE: lambda: _acked_survive(results),
        NO_SPLIT_BRAIN: lambda: _no_split_brain(results),
        FOLLOWER_REFUSES_PLAIN_READS: lambda: _plain_reads(history, roles),
        DIRTY_READS_MARKED: lambda: _dirty_marked(results),
        LEADER_LINEARIZABLE: lambda: _linearizable(results),
        NO_SILENT_ROLLBACK: lambda: _no_silent_rollback(results, rollbacks),
        PLANNED_NO_LOSS: lambda: _acked_survive(results),
        NO_UNPLANNED_FAILOVER: lambda: _no_unplanned_failover(results),
        INTRUDERS_CHANGE_NOTHING: lambda: _intruders_refused(nemesis),
    }
    return {p.property: PromiseRow(p, statuses[p.property], judges[p.property]()) for p in TABLE}


def table_json(rows: Mapping[str, PromiseRow]) -> dict[str, dict[str, Any]]:
    """The ``promises`` section of ``results.json``."""
    return {name: row.to_json() for name, row in rows.items()}


def verdict(rows: Mapping[str, PromiseRow]) -> Validity:
    """A run is valid when every promised property that this run measured holds.

    False if any promised property is broken; ``"unknown"`` if none is broken
    but a promised property that this run should have decided was not.
    """
    if any(row.broken for row in rows.values()):
        return False
    return UNKNOWN if any(row.undecided for row in rows.values()) else True


def broken_promises(rows: Mapping[str, PromiseRow]) -> list[str]:
    return [name for name, row in rows.items() if row.broken]
