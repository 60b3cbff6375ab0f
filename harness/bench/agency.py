"""Agency benchmark: write throughput and latency, and failover time after kill -9.

``python -m harness.bench agency [--duration 10] [--writers 16] [--kills 20]``

1. Throughput: 3 agents, ``--writers`` concurrent clients each writing one key
   per request to the leader for ``--duration`` seconds; committed writes/s
   and p50/p99 latency. Run twice in one go, with group commit on and off,
   so the ratio shows what group commit buys on this machine.
2. Failover: ``--kills`` times, kill -9 the agency leader and measure the
   time until a write commits again (clients try every surviving agent);
   the killed agent is restarted and caught up before the next kill.

Targets are printed beside the figures, met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.backends.node_table import NodeStartError
from harness.infra.probe import http_json

TARGET_WRITES_PER_S = 300.0
TARGET_WRITE_P99_MS = 100.0
TARGET_FAILOVER_P99_S = 2.0


class LocalAgency:
    """Three (or N) agents and no servers, on a :class:`LocalBackend` without proxies
    (the figures are the agency's own, not Toxiproxy's)."""

    def __init__(
        self, root: str, size: int = 3, flags: dict[str, str] | None = None, auth: bool = True
    ) -> None:
        self.root = root
        self.cluster = BlockingBackend()
        self.spec = ClusterSpec(
            agents=size,
            servers=0,
            proxied=False,
            agency_flags=dict(flags or {}),
            state_dir=root,
            auth=auth,
        )

    @property
    def ids(self) -> list[str]:
        return self.cluster.ids("agent")

    def url(self, ident: str) -> str:
        return self.cluster.node(ident).direct_url

    def headers(self) -> dict[str, str]:
        """The cluster's member token (nothing when started without authentication)."""
        return self.cluster.credentials.agency_headers()

    def start_all(self) -> None:
        try:
            self.cluster.start(self.spec)
        except NodeStartError as exc:
            raise RuntimeError(str(exc).splitlines()[0]) from exc

    def start(self, ident: str) -> None:
        self.cluster.start_node(ident)

    def kill9(self, ident: str) -> None:
        self.cluster.kill(ident)

    def alive(self) -> list[str]:
        return [i for i in self.ids if self.cluster.is_running(i)]

    def stop_all(self) -> None:
        self.cluster.close()

    def config(self, ident: str) -> dict[str, Any] | None:
        status, body = http_json(
            self.url(ident) + "/_api/agency/config", time_limit=1.0, headers=self.headers()
        )
        return body if status == 200 and isinstance(body, dict) else None

    def leader(self, limit: float = 30.0) -> str:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for ident in self.alive():
                cfg = self.config(ident)
                if cfg is not None and cfg.get("role") == "LEADER":
                    return ident
            time.sleep(0.02)
        raise RuntimeError(f"no agency leader within {limit}s (logs in {self.root})")

    def wait_caught_up(self, ident: str, leader: str, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            mine, theirs = self.config(ident), self.config(leader)
            if mine and theirs and mine["commitIndex"] >= theirs["commitIndex"]:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{ident} did not catch up within {limit}s")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def _client(
    session: aiohttp.ClientSession,
    url: str,
    wid: int,
    stop_at: float,
    lat: list[float],
    reads: bool,
) -> int:
    errors = 0
    n = 0
    path = "/_api/agency/read" if reads else "/_api/agency/write"
    while time.monotonic() < stop_at:
        body: Any = (
            [[f"/bench/w{wid}"]] if reads else [[{f"/bench/w{wid}": {"op": "set", "new": n}}]]
        )
        t0 = time.monotonic()
        try:
            async with session.post(url + path, json=body) as resp:
                await resp.read()
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            lat.append(time.monotonic() - t0)
        else:
            errors += 1
        n += 1
    return errors


async def throughput(
    url: str,
    writers: int,
    duration: float,
    reads: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    lat: list[float] = []
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        stop_at = time.monotonic() + duration
        started = time.monotonic()
        errors = await asyncio.gather(
            *(_client(session, url, w, stop_at, lat, reads) for w in range(writers))
        )
        elapsed = time.monotonic() - started
    return {
        "ops": len(lat),
        "errors": sum(errors),
        "ops_per_s": len(lat) / elapsed,
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
    }


async def _first_commit_after(agency: LocalAgency, alive: list[str], limit: float) -> float:
    """Seconds until a write commits through any of ``alive`` (polled every 20 ms)."""
    t0 = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=1.0)
    async with aiohttp.ClientSession(timeout=timeout, headers=agency.headers()) as session:
        while time.monotonic() - t0 < limit:
            for ident in alive:
                body = [[{"/bench/failover": {"op": "increment"}}]]
                try:
                    async with session.post(
                        agency.url(ident) + "/_api/agency/write", json=body, allow_redirects=False
                    ) as resp:
                        if resp.status == 200:
                            return time.monotonic() - t0
                except (aiohttp.ClientError, TimeoutError):
                    pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"no write committed within {limit}s after the kill")


