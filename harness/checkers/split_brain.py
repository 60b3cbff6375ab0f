"""Split-brain: did two servers acknowledge writes in overlapping time?

**Overlapping writes** (the promise-table property, decides validity): two
acknowledged writes answered by different servers whose intervals overlap in
real time, with the overlap length. An acknowledgement happens somewhere in
its op's interval, so an overlap means the two servers may have been
acknowledging at the same moment. A failover-aware client that was redirected
and retried would stretch that interval back to before the new leader
existed; when a completion carries ``attempt_time`` (ns, when the request
that was acknowledged was sent), the interval starts there instead.

**Overlapping claims** (reported only): two servers whose ``roles.jsonl``
samples both claimed ``leader`` over overlapping sample intervals (a claim
holds from its sample until that node's next sample). Claims alone are
harmless when the old leader is fenced.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.base import RoleSample, as_ops, role_samples
from harness.checkers.result import (
    TypedResult,
    Verdict,
    as_int,
    as_list,
    opt_int,
    parse_list,
    str_list,
    text,
)
from harness.core.history import Op, pair_ops

NAME = "split-brain"
WRITE_FUNCTIONS = frozenset({"write", "cas", "add", "append", "insert", "update", "delete"})
PAIR_LIST_CAP = 100


@dataclass(frozen=True)
class WritePair:
    """Two acknowledged writes of different servers whose intervals overlap."""

    a: dict[str, Any]  # the completion as a history line, plus ``invoke_time``
    b: dict[str, Any]
    nodes: tuple[str, str]
    overlap_ns: int

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "nodes": list(self.nodes), "overlap_ns": self.overlap_ns}

    @classmethod
    def from_json(cls, value: Any) -> WritePair | None:
        if not isinstance(value, dict):
            return None
        a, b = value.get("a"), value.get("b")
        nodes = str_list(as_list(value.get("nodes")))
        return cls(
            a=a if isinstance(a, dict) else {},
            b=b if isinstance(b, dict) else {},
            nodes=(nodes[0], nodes[1]) if len(nodes) == 2 else ("?", "?"),
            overlap_ns=as_int(value.get("overlap_ns")),
        )


@dataclass(frozen=True)
class ClaimOverlap:
    """Two servers both claiming leadership from ``start`` to ``end`` (ns)."""

    nodes: tuple[str, ...]
    start: int
    end: int

    @property
    def duration_ns(self) -> int:
        return self.end - self.start

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes),
            "start": self.start,
            "end": self.end,
            "duration_ns": self.duration_ns,
        }

    @classmethod
    def from_json(cls, value: Any) -> ClaimOverlap | None:
        if not isinstance(value, dict) or not isinstance(value.get("nodes"), list):
            return None
        start, end = opt_int(value.get("start")), opt_int(value.get("end"))
        if start is None or end is None:
            return None
        return cls(tuple(str_list(value["nodes"])), start, end)


@dataclass(kw_only=True, repr=False)
class SplitBrainResult(TypedResult):
    """Overlapping acknowledged writes of two servers (the verdict) and overlapping claims."""

    NAME: ClassVar[str] = NAME
    overlapping_writes: list[WritePair] = field(default_factory=list)  # the first PAIR_LIST_CAP
    overlap_count: int = 0  # every overlapping pair, listed or not
    overlapping_claims: list[ClaimOverlap] = field(default_factory=list)
    acknowledged_writes: int = 0
    servers: list[str] = field(default_factory=list)

    def evidence_json(self) -> dict[str, Any]:
        return {
            "overlapping-writes": [p.to_json() for p in self.overlapping_writes],
            "overlapping-claims": [c.to_json() for c in self.overlapping_claims],
            "overlap-count": self.overlap_count,
            "claims-count": len(self.overlapping_claims),
            "acknowledged-writes": self.acknowledged_writes,
            "servers": self.servers,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplitBrainResult:
        pairs = parse_list(data.get("overlapping-writes"), WritePair.from_json)
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            overlapping_writes=pairs,
            overlap_count=as_int(data.get("overlap-count"), len(pairs)),
            overlapping_claims=parse_list(data.get("overlapping-claims"), ClaimOverlap.from_json),
            acknowledged_writes=as_int(data.get("acknowledged-writes")),
            servers=str_list(as_list(data.get("servers"))),
        )


@dataclass(slots=True)
class _Ack:
    start: int
    end: int
    node: str
    invoke: Op
    complete: Op


def _acks(ops: Sequence[Op], functions: frozenset[str]) -> list[_Ack]:
    acks: list[_Ack] = []
    for p in pair_ops(ops):
        done = p.complete
        if done is None or done.type != "ok" or p.invoke.f not in functions or not done.node:
            continue
        start = p.invoke.time
        attempt = done.extra.get("attempt_time")
        if isinstance(attempt, int) and start < attempt <= done.time:
            start = attempt
        acks.append(_Ack(start, done.time, done.node, p.invoke, done))
    acks.sort(key=lambda a: a.start)
    return acks


def overlapping_writes(
    acks: Sequence[_Ack], cap: int = PAIR_LIST_CAP
) -> tuple[int, list[WritePair]]:
    """The number of cross-server overlapping pairs, and the first ``cap`` of them.

    A sweep in start order keeps, per server, a heap of the ends of writes still
    open, so the count costs ``O(n log n)`` however many pairs there are.
    """
    open_by_node: dict[str, list[tuple[int, int]]] = {}
    count = 0
    pairs: list[WritePair] = []
    for i, w in enumerate(acks):
        for heap in open_by_node.values():
            while heap and heap[0][0] <= w.start:
                heapq.heappop(heap)
        for node, heap in open_by_node.items():
            if node == w.node or not heap:
                continue
            count += len(heap)
            if len(pairs) < cap:
                for end, j in sorted(heap, key=lambda item: item[1]):
                    if len(pairs) >= cap:
                        break
                    a = acks[j]
                    pairs.append(
                        WritePair(
                            _pair_op(a), _pair_op(w), (a.node, w.node), min(end, w.end) - w.start
                        )
                    )
        heapq.heappush(open_by_node.setdefault(w.node, []), (w.end, i))
    pairs.sort(key=lambda p: -p.overlap_ns)
    return count, pairs


def _pair_op(a: _Ack) -> dict[str, Any]:
    out = a.complete.to_dict()
    out["invoke_time"] = a.invoke.time
    out["value"] = a.invoke.value if out.get("value") is None else out["value"]
    return out


def claim_intervals(samples: Sequence[RoleSample]) -> list[tuple[str, int, int]]:
    """Per node, ``(node, start, end)`` of leadership claims: a run of ``leader`` samples,
    extended to the node's next sample (the claim stood until then)."""
    by_node: dict[str, list[RoleSample]] = {}
    for s in samples:
        by_node.setdefault(s.node, []).append(s)
    runs: list[tuple[str, int, int]] = []
    for node, seq in by_node.items():
        start: int | None = None
        for k, s in enumerate(seq):
            if s.role == "leader" and start is None:
                start = s.time
            if start is not None and (k + 1 == len(seq) or seq[k + 1].role != "leader"):
                end = seq[k + 1].time if k + 1 < len(seq) else s.time
                runs.append((node, start, end))
                start = None
    runs.sort(key=lambda r: r[1])
    return runs


