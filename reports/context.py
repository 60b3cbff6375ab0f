"""Everything the report shows, computed once from a run directory."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reports import analysis
from reports.analysis import Fault, LostWrite
from reports.charts import WindowOp
from reports.rundir import RunDir

MAX_LATENCY_POINTS = 5000


def verdict(value: Any) -> str:
    """valid | invalid | unknown, from a checker's ``valid`` field."""
    if value is True:
        return "valid"
    if value is False:
        return "invalid"
    return "unknown"


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort s2 before s10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one (checker output is not trusted)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def ns_to_s(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / analysis.NS
    return None


@dataclass
class Context:
    run: RunDir
    frame: pd.DataFrame
    ops: pd.DataFrame
    end: float
    faults: list[Fault]
    segments: pd.DataFrame
    servers: list[str]
    checkers: dict[str, dict[str, Any]]
    promises: dict[str, dict[str, Any]]
    lost: list[LostWrite]
    unavailable: list[tuple[float, float]]
    unavailable_from_checker: bool
    claims: list[tuple[list[str], float, float]]
    claims_from_checker: bool
    notes: list[str] = field(default_factory=list)

    @property
    def test(self) -> dict[str, Any]:
        return self.run.test


def _servers(run: RunDir, segments: pd.DataFrame, ops: pd.DataFrame) -> list[str]:
    names: set[str] = set()
    nodes = run.test.get("nodes")
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, dict) and node.get("kind") == "server" and "id" in node:
                names.add(str(node["id"]))
    names.update(str(n) for n in segments["node"].unique())
    if not names:
        names.update(str(n) for n in ops["node"].dropna().unique() if isinstance(n, str))
    return sorted(names, key=natural_key)


def _unavailable(
    checkers: dict[str, dict[str, Any]], ops: pd.DataFrame, end: float
) -> tuple[list[tuple[float, float]], bool]:
    windows = checkers.get("availability", {}).get("windows")
    if isinstance(windows, list):
        spans = []
        for w in windows:
            if isinstance(w, dict):
                start, stop = ns_to_s(w.get("start")), ns_to_s(w.get("end"))
                if start is not None and stop is not None:
                    spans.append((start, stop))
        return spans, True
    return analysis.unavailable_windows(ops, end), False


def _claims(
    checkers: dict[str, dict[str, Any]], segments: pd.DataFrame
) -> tuple[list[tuple[list[str], float, float]], bool]:
    """Overlapping leadership claims: the split-brain checker's, else computed from roles."""
    claims = checkers.get("split-brain", {}).get("overlapping-claims")
    if not isinstance(claims, list):
        return analysis.claims_from_roles(segments), False
    found: list[tuple[list[str], float, float]] = []
    for c in claims if isinstance(claims, list) else []:
        if not isinstance(c, dict):
            continue
        start, stop = ns_to_s(c.get("start")), ns_to_s(c.get("end"))
        nodes = c.get("nodes")
        if start is not None and stop is not None and isinstance(nodes, list):
            found.append(([str(n) for n in nodes], start, stop))
    return found, True


def build(run: RunDir) -> Context:
    """Analyse a loaded run directory."""
    frame = analysis.history_frame(run.history)
    ops = analysis.pair_ops(frame)
    end = analysis.run_end(frame, run.nemesis, run.roles)
    if run.has("nemesis.jsonl"):
        faults = analysis.faults_from_nemesis(run.nemesis, end)
    else:
        faults = analysis.faults_from_history(frame, end)
    segments = analysis.role_segments(run.roles, end)
    results = run.results or {}
    checkers = {str(k): v for k, v in results.get("checkers", {}).items() if isinstance(v, dict)}
    promises = {str(k): v for k, v in results.get("promises", {}).items() if isinstance(v, dict)}
    unavailable, from_checker = _unavailable(checkers, ops, end)
    claims, claims_from_checker = _claims(checkers, segments)
    return Context(
        run=run,
        frame=frame,
        ops=ops,
        end=end,
        faults=faults,
        segments=segments,
        servers=_servers(run, segments, ops),
        checkers=checkers,
        promises=promises,
        lost=analysis.lost_writes(checkers, ops, faults),
        unavailable=unavailable,
        unavailable_from_checker=from_checker,
        claims=claims,
        claims_from_checker=claims_from_checker,
        notes=list(run.notes),
    )


def _positions(column: pd.Series[Any]) -> dict[int, int]:
    """History index -> row position, skipping missing indexes."""
    found: dict[int, int] = {}
    for position, value in enumerate(column):
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            found[int(value)] = position
    return found


def window_ops(window: Any, ctx: Context) -> list[WindowOp]:
    """The ops of a linearizability failure window, each with its invoke and completion times.

    A window may list invocations, completions or both. An op is found in the
    history by its ``index``; otherwise an invoke is joined with the next
    entry of the same process in the window, and a lone entry stands for itself.
    """
    if not isinstance(window, list):
        return []
    ops = ctx.ops
    by_invoke = _positions(ops["invoke_index"])
    by_complete = _positions(ops["complete_index"])
    found: list[WindowOp] = []
    seen_rows: set[int] = set()
    pending: dict[str, WindowOp] = {}  # unindexed invokes waiting for their completion
    for op in window:
        if not isinstance(op, dict):
            continue
        index = op.get("index")
        row = None
        if isinstance(index, int) and not isinstance(index, bool):
            row = by_complete.get(index, by_invoke.get(index))
        if row is not None:
            if row not in seen_rows:
                seen_rows.add(row)
                found.append(_from_row(ops, row))
            continue
        start = ns_to_s(op.get("time"))
        if start is None:
            continue
        process = str(op.get("process", "?"))
        kind = op.get("type") if isinstance(op.get("type"), str) else "info"
        waiting = pending.pop(process, None)
        if kind == "invoke":
            item = WindowOp(process, str(op.get("f", "?")), op.get("value"), start, None, "pending")
            pending[process] = item
            found.append(item)
        elif waiting is not None:
            waiting.end, waiting.outcome = start, str(kind)
            if op.get("value") is not None:
                waiting.value = op.get("value")
        else:
            end = ns_to_s(op.get("end"))
            found.append(
                WindowOp(process, str(op.get("f", "?")), op.get("value"), start, end, str(kind))
            )
    return sorted(found, key=lambda o: o.start)


def _from_row(ops: pd.DataFrame, row: int) -> WindowOp:
    r = ops.iloc[row]
    end = None if pd.isna(r["end"]) else float(r["end"])
    return WindowOp(
        str(r["process"]), str(r["f"]), r["value"], float(r["start"]), end, str(r["outcome"])
    )
