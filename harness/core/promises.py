"""The promise table of the design handbook, as data, and how each row is judged.

Every replication mode states what it guarantees. A *promised* property is
asserted by the nemesis suites and decides a run's verdict; a *measured* one
is computed the same way and shown in the report, but never fails a run.

Each row is computed from the checkers' results (and, for two rows, from the
history with ``roles.jsonl`` and the servers' rollback files). ``holds`` is
``True``/``False``, or ``None`` when this run cannot tell (the workload does
not exercise the property, or its checker answered ``unknown``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["async", "sync"]
Status = Literal["promised", "measured"]
FAMILIES = ("partition", "kill", "pause", "clock", "network")

ACKED_WRITES_SURVIVE = "acked-writes-survive"
NO_SPLIT_BRAIN = "no-split-brain"
FOLLOWER_REFUSES_PLAIN_READS = "follower-refuses-plain-reads"
DIRTY_READS_MARKED = "dirty-reads-marked"
LEADER_LINEARIZABLE = "leader-linearizable"
NO_SILENT_ROLLBACK = "no-silent-rollback"


@dataclass(frozen=True)
class Promise:
    property: str
    description: str
    # the families under which each mode promises it; any other family: measured
    promised_async: frozenset[str]
    promised_sync: frozenset[str]

    def status(self, mode: str, families: Iterable[str]) -> Status:
        promised = self.promised_sync if mode == "sync" else self.promised_async
        return "promised" if set(families) <= promised else "measured"


ALL = frozenset(FAMILIES)
NOTHING: frozenset[str] = frozenset()

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
)


def family_of(fault: str) -> str:
    """The family of a fault name (``partition-leader`` -> ``partition``)."""
    if fault.startswith("partition") or fault == "bridge":
        return "partition"
    if fault.startswith("kill"):
        return "kill"
    if fault.startswith("pause"):
        return "pause"
    if fault.startswith("clock"):
        return "clock"
    return "network"


def families_of(faults: Iterable[str]) -> set[str]:
    return {family_of(f) for f in faults}


def table_for(mode: str, families: Iterable[str]) -> dict[str, Status]:
    fams = set(families)
    return {p.property: p.status(mode, fams) for p in TABLE}


# ---- how each row is judged -------------------------------------------------


def _checker(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    r = results.get(name)
    return r if isinstance(r, dict) else None


def _acked_survive(results: dict[str, Any]) -> tuple[bool | None, Any]:
    """Lost elements whose add was acknowledged (set-full's ``lost`` also holds
    elements only a read ever saw: those break linearizability, not this row)."""
    sf = _checker(results, "set-full")
    if sf is None:
        return None, "not measured by this workload (needs set-full)"
    if sf.get("valid") == "unknown" and "lost-count" not in sf:
        return None, sf.get("summary")
    details = list(sf.get("lost-details") or [])
    lost = int(sf.get("lost-count", 0) or 0)
    acked = [d for d in details if isinstance(d, dict) and d.get("ack_time") is not None]
    if lost and len(details) < lost:  # no per-element detail: count every loss
        acked_count = lost
    else:
        acked_count = len(acked)
    return acked_count == 0, {
        "acked-lost-count": acked_count,
        "lost-count": lost,
        "acked-lost": acked[:50],
        "lost": list(sf.get("lost", []))[:50],
    }


def _no_split_brain(results: dict[str, Any]) -> tuple[bool | None, Any]:
    sb = _checker(results, "split-brain")
    if sb is None:
        return None, "split-brain checker did not run"
    if "overlap-count" not in sb:
        return None, sb.get("summary")
    n = int(sb.get("overlap-count", 0) or 0)
    return n == 0, {
        "overlap-count": n,
        "overlapping-writes": list(sb.get("overlapping-writes", []))[:20],
        "claims-count": sb.get("claims-count"),
    }


def _dirty_marked(results: dict[str, Any]) -> tuple[bool | None, Any]:
    dr = _checker(results, "dirty-reads")
    if dr is None:
        return None, "not measured by this workload (needs dirty-reads)"
    if "unmarked" not in dr:
        return None, dr.get("summary")
    unmarked = list(dr.get("unmarked") or [])
    return not unmarked, {"reads": dr.get("reads"), "unmarked": unmarked[:20]}


def _linearizable(results: dict[str, Any]) -> tuple[bool | None, Any]:
    lin = _checker(results, "linearizable")
    if lin is None:
        return _set_linearizable(results)
    valid = lin.get("valid")
    if valid not in (True, False):
        return None, lin.get("summary")
    return bool(valid), {
        "summary": lin.get("summary"),
        "failures": list(lin.get("failures", []))[:3],
    }


def _set_linearizable(results: dict[str, Any]) -> tuple[bool | None, Any]:
    """A set history is linearizable only if no element is lost (acknowledged or
    read, then gone) or stale (missing from a read that began after its add was
    acknowledged): set-full's linearizable reading."""
    sf = _checker(results, "set-full")
    if sf is None or "lost-count" not in sf:
        return None, "not measured by this workload (needs linearizable or set-full)"
    lost = int(sf.get("lost-count", 0) or 0)
    stale = int(sf.get("stale-count", 0) or 0)
    return lost == 0 and stale == 0, {
        "from": "set-full",
        "lost-count": lost,
        "stale-count": stale,
        "lost": list(sf.get("lost", []))[:50],
        "stale": list(sf.get("stale", []))[:50],
    }


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


