"""The follower-choice checker's typed result: per failover job, each candidate's ticks and
the acknowledged writes a better choice would have kept (the *regret*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.result import (
    TypedResult,
    Verdict,
    as_int,
    as_list,
    as_map,
    opt_int,
    parse_list,
    text,
)

NAME = "follower-choice"


@dataclass(frozen=True)
class CandidateTicks:
    """One candidate of a failover job: what its heartbeat said and what it really held.

    ``held_tick`` is the highest tick of the failed leader's epoch the server held
    when the job ran (None: none of that epoch); ``held_from`` says how it was
    found (``log``: its log and rollback files; ``log, capped by roles``: lowered to
    the tick it reported after the job while still on the old epoch).
    ``ticks_beyond`` and ``writes_kept`` count what it held beyond the promoted
    server: entries, and acknowledged writes among them.
    """

    server: str
    health: str
    eligible: bool
    promoted: bool
    heartbeat_tick: int | None
    held_tick: int | None
    held_from: str = "log"
    ticks_beyond: int = 0
    writes_kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "health": self.health,
            "eligible": self.eligible,
            "promoted": self.promoted,
            "heartbeat-tick": self.heartbeat_tick,
            "held-tick": self.held_tick,
            "held-from": self.held_from,
            "ticks-beyond": self.ticks_beyond,
            "writes-kept": self.writes_kept,
        }

    @classmethod
    def from_json(cls, value: Any) -> CandidateTicks | None:
        data = as_map(value)
        server = text(data.get("server"))
        if not server:
            return None
        return cls(
            server=server,
            health=text(data.get("health")),
            eligible=data.get("eligible") is True,
            promoted=data.get("promoted") is True,
            heartbeat_tick=opt_int(data.get("heartbeat-tick")),
            held_tick=opt_int(data.get("held-tick")),
            held_from=text(data.get("held-from")),
            ticks_beyond=as_int(data.get("ticks-beyond")),
            writes_kept=as_int(data.get("writes-kept")),
        )


@dataclass(frozen=True)
class JobChoice:
    """One failover job judged: the promoted server's position, the candidates, the regret.

    ``seen_at`` is the harness time (ns) at which a server first reported the new
    epoch in ``roles.jsonl`` (the job ran before it); ``better`` the eligible
    candidate that would have kept the most acknowledged writes, if any would have
    kept one; ``regret`` those writes (as ``[key, value]``, at most 50 listed).
    ``decided`` is False when the promoted server's position could not be found.
    """

    index: int
    old: str
    new: str
    epoch: int
    time_ms: int | None
    seen_at: int | None
    promoted_tick: int | None
    candidates: tuple[CandidateTicks, ...] = ()
    regret_writes: int = 0
    better: str | None = None
    regret: tuple[Any, ...] = ()
    decided: bool = True
    note: str = ""

    @property
    def compared(self) -> int:
        """Eligible candidates other than the promoted one."""
        return sum(1 for c in self.candidates if c.eligible and not c.promoted)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "old": self.old,
            "new": self.new,
            "epoch": self.epoch,
            "time-ms": self.time_ms,
            "seen-at": self.seen_at,
            "promoted-tick": self.promoted_tick,
            "candidates": [c.to_json() for c in self.candidates],
            "compared": self.compared,
            "regret-writes": self.regret_writes,
            "better": self.better,
            "regret": list(self.regret[:50]),
            "decided": self.decided,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, value: Any) -> JobChoice | None:
        data = as_map(value)
        old, new, epoch = text(data.get("old")), text(data.get("new")), opt_int(data.get("epoch"))
        if not old or not new or epoch is None:
            return None
        return cls(
            index=as_int(data.get("index")),
            old=old,
            new=new,
            epoch=epoch,
            time_ms=opt_int(data.get("time-ms")),
            seen_at=opt_int(data.get("seen-at")),
            promoted_tick=opt_int(data.get("promoted-tick")),
            candidates=tuple(parse_list(data.get("candidates"), CandidateTicks.from_json)),
            regret_writes=as_int(data.get("regret-writes")),
            better=text(data.get("better")) or None,
            regret=tuple(as_list(data.get("regret"))),
            decided=data.get("decided") is not False,
            note=text(data.get("note")),
        )


@dataclass(kw_only=True, repr=False)
class FollowerChoiceResult(TypedResult):
    """Every failover job of the run, judged (measured: valid unless the evidence is missing)."""

    NAME: ClassVar[str] = NAME
    jobs: list[JobChoice] = field(default_factory=list)

    @property
    def judged(self) -> list[JobChoice]:
        return [j for j in self.jobs if j.decided]

    @property
    def compared(self) -> int:
        return sum(j.compared for j in self.judged)

    @property
    def regret_writes(self) -> int:
        return sum(j.regret_writes for j in self.judged)

    @property
    def regretted(self) -> list[JobChoice]:
        return [j for j in self.judged if j.regret_writes]

    def evidence_json(self) -> dict[str, Any]:
        return {
            "failovers": len(self.jobs),
            "judged": len(self.judged),
            "candidates-compared": self.compared,
            "regret-writes": self.regret_writes,
            "failovers-with-regret": len(self.regretted),
            "regret-per-failover": [j.regret_writes for j in self.judged],
            "jobs": [j.to_json() for j in self.jobs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FollowerChoiceResult:
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            jobs=parse_list(data.get("jobs"), JobChoice.from_json),
        )
