"""Tiny run directories shaped like the runner's (test.json + results.json + report.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def make_run(
    store: Path,
    name: str,
    stamp: str,
    *,
    valid: bool | str = True,
    lost: int | None = 0,
    failovers: tuple[float, ...] = (2.0,),
    workload: str = "set",
    nemesis: str = "kill-leader",
    family: str = "kill",
    mode: str = "async",
    commit: str | None = "abc123",
    broken: tuple[str, ...] = (),
    incomplete: bool = False,
    results: bool = True,
) -> Path:
    run = store / "runs" / name / stamp
    run.mkdir(parents=True)
    test: dict[str, Any] = {
        "name": name,
        "seed": 42,
        "workload": {"name": workload, "config": {}},
        "nemesis": nemesis,
        "faults": [nemesis],
        "backend": "local",
        "cluster": {"agents": 3, "servers": 3, "replication": mode},
        "repeat": f"afcheck run --workload {workload} --nemesis {nemesis} --seed 42",
    }
    if commit is not None:
        test["commit"] = commit
    (run / "test.json").write_text(json.dumps(test))
    if not results:
        return run
    res: dict[str, Any] = {
        "valid": valid,
        "broken-promises": list(broken),
        "families": [family],
        "checkers": {
            "availability": {
                "failovers": [{"duration_ns": int(f * 1e9), "planned": False} for f in failovers]
            },
        },
    }
    if lost is not None:
        res["checkers"]["set-full"] = {"lost-count": lost}
        res["promises"] = {"acked-writes-survive": {"evidence": {"acked-lost-count": lost}}}
    if incomplete:
        res["incomplete"] = "soak stopped by SIGTERM"
    (run / "results.json").write_text(json.dumps(res))
    (run / "report.html").write_text("<html><body>report</body></html>")
    (run / "nodes" / "s1").mkdir(parents=True)
    (run / "nodes" / "s1" / "s1.log").write_text("log line\n" * 100)
    return run
