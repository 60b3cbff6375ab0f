"""Synthetic run directories shaped like the runner's output, for report tests.

``make_set_run`` plays 3 client processes adding unique elements to a set on a
3-server async cluster while ``partition-leader`` cuts s1 off from the agency
and its followers: s1 keeps acknowledging writes for a while, s2 is promoted,
s1 returns as a follower and drops what it never replicated (the lost writes).
``make_register_run`` and ``make_dirty_read_run`` cover the other workloads.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.checkers.base import Checker, RunData, Verdict
from harness.checkers.catalog import (
    AvailabilityChecker,
    DirtyReadsChecker,
    SetFullChecker,
    SplitBrainChecker,
)
from harness.checkers.linearizable_result import (
    LinearizabilityFailure,
    LinearizableResult,
    window_ops,
)
from harness.core.checks import judge
from harness.core.promises import applied_families

MS = 1_000_000
S = 1_000_000_000
SERVERS = ("s1", "s2", "s3")


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")


class _History:
    """Builds a history: ops appended in any order, sorted by time, indexed at the end."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def op(
        self,
        process: int | str,
        f: str,
        start: int,
        end: int | None,
        outcome: str,
        value: Any,
        result: Any = None,
        **extra: Any,
    ) -> None:
        self.entries.append(
            {"type": "invoke", "process": process, "f": f, "value": value, "time": start}
        )
        if end is not None:
            done = {"type": outcome, "process": process, "f": f, "time": end}
            done["value"] = value if result is None else result
            done.update({k: v for k, v in extra.items() if v is not None})
            self.entries.append(done)

    def nemesis(self, f: str, t: int, value: Any) -> None:
        self.entries.append(
            {"type": "info", "process": "nemesis", "f": f, "value": value, "time": t}
        )

    def finish(self) -> list[dict[str, Any]]:
        ordered = sorted(self.entries, key=lambda e: (e["time"], e["type"] != "invoke"))
        for i, entry in enumerate(ordered):
            entry["index"] = i
        return ordered


def _roles(
    duration: int,
    leader_at: Any,
    down: Any = None,
    failover: int | None = None,
    step: int = 250 * MS,
) -> list[dict[str, Any]]:
    """Role samples every ``step`` ns; ``leader_at(t, node)`` says whether node claims leadership."""
    samples: list[dict[str, Any]] = []
    for t in range(0, duration + 1, step):
        for node in SERVERS:
            if down is not None and down(t, node):
                samples.append(
                    {
                        "time": t + 3 * MS,
                        "node": node,
                        "role": "down",
                        "epoch": None,
                        "leader": None,
                        "last_tick": None,
                    }
                )
                continue
            lead = leader_at(t, node)
            samples.append(
                {
                    "time": t + 3 * MS,
                    "node": node,
                    "role": "leader" if lead else "follower",
                    "epoch": 2 if failover and t >= failover and node != "s1" else 1,
                    "leader": node if lead else ("s2" if failover and t >= failover else "s1"),
                    "last_tick": t // MS,
                }
            )
    return samples


def _test_json(name: str, workload: str, nemesis: str, seed: int, duration: int) -> dict[str, Any]:
    return {
        "name": name,
        "workload": workload,
        "nemesis": nemesis,
        "replication": "async",
        "backend": "local",
        "seed": seed,
        "time_limit": duration / S,
        "concurrency": 3,
        "cluster": {"agents": 3, "servers": len(SERVERS), "replication": "async"},
        "nodes": [{"id": n, "kind": "server"} for n in SERVERS]
        + [{"id": a, "kind": "agent"} for a in ("a1", "a2", "a3")],
    }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class _Given:
    """A checker whose result is given (a hand-made linearizability failure)."""

    name = "linearizable"
    result_type = LinearizableResult

    def __init__(self, result: LinearizableResult) -> None:
        self.result = result

    def check(self, run: RunData) -> LinearizableResult:
        return self.result