def _plain_reads(
    history: list[dict[str, Any]], roles: list[dict[str, Any]]
) -> tuple[bool | None, Any]:
    if not roles:
        return None, "no roles.jsonl samples"
    bad = plain_reads_on_followers(history, roles)
    return not bad, {"violations": bad[:20], "count": len(bad)}


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
    results: dict[str, Any], rollbacks: list[dict[str, Any]] | None, collection: str | None
) -> tuple[bool | None, Any]:
    sf = _checker(results, "set-full")
    if sf is None or collection is None:
        return None, "not measured by this workload (needs set-full)"
    if rollbacks is None:
        return None, "rollback files could not be collected"
    lost = [str(e) for e in sf.get("lost", [])]
    kept = rollback_keys(rollbacks)
    silent = [e for e in lost if (collection, e) not in kept]
    return not silent, {
        "lost-count": len(lost),
        "in-rollback-files": len(lost) - len(silent),
        "silently-dropped": silent[:50],
        "rollback-entries": len(rollbacks),
    }


def evaluate(
    mode: str,
    faults: Iterable[str],
    checker_results: dict[str, Any],
    history: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]] | None,
    collection: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The ``promises`` section of ``results.json``."""
    statuses = table_for(mode, families_of(faults))
    judged: dict[str, tuple[bool | None, Any]] = {
        ACKED_WRITES_SURVIVE: _acked_survive(checker_results),
        NO_SPLIT_BRAIN: _no_split_brain(checker_results),
        FOLLOWER_REFUSES_PLAIN_READS: _plain_reads(history, roles),
        DIRTY_READS_MARKED: _dirty_marked(checker_results),
        LEADER_LINEARIZABLE: _linearizable(checker_results),
        NO_SILENT_ROLLBACK: _no_silent_rollback(checker_results, rollbacks, collection),
    }
    out: dict[str, dict[str, Any]] = {}
    for promise in TABLE:
        holds, evidence = judged[promise.property]
        out[promise.property] = {
            "status": statuses[promise.property],
            "holds": holds,
            "description": promise.description,
            "evidence": evidence,
        }
    return out


def verdict(promises: dict[str, dict[str, Any]]) -> bool | Literal["unknown"]:
    """A run is valid when every promised property that this run measured holds.

    False if any promised property is broken; ``"unknown"`` if none is broken
    but a promised property's checker could not decide.
    """
    broken = [p for p in promises.values() if p["status"] == "promised" and p["holds"] is False]
    if broken:
        return False
    undecided = [
        p
        for p in promises.values()
        if p["status"] == "promised"
        and p["holds"] is None
        and not str(p.get("evidence", "")).startswith("not measured")
    ]
    return "unknown" if undecided else True


def broken_promises(promises: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, p in promises.items() if p["status"] == "promised" and p["holds"] is False]
