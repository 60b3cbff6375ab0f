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
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import CheckResult, RoleSample, Validity, as_ops, role_samples
from harness.core.history import Op, pair_ops

NAME = "split-brain"
WRITE_FUNCTIONS = frozenset({"write", "cas", "add", "append", "insert", "update", "delete"})
PAIR_LIST_CAP = 100


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
) -> tuple[int, list[dict[str, Any]]]:
    """The number of cross-server overlapping pairs, and the first ``cap`` of them.

    A sweep in start order keeps, per server, a heap of the ends of writes still
    open, so the count costs ``O(n log n)`` however many pairs there are.
    """
    open_by_node: dict[str, list[tuple[int, int]]] = {}
    count = 0
    pairs: list[dict[str, Any]] = []
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
                        {
                            "a": _pair_op(a),
                            "b": _pair_op(w),
                            "nodes": [a.node, w.node],
                            "overlap_ns": min(end, w.end) - w.start,
                        }
                    )
        heapq.heappush(open_by_node.setdefault(w.node, []), (w.end, i))
    pairs.sort(key=lambda p: -int(p["overlap_ns"]))
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


def overlapping_claims(samples: Sequence[RoleSample]) -> list[dict[str, Any]]:
    """Pairs of different nodes whose leadership claims overlap (positive length)."""
    runs = claim_intervals(samples)
    found: list[dict[str, Any]] = []
    for i, (node_a, _start_a, end_a) in enumerate(runs):
        for node_b, start_b, end_b in runs[i + 1 :]:
            if start_b >= end_a:
                break
            if node_b == node_a:
                continue
            end = min(end_a, end_b)
            if end > start_b:
                found.append(
                    {
                        "nodes": sorted([node_a, node_b]),
                        "start": start_b,
                        "end": end,
                        "duration_ns": end - start_b,
                    }
                )
    return found


def check_split_brain(
    ops: Sequence[Op],
    roles: Sequence[RoleSample] = (),
    functions: Iterable[str] = WRITE_FUNCTIONS,
) -> CheckResult:
    """Judge a history (and optional role samples) for split-brain."""
    acks = _acks(ops, frozenset(functions))
    count, pairs = overlapping_writes(acks)
    claims = overlapping_claims(roles)
    valid: Validity = count == 0
    longest = max((int(p["overlap_ns"]) for p in pairs), default=0)
    servers = sorted({a.node for a in acks})
    summary = (
        f"{len(acks)} acknowledged writes by {len(servers)} servers: "
        f"{count} overlapping pairs across servers (longest listed {longest / 1e6:.1f} ms); "
        f"{len(claims)} overlapping leadership claims"
    )
    evidence: dict[str, Any] = {
        "overlapping-writes": pairs,
        "overlapping-claims": claims,
        "overlap-count": count,
        "claims-count": len(claims),
        "acknowledged-writes": len(acks),
        "servers": servers,
    }
    return CheckResult(NAME, valid, summary, evidence)


def check(
    history: Sequence[Op | dict[str, Any]], roles: Iterable[dict[str, Any]] = ()
) -> CheckResult:
    """Run-directory entry point: history and ``roles.jsonl`` lines as decoded JSON."""
    return check_split_brain(as_ops(history), role_samples(roles))
