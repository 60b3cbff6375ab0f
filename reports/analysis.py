"""History analysis with pandas: operations, faults, roles and the figures the report shows.

Times in the run directory are ns since test start; everything here returns
seconds (floats), the unit the report shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NS = 1e9
OUTCOMES = ("ok", "fail", "info")
NEMESIS_PROCESS = "nemesis"


@dataclass
class Fault:
    """One applied fault, from its start to its end (``open`` when it never ended)."""

    id: Any
    name: str
    start: float
    end: float
    nodes: list[str] = field(default_factory=list)
    links: list[list[str]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    open: bool = False

    def label(self) -> str:
        touched = ",".join(self.nodes) if self.nodes else ""
        return f"{self.name} {touched}".strip()


@dataclass
class LostWrite:
    """An acknowledged write that a checker found missing."""

    checker: str
    key: Any
    value: Any
    ack: float | None  # s since start
    node: str | None
    fault: Fault | None
    fault_note: str = ""


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / NS
    return None


def history_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per history entry, in file order, with ``proc`` as a string and ``t`` in s."""
    columns = ["index", "type", "process", "f", "value", "time", "node", "error", "dirty"]
    frame = pd.DataFrame.from_records(history, columns=columns)
    frame["proc"] = frame["process"].astype(str)
    frame["t"] = frame["time"].astype(float) / NS
    frame["row"] = np.arange(len(frame))
    return frame


def pair_ops(frame: pd.DataFrame) -> pd.DataFrame:
    """Client operations: each invoke joined with its completion.

    Columns: process, f, invoke_value, value (the completion's, else the
    invoke's), start, end (s; NaN when never completed), latency (s), outcome
    (ok|fail|info|pending), node, error, dirty, invoke_index, complete_index.
    """
    client = frame[frame["proc"] != NEMESIS_PROCESS]
    following = client.groupby("proc", sort=False).shift(-1)
    invokes = client["type"] == "invoke"
    completed = following["type"].isin(OUTCOMES) & invokes
    inv = client[invokes]
    nxt = following[invokes]
    done = completed[invokes]
    ops = pd.DataFrame(
        {
            "process": inv["process"],
            "proc": inv["proc"],
            "f": inv["f"],
            "invoke_value": inv["value"],
            "value": nxt["value"].where(done, inv["value"]),
            "start": inv["t"],
            "end": nxt["t"].where(done, np.nan),
            "outcome": nxt["type"].where(done, "pending"),
            "node": nxt["node"].where(done, inv["node"]),
            "error": nxt["error"].where(done, None),
            "dirty": nxt["dirty"].where(done, None),
            "invoke_index": inv["index"],
            "complete_index": nxt["index"].where(done, None),
        }
    )
    ops["latency"] = ops["end"] - ops["start"]
    return ops.reset_index(drop=True)


def run_end(
    frame: pd.DataFrame, nemesis: list[dict[str, Any]], roles: list[dict[str, Any]]
) -> float:
    """The last time anything was recorded, in s."""
    times = [float(frame["t"].max())] if len(frame) else [0.0]
    times += [float(r["time"]) / NS for r in nemesis]
    times += [float(r["time"]) / NS for r in roles]
    return max(times)


def _fault_name(value: Any, default: str) -> str:
    if isinstance(value, dict):
        for key in ("fault", "name", "type"):
            if isinstance(value.get(key), str):
                return str(value[key])
    if isinstance(value, str) and value:
        return value
    return default


def faults_from_nemesis(nemesis: list[dict[str, Any]], end: float) -> list[Fault]:
    """Pair ``start``/``end`` events of nemesis.jsonl by id; a fault never ended runs to ``end``."""
    faults: dict[Any, Fault] = {}
    order: list[Any] = []
    for n, event in enumerate(nemesis):
        key = json.dumps(event.get("id", f"#{n}"), sort_keys=True, default=str)
        t = float(event["time"]) / NS
        if event.get("event") == "start":
            nodes = event.get("nodes") or []
            links = event.get("links") or []
            detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
            faults[key] = Fault(
                id=event.get("id"),
                name=_fault_name(event, "fault"),
                start=t,
                end=end,
                nodes=[str(x) for x in nodes] if isinstance(nodes, list) else [str(nodes)],
                links=[[str(x) for x in link] for link in links if isinstance(link, list)],
                detail=detail or {},
                open=True,
            )
            order.append(key)
        elif key in faults:
            faults[key].end = max(t, faults[key].start)
            faults[key].open = False
    return sorted((faults[k] for k in order), key=lambda fault: fault.start)


