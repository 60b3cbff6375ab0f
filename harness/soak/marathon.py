"""The marathon: one cluster kept alive for the whole soak, a fault every N seconds.

One long test: the matrix's first workload and mode, every fault of the matrix
drawn in turn (``mixed`` over the matrix's faults), a fault every
``fault_every`` seconds, and a :class:`~harness.soak.metrics.MetricsSampler`
writing each node's RSS, open fds, data-dir size and WAL rows (and the
harness's own RSS) into the run directory's ``metrics.jsonl``. The history is
checked at the end as any run's; SIGTERM ends it early, checked, ``incomplete``.

The set workload runs in generations (:data:`WORKLOAD_SETTINGS`): a fresh
collection every 1000 adds, reads of the live one only. Hours of whole-set
reads would make the history quadratic in the run's length (a 2-hour
marathon once wrote 1.6 GB of reads and could not be checked); with
generations it grows linearly and set-full still judges every element.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random

from harness.core.runner import RunResult, run_test
from harness.core.test import Test, Timeouts, default_cluster
from harness.infra.backends import make_backend
from harness.soak import rundir
from harness.soak.metrics import MetricsSampler
from harness.soak.plan import Round
from harness.soak.runner import RUNS, SoakRunner

WORKLOAD_SETTINGS: dict[str, dict[str, object]] = {"set": {"generation_size": 1000}}


class MarathonRunner(SoakRunner):
    fault_every: float = 60.0
    sample_every: float = 60.0

    def plan_round(self, k: int) -> Round:
        m = self.cfg.matrix
        seed = random.Random(f"{self.cfg.seed}:marathon:{k}").randrange(2**31)
        return Round(k, m.workloads[0], "mixed", "marathon", m.modes[0], seed)

    def make_test(self, r: Round) -> Test:
        names = [
            n for fam in sorted(self.cfg.matrix.families) for n in self.cfg.matrix.families[fam]
        ]
        remaining = max(10.0, self.state.duration_s - self.state.elapsed_s)
        fault_s = max(2.0, min(30.0, self.fault_every / 2))
        return Test(
            workload=self.plugins.workload(r.workload, WORKLOAD_SETTINGS.get(r.workload, {})),
            seed=r.seed,
            nemesis=",".join(names),
            faults=tuple(self.plugins.fault(n) for n in names),
            backend=self.cfg.backend,
            cluster=dataclasses.replace(default_cluster(), replication=r.mode),  # type: ignore[arg-type]
            concurrency=self.cfg.concurrency,
            rate=self.cfg.rate,
            time_limit=remaining,
            healthy_s=max(0.0, self.fault_every - fault_s),
            fault_s=fault_s,
            timeouts=Timeouts(),
            store=str(self.cfg.store / RUNS),
            name=r.name(),
        )

    async def execute(self, test: Test) -> RunResult:
        backend = make_backend(test.backend)
        stop = asyncio.Event()
        sampler = asyncio.create_task(self._sample(test, backend.nodes, stop))
        try:
            return await run_test(test, backend=backend, stop=self._end_workload)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await sampler

    async def _sample(self, test: Test, nodes: object, stop: asyncio.Event) -> None:
        runs = self.cfg.store / RUNS
        run_dir = None
        while run_dir is None and not stop.is_set():  # the runner makes it first thing
            run_dir = await asyncio.to_thread(rundir.find_run_dir, runs, test.test_name())
            if run_dir is None:
                await asyncio.sleep(0.2)
        if run_dir is None or not callable(nodes):
            return
        await MetricsSampler(nodes, run_dir / "metrics.jsonl", self.sample_every).run(stop)