def _judged(
    run: Path, checkers: Sequence[Checker], rollbacks: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """results.json as the runner writes it: the real checkers and promise table, async mode."""
    data = RunData(
        history=_read_jsonl(run / "history.jsonl"),
        nemesis=_read_jsonl(run / "nemesis.jsonl"),
        roles=_read_jsonl(run / "roles.jsonl"),
        rollbacks=list(rollbacks or []),
    )
    judged = judge(data, checkers, "async", applied_families(data.nemesis))
    return {**judged, "seed": 0, "notes": []}


def _node_logs(run: Path) -> None:
    for node in (*SERVERS, "a1"):
        folder = run / "nodes" / node
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{node}.log").write_text(f"{node} started\n", encoding="utf-8")


PARTITION_START, PARTITION_END = 10 * S, 20 * S
LEASE_EXPIRY, PROMOTION = 11_500 * MS, 13 * S


def make_set_run(
    run: Path,
    seed: int = 7,
    rate_per_process: float = 8.0,
    duration_s: int = 30,
    read_share: float = 0.03,
) -> Path:
    """A set workload under partition-leader with lost writes, a failover and role samples."""
    rng = random.Random(seed)
    run.mkdir(parents=True, exist_ok=True)
    duration = duration_s * S
    history = _History()
    history.nemesis("start", PARTITION_START, {"fault": "partition-leader", "nodes": ["s1"]})
    history.nemesis("stop", PARTITION_END, {"fault": "partition-leader", "nodes": ["s1"]})
    element = 0
    acked: dict[int, tuple[int, str]] = {}
    lost: list[int] = []
    reads: list[tuple[int, int]] = []  # (process, start)
    gap = int(S / rate_per_process)
    for worker in range(3):
        process, t = worker, rng.randrange(gap)
        while t < duration - 2 * S:
            element += 1
            latency = int(rng.lognormvariate(1.2, 0.6) * MS)
            if t < LEASE_EXPIRY or t >= PROMOTION:
                node = "s1" if t < PROMOTION else "s2"
                if PARTITION_START <= t < LEASE_EXPIRY and rng.random() < 0.05:
                    # the reply was lost on the cut link: the client does not know
                    # (the worker goes on at once under a new process id)
                    history.op(process, "add", t, t + S, "info", element, error="timeout")
                    process += 3
                    t += gap
                    continue
                history.op(process, "add", t, t + latency, "ok", element, node=node)
                acked[element] = (t + latency, node)
                if PARTITION_START <= t < LEASE_EXPIRY:
                    lost.append(element)
            else:
                history.op(
                    process,
                    "add",
                    t,
                    t + latency,
                    "fail",
                    element,
                    error={"code": 503, "errorNum": 1495, "errorMessage": "leadership vacuum"},
                    node=rng.choice(SERVERS),
                )
            if rng.random() < read_share:
                reads.append((process, t + latency + MS))
            t += gap + rng.randrange(gap // 4 + 1)
    for process, start in reads:  # what the leader held when the read began
        if LEASE_EXPIRY <= start < PROMOTION:
            continue  # no leader: nothing answers
        node = "s1" if start < PROMOTION else "s2"
        held = [
            e for e, (done, by) in acked.items() if done < start and (by == node or e not in lost)
        ]
        history.op(
            process, "read", start, start + 5 * MS, "ok", None, result=sorted(held), node=node
        )
    final = sorted(e for e in acked if e not in lost)
    history.op(0, "read", duration - S, duration - S + 20 * MS, "ok", None, result=final, node="s2")
    ops = history.finish()
    _write_jsonl(run / "history.jsonl", ops)
    (run / "history.edn").write_text("; exported\n", encoding="utf-8")
    _write_jsonl(
        run / "nemesis.jsonl",
        [
            {
                "id": 1,
                "event": "start",
                "fault": "partition-leader",
                "time": PARTITION_START,
                "nodes": ["s1"],
                "links": [["s1", "a1"], ["s1", "a2"], ["s1", "s2"]],
                "detail": {"leader": "s1"},
            },
            {
                "id": 1,
                "event": "end",
                "fault": "partition-leader",
                "time": PARTITION_END,
                "nodes": ["s1"],
                "links": [],
                "detail": {},
            },
        ],
    )

    def leads(t: int, node: str) -> bool:
        return (node == "s1" and t < 13_400 * MS) or (node == "s2" and t >= PROMOTION)

    _write_jsonl(run / "roles.jsonl", _roles(duration, leads, failover=PROMOTION))
    _write_json(
        run / "test.json",
        _test_json("set-partition-leader-async", "set", "partition-leader", seed, duration),
    )
    _node_logs(run)
    # s1 keeps what it drops on rejoining in its rollback file
    rollbacks = [
        {"server": "s1", "collection": "set", "key": str(e), "doc": {"_key": str(e), "value": e}}
        for e in lost
    ]
    _write_json(run / "rollbacks.json", rollbacks)
    checkers: list[Checker] = [SetFullChecker("set"), SplitBrainChecker(), AvailabilityChecker()]
    results = _judged(run, checkers, rollbacks)
    _write_json(run / "results.json", results)
    return run


def make_register_run(run: Path, seed: int = 11, weird: str = "") -> Path:
    """A register workload with one non-linearizable key; ``weird`` is put into user data."""
    rng = random.Random(seed)
    run.mkdir(parents=True, exist_ok=True)
    duration = 20 * S
    history = _History()
    history.nemesis("start", 5 * S, {"fault": "kill", "nodes": ["s1"]})
    history.nemesis("stop", 9 * S, {"fault": "kill", "nodes": ["s1"]})
    for process in range(5):
        t = rng.randrange(50 * MS)
        while t < duration - S:
            key = rng.randrange(3)
            f = rng.choice(["read", "write", "cas"])
            latency = int(rng.lognormvariate(1.5, 0.7) * MS)
            v: Any = rng.randrange(5)
            if f == "cas":
                v = [rng.randrange(5), rng.randrange(5)]
            outcome = "ok" if rng.random() < 0.9 else "fail"
            if f == "read":
                history.op(
                    process, f, t, t + latency, outcome, [key, None], result=[key, v], node="s1"
                )
            else:
                history.op(process, f, t, t + latency, outcome, [key, v], node="s1")
            t += 150 * MS + rng.randrange(100 * MS)
    ops = history.finish()
    _write_jsonl(run / "history.jsonl", ops)
    _write_jsonl(
        run / "nemesis.jsonl",
        [
            {
                "id": 1,
                "event": "start",
                "fault": "kill",
                "time": 5 * S,
                "nodes": ["s1"],
                "links": [],
                "detail": {"signal": "KILL", "note": weird},
            },
            {
                "id": 1,
                "event": "end",
                "fault": "kill",
                "time": 9 * S,
                "nodes": ["s1"],
                "links": [],
                "detail": {},
            },
        ],
    )
    _write_jsonl(
        run / "roles.jsonl",
        _roles(
            duration, lambda t, n: n == "s1", down=lambda t, n: n == "s1" and 5 * S <= t < 9 * S
        ),
    )
    test = _test_json(f"register-kill{weird}", "register", "kill", seed, duration)
    _write_json(run / "test.json", test)
    window = [op for op in ops if op["process"] != "nemesis" and op["value"][0] == 1][:12]
    odd = [{"process": 9, "type": "ok", "f": "write", "value": [weird, 1], "time": 2 * S}]
    failures = [
        LinearizabilityFailure(
            1, f"read of 3 after write of 4 completed {weird}", window, window_ops(window)
        ),
        LinearizabilityFailure(weird or "k", weird, odd, window_ops(odd)),
    ]
    linearizable = LinearizableResult(
        verdict=Verdict.INVALID,
        summary=f"key 1 is not linearizable {weird}",
        check_time_s=0.42,
        failures=failures,
        keys_checked=3,
    )
    checkers: list[Checker] = [_Given(linearizable), SplitBrainChecker(), AvailabilityChecker()]
    results = _judged(run, checkers)
    results["checkers"][weird or "extra"] = {"valid": "unknown", "summary": weird or "no verdict"}
    results["promises"][f"leader reads and writes are linearizable{weird}"] = {
        "status": "measured",
        "holds": False,
        "evidence": {"failures": 1, "note": weird},
    }
    _write_json(run / "results.json", results)
    return run


def make_dirty_read_run(run: Path, seed: int = 5) -> Path:
    """Leader writes and marked dirty reads on followers, with measured staleness."""
    rng = random.Random(seed)
    run.mkdir(parents=True, exist_ok=True)
    duration = 15 * S
    history = _History()
    written: dict[int, list[int]] = {0: [], 1: []}  # key -> completion time of write i+1
    for process in range(3):
        t = rng.randrange(20 * MS)
        while t < duration - S:
            key = rng.randrange(2)
            latency = int(rng.lognormvariate(1.0, 0.5) * MS)
            if process == 0:
                written[key].append(t + latency)
                value = len(written[key])
                history.op(process, "write", t, t + latency, "ok", [key, value], node="s1")
            else:
                latest = sum(1 for done in written[key] if done < t)
                seen = max(0, latest - rng.choice([0, 0, 1, 2]))
                history.op(
                    process,
                    "read",
                    t,
                    t + latency,
                    "ok",
                    [key, None],
                    result=[key, seen or None],
                    node="s2" if process == 1 else "s3",
                    dirty=True,
                    allow_dirty=True,
                )
            t += 60 * MS + rng.randrange(40 * MS)
    _write_jsonl(run / "history.jsonl", history.finish())
    _write_jsonl(run / "nemesis.jsonl", [])
    _write_jsonl(run / "roles.jsonl", _roles(duration, lambda t, n: n == "s1"))
    _write_json(
        run / "test.json", _test_json("dirty-read-none", "dirty-read", "none", seed, duration)
    )
    checkers: list[Checker] = [DirtyReadsChecker(), SplitBrainChecker(), AvailabilityChecker()]
    results = _judged(run, checkers, rollbacks=[])
    _write_json(run / "results.json", results)
    return run