def faults_from_history(frame: pd.DataFrame, end: float) -> list[Fault]:
    """Fallback when nemesis.jsonl is absent: nemesis start/stop ops, paired in order."""
    events = frame[frame["proc"] == NEMESIS_PROCESS]
    faults: list[Fault] = []
    open_faults: list[Fault] = []
    for f, value, t in zip(events["f"], events["value"], events["t"], strict=True):
        if f == "start" or str(f).startswith("start"):
            fault = Fault(id=len(faults), name=_fault_name(value, str(f)), start=t, end=end)
            fault.open = True
            if isinstance(value, dict) and isinstance(value.get("nodes"), list):
                fault.nodes = [str(x) for x in value["nodes"]]
            faults.append(fault)
            open_faults.append(fault)
        elif (f == "stop" or str(f).startswith("stop")) and open_faults:
            closing = open_faults.pop()
            closing.end, closing.open = max(t, closing.start), False
    return faults


def _text(value: Any) -> str:
    """A cell as text; missing values (None, NaN) become the empty string."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def role_segments(roles: list[dict[str, Any]], end: float) -> pd.DataFrame:
    """Per node, runs of the same claimed role: node, role, start, end (s), epoch, leader."""
    columns = ["node", "role", "start", "end", "epoch", "leader"]
    if not roles:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame.from_records(roles, columns=["time", "node", "role", "epoch", "leader"])
    for column in ("node", "role", "epoch", "leader"):
        frame[column] = frame[column].astype(object).map(_text)
    frame["t"] = frame["time"].astype(float) / NS
    frame = frame.sort_values(["node", "t"], kind="stable")
    frame["next"] = frame.groupby("node")["t"].shift(-1).fillna(end)
    state = frame["role"] + "|" + frame["epoch"]
    changed = (state != state.groupby(frame["node"]).shift()) | (
        frame["node"] != frame["node"].shift()
    )
    frame["run"] = changed.cumsum()
    runs = frame.groupby("run").agg(
        node=("node", "first"),
        role=("role", "first"),
        start=("t", "first"),
        end=("next", "last"),
        epoch=("epoch", "first"),
        leader=("leader", "first"),
    )
    return runs.reset_index(drop=True)[columns]


def throughput(ops: pd.DataFrame, end: float, max_bins: int = 600) -> tuple[pd.DataFrame, float]:
    """Completed ops per second by outcome, in bins of (at least) one second."""
    width = max(1.0, float(np.ceil(max(end, 1.0) / max_bins)))
    done = ops[ops["outcome"].isin(OUTCOMES)]
    bins = (done["end"] // width).astype(int)
    nbins = int(end // width) + 1
    table = pd.crosstab(bins, done["outcome"]).reindex(
        index=range(nbins), columns=list(OUTCOMES), fill_value=0
    )
    table = table.fillna(0) / width
    table.index = table.index.astype(float) * width
    return table, width


def latency_points(ops: pd.DataFrame, max_points: int = 5000) -> tuple[pd.DataFrame, str]:
    """Ops to plot as (start, latency, outcome); downsampled evenly, keeping fail/info first."""
    done = ops[ops["outcome"].isin(OUTCOMES) & ops["latency"].notna()]
    if len(done) <= max_points:
        return done, ""
    rare = done[done["outcome"] != "ok"]
    common = done[done["outcome"] == "ok"]
    if len(rare) > max_points // 2:
        rare = rare.iloc[np.linspace(0, len(rare) - 1, max_points // 2).astype(int)]
    room = max_points - len(rare)
    common = common.iloc[np.linspace(0, len(common) - 1, room).astype(int)]
    kept = pd.concat([common, rare]).sort_values("start")
    note = (
        f"showing {len(kept):,} of {len(done):,} completed operations "
        f"({len(rare):,} fail/info, every ~{len(done) // max(room, 1)}th ok)"
    )
    return kept, note


def outcome_counts(ops: pd.DataFrame) -> pd.DataFrame:
    """Count of operations per function and outcome."""
    table = pd.crosstab(ops["f"], ops["outcome"])
    cols = [c for c in (*OUTCOMES, "pending") if c in table.columns]
    return table[cols]


def fault_for(ack: float | None, faults: list[Fault]) -> Fault | None:
    """The fault that preceded a loss: active at the acknowledgement, else the next to start."""
    if ack is None:
        return None
    for fault in faults:
        if fault.end >= ack:
            return fault
    return None


def _fault_from_detail(detail: Any, faults: list[Fault]) -> Fault | None:
    if not isinstance(detail, dict):
        return None
    start = _seconds(detail.get("start"))
    for fault in faults:
        if start is not None and abs(fault.start - start) < 1e-6:
            return fault
    end = _seconds(detail.get("end"))
    return Fault(
        id=None,
        name=_fault_name(detail, "fault"),
        start=start if start is not None else float("nan"),
        end=end if end is not None else float("nan"),
        nodes=[str(x) for x in detail.get("nodes", []) if isinstance(detail.get("nodes"), list)],
    )


def _split_key(element: Any) -> tuple[Any, Any]:
    if isinstance(element, list) and len(element) == 2:
        return element[0], element[1]
    return None, element


def _ack_index(ops: pd.DataFrame) -> dict[str, tuple[float, str | None]]:
    writes = ops[(ops["outcome"] == "ok") & ops["f"].isin(["add", "write"])]
    index: dict[str, tuple[float, str | None]] = {}
    for value, end, node in zip(writes["invoke_value"], writes["end"], writes["node"], strict=True):
        label = node if isinstance(node, str) else None
        index.setdefault(json.dumps(value, sort_keys=True, default=str), (float(end), label))
    return index


def lost_writes(
    checkers: dict[str, Any], ops: pd.DataFrame, faults: list[Fault]
) -> list[LostWrite]:
    """Lost acknowledged writes of every checker that reports ``lost``.

    Uses the checker's ``lost-details`` when present; otherwise the
    acknowledgement (time, node) comes from the history and the preceding
    fault from the fault list.
    """
    found: list[LostWrite] = []
    acks: dict[str, tuple[float, str | None]] | None = None
    for name, result in checkers.items():
        if not isinstance(result, dict):
            continue
        details = result.get("lost-details")
        if isinstance(details, list) and details:
            for d in details:
                if not isinstance(d, dict):
                    continue
                key, value = _split_key(d.get("element"))
                fault = _fault_from_detail(d.get("preceding_fault"), faults)
                node = d.get("node")
                found.append(
                    LostWrite(
                        checker=name,
                        key=key,
                        value=value,
                        ack=_seconds(d.get("ack_time")),
                        node=None if node is None else str(node),
                        fault=fault,
                    )
                )
            continue
        lost = result.get("lost")
        if not isinstance(lost, list):
            continue
        if acks is None:
            acks = _ack_index(ops)
        for element in lost:
            ack, node = acks.get(json.dumps(element, sort_keys=True, default=str), (None, None))
            key, value = _split_key(element)
            found.append(
                LostWrite(
                    checker=name,
                    key=key,
                    value=value,
                    ack=ack,
                    node=node,
                    fault=fault_for(ack, faults),
                    fault_note="computed from the history",
                )
            )
    return found


def unavailable_windows(
    ops: pd.DataFrame, end: float, min_gap: float = 1.0
) -> list[tuple[float, float]]:
    """Fallback availability: gaps of at least ``min_gap`` s with no successful completion,
    between the first invocation and the last completion (``end`` if none completed)."""
    if ops.empty:
        return []
    first = float(ops["start"].min())
    last = float(ops["end"].max()) if ops["end"].notna().any() else end
    ok_times = np.sort(ops.loc[ops["outcome"] == "ok", "end"].to_numpy(dtype=float))
    if len(ok_times) == 0:
        return [(first, last)] if last - first >= min_gap else []
    edges = np.concatenate([[first], ok_times, [last]])
    gaps = np.diff(edges)
    return [(float(edges[i]), float(edges[i + 1])) for i in np.nonzero(gaps >= min_gap)[0]]


def _leader_runs(segments: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(node, start, end) of each unbroken leadership claim, merged across epochs."""
    leaders = segments[segments["role"] == "leader"].sort_values(["node", "start"])
    runs: list[tuple[str, float, float]] = []
    for node, start, stop in zip(leaders["node"], leaders["start"], leaders["end"], strict=True):
        if runs and runs[-1][0] == node and float(start) <= runs[-1][2] + 1e-9:
            runs[-1] = (node, runs[-1][1], max(runs[-1][2], float(stop)))
        else:
            runs.append((str(node), float(start), float(stop)))
    return sorted(runs, key=lambda r: r[1])


