"""The rows of a store index: one per run directory, read from ``test.json`` and
``results.json`` only (no cluster is started, nothing is recomputed).

A run directory whose round was interrupted (``results.json["incomplete"]``) or
that never finished (no ``results.json`` and no ``harness-error.txt``) is left
out: the index only ever points at complete runs. Rows can be saved
(``index-rows.json``) and merged with earlier nights' rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROWS_FILE = "index-rows.json"
HARNESS_ERROR = "harness-error.txt"
SKIP_DIRS = {"cluster", "nodes", "latest"}


@dataclass
class Row:
    key: str  # unique across stores and nights: <test name>/<run dir name>
    time: str  # ISO 8601 UTC of the run's start
    verdict: str  # valid | invalid | unknown | error
    workload: str
    nemesis: str
    families: list[str]
    mode: str
    backend: str
    seed: int | None
    lost: int | None  # acknowledged writes lost (None: the workload does not measure it)
    failovers: list[float]  # seconds each unplanned failover took
    broken: list[str]  # promised properties that broke
    repeat: str
    commit: str
    report: str | None  # path of report.html relative to the index's directory
    run_dir: str = ""  # relative to the index's directory
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def night(self) -> str:
        return self.time[:10]

    @property
    def hour(self) -> str:
        return self.time[:13]

    @property
    def case(self) -> str:
        return f"{self.workload}/{self.nemesis}/{self.mode}/{self.backend}"

    @property
    def family(self) -> str:
        return ",".join(self.families) or "none"

    def anomalous(self) -> bool:
        return self.verdict != "valid" or bool(self.lost)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_figures(results: dict[str, Any]) -> tuple[int | None, list[float]]:
    """Acknowledged writes lost (for the jobs workload: acknowledged jobs never
    executed), and each unplanned failover's seconds, from ``results.json``."""
    lost: int | None = None
    promise = (results.get("promises") or {}).get("acked-writes-survive") or {}
    evidence = promise.get("evidence")
    if isinstance(evidence, dict) and isinstance(evidence.get("acked-lost-count"), int):
        lost = evidence["acked-lost-count"]
    checkers = results.get("checkers") or {}
    set_full = checkers.get("set-full") or {}
    if lost is None and isinstance(set_full.get("lost-count"), int):
        lost = set_full["lost-count"]
    jobs = checkers.get("jobs") or {}
    if lost is None and isinstance(jobs.get("lost-count"), int):
        lost = jobs["lost-count"]  # acknowledged enqueues never executed
    avail = checkers.get("availability") or {}
    failovers = [
        round(f["duration_ns"] / 1e9, 3)
        for f in avail.get("failovers") or []
        if isinstance(f, dict)
        and isinstance(f.get("duration_ns"), (int, float))
        and not f.get("planned")
    ]
    return lost, failovers


def verdict_of(valid: Any) -> str:
    return (
        {True: "valid", False: "invalid"}.get(valid, "unknown")
        if isinstance(valid, bool)
        else "unknown"
    )


def _started(test: dict[str, Any], run_dir: Path) -> str:
    started = test.get("started")
    if isinstance(started, str) and len(started) >= 13:
        return started
    stamp = run_dir.name.split("-")[0]
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        when = dt.datetime.fromtimestamp(run_dir.stat().st_mtime, dt.UTC)
    return when.isoformat(timespec="seconds")


def read_run(run_dir: Path, base: Path) -> Row | None:
    """The row of one run directory (None: not a complete run)."""
    test = _load(run_dir / "test.json")
    if test is None:
        return None
    results = _load(run_dir / "results.json")
    error = ""
    if results is None:
        err = run_dir / HARNESS_ERROR
        if not err.exists():
            return None  # in flight, or killed before it could be checked
        error = err.read_text(encoding="utf-8", errors="replace").strip()
        results = {}
        verdict = "error"
    elif results.get("incomplete"):
        return None
    else:
        verdict = verdict_of(results.get("valid"))
    lost, failovers = run_figures(results)
    cluster = test.get("cluster") or {}
    workload = test.get("workload") or {}
    families = results.get("families") or (results.get("nemesis") or {}).get("families") or []
    if not families and isinstance(test.get("soak"), dict):
        families = [test["soak"].get("family", "")]
    report = run_dir / "report.html"
    seed = test.get("seed")
    return Row(
        key=f"{test.get('name', run_dir.parent.name)}/{run_dir.name}",
        time=_started(test, run_dir),
        verdict=verdict,
        workload=str(workload.get("name", "?")),
        nemesis=str(test.get("nemesis", "?")),
        families=[str(f) for f in families if f],
        mode=str(cluster.get("replication", "?")),
        backend=str(test.get("backend", "?")),
        seed=seed if isinstance(seed, int) else None,
        lost=lost,
        failovers=failovers,
        broken=[str(b) for b in results.get("broken-promises") or []],
        repeat=str(test.get("repeat", "")),
        commit=str(test.get("commit") or "unknown"),
        report=os.path.relpath(report, base) if report.exists() else None,
        run_dir=os.path.relpath(run_dir, base),
        error=error,
        extra={"time_limit": test.get("time_limit")},
    )


def run_dirs(store: Path) -> Iterable[Path]:
    """Every run directory under ``store`` (a directory holding ``test.json``)."""
    for root, dirs, files in os.walk(store):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        if "test.json" in files:
            dirs[:] = []
            yield Path(root)


def read_store(stores: Iterable[Path], base: Path) -> list[Row]:
    """The rows of every complete run in ``stores``, links relative to ``base``, oldest first."""
    rows = [r for s in stores for d in run_dirs(s) if (r := read_run(d, base)) is not None]
    return sorted(rows, key=lambda r: (r.time, r.key))


def save_rows(rows: list[Row], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps([asdict(r) for r in rows], indent=0) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_rows(path: Path, base: Path) -> list[Row]:
    """Rows saved earlier (previous nights); links that no longer resolve from ``base`` drop."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows: list[Row] = []
    for item in data if isinstance(data, list) else []:
        try:
            row = Row(**item)
        except TypeError:
            continue
        if row.report and not (base / row.report).exists():
            row.report = None
        rows.append(row)
    return rows


def merge_rows(*groups: list[Row]) -> list[Row]:
    """Union by key (later groups win), oldest first."""
    by_key: dict[str, Row] = {}
    for group in groups:
        for row in group:
            by_key[row.key] = row
    return sorted(by_key.values(), key=lambda r: (r.time, r.key))


def rebase(rows: list[Row], base: Path, out: Path) -> list[Row]:
    """Rows whose links are relative to ``base``, made relative to ``out``."""
    for row in rows:
        if row.report:
            row.report = os.path.relpath(base / row.report, out)
        if row.run_dir:
            row.run_dir = os.path.relpath(base / row.run_dir, out)
    return rows
