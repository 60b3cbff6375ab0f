"""Dirty reads: follower reads must be marked, and how stale are they.

For a history of ``write [key, v]`` on the leader and ``read [key, v]`` on
leader and followers:

- a read served by a follower that is not marked ``dirty`` is **unmarked**
  (invalid: the promise table says every follower read carries
  ``X-Arango-Potential-Dirty-Read``);
- a read of a value no write of that key ever attempted is **never written**
  (invalid);
- a read of a value that was later rolled back (``rolled_back`` holds the
  ``(key, value)`` pairs from the run's rollback files) is reported, not
  counted against validity;
- every dirty read gets a staleness: in versions, the number of acknowledged
  writes of its key that certainly came after the value it returned
  (invoked after that value's write completed) and completed before the read
  was invoked; in time, how long before the read's invocation the first of
  them completed (0 when the value was current, or was written by a write
  that was never acknowledged, since that may have taken effect late).

Who served a read: the op's ``node``. It was a follower when the op says so
(``"role": "follower"``), else when ``roles.jsonl`` shows that node not
claiming leadership around the read (its answered samples on either side
say so; a ``down`` sample, where the sampler got no answer, is no evidence),
else (no roles) when that node never acknowledged a write.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.base import RoleSample, as_ops, leader_intervals, quantiles, role_samples
from harness.checkers.result import (
    TypedResult,
    Verdict,
    as_int,
    as_map,
    dicts,
    is_number,
    opt_float,
    parse_list,
    text,
)
from harness.core.history import Op, OpPair, pair_ops

NAME = "dirty-reads"
STALE_LIST_CAP = 100
_OP_LIST_CAP = 100
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Spread:
    """Median, 99th percentile and maximum of a measure (None: nothing measured)."""

    p50: float | None = None
    p99: float | None = None
    max: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"p50": self.p50, "p99": self.p99, "max": self.max}

    @classmethod
    def from_json(cls, value: Any) -> Spread:
        data = as_map(value)
        return cls(
            opt_float(data.get("p50")), opt_float(data.get("p99")), opt_float(data.get("max"))
        )


@dataclass(frozen=True)
class StaleRead:
    """A dirty read behind the acknowledged writes of its key."""

    op: dict[str, Any]  # the read's completion, as a history line
    staleness_ms: float
    versions_behind: int

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "staleness_ms": self.staleness_ms,
            "versions_behind": self.versions_behind,
        }

    @classmethod
    def from_json(cls, value: Any) -> StaleRead | None:
        if not isinstance(value, dict) or not is_number(value.get("staleness_ms")):
            return None
        op = value.get("op")
        return cls(
            op if isinstance(op, dict) else {},
            float(value["staleness_ms"]),
            as_int(value.get("versions_behind")),
        )


@dataclass(kw_only=True, repr=False)
class DirtyReadsResult(TypedResult):
    """Unmarked follower reads and reads of never-written values (the verdict), and staleness."""

    NAME: ClassVar[str] = NAME
    reads: int = 0
    dirty_reads: int = 0
    unmarked: list[dict[str, Any]] = field(default_factory=list)  # the first _OP_LIST_CAP
    unmarked_count: int = 0
    never_written: list[dict[str, Any]] = field(default_factory=list)
    never_written_count: int = 0
    rolled_back: list[dict[str, Any]] = field(default_factory=list)
    rolled_back_count: int = 0
    stale_count: int = 0
    staleness_ms: Spread = field(default_factory=Spread)
    versions_behind: Spread = field(default_factory=Spread)
    stale_reads: list[StaleRead] = field(default_factory=list)  # the first STALE_LIST_CAP

    def evidence_json(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "dirty-reads": self.dirty_reads,
            "unmarked": self.unmarked,
            "unmarked-count": self.unmarked_count,
            "never-written": self.never_written,
            "never-written-count": self.never_written_count,
            "rolled-back": self.rolled_back,
            "rolled-back-count": self.rolled_back_count,
            "staleness": {
                "count": self.stale_count,
                "time-ms": self.staleness_ms.to_json(),
                "versions": self.versions_behind.to_json(),
            },
            "stale-reads": [s.to_json() for s in self.stale_reads],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DirtyReadsResult:
        unmarked = dicts(data.get("unmarked"))
        never = dicts(data.get("never-written"))
        rolled = dicts(data.get("rolled-back"))
        staleness = as_map(data.get("staleness"))
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            reads=as_int(data.get("reads")),
            dirty_reads=as_int(data.get("dirty-reads")),
            unmarked=unmarked,
            unmarked_count=as_int(data.get("unmarked-count"), len(unmarked)),
            never_written=never,
            never_written_count=as_int(data.get("never-written-count"), len(never)),
            rolled_back=rolled,
            rolled_back_count=as_int(data.get("rolled-back-count"), len(rolled)),
            stale_count=as_int(staleness.get("count")),
            staleness_ms=Spread.from_json(staleness.get("time-ms")),
            versions_behind=Spread.from_json(staleness.get("versions")),
            stale_reads=parse_list(data.get("stale-reads"), StaleRead.from_json),
        )


@dataclass
class _Write:
    value: Hashable
    invoke_time: int
    complete_time: int | None  # None unless acknowledged


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value  # type: ignore[no-any-return]


def _split(value: Any) -> tuple[Hashable, Any] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        return _hashable(value[0]), value[1]
    return None


UNSEEN_ROLES = frozenset({"down", "unknown"})  # the sampler got no answer: no evidence


class _Leadership:
    """Answers "was ``node`` a follower around ``[start, end]``?" from role samples or acks.

    Only evidence counts. A node is a follower for a read when no leader claim
    of it overlaps the read (with the sampling slack) and the node's answered
    samples nearest the read on either side say it was not leading. A sample
    the sampler got no answer for (``down``: a partition, a pause, a loaded
    machine) says nothing either way, so a read in a gap between two leader
    samples is the leader's, not an unmarked follower read.
    """

    def __init__(self, samples: Sequence[RoleSample], pairs: Sequence[OpPair]) -> None:
        self.by_node: dict[str, list[tuple[int, int]]] = {}
        for node, start, end in leader_intervals(samples):
            self.by_node.setdefault(node, []).append((start, end))
        self.sampled = {s.node for s in samples}
        answered: dict[str, list[RoleSample]] = {}
        for s in sorted(samples, key=lambda s: s.time):
            if s.role not in UNSEEN_ROLES:
                answered.setdefault(s.node, []).append(s)
        self.answered = answered
        self.answered_times = {n: [s.time for s in ss] for n, ss in answered.items()}
        self.ack_nodes = {
            p.complete.node
            for p in pairs
            if p.complete is not None and p.complete.type == "ok" and p.invoke.f == "write"
        }
        self.has_roles = bool(samples)

    def follower(self, node: str, start: int, end: int) -> bool:
        if not self.has_roles or node not in self.sampled:
            return node not in self.ack_nodes
        slack = 1_000_000_000  # sampling is a few times a second
        for s, e in self.by_node.get(node, ()):
            if s - slack <= end and e + slack >= start:
                return False
        samples = self.answered.get(node, [])
        times = self.answered_times.get(node, [])
        before = bisect.bisect_right(times, end) - 1  # the last answered sample by the end
        after = bisect.bisect_left(times, start)  # the first one from the start on
        near = [samples[i] for i in (before, after) if 0 <= i < len(samples)]
        if not near:
            return node not in self.ack_nodes
        return all(s.role != "leader" for s in near)


def check_dirty_reads(
    ops: Sequence[Op],
    roles: Sequence[RoleSample] = (),
    rolled_back: Iterable[tuple[Any, Any]] = (),
) -> DirtyReadsResult:
    """Judge the reads of a dirty-read history (see the module docstring)."""
    pairs = pair_ops(ops)
    leadership = _Leadership(roles, pairs)
    rolled = {(_hashable(k), _hashable(v)) for k, v in rolled_back}

    writes: dict[Hashable, list[_Write]] = {}
    for p in pairs:
        if p.invoke.f != "write" or p.type == "fail":
            continue
        kv = _split(p.invoke.value)
        if kv is None:
            continue
        acked = p.complete is not None and p.complete.type == "ok"
        done_time = p.complete.time if acked and p.complete is not None else None
        writes.setdefault(kv[0], []).append(_Write(_hashable(kv[1]), p.invoke.time, done_time))
    acked_times: dict[Hashable, list[tuple[int, int]]] = {}
    by_value: dict[tuple[Hashable, Hashable], _Write] = {}
    for key, ws in writes.items():
        acked_times[key] = sorted(
            (w.complete_time, w.invoke_time) for w in ws if w.complete_time is not None
        )
        for w in ws:
            by_value.setdefault((key, w.value), w)

    reads = unmarked = 0
    unmarked_ops: list[dict[str, Any]] = []
    never_written: list[dict[str, Any]] = []
    rolled_reads: list[dict[str, Any]] = []
    stale: list[StaleRead] = []
    ms_all: list[float] = []
    versions_all: list[int] = []
    dirty_count = 0
    for p in pairs:
        done = p.complete
        if p.invoke.f != "read" or done is None or done.type != "ok":
            continue
        kv = _split(done.value)
        if kv is None:
            continue
        reads += 1
        key, raw = kv
        value = _hashable(raw)
        if done.dirty is not True and _served_by_follower(done, p.invoke, leadership):
            unmarked += 1
            if len(unmarked_ops) < _OP_LIST_CAP:
                unmarked_ops.append(done.to_dict())
        written = by_value.get((key, value))
        if value is not None and written is None:
            never_written.append(done.to_dict())
            continue
        if (key, value) in rolled:
            rolled_reads.append(done.to_dict())
        if done.dirty is not True:
            continue
        dirty_count += 1
        behind, since = _staleness(acked_times.get(key, []), written, p.invoke.time)
        staleness_ms = since / _NS_PER_MS
        ms_all.append(staleness_ms)
        versions_all.append(behind)
        if behind and len(stale) < STALE_LIST_CAP:
            stale.append(StaleRead(done.to_dict(), staleness_ms, behind))

    time_q = quantiles(ms_all, (0.5, 0.99, 1))
    ver_q = quantiles(versions_all, (0.5, 0.99, 1))
    stale_count = sum(1 for v in versions_all if v)
    summary = (
        f"{reads} reads ({dirty_count} dirty): {unmarked} unmarked follower reads, "
        f"{len(never_written)} of never-written values, {len(rolled_reads)} of rolled-back values, "
        f"{stale_count} stale (max {ver_q.get('1', 0)} versions behind)"
    )
    return DirtyReadsResult(
        verdict=Verdict.INVALID if unmarked or never_written else Verdict.VALID,
        summary=summary,
        reads=reads,
        dirty_reads=dirty_count,
        unmarked=unmarked_ops,
        unmarked_count=unmarked,
        never_written=never_written[:_OP_LIST_CAP],
        never_written_count=len(never_written),
        rolled_back=rolled_reads[:_OP_LIST_CAP],
        rolled_back_count=len(rolled_reads),
        stale_count=stale_count,
        staleness_ms=Spread(time_q.get("0.5"), time_q.get("0.99"), time_q.get("1")),
        versions_behind=Spread(ver_q.get("0.5"), ver_q.get("0.99"), ver_q.get("1")),
        stale_reads=stale,
    )


def _served_by_follower(done: Op, invoke: Op, leadership: _Leadership) -> bool:
    role = done.extra.get("role")
    if role in ("follower", "leader"):
        return bool(role == "follower")
    if done.node is None:
        return False
    return leadership.follower(done.node, invoke.time, done.time)


def _staleness(
    acked: list[tuple[int, int]], written: _Write | None, read_start: int
) -> tuple[int, int]:
    """``(versions behind, ns since first superseded)`` of a read that returned ``written``."""
    if written is not None and written.complete_time is None:
        return 0, 0  # an unacknowledged write may have taken effect at any later time
    after = -1 if written is None or written.complete_time is None else written.complete_time
    upto = bisect.bisect_left(acked, (read_start, -1))
    newer = [done for done, invoked in acked[:upto] if invoked > after]
    if not newer:
        return 0, 0
    return len(newer), read_start - min(newer)


def check(
    history: Sequence[Op | dict[str, Any]],
    roles: Iterable[dict[str, Any]] = (),
    rolled_back: Iterable[tuple[Any, Any]] = (),
) -> DirtyReadsResult:
    """Run-directory entry point: history and ``roles.jsonl`` lines as decoded JSON."""
    return check_dirty_reads(as_ops(history), role_samples(roles), rolled_back)