def failover(agency: LocalAgency, kills: int) -> dict[str, Any]:
    times: list[float] = []
    for _ in range(kills):
        leader = agency.leader()
        alive = [i for i in agency.alive() if i != leader]
        agency.kill9(leader)
        times.append(asyncio.run(_first_commit_after(agency, alive, 30.0)))
        agency.start(leader)
        agency.wait_caught_up(leader, agency.leader())
    return {
        "kills": kills,
        "p50_s": percentile(times, 50),
        "p99_s": percentile(times, 99),
        "max_s": max(times),
        "mean_s": statistics.fmean(times),
        "samples_s": [round(t, 3) for t in times],
    }


def _measure_throughput(
    root: str, group_commit: bool, writers: int, duration: float
) -> dict[str, Any]:
    agency = LocalAgency(
        os.path.join(root, "gc-on" if group_commit else "gc-off"),
        flags={"group-commit": str(group_commit).lower(), "log-level": "WARNING"},
    )
    try:
        agency.start_all()
        leader = agency.leader()
        before = agency.config(leader) or {}
        result = asyncio.run(
            throughput(agency.url(leader), writers, duration, headers=agency.headers())
        )
        after = agency.config(leader) or {}
        b, a = before.get("stats", {}), after.get("stats", {})
        proposals = a.get("proposals", 0) - b.get("proposals", 0)
        fsyncs = a.get("fsyncs", 0) - b.get("fsyncs", 0)
        result["entries_per_leader_fsync"] = proposals / fsyncs if fsyncs else float("nan")
        if group_commit:  # linearizable (read-index) reads by as many clients
            result["reads"] = asyncio.run(
                throughput(
                    agency.url(leader), writers, duration / 2, reads=True, headers=agency.headers()
                )
            )
        return result
    finally:
        agency.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench agency")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput run")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the agents' data and logs")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.duration <= 0 or args.writers < 1 or args.kills < 0:
        print(
            "harness.bench agency: need --duration > 0, --writers >= 1, --kills >= 0",
            file=sys.stderr,
        )
        return 4
    root = tempfile.mkdtemp(prefix="afcheck-bench-agency-")
    figures: dict[str, Any] = {}
    try:
        on = _measure_throughput(root, True, args.writers, args.duration)
        off = _measure_throughput(root, False, args.writers, args.duration)
        figures["throughput_group_commit"] = on
        figures["throughput_no_group_commit"] = off
        met = on["ops_per_s"] >= TARGET_WRITES_PER_S and on["p99_ms"] < TARGET_WRITE_P99_MS
        print(
            f"agency writes, 3 agents, {args.writers} writers, {args.duration:.0f}s: "
            f"{on['ops_per_s']:.0f} writes/s, p50 {on['p50_ms']:.1f} ms, "
            f"p99 {on['p99_ms']:.1f} ms, {on['errors']} errors, "
            f"{on['entries_per_leader_fsync']:.1f} entries per leader fsync "
            f"[target >= {TARGET_WRITES_PER_S:.0f}/s and p99 < {TARGET_WRITE_P99_MS:.0f} ms: "
            f"{'met' if met else 'NOT met'}]"
        )
        ratio = on["ops_per_s"] / off["ops_per_s"] if off["ops_per_s"] else float("nan")
        print(
            f"  without group commit: {off['ops_per_s']:.0f} writes/s, "
            f"p50 {off['p50_ms']:.1f} ms, p99 {off['p99_ms']:.1f} ms "
            f"(group commit = {ratio:.2f}x throughput)"
        )
        rd = on["reads"]
        print(
            f"  linearizable reads (read-index), {args.writers} readers: "
            f"{rd['ops_per_s']:.0f} reads/s, p50 {rd['p50_ms']:.1f} ms, p99 {rd['p99_ms']:.1f} ms"
        )
        if args.kills:
            agency = LocalAgency(os.path.join(root, "failover"), flags={"log-level": "WARNING"})
            try:
                agency.start_all()
                fo = failover(agency, args.kills)
            finally:
                agency.stop_all()
            figures["failover"] = fo
            met = fo["p99_s"] <= TARGET_FAILOVER_P99_S
            print(
                f"agency leader kill -9 -> next committed write, {fo['kills']} kills: "
                f"p50 {fo['p50_s']:.2f} s, p99 {fo['p99_s']:.2f} s, max {fo['max_s']:.2f} s "
                f"[target p99 <= {TARGET_FAILOVER_P99_S:.0f} s: {'met' if met else 'NOT met'}]"
            )
        if args.json:
            print(json.dumps(figures))
    except RuntimeError as exc:
        print(f"harness.bench agency: {exc}", file=sys.stderr)
        return 3
    finally:
        if args.keep:
            print(f"data and logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0
