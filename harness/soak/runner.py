"""Running a soak: rounds of the plan, one after another, each a normal run on a fresh cluster.

An invalid round, or one the harness failed, never stops the soak: it is
recorded in ``soak.json`` and the next round starts. The first SIGINT/SIGTERM
ends the workload of the round in flight early: the round still heals, runs
its final reads and is checked, then is marked ``incomplete`` and the soak
stops (a second signal cancels the round outright). ``store/latest`` and the
index only ever point at complete runs.

Given a ``round_command`` (``afcheck soak`` passes
``python -m harness.cli.soak_round``), each round runs in a process of its own
and the soak forwards its signals there: what a round allocates goes back to
the system when its process exits, so the soak's own RSS stays flat for hours.
Without one, rounds run in this process (the tests' fakes do that).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from harness.core.fault import Fault
from harness.core.run_files import write_json
from harness.core.runner import Nemesis, RunResult, finish, run_test
from harness.core.test import Test, Timeouts, default_cluster
from harness.soak import memory, retention, rundir
from harness.soak.plan import Matrix, Round, draw, shard_indices
from harness.soak.state import DONE, SoakState
from harness.soak.store_index import HARNESS_ERROR, run_figures, verdict_of

RUNS = "runs"


class Plugins(Protocol):
    def workload(self, name: str, settings: Any = None) -> Any: ...

    def fault(self, name: str) -> Fault: ...


@dataclass
class SoakConfig:
    store: Path
    duration_s: float
    seed: int
    shard: tuple[int, int]
    matrix: Matrix
    backend: str = "local"
    round_time: float = 60.0
    keep_passing: int | None = None
    max_store_bytes: int | None = None
    resume: bool = False
    max_rounds: int | None = None  # rounds this session may start (tests, smoke)
    concurrency: int = 5
    rate: float = 50.0


def git_commit() -> str:
    """The commit under test: ``$AFCHECK_COMMIT``, else ``git rev-parse HEAD``, else unknown."""
    env = os.environ.get("AFCHECK_COMMIT")
    if env:
        return env
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def harness_rss_kb() -> dict[str, int]:
    """This process's resident set now and at its peak (kB), from /proc/self/status."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return {"rss_kb": out.get("VmRSS", 0), "peak_rss_kb": out.get("VmHWM", 0)}


def round_test(r: Round, cfg: SoakConfig, plugins: Plugins) -> Test:
    """The ``afcheck run`` test of round ``r``."""
    phase = max(2.0, min(10.0, cfg.round_time / 6))
    return Test(
        workload=plugins.workload(r.workload, {}),
        seed=r.seed,
        nemesis=r.fault,
        faults=(plugins.fault(r.fault),),
        backend=cfg.backend,
        cluster=dataclasses.replace(default_cluster(), replication=r.mode),  # type: ignore[arg-type]
        concurrency=cfg.concurrency,
        rate=cfg.rate,
        time_limit=cfg.round_time,
        healthy_s=phase,
        fault_s=phase,
        timeouts=Timeouts(),
        store=str(cfg.store / RUNS),
        name=r.name(),
    )


class RoundFailed(Exception):
    """The round's process reported a harness failure (its text is the error as recorded)."""


def exit_status(rounds: list[dict[str, Any]]) -> int:
    """0 every promise held, 1 one broke, 3 the harness failed a round, 2 unknown verdicts."""
    statuses = {r.get("status") for r in rounds}
    if "invalid" in statuses or any(r.get("broken") for r in rounds):
        return 1
    if "error" in statuses:
        return 3
    if "unknown" in statuses:
        return 2
    return 0


