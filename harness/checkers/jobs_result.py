"""The jobs checker's typed result: what happened to every job enqueued in the replicated queue.

See :mod:`harness.checkers.jobs` for the analysis and what each field means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.base import FaultWindow
from harness.checkers.result import (
    TypedResult,
    Verdict,
    as_int,
    as_list,
    as_map,
    is_number,
    opt_int,
    opt_text,
    parse_list,
    text,
)

NAME = "jobs"


@dataclass(frozen=True)
class Failover:
    """A leader change seen in ``roles.jsonl``: ``new`` first claimed leadership at ``time``."""

    time: int  # ns since the test started
    new: str
    old: str | None = None
    epoch: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "new": self.new, "old": self.old, "epoch": self.epoch}

    @classmethod
    def from_json(cls, value: Any) -> Failover | None:
        data = as_map(value)
        time, new = opt_int(data.get("time")), opt_text(data.get("new"))
        if time is None or new is None:
            return None
        return cls(time, new, opt_text(data.get("old")), opt_int(data.get("epoch")))


@dataclass(frozen=True)
class JobIssue:
    """One lost, duplicated, late or early job, with what the run knows about it."""

    element: Any
    job_id: str | None
    keyed: bool
    state: str  # the job's state at the end, or "missing"
    reason: str
    copies: int = 0  # how often its element is in the set at the end
    tries: list[dict[str, Any]] = field(default_factory=list)
    ack_time: int | None = None  # ns: when the enqueue was acknowledged
    node: str | None = None  # the server that acknowledged it
    late_ms: int | None = None  # how long after it was due its first try started
    failover: Failover | None = None  # the first leader change after the acknowledgement
    preceding_fault: FaultWindow | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "element": self.element,
            "job": self.job_id,
            "keyed": self.keyed,
            "state": self.state,
            "reason": self.reason,
            "copies": self.copies,
            "tries": self.tries,
            "ack_time": self.ack_time,
            "node": self.node,
        }
        if self.late_ms is not None:
            out["late_ms"] = self.late_ms
        if self.failover is not None:
            out["failover"] = self.failover.to_json()
        if self.preceding_fault is not None:
            out["preceding_fault"] = self.preceding_fault.to_json()
        return out

    @classmethod
    def from_json(cls, value: Any) -> JobIssue | None:
        data = as_map(value)
        if "element" not in data:
            return None
        return cls(
            element=data["element"],
            job_id=opt_text(data.get("job")),
            keyed=data.get("keyed") is True,
            state=text(data.get("state")) or "?",
            reason=text(data.get("reason")),
            copies=as_int(data.get("copies")),
            tries=[t for t in as_list(data.get("tries")) if isinstance(t, dict)],
            ack_time=opt_int(data.get("ack_time")),
            node=opt_text(data.get("node")),
            late_ms=opt_int(data.get("late_ms")),
            failover=Failover.from_json(data.get("failover")),
            preceding_fault=FaultWindow.from_json(data.get("preceding_fault")),
        )


@dataclass(kw_only=True, repr=False)
class JobsResult(TypedResult):
    """Lost, duplicated, late and early jobs of a replicated queue."""

    NAME: ClassVar[str] = NAME
    attempt_count: int = 0
    ok_count: int = 0  # acknowledged enqueues
    keyed_count: int = 0  # attempted enqueues with an idempotency key
    executed_count: int = 0  # attempted jobs whose element is in the set at the end
    states: dict[str, int] = field(default_factory=dict)  # jobs per state at the end
    final_read: bool = False
    drained: bool | None = None
    late_bound_ms: int = 0
    lost: list[JobIssue] = field(default_factory=list)
    duplicated: list[JobIssue] = field(default_factory=list)
    late: list[JobIssue] = field(default_factory=list)
    early: list[JobIssue] = field(default_factory=list)
    recovered: list[Any] = field(default_factory=list)
    unexpected: list[Any] = field(default_factory=list)
    failovers: list[Failover] = field(default_factory=list)

    @property
    def keyed_duplicated(self) -> list[JobIssue]:
        return [d for d in self.duplicated if d.keyed]

    def evidence_json(self) -> dict[str, Any]:
        return {
            "attempt-count": self.attempt_count,
            "ok-count": self.ok_count,
            "keyed-count": self.keyed_count,
            "executed-count": self.executed_count,
            "states": self.states,
            "final-read": self.final_read,
            "drained": self.drained,
            "late-bound-ms": self.late_bound_ms,
            "lost-count": len(self.lost),
            "lost": [j.to_json() for j in self.lost],
            "duplicated-count": len(self.duplicated),
            "keyed-duplicated-count": len(self.keyed_duplicated),
            "duplicated": [j.to_json() for j in self.duplicated],
            "late-count": len(self.late),
            "late": [j.to_json() for j in self.late],
            "early-count": len(self.early),
            "early": [j.to_json() for j in self.early],
            "recovered-count": len(self.recovered),
            "recovered": self.recovered,
            "unexpected-count": len(self.unexpected),
            "unexpected": self.unexpected,
            "failovers": [f.to_json() for f in self.failovers],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobsResult:
        drained = data.get("drained")
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            attempt_count=as_int(data.get("attempt-count")),
            ok_count=as_int(data.get("ok-count")),
            keyed_count=as_int(data.get("keyed-count")),
            executed_count=as_int(data.get("executed-count")),
            states={str(k): int(v) for k, v in as_map(data.get("states")).items() if is_number(v)},
            final_read=data.get("final-read") is True,
            drained=drained if isinstance(drained, bool) else None,
            late_bound_ms=as_int(data.get("late-bound-ms")),
            lost=parse_list(data.get("lost"), JobIssue.from_json),
            duplicated=parse_list(data.get("duplicated"), JobIssue.from_json),
            late=parse_list(data.get("late"), JobIssue.from_json),
            early=parse_list(data.get("early"), JobIssue.from_json),
            recovered=as_list(data.get("recovered")),
            unexpected=as_list(data.get("unexpected")),
            failovers=parse_list(data.get("failovers"), Failover.from_json),
        )
