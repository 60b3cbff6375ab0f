"""What the report draws straight from the raw files, for display only.

Faults as applied (``nemesis.jsonl``, else the history's nemesis ops, paired
by the checkers' own parser), each server's claimed roles as segments
(``roles.jsonl``) and the run's extent. Nothing here is a verdict or a
measure: those come from ``results.json``. Times are seconds since the test
started, the unit the report shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import fault_windows
from harness.checkers.result import is_number, opt_float
from reports.rundir import RunDir

NS = 1e9
NEMESIS_PROCESS = "nemesis"


def seconds(value: Any) -> float | None:
    """ns (a number) as seconds; anything else None."""
    return float(value) / NS if is_number(value) else None


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort s2 before s10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


@dataclass
class Fault:
    """One applied fault, from its start to its end (``open`` when it never ended)."""

    name: str
    start: float
    end: float
    nodes: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    open: bool = False

    def label(self) -> str:
        touched = ",".join(self.nodes) if self.nodes else ""
        return f"{self.name} {touched}".strip()


@dataclass(frozen=True)
class RoleSegment:
    """A run of equal (role, epoch) samples of one node, until its next different sample."""

    node: str
    role: str
    start: float
    end: float
    epoch: str = ""
    leader: str = ""


def run_end(run: RunDir) -> float:
    """The last time anything was recorded, in s."""
    times = [opt_float(r.get("time")) for r in (*run.history, *run.nemesis, *run.roles)]
    return max((t / NS for t in times if t is not None), default=0.0)


def faults(run: RunDir, end: float) -> list[Fault]:
    """Faults of ``nemesis.jsonl`` (else of the history's nemesis ops); open ones run to ``end``."""
    if run.has("nemesis.jsonl"):
        events = run.nemesis
    else:
        events = [op for op in run.history if op.get("process") == NEMESIS_PROCESS]
    found = []
    for w in fault_windows(events):
        start = w.start / NS
        found.append(
            Fault(
                name=w.fault,
                start=start,
                end=max(w.end / NS, start) if w.end is not None else max(end, start),
                nodes=list(w.nodes),
                links=list(w.links),
                detail=dict(w.detail),
                open=w.end is None,
            )
        )
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def role_segments(roles: list[dict[str, Any]], end: float) -> list[RoleSegment]:
    """Per node, runs of the same claimed role and epoch, each lasting to the node's next
    different sample (the last to ``end``)."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    for sample in roles:
        if is_number(sample.get("time")):
            by_node.setdefault(_text(sample.get("node")), []).append(sample)
    segments: list[RoleSegment] = []
    for node, samples in by_node.items():
        samples.sort(key=lambda s: float(s["time"]))
        run: dict[str, Any] | None = None
        for sample in samples:
            t = float(sample["time"]) / NS
            state = (_text(sample.get("role")), _text(sample.get("epoch")))
            if run is not None and run["state"] == state:
                continue
            if run is not None:
                segments.append(_segment(node, run, t))
            run = {"state": state, "start": t, "leader": _text(sample.get("leader"))}
        if run is not None:
            segments.append(_segment(node, run, max(end, run["start"])))
    segments.sort(key=lambda s: (natural_key(s.node), s.start))
    return segments


def _segment(node: str, run: dict[str, Any], end: float) -> RoleSegment:
    role, epoch = run["state"]
    return RoleSegment(node, role, run["start"], end, epoch, run["leader"])


def servers(run: RunDir, segments: list[RoleSegment]) -> list[str]:
    """Servers named by ``test.json``, by ``roles.jsonl``, else by the history's answers."""
    names: set[str] = set()
    nodes = run.test.get("nodes")
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, dict) and node.get("kind") == "server" and "id" in node:
                names.add(str(node["id"]))
    names.update(s.node for s in segments)
    if not names:
        names.update(str(op["node"]) for op in run.history if isinstance(op.get("node"), str))
    return sorted(names, key=natural_key)


def client_operations(run: RunDir) -> int:
    """How many operations clients invoked."""
    return sum(
        1
        for op in run.history
        if op.get("type") == "invoke" and op.get("process") != NEMESIS_PROCESS
    )
