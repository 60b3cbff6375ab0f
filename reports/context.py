"""Everything the report shows: the checkers' typed results from results.json, and the
raw files read for display (:mod:`reports.display`). Nothing is recomputed here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.checkers.availability import AvailabilityResult
from harness.checkers.catalog import result_from_json
from harness.checkers.result import CheckResult
from harness.checkers.set_full import SetFullResult
from harness.checkers.split_brain import SplitBrainResult
from reports import display
from reports.display import Fault, RoleSegment, natural_key, seconds
from reports.rundir import RunDir

R = TypeVar("R", bound=CheckResult)

__all__ = ["Context", "LostWrite", "build", "natural_key", "seconds", "verdict"]


def verdict(value: Any) -> str:
    """valid | invalid | unknown, from a ``valid`` field."""
    if value is True:
        return "valid"
    if value is False:
        return "invalid"
    return "unknown"


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


@dataclass
class LostWrite:
    """An acknowledged write that set-full found missing, as the report lists it."""

    key: Any
    value: Any
    ack: float | None  # s since start
    node: str | None
    fault: Fault | None


@dataclass
class Context:
    run: RunDir
    end: float
    faults: list[Fault]
    segments: list[RoleSegment]
    servers: list[str]
    operations: int
    results: dict[str, CheckResult]
    promises: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    @property
    def test(self) -> dict[str, Any]:
        return self.run.test

    def result(self, kind: type[R]) -> R | None:
        """The checker result of type ``kind``, if the run has one."""
        for result in self.results.values():
            if isinstance(result, kind):
                return result
        return None

    @property
    def lost(self) -> list[LostWrite]:
        sf = self.result(SetFullResult)
        return lost_writes(sf, self.faults) if sf is not None else []

    @property
    def unavailable(self) -> list[tuple[float, float]]:
        av = self.result(AvailabilityResult)
        return [(w.start / display.NS, w.end / display.NS) for w in av.windows] if av else []

    @property
    def claims(self) -> list[tuple[list[str], float, float]]:
        sb = self.result(SplitBrainResult)
        if sb is None:
            return []
        return [
            (list(c.nodes), c.start / display.NS, c.end / display.NS) for c in sb.overlapping_claims
        ]


def _split_key(element: Any) -> tuple[Any, Any]:
    if isinstance(element, list | tuple) and len(element) == 2:
        return element[0], element[1]
    return None, element


def _applied(start_ns: int, faults: list[Fault]) -> Fault | None:
    """The applied fault that starts at ``start_ns`` (the checker names faults by start)."""
    for fault in faults:
        if abs(fault.start - start_ns / display.NS) < 1e-6:
            return fault
    return None


def lost_writes(sf: SetFullResult, faults: list[Fault]) -> list[LostWrite]:
    """set-full's lost elements with their acknowledgements and preceding faults; elements
    without details (an old result) are listed with what is known: nothing but the element."""
    found: list[LostWrite] = []
    described = set()
    for d in sf.lost_details:
        key, value = _split_key(d.element)
        fault: Fault | None = None
        if d.preceding_fault is not None:
            pf = d.preceding_fault
            fault = _applied(pf.start, faults) or Fault(
                name=pf.fault,
                start=pf.start / display.NS,
                end=pf.end / display.NS if pf.end is not None else float("nan"),
                nodes=list(pf.nodes),
            )
        ack = d.ack_time / display.NS if d.ack_time is not None else None
        found.append(LostWrite(key, value, ack, d.node, fault))
        described.add(repr(d.element))
    for element in sf.lost:
        if repr(element) not in described and repr(_tuple(element)) not in described:
            key, value = _split_key(element)
            found.append(LostWrite(key, value, None, None, None))
    return found


def _tuple(value: Any) -> Any:
    return tuple(_tuple(v) for v in value) if isinstance(value, list) else value


def build(run: RunDir) -> Context:
    """Read a loaded run directory for display."""
    end = display.run_end(run)
    segments = display.role_segments(run.roles, end)
    results = run.results or {}
    checkers = {
        str(name): result_from_json(str(name), value)
        for name, value in as_dict(results.get("checkers")).items()
        if isinstance(value, dict)
    }
    promises = {
        str(k): v for k, v in as_dict(results.get("promises")).items() if isinstance(v, dict)
    }
    return Context(
        run=run,
        end=end,
        faults=display.faults(run, end),
        segments=segments,
        servers=display.servers(run, segments),
        operations=display.client_operations(run),
        results=checkers,
        promises=promises,
        notes=list(run.notes),
    )
