"""Where the runner meets the other parts: backends, nemesis schedules, EDN, reports.

Backends, faults and the report renderer are found by name here, so the
runner itself stays a plain sequence of steps.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.backends.base import Backend, Isolating
from harness.generator import Recorder
from harness.history import ops_from_dicts, write_edn
from harness.run_files import JsonlFile, read_jsonl

if TYPE_CHECKING:
    from harness.runner import RunConfig

BACKENDS = {
    "local": ("harness.backends.local", "LocalBackend"),
    "docker": ("harness.backends.docker", "DockerBackend"),
}


class WiringError(RuntimeError):
    """A part the run needs is missing (unknown backend, nemesis, renderer)."""


def make_backend(name: str) -> Backend:
    try:
        module, cls = BACKENDS[name]
    except KeyError:
        raise WiringError(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})") from None
    try:
        backend: Backend = getattr(importlib.import_module(module), cls)()
    except (ImportError, AttributeError) as exc:
        raise WiringError(f"backend {name!r} is not available: {exc}") from exc
    return backend


def fault_factories() -> dict[str, Any]:
    """``nemesis.registry.FAULTS``: fault name -> factory."""
    try:
        faults: dict[str, Any] = importlib.import_module("nemesis.registry").FAULTS
    except (ImportError, AttributeError) as exc:
        raise WiringError(f"the fault registry is not available: {exc}") from exc
    return faults


def make_schedule(
    config: RunConfig,
    backend: Backend,
    rng: random.Random,
    recorder: Recorder,
    files: dict[str, JsonlFile],
) -> Any:
    """A :class:`nemesis.schedule.NemesisSchedule` that logs into the run's files."""
    schedule_mod = importlib.import_module("nemesis.schedule")
    base = importlib.import_module("nemesis.base")
    factories = fault_factories()
    if config.nemesis == "mixed" and not isinstance(backend, Isolating):
        # `mixed` on a backend that cannot disconnect nodes: leave out the
        # isolation faults rather than spend fault windows on skipped cycles
        needs_isolation = importlib.import_module("nemesis.registry").NEEDS_ISOLATION
        factories = {k: v for k, v in factories.items() if k not in needs_isolation}
    names = schedule_mod.NemesisSchedule.faults_for(config.nemesis, factories)

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

    ctx = base.NemesisContext(backend, rng, lambda _line: None)
    return schedule_mod.NemesisSchedule(
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


def render_report(run_dir: Path) -> Path | None:
    """Render ``report.html`` with ``reports.render.render_report`` (None if unavailable)."""
    try:
        render = importlib.import_module("reports.render").render_report
    except (ImportError, AttributeError):
        return None
    return Path(render(run_dir))
