"""The promise table of the design handbook, as data, and how each row is judged.

Every replication mode states what it guarantees. A *promised* property is
asserted by the nemesis suites and decides a run's verdict; a *measured* one
is computed the same way and shown in the report, but never fails a run.

Whether a row is promised depends on the mode and on the **families** of the
faults applied (``partition``, ``kill``, ...), which the caller gives: each
fault declares its family. :func:`family_of` maps the fault names we know to
their families for callers that only have names (old runs, ``afcheck check``);
it raises on a name it does not know rather than guess.

Each row is judged by a function of :mod:`harness.core.judges` from the
checkers' typed results (and, for some rows, from the history with
``roles.jsonl``, the servers' rollback files or ``nemesis.jsonl``). ``holds``
is ``True``/``False``, or ``None`` with a :class:`NotMeasured` reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.checkers.result import UNKNOWN, CheckResult, Validity
from harness.core import judges, judges_choice, judges_jobs
from harness.core.intruders import INTRUDER
from harness.core.judges import (
    Judgement,
    NotMeasured,
    plain_reads_on_followers,
    rollback_keys,
)

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
ACKED_JOBS_EXECUTED = "acked-jobs-executed"
KEYED_JOBS_ONCE = "keyed-jobs-at-most-once"
UNKEYED_JOBS_ONCE = "unkeyed-jobs-once"
BEST_FOLLOWER_PROMOTED = "best-follower-promoted"


class UnknownFault(KeyError):
    """A fault name :func:`family_of` does not know."""


class UnknownFamily(ValueError):
    """A fault family the promise table does not know."""


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
    Promise(
        ACKED_JOBS_EXECUTED,
        "an acknowledged job in the replicated queue is executed",
        NOTHING,
        ALL,
    ),
    Promise(KEYED_JOBS_ONCE, "a job with an idempotency key takes effect at most once", ALL, ALL),
    Promise(
        UNKEYED_JOBS_ONCE,
        "a job without an idempotency key runs once (at-least-once: duplicates measured)",
        NOTHING,
        NOTHING,
    ),
    Promise(
        BEST_FOLLOWER_PROMOTED,
        "failover promotes the best GOOD candidate (regret: writes a better choice would "
        "have kept; in sync only the named sync follower is eligible)",
        NOTHING,
        NOTHING,
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
    judge_of: dict[str, Callable[[], Judgement]] = {
        ACKED_WRITES_SURVIVE: lambda: judges.acked_survive(results),
        NO_SPLIT_BRAIN: lambda: judges.no_split_brain(results),
        FOLLOWER_REFUSES_PLAIN_READS: lambda: judges.plain_reads(history, roles),
        DIRTY_READS_MARKED: lambda: judges.dirty_marked(results),
        LEADER_LINEARIZABLE: lambda: judges.linearizable(results),
        NO_SILENT_ROLLBACK: lambda: judges.no_silent_rollback(results, rollbacks),
        PLANNED_NO_LOSS: lambda: judges.acked_survive(results),
        NO_UNPLANNED_FAILOVER: lambda: judges.no_unplanned_failover(results),
        INTRUDERS_CHANGE_NOTHING: lambda: judges.intruders_refused(nemesis),
        ACKED_JOBS_EXECUTED: lambda: judges_jobs.acked_jobs_executed(results),
        KEYED_JOBS_ONCE: lambda: judges_jobs.keyed_jobs_once(results),
        UNKEYED_JOBS_ONCE: lambda: judges_jobs.unkeyed_jobs_once(results),
        BEST_FOLLOWER_PROMOTED: lambda: judges_choice.best_follower(results),
    }
    return {p.property: PromiseRow(p, statuses[p.property], judge_of[p.property]()) for p in TABLE}


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


__all__ = [
    "Judgement",
    "NotMeasured",
    "PromiseRow",
    "evaluate",
    "plain_reads_on_followers",
    "rollback_keys",
    "table_for",
    "verdict",
]
