"""The linearizability checker's typed result, and the wrapping of its current output.

``linearizable.check_linearizable`` still returns the untyped form
(``CheckResult`` with an evidence dict); :func:`typed` turns that into a
:class:`LinearizableResult`, pairing each failure window's invocations with
their completions so the report draws them as they are. When the search
returns a ``LinearizableResult`` itself, :func:`typed` passes it through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.checkers.result import (
    CheckResult,
    TypedResult,
    Verdict,
    as_int,
    as_list,
    dicts,
    is_number,
    opt_float,
    opt_int,
    opt_text,
    parse_list,
    str_list,
    text,
)

NAME = "linearizable"


@dataclass(frozen=True)
class WindowOp:
    """One operation of a failure window: invoked at ``start``, completed at ``end`` (ns)."""

    process: str
    f: str
    value: Any
    start: int
    end: int | None  # None: never completed (or only its invocation is in the window)
    outcome: str  # ok | fail | info | pending
    index: int | None = None  # the invocation's history index
    end_index: int | None = None  # the completion's history index, when known
    state_after: str | None = None  # in a linearizable prefix: the model's state after it

    def to_json(self) -> dict[str, Any]:
        out = {
            "process": self.process,
            "f": self.f,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "outcome": self.outcome,
            "index": self.index,
        }
        if self.end_index is not None:
            out["end-index"] = self.end_index
        if self.state_after is not None:
            out["state-after"] = self.state_after
        return out

    @classmethod
    def from_json(cls, value: Any) -> WindowOp | None:
        if not isinstance(value, dict) or not is_number(value.get("start")):
            return None
        return cls(
            process=str(value.get("process", "?")),
            f=text(value.get("f")) or "?",
            value=value.get("value"),
            start=int(value["start"]),
            end=opt_int(value.get("end")),
            outcome=text(value.get("outcome")) or "pending",
            index=opt_int(value.get("index")),
            end_index=opt_int(value.get("end-index")),
            state_after=opt_text(value.get("state-after")),
        )


def window_ops(window: list[dict[str, Any]]) -> list[WindowOp]:
    """History lines of a window as operations: an invoke joined with the next line of its
    process; a completion alone stands for an op seen only at its completion (an instant).
    Sorted by start."""
    found: list[WindowOp] = []
    waiting: dict[str, int] = {}  # process -> position in found of its open invoke
    for line in window:
        time = opt_int(line.get("time"))
        if time is None:
            continue
        process = str(line.get("process", "?"))
        kind = text(line.get("type")) or "info"
        f = text(line.get("f")) or "?"
        open_at = waiting.pop(process, None)
        if kind == "invoke":
            waiting[process] = len(found)
            found.append(
                WindowOp(process, f, line.get("value"), time, None, "pending", _index(line))
            )
        elif open_at is not None:
            inv = found[open_at]
            value = line.get("value") if line.get("value") is not None else inv.value
            found[open_at] = WindowOp(process, inv.f, value, inv.start, time, kind, inv.index)
        else:  # its invocation is not in the window: known only by its completion
            found.append(WindowOp(process, f, line.get("value"), time, time, kind))
    return sorted(found, key=lambda o: o.start)


def _index(line: dict[str, Any]) -> int | None:
    return opt_int(line.get("index"))


@dataclass(frozen=True)
class Counterexample:
    """Why a key is not linearizable, as ``afcheck check --explain`` prints it.

    ``search``: the longest linearizable prefix found (``prefix_tail`` its last
    ops, each with the state after it), the model states it can end in
    (``states_tried``) and the op none of them lets take effect (``blocked``).
    ``zones``: the unique-value fast path's ``reason`` and the ops that
    conflict. ``window``: the smallest window of ops around the point.
    """

    method: str
    blocked: WindowOp | None = None
    reason: str = ""
    prefix_length: int | None = None
    prefix_completed: int | None = None
    completed_ops: int | None = None
    prefix_tail: list[WindowOp] = field(default_factory=list)
    states_tried: list[str] = field(default_factory=list)
    conflicting: list[WindowOp] = field(default_factory=list)
    window: list[WindowOp] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        if self.blocked is not None:
            out["blocked"] = self.blocked.to_json()
        if self.method == "search":
            out["prefix-length"] = self.prefix_length
            out["prefix-completed"] = self.prefix_completed
            out["completed-ops"] = self.completed_ops
            out["prefix-tail"] = [o.to_json() for o in self.prefix_tail]
            out["states-tried"] = self.states_tried
        else:
            out["reason"] = self.reason
            out["conflicting-ops"] = [o.to_json() for o in self.conflicting]
        out["window-ops"] = [o.to_json() for o in self.window]
        return out

    @classmethod
    def from_json(cls, value: Any) -> Counterexample | None:
        if not isinstance(value, dict) or not text(value.get("method")):
            return None
        return cls(
            method=text(value.get("method")),
            blocked=WindowOp.from_json(value.get("blocked")),
            reason=text(value.get("reason")),
            prefix_length=opt_int(value.get("prefix-length")),
            prefix_completed=opt_int(value.get("prefix-completed")),
            completed_ops=opt_int(value.get("completed-ops")),
            prefix_tail=parse_list(value.get("prefix-tail"), WindowOp.from_json),
            states_tried=str_list(as_list(value.get("states-tried"))),
            conflicting=parse_list(value.get("conflicting-ops"), WindowOp.from_json),
            window=parse_list(value.get("window-ops"), WindowOp.from_json),
        )


@dataclass(frozen=True)
class LinearizabilityFailure:
    """A key whose history is not linearizable: why, and the operations around the point."""

    key: Any
    explanation: str
    window: list[dict[str, Any]] = field(default_factory=list)  # history lines, as found
    ops: list[WindowOp] = field(default_factory=list)
    method: str = ""  # which path decided: search | zones
    explain: Counterexample | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "explanation": self.explanation,
            "window": self.window,
            "ops": [o.to_json() for o in self.ops],
        }
        if self.method:
            out["method"] = self.method
        if self.explain is not None:
            out["explain"] = self.explain.to_json()
        return out

    @classmethod
    def from_json(cls, value: Any) -> LinearizabilityFailure | None:
        if not isinstance(value, dict):
            return None
        window = dicts(value.get("window"))
        ops = parse_list(value.get("ops"), WindowOp.from_json)
        return cls(
            key=value.get("key"),
            explanation=text(value.get("explanation")),
            window=window,
            ops=ops if "ops" in value else window_ops(window),
            method=text(value.get("method")),
            explain=Counterexample.from_json(value.get("explain")),
        )


@dataclass(frozen=True)
class UndecidedKey:
    """A key the search could not decide within its bounds, and which bound stopped it."""

    key: Any
    reason: str
    bound: str = ""
    prefix_completed: int | None = None
    completed_ops: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "reason": self.reason,
            "bound": self.bound,
            "prefix-completed": self.prefix_completed,
            "completed-ops": self.completed_ops,
        }

    @classmethod
    def from_json(cls, value: Any) -> UndecidedKey | None:
        if not isinstance(value, dict) or not text(value.get("reason")):
            return None
        return cls(
            key=value.get("key"),
            reason=text(value.get("reason")),
            bound=text(value.get("bound")),
            prefix_completed=opt_int(value.get("prefix-completed")),
            completed_ops=opt_int(value.get("completed-ops")),
        )


@dataclass(kw_only=True, repr=False)
class LinearizableResult(TypedResult):
    """Per key, whether a linearization exists; failing keys with their windows."""

    NAME: ClassVar[str] = NAME
    failures: list[LinearizabilityFailure] = field(default_factory=list)
    keys_checked: int = 0
    states_explored: int = 0
    undecided_keys: list[Any] = field(default_factory=list)
    undecided: list[UndecidedKey] = field(default_factory=list)
    error: str | None = None  # the history does not fit the model

    def evidence_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "failures": [f.to_json() for f in self.failures],
            "keys-checked": self.keys_checked,
            "states-explored": self.states_explored,
            "undecided-keys": self.undecided_keys,
            "undecided": [u.to_json() for u in self.undecided],
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearizableResult:
        return cls(
            verdict=Verdict.of(data.get("valid")),
            summary=text(data.get("summary")),
            check_time_s=opt_float(data.get("check-time-s")),
            failures=parse_list(data.get("failures"), LinearizabilityFailure.from_json),
            keys_checked=as_int(data.get("keys-checked")),
            states_explored=as_int(data.get("states-explored")),
            undecided_keys=as_list(data.get("undecided-keys")),
            undecided=parse_list(data.get("undecided"), UndecidedKey.from_json),
            error=opt_text(data.get("error")),
        )


def typed(result: CheckResult) -> LinearizableResult:
    """The search's result as a :class:`LinearizableResult`."""
    if isinstance(result, LinearizableResult):
        return result
    return LinearizableResult.from_json(result.to_json())