def overlapping_claims(samples: Sequence[RoleSample]) -> list[ClaimOverlap]:
    """Pairs of different nodes whose leadership claims overlap (positive length)."""
    runs = claim_intervals(samples)
    found: list[ClaimOverlap] = []
    for i, (node_a, _start_a, end_a) in enumerate(runs):
        for node_b, start_b, end_b in runs[i + 1 :]:
            if start_b >= end_a:
                break
            if node_b == node_a:
                continue
            end = min(end_a, end_b)
            if end > start_b:
                found.append(ClaimOverlap(tuple(sorted([node_a, node_b])), start_b, end))
    return found


def check_split_brain(
    ops: Sequence[Op],
    roles: Sequence[RoleSample] = (),
    functions: Iterable[str] = WRITE_FUNCTIONS,
) -> SplitBrainResult:
    """Judge a history (and optional role samples) for split-brain."""
    acks = _acks(ops, frozenset(functions))
    count, pairs = overlapping_writes(acks)
    claims = overlapping_claims(roles)
    longest = max((p.overlap_ns for p in pairs), default=0)
    servers = sorted({a.node for a in acks})
    summary = (
        f"{len(acks)} acknowledged writes by {len(servers)} servers: "
        f"{count} overlapping pairs across servers (longest listed {longest / 1e6:.1f} ms); "
        f"{len(claims)} overlapping leadership claims"
    )
    return SplitBrainResult(
        verdict=Verdict.VALID if count == 0 else Verdict.INVALID,
        summary=summary,
        overlapping_writes=pairs,
        overlap_count=count,
        overlapping_claims=claims,
        acknowledged_writes=len(acks),
        servers=servers,
    )


def check(
    history: Sequence[Op | dict[str, Any]], roles: Iterable[dict[str, Any]] = ()
) -> SplitBrainResult:
    """Run-directory entry point: history and ``roles.jsonl`` lines as decoded JSON."""
    return check_split_brain(as_ops(history), role_samples(roles))
