"""One test's life, start to finish.

1. Create the run directory (``store/<test-name>/<timestamp>/``, ``store/latest``)
   and write ``test.json`` with the full configuration and seed.
2. Start the cluster on the chosen backend; let the workload prepare it.
3. Run the generator and the nemesis schedule side by side, writing
   ``history.jsonl`` and ``nemesis.jsonl`` as they go, and sample every
   server's claimed role into ``roles.jsonl`` a few times a second.
4. Heal everything, wait until a leader answers, run the final reads.
5. Export ``history.edn``, keep the servers' rollback files and node logs,
   stop the cluster.
6. Run the workload's checkers, judge the promise table for the mode, write
   ``results.json`` and render ``report.html``.

The runner is the only place that knows workloads, nemeses and backends at
once. Teardown runs whatever happens (exception, Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.core import observe
from harness.core.checks import judge
from harness.core.client import ArangoClient, server_addresses
from harness.core.generator import GeneratorConfig, Recorder, run_final, run_generator
from harness.core.history import HistoryWriter
from harness.core.protocols import RunData, Workload
from harness.core.recovery import heal_everything, wait_for_convergence, wait_for_leader
from harness.core.run_files import (
    JsonlFile,
    collect_rollbacks,
    make_run_dir,
    read_jsonl,
    write_json,
)
from harness.core.wiring import export_edn, make_schedule
from harness.infra.backends import make_backend
from harness.infra.backends.base import Backend, ClusterSpec
from reports.render import render_report

ROLE_SAMPLE_S = 0.25
# progress(elapsed_s, time_limit_s, counts by completion type)
Progress = Callable[[float, float, dict[str, int]], None]


@dataclass
class RunConfig:
    """Everything that defines a run; printed in full into ``test.json``."""

    workload: str = "set"
    nemesis: str = "partition-leader"
    backend: str = "local"
    replication: Literal["async", "sync"] = "async"
    time_limit: float = 60.0
    concurrency: int = 5
    rate: float = 50.0
    seed: int | None = None
    store: str = "store"
    test_name: str | None = None
    healthy_s: float = 10.0
    fault_s: float = 10.0
    agents: int = 3
    servers: int = 3
    recovery_timeout: float = 60.0
    final_timeout: float = 60.0
    request_timeout: float = 2.0
    op_timeout: float = 5.0
    agency_flags: dict[str, str] = field(default_factory=dict)
    server_flags: dict[str, str] = field(default_factory=dict)

    def name(self) -> str:
        return self.test_name or f"{self.workload}-{self.nemesis}-{self.replication}"

    def validate(self) -> None:
        if self.replication not in ("async", "sync"):
            raise ValueError(f"replication must be async or sync, not {self.replication!r}")
        if self.healthy_s < 0 or self.fault_s <= 0:
            raise ValueError("healthy time must be >= 0 and fault time > 0 seconds")
        if self.agents < 1 or self.servers < 1:
            raise ValueError("need at least one agent and one server")
        GeneratorConfig(self.concurrency, self.rate, self.time_limit).validate()


@dataclass
class RunResult:
    run_dir: Path
    valid: bool | Literal["unknown"]
    results: dict[str, Any]
    report: Path | None
    seed: int


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
    config: RunConfig,
    workload: Workload,
    progress: Progress | None = None,
    backend: Backend | None = None,
) -> RunResult:
    """Run one test; returns its verdict and run directory.

    Raises on a harness failure (a node would not start, bad config) after
    tearing the cluster down; the run directory keeps whatever was written.
    """
    config.validate()
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    config.seed = seed
    run_dir = make_run_dir(config.store, config.name())
    backend = backend or make_backend(config.backend)
    spec = ClusterSpec(
        agents=config.agents,
        servers=config.servers,
        replication=config.replication,
        state_dir=str((run_dir / "cluster").resolve()),
        agency_flags=dict(config.agency_flags),
        server_flags=dict(config.server_flags),
    )
    test_json: dict[str, Any] = {
        "name": config.name(),
        "seed": seed,
        "config": asdict(config),
        "workload": workload.config(),
        "cluster": asdict(spec),
        "repeat": repeat_command(config),
    }
    write_json(run_dir / "test.json", test_json)
    files = {n: JsonlFile(run_dir / f"{n}.jsonl") for n in ("nemesis", "roles")}
    history = HistoryWriter(run_dir / "history.jsonl")
    recorder = Recorder(history.write)
    rollbacks: list[dict[str, Any]] | None = None
    notes: list[str] = []
    try:
        await backend.start(spec)
        test_json["nodes"] = [n.to_json() for n in backend.nodes()]
        write_json(run_dir / "test.json", test_json)
        rollbacks = await _drive(config, workload, backend, recorder, files, seed, progress, notes)
    finally:
        history.close()
        for f in files.values():
            f.close()
        with contextlib.suppress(Exception):
            await backend.collect_logs(str(run_dir / "nodes"))
        await backend.teardown()
    return finish(run_dir, config, workload, rollbacks, notes)


async def _drive(
    config: RunConfig,
    workload: Workload,
    backend: Backend,
    recorder: Recorder,
    files: dict[str, JsonlFile],
    seed: int,
    progress: Progress | None,
    notes: list[str],
) -> list[dict[str, Any]]:
    http = ArangoClient(
        server_addresses(backend),
        request_timeout=config.request_timeout,
        op_timeout=config.op_timeout,
    )
    async with http:
        await workload.setup(http)
        client = workload.client(http)
        recorder.start_ns = time.monotonic_ns()  # time 0: the workload starts
        schedule = make_schedule(config, backend, random.Random(f"{seed}:nemesis"), recorder, files)
        stop = asyncio.Event()
        sampler = RoleSampler(backend, files["roles"], recorder)
        tasks = [
            asyncio.create_task(schedule.run(stop), name="nemesis"),
            asyncio.create_task(sampler.run(stop), name="roles"),
        ]
        if progress is not None:
            tasks.append(asyncio.create_task(_report_progress(progress, config, recorder, stop)))
        gen = GeneratorConfig(
            config.concurrency, config.rate, config.time_limit, seed, config.op_timeout * 2
        )
        try:
            result = await run_generator(client, workload.ops(), recorder, gen)
            stop.set()
            await tasks[0]  # the schedule heals its active fault
        finally:
            stop.set()
            for t in tasks[1:]:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        notes.extend(schedule.errors)
        notes.extend(await heal_everything(backend))
        # keep sampling roles through recovery and the final reads
        stop_roles = asyncio.Event()
        roles_task = asyncio.create_task(sampler.run(stop_roles))
        try:
            healed_at = time.monotonic()
            leader = await wait_for_leader(backend, config.recovery_timeout)
            if leader is None:
                notes.append(f"no leader within {config.recovery_timeout:g}s after healing")
            else:
                notes.append(f"{leader} led {time.monotonic() - healed_at:.1f}s after healing")
                if await wait_for_convergence(backend, leader, config.recovery_timeout):
                    notes.append(
                        f"all servers followed {leader} and caught up"
                        f" {time.monotonic() - healed_at:.1f}s after healing"
                    )
                else:
                    notes.append(
                        f"servers did not converge on {leader} within"
                        f" {config.recovery_timeout:g}s; rollback files may be missing"
                    )
            await run_final(
                client,
                workload.final_ops(),
                recorder,
                result.next_process,
                deadline_s=config.final_timeout,
                op_timeout=config.op_timeout * 2,
            )
        finally:
            stop_roles.set()
            await asyncio.gather(roles_task, return_exceptions=True)
    data_dirs = {n.id: n.data_dir for n in backend.nodes() if n.kind == "server"}
    return await asyncio.to_thread(collect_rollbacks, data_dirs)


async def _report_progress(
    progress: Progress, config: RunConfig, recorder: Recorder, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not stop.is_set():
        elapsed = min(loop.time() - start, config.time_limit * 0.999)
        progress(elapsed, config.time_limit, dict(recorder.counts))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    progress(config.time_limit, config.time_limit, dict(recorder.counts))


def finish(
    run_dir: Path,
    config: RunConfig,
    workload: Workload,
    rollbacks: list[dict[str, Any]] | None,
    notes: list[str] | None = None,
) -> RunResult:
    """Check a finished run directory: results.json, history.edn and report.html."""
    history = read_jsonl(run_dir / "history.jsonl")
    run = RunData(
        history=history,
        nemesis=read_jsonl(run_dir / "nemesis.jsonl"),
        roles=read_jsonl(run_dir / "roles.jsonl"),
        rollbacks=list(rollbacks or []),
    )
    if rollbacks is not None:
        write_json(run_dir / "rollbacks.json", rollbacks)
    export_edn(run_dir)
    faults = sorted({str(e.get("fault")) for e in run.nemesis if e.get("event") == "start"})
    judged = judge(run, workload.checkers(), config.replication, faults or [config.nemesis])
    valid = judged["valid"]
    results = {**judged, "seed": config.seed, "notes": list(notes or [])}
    write_json(run_dir / "results.json", results)
    report = render_report(run_dir)
    return RunResult(run_dir, valid, results, report, int(config.seed or 0))


def repeat_command(config: RunConfig) -> str:
    """The command that repeats this run (same seed)."""
    return (
        f"afcheck run --workload {config.workload} --nemesis {config.nemesis}"
        f" --backend {config.backend} --replication {config.replication}"
        f" --time-limit {config.time_limit:g} --concurrency {config.concurrency}"
        f" --rate {config.rate:g} --seed {config.seed}"
    )


__all__ = ["RunConfig", "RunResult", "run_test", "finish", "repeat_command", "wait_for_leader"]
