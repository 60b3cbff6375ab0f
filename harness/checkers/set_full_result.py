"""The set-full checker's typed result: what happened to every element added to a set.

See :mod:`harness.checkers.set_full` for the analysis and what each field means.
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
    number_map,
    opt_int,
    opt_text,
    parse_list,
    text,
)

NAME = "set-full"


def generation_collection(collection: str, generation: int | None) -> str:
    """Where a set in generations keeps ``generation`` (``None``: the one collection)."""
    return collection if generation is None else f"{collection}_g{generation}"


@dataclass(frozen=True)
class StaleElement:
    """A stale element: how long reads missed it once known, and the ops bracketing that."""

    element: Any
    latency: int  # ns from known to just after the last read that missed it
    # history indices: the op that made it known (the add's ok, or the first read
    # that saw it), the last read that missed it (invoked), the first read invoked
    # after that which saw it
    known_index: int | None = None
    missed_by: int | None = None
    seen_again: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "stable-latency": self.latency,
            "known_index": self.known_index,
            "missed_by": self.missed_by,
            "seen_again": self.seen_again,
        }

    @classmethod
    def from_json(cls, value: Any) -> StaleElement | None:
        if not isinstance(value, dict) or "element" not in value:
            return None
        return cls(
            element=value["element"],
            latency=as_int(value.get("stable-latency")),
            known_index=opt_int(value.get("known_index")),
            missed_by=opt_int(value.get("missed_by")),
            seen_again=opt_int(value.get("seen_again")),
        )


@dataclass(frozen=True)
class LostElement:
    """A lost element: when and by whom its add was acknowledged, and the fault before."""

    element: Any
    ack_time: int | None  # ns; None when only a read ever saw it
    node: str | None
    preceding_fault: FaultWindow | None
    # the ops bracketing the loss (history indices): the add's completion, the
    # last read that saw the element, and the read after it that did not
    ack_index: int | None = None
    last_seen: int | None = None
    missed_by: int | None = None

    def to_json(self) -> dict[str, Any]:
        fault = self.preceding_fault
        return {
            "element": self.element,
            "ack_time": self.ack_time,
            "node": self.node,
            "preceding_fault": fault.to_json() if fault is not None else None,
            "ack_index": self.ack_index,
            "last_seen": self.last_seen,
            "missed_by": self.missed_by,
        }

    @classmethod
    def from_json(cls, value: Any) -> LostElement | None:
        if not isinstance(value, dict) or "element" not in value:
            return None
        node = value.get("node")
        return cls(
            element=value["element"],
            ack_time=opt_int(value.get("ack_time")),
            node=None if node is None else str(node),
            preceding_fault=FaultWindow.from_json(value.get("preceding_fault")),
            ack_index=opt_int(value.get("ack_index")),
            last_seen=opt_int(value.get("last_seen")),
            missed_by=opt_int(value.get("missed_by")),
        )


@dataclass(kw_only=True, repr=False)
class SetFullResult(TypedResult):
    """What happened to every element added to the set (see the module docstring)."""

    NAME: ClassVar[str] = NAME
    attempt_count: int = 0
    ok_count: int = 0
    stable_count: int = 0
    read_count: int = 0
    lost: list[Any] = field(default_factory=list)
    lost_details: list[LostElement] = field(default_factory=list)
    stale: list[Any] = field(default_factory=list)
    worst_stale: list[StaleElement] = field(default_factory=list)  # stalest first
    never_read: list[Any] = field(default_factory=list)
    recovered: list[Any] = field(default_factory=list)
    unexpected: list[Any] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)
    stable_latencies: dict[str, float] = field(default_factory=dict)  # quantile -> ns
    lost_latencies: dict[str, float] = field(default_factory=dict)
    collection: str | None = None  # where the workload keeps the set (rollback files name it)
    generation_size: int = 0  # > 0: element n lives in generation n // this (its own collection)

    def collection_of(self, element: Any) -> str | None:
        """The collection ``element`` was added to, as rollback files name it."""
        if self.collection is None:
            return None
        if self.generation_size and isinstance(element, int):
            return generation_collection(self.collection, element // self.generation_size)
        return self.collection

    @property
    def acknowledged_lost(self) -> list[LostElement]:
        """Lost elements whose add was acknowledged (the others only a read ever saw)."""
        return [d for d in self.lost_details if d.ack_time is not None]

    def evidence_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attempt-count": self.attempt_count,
            "ok-count": self.ok_count,
            "stable-count": self.stable_count,
            "lost": self.lost,
            "lost-count": len(self.lost),
            "lost-details": [d.to_json() for d in self.lost_details],
            "stale": self.stale,
            "stale-count": len(self.stale),
            "worst-stale": [w.to_json() for w in self.worst_stale],
            "never-read": self.never_read,
            "never-read-count": len(self.never_read),
            "recovered": self.recovered,
            "recovered-count": len(self.recovered),
            "unexpected": self.unexpected,
            "unexpected-count": len(self.unexpected),
            "duplicated": self.duplicated,
            "duplicated-count": len(self.duplicated),
            "stable-latencies": self.stable_latencies,
            "lost-latencies": self.lost_latencies,
            "read-count": self.read_count,
        }
        if self.collection is not None:
            out["collection"] = self.collection
        if self.generation_size:
            out["generation-size"] = self.generation_size
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SetFullResult:
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            attempt_count=as_int(data.get("attempt-count")),
            ok_count=as_int(data.get("ok-count")),
            stable_count=as_int(data.get("stable-count")),
            read_count=as_int(data.get("read-count")),
            lost=as_list(data.get("lost")),
            lost_details=parse_list(data.get("lost-details"), LostElement.from_json),
            stale=as_list(data.get("stale")),
            worst_stale=parse_list(data.get("worst-stale"), StaleElement.from_json),
            never_read=as_list(data.get("never-read")),
            recovered=as_list(data.get("recovered")),
            unexpected=as_list(data.get("unexpected")),
            duplicated={str(k): as_int(v) for k, v in as_map(data.get("duplicated")).items()},
            stable_latencies=number_map(data.get("stable-latencies")),
            lost_latencies=number_map(data.get("lost-latencies")),
            collection=opt_text(data.get("collection")),
            generation_size=as_int(data.get("generation-size")),
        )
