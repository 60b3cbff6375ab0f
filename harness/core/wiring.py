"""Where the runner meets the nemesis and the exports: fault schedules, EDN.

The runner itself stays a plain sequence of steps; the backend comes from
:func:`harness.infra.backends.make_backend`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.generator import Recorder
from harness.core.history import ops_from_dicts, write_edn
from harness.core.run_files import JsonlFile, read_jsonl
from harness.core.schedule import NemesisSchedule
from harness.infra.backends.base import Backend, Isolating
from nemesis.faults.base import NemesisContext
from nemesis.registry import FAULTS, NEEDS_ISOLATION

if TYPE_CHECKING:
    from harness.core.runner import RunConfig


def make_schedule(
    config: RunConfig,
    backend: Backend,
    rng: random.Random,
    recorder: Recorder,
    files: dict[str, JsonlFile],
) -> NemesisSchedule:
    """A :class:`harness.core.schedule.NemesisSchedule` that logs into the run's files."""
    factories = dict(FAULTS)
    if config.nemesis == "mixed" and not isinstance(backend, Isolating):
        # `mixed` on a backend that cannot disconnect nodes: leave out the
        # isolation faults rather than spend fault windows on skipped cycles
        factories = {k: v for k, v in factories.items() if k not in NEEDS_ISOLATION}
    names = NemesisSchedule.faults_for(config.nemesis, factories)

    def on_event(event: str, fid: int, fault: str, info: dict[str, Any]) -> None:
        t = recorder.now()
        line = {
            "id": fid,
            "event": event,
            "fault": fault,
            "time": t,
            "nodes": list(info.get("nodes", [])),
            "links": [list(x) for x in info.get("links", [])],
            "detail": _detail(info),
        }
        files["nemesis"].write(line)
        value = {"fault": fault, "id": fid, "nodes": line["nodes"], "links": line["links"]}
        if event == "error":
            value["error"] = info.get("error")
        recorder.record(
            {
                "type": "info",
                "process": "nemesis",
                "f": "stop" if event == "end" else "start" if event == "start" else "error",
                "value": value,
                "time": t,
            }
        )

    ctx = NemesisContext(backend, rng, lambda _line: None)
    return NemesisSchedule(
        names,
        factories,
        ctx,
        rng,
        on_event,
        healthy_s=config.healthy_s,
        fault_s=config.fault_s,
    )


def _detail(info: dict[str, Any]) -> dict[str, Any]:
    """A fault report's ``detail`` (plus any other keys it returned beside nodes/links)."""
    detail = dict(info.get("detail") or {}) if isinstance(info.get("detail"), dict) else {}
    detail.update({k: v for k, v in info.items() if k not in ("nodes", "links", "detail")})
    return detail


def export_edn(run_dir: Path) -> None:
    """``history.edn`` beside ``history.jsonl`` (Jepsen's format)."""
    ops = ops_from_dicts(read_jsonl(run_dir / "history.jsonl"), str(run_dir / "history.jsonl"))
    write_edn(run_dir / "history.edn", ops)