class SoakRunner:
    """One session of a soak (a fresh one, or a resumed one)."""

    def __init__(
        self,
        cfg: SoakConfig,
        state: SoakState,
        plugins: Plugins,
        out: TextIO = sys.stdout,
        after_round: Callable[[Path], None] | None = None,
        round_command: list[str] | None = None,
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.plugins = plugins
        self.out = out
        self.after_round = after_round
        self.round_command = round_command
        self.stop_reason: str | None = None
        self._end_workload = asyncio.Event()
        self._task: asyncio.Task[RunResult] | None = None
        self._child: asyncio.subprocess.Process | None = None
        self._signals = 0
        self._round_peak_kb: int | None = None

    # ---- signals -------------------------------------------------------------

    def _on_signal(self, signame: str) -> None:
        self._signals += 1
        if self.stop_reason is None:
            self.stop_reason = signame
            print(f"soak: {signame}: ending the round in flight", file=sys.stderr, flush=True)
            self._end_workload.set()
            self._tell_child()
        elif self._child is not None or self._task is not None:
            what = "killing" if self._child is not None and self._signals >= 3 else "cancelling"
            print(f"soak: {signame} again: {what} the round", file=sys.stderr, flush=True)
            if self._child is not None:
                self._tell_child()
            elif self._task is not None:
                self._task.cancel()

    def _tell_child(self) -> None:
        """Pass a signal on to the round's process: 1st ends its workload, 2nd cancels, 3rd kills."""
        child = self._child
        if child is None or child.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if self._signals >= 3:
                child.kill()
            else:
                child.send_signal(signal.SIGTERM)

    # ---- what a round is (the marathon overrides these) -------------------------

    def plan_round(self, k: int) -> Round:
        return draw(self.cfg.seed, self.cfg.matrix, k)

    def make_test(self, r: Round) -> Test:
        return round_test(r, self.cfg, self.plugins)

    async def execute(self, test: Test) -> RunResult:
        if self.round_command is None:
            return await run_test(test, stop=self._end_workload)
        return await self._execute_apart(test)

    async def _execute_apart(self, test: Test) -> RunResult:
        """Run ``test`` in a process of its own; read its verdict from the run directory."""
        assert self.round_command is not None
        with tempfile.TemporaryDirectory(prefix=".round-", dir=self.cfg.store) as tmp:
            spec, outcome_path = Path(tmp) / "test.json", Path(tmp) / "outcome.json"
            write_json(spec, test.to_json())
            child = await asyncio.create_subprocess_exec(
                *self.round_command,
                "run",
                str(spec),
                str(outcome_path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's ^C reaches the soak, which passes it on
            )
            self._child = child
            try:
                for _ in range(min(self._signals, 2)):  # signals that came before it started
                    self._tell_child()
                code = await child.wait()
            except asyncio.CancelledError:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
                raise
            finally:
                self._child = None
            try:
                outcome = json.loads(outcome_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                outcome = {}
        self._round_peak_kb = outcome.get("peak_rss_kb")
        if outcome.get("cancelled"):
            raise asyncio.CancelledError
        if outcome.get("error"):
            raise RoundFailed(outcome["error"])
        if not outcome.get("run_dir"):
            raise RoundFailed(f"the round's process exited with status {code} and no outcome")
        run_dir = Path(outcome["run_dir"])
        try:
            results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RoundFailed(f"cannot read {run_dir / 'results.json'}: {exc}") from None
        report = run_dir / "report.html"
        valid = results.get("valid", "unknown")
        return RunResult(run_dir, valid, results, report if report.exists() else None, test)

    # ---- the loop ------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig.name)
        try:
            return await self._loop()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def _loop(self) -> int:
        st = self.state
        st.sessions += 1
        session_start = time.monotonic()
        base_elapsed = st.elapsed_s
        done = st.done_indices()
        started = 0
        for k in shard_indices(self.cfg.shard):
            if self.stop_reason is not None:
                break
            if k in done:
                continue
            st.elapsed_s = base_elapsed + time.monotonic() - session_start
            if st.elapsed_s >= st.duration_s and started + len(done) > 0:
                break
            if self.cfg.max_rounds is not None and started >= self.cfg.max_rounds:
                break
            started += 1
            record = await self._round(self.plan_round(k))
            st.elapsed_s = base_elapsed + time.monotonic() - session_start
            st.rounds.append(record)
            self._retain()
            st.save(self.cfg.store)
            self._point_latest()
            if self.after_round is not None:
                with contextlib.suppress(Exception):
                    self.after_round(self.cfg.store)
            self._print(record)
        st.elapsed_s = base_elapsed + time.monotonic() - session_start
        st.save(self.cfg.store)
        code = exit_status(st.rounds)
        how = f"stopped by {self.stop_reason}" if self.stop_reason else "done"
        print(f"soak {how}: {self._totals()}; exit {code}", file=self.out, flush=True)
        return code

    async def _round(self, r: Round) -> dict[str, Any]:
        record: dict[str, Any] = {
            "index": r.index,
            "name": r.name(),
            "case": r.case(),
            **{k: v for k, v in dataclasses.asdict(r).items() if k != "index"},
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        t0 = time.monotonic()
        runs = self.cfg.store / RUNS
        try:
            test = self.make_test(r)
        except ValueError as exc:
            record.update(status="error", error=str(exc))
            return record
        self._task = asyncio.create_task(self.execute(test))
        result: RunResult | None = None
        error = ""
        try:
            result = await self._task
        except asyncio.CancelledError:
            error = "cancelled by a second signal"
        except RoundFailed as exc:
            error = str(exc)
        except Exception as exc:  # a harness failure ends this round, never the soak
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            self._task = None
        run_dir = result.run_dir if result else rundir.find_run_dir(runs, r.name())
        incomplete = self.stop_reason is not None
        if result is None and run_dir is not None and incomplete:
            result = _check_partial(run_dir, test, error)  # keep and check the partial history
        if result is not None:
            status = verdict_of(result.valid)
            lost, failovers = run_figures(result.results)
            record.update(
                lost=lost,
                failovers=failovers,
                broken=list(result.results.get("broken-promises") or []),
            )
        else:
            status = "error"
            record["error"] = error
            if run_dir is not None:
                (run_dir / HARNESS_ERROR).write_text(error + "\n", encoding="utf-8")
        record["verdict"] = status
        record["status"] = "incomplete" if incomplete else status
        if run_dir is not None:
            try:
                await asyncio.to_thread(self._keep, run_dir, r, record, incomplete)
            except OSError as exc:  # a full disk, say: noted, and the soak goes on
                record["keep-error"] = f"{type(exc).__name__}: {exc}"
        record["seconds"] = round(time.monotonic() - t0, 1)
        del result, test
        memory.release()  # the round's history and results are garbage now: give the pages back
        record.update(harness_rss_kb())
        if self._round_peak_kb is not None:
            record["round_peak_rss_kb"] = self._round_peak_kb
            self._round_peak_kb = None
        return record

    def _keep(self, run_dir: Path, r: Round, record: dict[str, Any], incomplete: bool) -> None:
        """Note the soak's facts in the run directory, then compact it."""
        record["run_dir"] = os.path.relpath(run_dir, self.cfg.store)
        extra: dict[str, Any] = {"commit": self.state.commit, "started": record["started"]}
        extra["soak"] = {"round": r.index, "shard": list(self.cfg.shard), "family": r.family}
        rundir.amend_json(run_dir / "test.json", extra)
        if incomplete and (run_dir / "results.json").exists():
            why = f"soak stopped by {self.stop_reason}: workload ended early"
            rundir.amend_json(run_dir / "results.json", {"incomplete": why})
        rundir.compact(run_dir, passing=record["status"] == "valid")
        if (run_dir / "report.html").exists():
            # the report links the node logs, which compaction just gzipped
            self._render(run_dir, record)
        record["size_bytes"] = rundir.dir_size(run_dir)

    def _render(self, run_dir: Path, record: dict[str, Any]) -> None:
        """Render the round's report again (in the round's own kind of process)."""
        if self.round_command is not None:
            done = subprocess.run(
                [*self.round_command, "report", str(run_dir)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:  # the round's verdict stands; the old report stays
                record["report-error"] = (done.stderr.strip().splitlines() or ["failed"])[-1]
            return
        from reports.render import render_report

        try:
            render_report(run_dir)
        except Exception as exc:  # the round's verdict stands; the old report stays
            record["report-error"] = f"{type(exc).__name__}: {exc}"

    # ---- after each round ----------------------------------------------------

    def _retain(self) -> None:
        cfg = self.cfg
        if cfg.keep_passing is None and cfg.max_store_bytes is None:
            return
        kept = [
            retention.Kept(int(r["index"]), cfg.store / r["run_dir"], True, int(r["size_bytes"]))
            for r in self.state.rounds
            if r.get("status") == "valid" and r.get("run_dir") and not r.get("evicted")
        ]
        total = rundir.dir_size(cfg.store)
        chosen = retention.choose_evictions(kept, cfg.keep_passing, cfg.max_store_bytes, total)
        by_index = {int(r["index"]): r for r in self.state.rounds if r.get("status") == "valid"}

        def mark(k: retention.Kept) -> None:
            by_index[k.index]["evicted"] = True

        retention.evict(chosen, mark)

    def _point_latest(self) -> None:
        """``store/latest`` (and ``store/runs/latest``) at the newest complete, kept run."""
        target: Path | None = None
        for r in reversed(self.state.rounds):
            if r.get("status") in DONE and r.get("run_dir") and not r.get("evicted"):
                target = self.cfg.store / r["run_dir"]
                break
        rundir.point_link(self.cfg.store / "latest", target)
        rundir.point_link(self.cfg.store / RUNS / "latest", target)

    # ---- the terminal ----------------------------------------------------------

    def _print(self, rec: dict[str, Any]) -> None:
        fo = rec.get("failovers") or []
        lost = rec.get("lost")
        line = (
            f"[{self.cfg.shard[0]}/{self.cfg.shard[1]}] round {rec['index']:>4} "
            f"{rec['case']:<40} {rec['status'].upper():<10} "
            f"lost {'-' if lost is None else lost:>4}  failovers {len(fo)}"
            + (f" (max {max(fo):.1f}s)" if fo else "")
            + f"  {rec.get('seconds', 0):.0f}s  rss {rec.get('rss_kb', 0) // 1024}MB"
        )
        if rec.get("broken"):
            line += f"  BROKEN: {', '.join(rec['broken'])}"
        if rec.get("error"):
            line += f"  error: {rec['error']}"
        print(line, file=self.out, flush=True)
        print(f"    total: {self._totals()}", file=self.out, flush=True)

    def _totals(self) -> str:
        rounds = self.state.rounds
        count = {s: sum(1 for r in rounds if r.get("status") == s) for s in (*DONE, "incomplete")}
        lost = sum(r.get("lost") or 0 for r in rounds)
        fo = sum(len(r.get("failovers") or []) for r in rounds)
        el = self.state.elapsed_s
        return (
            f"{len(rounds)} rounds: {count['valid']} valid, {count['invalid']} invalid, "
            f"{count['unknown']} unknown, {count['error']} error, {count['incomplete']} incomplete; "
            f"{lost} acknowledged writes lost, {fo} failovers; "
            f"{el / 60:.1f}/{self.state.duration_s / 60:.1f} min"
        )


def _check_partial(run_dir: Path, test: Test, error: str) -> RunResult | None:
    """Check what a cancelled round left (no final reads): results.json and the report."""
    from harness.core.run_files import read_jsonl

    names = {f.name: f for f in test.faults}
    applied = [
        names[e["fault"]]
        for e in read_jsonl(run_dir / "nemesis.jsonl")
        if e.get("event") == "start" and e.get("fault") in names
    ]
    nem = Nemesis(runnable=list(test.faults), applied=applied)
    try:
        return finish(run_dir, test, nem, None, [f"round interrupted: {error}"])
    except Exception:
        return None