def failovers_from_roles(
    segments: pd.DataFrame, faults: Sequence[Fault] = ()
) -> list[dict[str, Any]]:
    """Fallback failovers: leadership moving to another server.

    Each ends at the new leader's first claim and starts at the last fault that
    began while the old leader led, else at the old leader's last claim.
    """
    found: list[dict[str, Any]] = []
    previous: tuple[str, float, float] | None = None
    for node, start, stop in _leader_runs(segments):
        if previous is not None and node != previous[0]:
            causes = [f.start for f in faults if previous[1] <= f.start <= start]
            begin = causes[-1] if causes else min(previous[2], start)
            found.append({"from": previous[0], "to": node, "start": begin, "end": start})
        if previous is None or node != previous[0] or stop > previous[2]:
            previous = (node, start, stop)
    return found


def claims_from_roles(segments: pd.DataFrame) -> list[tuple[list[str], float, float]]:
    """Fallback split-brain claims: times when two servers both claimed leadership."""
    runs = _leader_runs(segments)
    found: list[tuple[list[str], float, float]] = []
    for i, (a, a0, a1) in enumerate(runs):
        for b, b0, b1 in runs[i + 1 :]:
            if b0 >= a1:
                break
            if a != b and min(a1, b1) > max(a0, b0):
                found.append((sorted([a, b]), max(a0, b0), min(a1, b1)))
    return sorted(found, key=lambda c: c[1])
