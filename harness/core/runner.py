"""One test's life, start to finish.

1. Create the run directory (``store/<test-name>/<timestamp>/``, ``store/latest``)
   and write ``test.json``: the whole :class:`harness.core.test.Test`, with its seed.
2. Start the cluster on the chosen backend; let the workload prepare it.
3. Run the generator and the nemesis schedule side by side, writing
   ``history.jsonl`` and ``nemesis.jsonl`` as they go, and sample every
   server's claimed role into ``roles.jsonl`` a few times a second.
4. Heal everything, wait until a leader answers, run the final reads.
5. Export ``history.edn``, keep the servers' rollback files and node logs,
   stop the cluster.
6. Run the workload's checkers, judge the promise table for the mode, write
   ``results.json`` and render ``report.html``.

The runner is the only place that knows workloads, faults and backends at
once; it gets the workload and the faults as objects inside the test, never
by name. Teardown runs whatever happens (exception, Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.core import failover_evidence, observe
from harness.core.checks import judge
from harness.core.client import ArangoClient, server_addresses
from harness.core.fault import Fault, NemesisContext, offered, unmet
from harness.core.generator import GeneratorConfig, Recorder, run_final, run_generator
from harness.core.history import HistoryWriter, jsonl_to_edn
from harness.core.protocols import RunData
from harness.core.recovery import heal_everything, wait_for_convergence, wait_for_leader
from harness.core.run_files import (
    JsonlFile,
    collect_rollbacks,
    make_run_dir,
    read_jsonl,
    write_json,
)
from harness.core.schedule import NemesisSchedule
from harness.core.test import Test
from harness.drivers.factory import make_client, unavailable_reason
from harness.drivers.modes import DriverUnavailable
from harness.infra.backends import make_backend
from harness.infra.backends.base import Backend

ROLE_SAMPLE_S = 0.25
# progress(elapsed_s, time_limit_s, counts by completion type)
Progress = Callable[[float, float, dict[str, int]], None]


class UnmetNeeds(ValueError):
    """No fault of the test can run on its backend (e.g. isolation on the local backend)."""


@dataclass
class RunResult:
    run_dir: Path
    valid: bool | Literal["unknown"]
    results: dict[str, Any]
    report: Path | None
    test: Test

    @property
    def seed(self) -> int:
        return self.test.seed


@dataclass
class Nemesis:
    """What the fault schedule did in one run (for ``results.json`` and the judge)."""

    runnable: list[Fault] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)  # fault -> unmet needs
    applied: list[Fault] = field(default_factory=list)
    skipped: list[Fault] = field(default_factory=list)

    def families(self) -> list[str]:
        """Families of the faults that really acted (as the Fault classes declare them)."""
        return sorted({f.family for f in self.applied})

    def to_json(self) -> dict[str, Any]:
        return {
            "faults": sorted({f.name for f in self.runnable}),
            "left-out": self.left_out,
            "applied": [f.name for f in self.applied],
            "skipped": [f.name for f in self.skipped],
            "families": self.families(),
        }


def runnable_faults(test: Test, backend: Backend) -> Nemesis:
    """The test's faults whose needs the backend meets; ``UnmetNeeds`` when the test
    names faults and none of them can run here."""
    caps = offered(backend, test.cluster.proxied)
    nem = Nemesis()
    for fault in test.faults:
        missing = unmet(fault, caps)
        if missing:
            nem.left_out[fault.name] = sorted(missing)
        else:
            nem.runnable.append(fault)
    if test.faults and not nem.runnable:
        why = "; ".join(f"{n} needs {', '.join(m)}" for n, m in nem.left_out.items())
        raise UnmetNeeds(
            f"no fault of this test can run on the {backend.name} backend"
            f" (it offers {', '.join(sorted(caps))}): {why}"
        )
    return nem


class RoleSampler:
    """Samples ``server_roles`` into ``roles.jsonl`` every ``interval`` seconds."""

    def __init__(self, backend: Backend, out: JsonlFile, recorder: Recorder) -> None:
        self.backend = backend
        self.out = out
        self.recorder = recorder

    async def run(self, stop: asyncio.Event, interval: float = ROLE_SAMPLE_S) -> None:
        while not stop.is_set():
            t = self.recorder.now()
            try:
                roles = await observe.server_roles(self.backend, interval * 2)
            except Exception as exc:  # observation must never end the test
                roles = [{"node": "?", "role": "unknown", "error": str(exc)}]
            for r in roles:
                self.out.write({"time": t, **r})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def run_test(
    test: Test,
    progress: Progress | None = None,
    backend: Backend | None = None,
    stop: asyncio.Event | None = None,
) -> RunResult:
    """Run one test; returns its verdict and run directory.

    Raises on a harness failure (a node would not start, bad settings, no
    fault that can run on the backend) after tearing the cluster down; the
    run directory keeps whatever was written. Setting ``stop`` ends the workload
    early (the soak's SIGTERM): the run still heals, reads and checks.
    """
    test.validate()
    missing = unavailable_reason(test.client)  # a driver mode whose driver is absent here
    if missing is not None:
        raise DriverUnavailable(missing)
    backend = backend or make_backend(test.backend)
    nemesis = runnable_faults(test, backend)
    run_dir = make_run_dir(test.store, test.test_name())
    spec = dataclasses.replace(test.cluster, state_dir=str((run_dir / "cluster").resolve()))
    test_json: dict[str, Any] = {
        **test.to_json(),
        "repeat": test.repeat_command(),
        "replay": f"afcheck run --replay {run_dir}",
    }
    write_json(run_dir / "test.json", test_json)
    files = {n: JsonlFile(run_dir / f"{n}.jsonl") for n in ("nemesis", "roles", "wal_ticks")}
    history = HistoryWriter(run_dir / "history.jsonl")
    recorder = Recorder(history.write)
    rollbacks: list[dict[str, Any]] | None = None
    notes = [f"left out {n}: the backend lacks {', '.join(m)}" for n, m in nemesis.left_out.items()]
    try:
        await backend.start(spec)
        test_json["nodes"] = [n.to_json() for n in backend.nodes()]
        write_json(run_dir / "test.json", test_json)
        rollbacks = await _drive(test, nemesis, backend, recorder, files, progress, notes, stop)
        await failover_evidence.record(backend, run_dir, notes)  # failovers.json, wal_ticks.json
    finally:
        history.close()
        for f in files.values():
            f.close()
        with contextlib.suppress(Exception):
            await backend.collect_logs(str(run_dir / "nodes"))
        await backend.teardown()
    return finish(run_dir, test, nemesis, rollbacks, notes)


def _schedule(
    test: Test,
    nemesis: Nemesis,
    backend: Backend,
    recorder: Recorder,
    nemesis_log: JsonlFile,
) -> NemesisSchedule:
    """The fault schedule, drawing from the seed, logging into ``nemesis.jsonl`` and
    the history's nemesis lines."""
    rng = random.Random(f"{test.seed}:nemesis")

    def on_event(event: str, fid: int, fault: Fault, info: dict[str, Any]) -> None:
        t = recorder.now()
        line = {
            "id": fid,
            "event": event,
            "fault": fault.name,
            "family": fault.family,
            "time": t,
            "nodes": list(info.get("nodes", [])),
            "links": [list(x) for x in info.get("links", [])],
            "detail": _detail(info),
        }
        nemesis_log.write(line)
        value = {"fault": fault.name, "id": fid, "nodes": line["nodes"], "links": line["links"]}
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

    return NemesisSchedule(
        nemesis.runnable,
        NemesisContext(backend, rng),
        rng,
        on_event,
        healthy_s=test.healthy_s,
        fault_s=test.fault_s,
    )


def _detail(info: dict[str, Any]) -> dict[str, Any]:
    """A fault report's ``detail`` (plus any other keys it returned beside nodes/links)."""
    detail = dict(info.get("detail") or {}) if isinstance(info.get("detail"), dict) else {}
    detail.update({k: v for k, v in info.items() if k not in ("nodes", "links", "detail")})
    return detail


async def _drive(
    test: Test,
    nemesis: Nemesis,
    backend: Backend,
    recorder: Recorder,
    files: dict[str, JsonlFile],
    progress: Progress | None,
    notes: list[str],
    end_early: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    workload = test.workload
    timeouts = test.timeouts
    http = ArangoClient(
        server_addresses(backend),
        password=backend.credentials.root_password,
        request_timeout=timeouts.request,
        op_timeout=timeouts.op,
    )
    # --client: the workload's requests go through a real driver; set-up and the final
    # reads (the harness's own look at what survived) stay on the native client
    driver = make_client(
        test.client,
        server_addresses(backend),
        username="root",
        password=backend.credentials.root_password,
        request_timeout=timeouts.request,
        op_timeout=timeouts.op,
    )
    async with http, driver if driver is not None else contextlib.nullcontext():
        await workload.setup(http)
        client = workload.client(driver or http)
        recorder.start_ns = time.monotonic_ns()  # time 0: the workload starts
        schedule = _schedule(test, nemesis, backend, recorder, files["nemesis"])
        stop = asyncio.Event()
        sampler = RoleSampler(backend, files["roles"], recorder)
        tasks = [
            asyncio.create_task(schedule.run(stop), name="nemesis"),
            asyncio.create_task(sampler.run(stop), name="roles"),
            asyncio.create_task(_wal_sampler(backend, files, recorder).run(stop)),
        ]
        if progress is not None:
            tasks.append(asyncio.create_task(_report_progress(progress, test, recorder, stop)))
        gen = GeneratorConfig(
            test.concurrency, test.rate, test.time_limit, test.seed, timeouts.op * 2
        )
        try:
            result = await run_generator(client, workload.ops(), recorder, gen, end_early)
            stop.set()
            await tasks[0]  # the schedule heals its active fault
        finally:
            stop.set()
            for t in tasks[1:]:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        nemesis.applied = list(schedule.applied)
        nemesis.skipped = list(schedule.skipped)
        notes.extend(schedule.errors)
        notes.extend(await heal_everything(backend))
        # keep sampling roles through recovery and the final reads
        stop_roles = asyncio.Event()
        roles_task = asyncio.create_task(sampler.run(stop_roles))
        try:
            await _recover(backend, timeouts.recovery, notes)
            await run_final(
                client if driver is None else workload.client(http),
                workload.final_ops(),
                recorder,
                result.next_process,
                deadline_s=timeouts.final,
                op_timeout=timeouts.op * 2,
            )
        finally:
            stop_roles.set()
            await asyncio.gather(roles_task, return_exceptions=True)
    data_dirs = {n.id: n.data_dir for n in backend.nodes() if n.kind == "server"}
    return await asyncio.to_thread(collect_rollbacks, data_dirs)


def _wal_sampler(
    backend: Backend, files: dict[str, JsonlFile], recorder: Recorder
) -> failover_evidence.WalSampler:
    """Samples the servers' logs into ``wal_ticks.jsonl`` (for the follower-choice checker)."""
    data_dirs = {n.id: n.data_dir for n in backend.nodes() if n.kind == "server"}
    return failover_evidence.WalSampler(data_dirs, files["wal_ticks"], recorder.now)


async def _recover(backend: Backend, timeout_s: float, notes: list[str]) -> None:
    """Wait for a leader, then for every server to follow it; note how long each took."""
    healed_at = time.monotonic()
    leader = await wait_for_leader(backend, timeout_s)
    if leader is None:
        notes.append(f"no leader within {timeout_s:g}s after healing")
        return
    notes.append(f"{leader} led {time.monotonic() - healed_at:.1f}s after healing")
    if await wait_for_convergence(backend, leader, timeout_s):
        notes.append(
            f"all servers followed {leader} and caught up"
            f" {time.monotonic() - healed_at:.1f}s after healing"
        )
    else:
        notes.append(
            f"servers did not converge on {leader} within"
            f" {timeout_s:g}s; rollback files may be missing"
        )


async def _report_progress(
    progress: Progress, test: Test, recorder: Recorder, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not stop.is_set():
        elapsed = min(loop.time() - start, test.time_limit * 0.999)
        progress(elapsed, test.time_limit, dict(recorder.counts))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    progress(test.time_limit, test.time_limit, dict(recorder.counts))


def op_counts(history: list[dict[str, Any]]) -> dict[str, int]:
    """Client completions by type (``ok``, ``fail``, ``info``)."""
    counts = dict.fromkeys(("ok", "fail", "info"), 0)
    for op in history:
        if op.get("process") != "nemesis" and op.get("type") in counts:
            counts[str(op["type"])] += 1
    return counts


def finish(
    run_dir: Path,
    test: Test,
    nemesis: Nemesis,
    rollbacks: list[dict[str, Any]] | None,
    notes: list[str] | None = None,
) -> RunResult:
    """Check a finished run directory: results.json, history.edn and report.html."""
    from reports.render import render_report  # pandas: only once there is a run to render

    history = read_jsonl(run_dir / "history.jsonl")
    run = RunData(
        history=history,
        nemesis=read_jsonl(run_dir / "nemesis.jsonl"),
        roles=read_jsonl(run_dir / "roles.jsonl"),
        rollbacks=list(rollbacks or []),
    )
    run = failover_evidence.load(run, run_dir)  # for the follower-choice checker
    if rollbacks is not None:
        write_json(run_dir / "rollbacks.json", rollbacks)
    jsonl_to_edn(run_dir / "history.jsonl", run_dir / "history.edn")
    # the declared families of the faults that acted (from the Fault objects); a test
    # without faults has none, and the promise table reads that as "no fault"
    families = nemesis.families()
    judged = judge(run, test.workload.checkers(), test.cluster.replication, families)
    valid = judged["valid"]
    results = {
        **judged,
        "seed": test.seed,
        "nemesis": nemesis.to_json(),
        "operations": op_counts(history),
        "notes": list(notes or []),
    }
    write_json(run_dir / "results.json", results)
    report = render_report(run_dir)
    return RunResult(run_dir, valid, results, report, test)


__all__ = ["RunResult", "UnmetNeeds", "run_test", "finish", "wait_for_leader"]
