"""Server benchmark: inserts/s, replication lag and failover time, async vs sync.

``python -m harness.bench server [--modes async,sync] [--agents 3] [--servers 3]
[--clients 32] [--duration 10] [--lag-rate 500] [--lag-duration 10] [--kills 20]``

For each replication mode, on a fresh cluster of real processes (agency plus
document servers on loopback, default settings):

1. Throughput: ``--clients`` concurrent clients insert one document per
   request on the leader for ``--duration`` s: inserts/s, p50/p99 latency.
2. Replication lag: one paced client inserts ``--lag-rate`` documents/s; a
   poller watches a follower's ``lastTick`` (``/_admin/server/role``) every
   2 ms. Lag of a write = first time the follower holds its tick (read from
   the ``_rev``, which names the tick) minus the time the leader acknowledged
   it: p50/p99.
3. Failover: ``--kills`` times, kill -9 the leader and measure the time until
   an insert is acknowledged by any server (probes go to every server every
   20 ms); the killed server is restarted and caught up before the next kill.

Figures are printed beside the targets; the command never fails on a miss.
Exit code 3 when the cluster cannot be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from harness.bench.agency import percentile
from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.backends.node_table import NodeStartError
from harness.infra.probe import http_json

TARGET_INSERTS_PER_S = 1500.0
TARGET_FAILOVER_P50_S = 3.0
TARGET_FAILOVER_P99_S = 5.0
SYNC_RATIO = 0.5
AUTH = {"Authorization": "Basic " + base64.b64encode(b"root:").decode()}
_REV = re.compile(r"^_([0-9a-f]+)-")


class LocalServers:
    """An agency plus document servers on a :class:`LocalBackend` without proxies
    (the figures are the cluster's own, not Toxiproxy's)."""

    def __init__(
        self, root: str, replication: str, agents: int = 3, size: int = 3, auth: bool = True
    ) -> None:
        self.root = root
        self.replication = replication
        self.cluster = BlockingBackend()
        self.spec = ClusterSpec(
            agents=agents,
            servers=size,
            replication="sync" if replication == "sync" else "async",
            proxied=False,
            server_flags={"log-level": "WARNING"},
            state_dir=root,
            root_password="",  # the benchmark's clients log in as root:
            auth=auth,
        )

    @property
    def ids(self) -> list[str]:
        return self.cluster.ids("server")

    def url(self, ident: str) -> str:
        return self.cluster.node(ident).direct_url

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

    def role(self, ident: str) -> dict[str, Any] | None:
        req_url = self.url(ident) + "/_admin/server/role"
        status, body = http_json(req_url, headers=AUTH)
        return body if status == 200 and isinstance(body, dict) else None

    def leader(self, limit: float = 60.0) -> str:
        """The server that leads with a valid lease (and a sync follower in sync mode)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for ident in self.alive():
                r = self.role(ident)
                if not r or r.get("afRole") != "leader" or not r["details"]["leaseValid"]:
                    continue
                if self.replication == "sync" and r["details"]["syncFollower"] in (None, ident):
                    continue
                return ident
            time.sleep(0.05)
        raise RuntimeError(f"no writable leader within {limit}s (logs in {self.root})")

    def wait_caught_up(self, ident: str, leader: str, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            mine, theirs = self.role(ident), self.role(leader)
            if (
                mine
                and theirs
                and mine["afRole"] == "follower"
                and mine["details"]["applier"]["phase"] == "tailing"
                and mine["lastTick"] >= theirs["lastTick"]
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{ident} did not catch up with {leader} within {limit}s")


async def _insert(
    session: aiohttp.ClientSession, url: str, doc: dict[str, Any], limit: float = 10.0
) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
    try:
        async with session.post(
            f"{url}/_api/document/bench",
            json=doc,
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=limit),
        ) as resp:
            body = await resp.json(content_type=None)
            return resp.status, body if isinstance(body, dict) else None, dict(resp.headers)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return 0, None, {}


async def throughput(url: str, clients: int, duration: float) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0

    async def client(cid: int, session: aiohttp.ClientSession, stop_at: float) -> None:
        nonlocal errors
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            t0 = time.monotonic()
            status, _, _ = await _insert(session, url, {"_key": f"t{cid}-{n}", "n": n})
            if status in (201, 202):
                lat.append(time.monotonic() - t0)
            else:
                errors += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        stop_at = start + duration
        await asyncio.gather(*(client(c, session, stop_at) for c in range(clients)))
        elapsed = time.monotonic() - start
    return {
        "inserts_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(percentile(lat, 50) * 1000, 2),
        "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "errors": errors,
    }


async def replication_lag(
    leader_url: str, follower_url: str, rate: float, duration: float
) -> dict[str, Any]:
    acked: list[tuple[int, float]] = []  # (tick, ack time)
    seen: list[tuple[int, float]] = []  # (follower lastTick, time observed)
    stop = asyncio.Event()

    async def poll(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            try:
                async with session.get(
                    f"{follower_url}/_admin/server/role",
                    headers=AUTH,
                    timeout=aiohttp.ClientTimeout(total=2),
                ) as resp:
                    body = await resp.json(content_type=None)
                    seen.append((int(body["lastTick"]), time.monotonic()))
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
                pass
            await asyncio.sleep(0.002)

    async def write(session: aiohttp.ClientSession, n: int) -> None:
        status, body, _ = await _insert(session, leader_url, {"_key": f"lag{n}"})
        now = time.monotonic()
        match = _REV.match(str((body or {}).get("_rev", "")))
        if status in (201, 202) and match:
            acked.append((int(match.group(1), 16), now))

    async with aiohttp.ClientSession() as session:
        poller = asyncio.create_task(poll(session))
        start = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        n = 0
        while time.monotonic() - start < duration:
            n += 1
            task = asyncio.create_task(write(session, n))
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at = start + n / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if pending:
            await asyncio.wait(pending, timeout=15)
        elapsed = time.monotonic() - start
        await asyncio.sleep(1.0)
        stop.set()
        await poller
    lags: list[float] = []
    j = 0
    for tick, t_ack in sorted(acked):
        while j < len(seen) and seen[j][0] < tick:
            j += 1
        if j < len(seen):
            lags.append(max(0.0, seen[j][1] - t_ack))
    seen.sort(key=lambda s: s[1])
    return {
        "offered_per_s": rate,
        "acked_per_s": round(len(acked) / elapsed, 1),
        "measured": len(lags),
        "lag_p50_ms": round(percentile(lags, 50) * 1000, 2),
        "lag_p99_ms": round(percentile(lags, 99) * 1000, 2),
    }


async def _first_ack(urls: list[str], limit: float) -> float:
    start = time.monotonic()
    n = 0
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - start < limit:
            n += 1
            probes = [
                _insert(session, url, {"_key": f"fo{int(start * 1000)}-{n}-{i}"}, limit=1.0)
                for i, url in enumerate(urls)
            ]
            results = await asyncio.gather(*probes)
            if any(status in (201, 202) for status, _, _ in results):
                return time.monotonic() - start
            await asyncio.sleep(0.02)
    return float("inf")


def failover(servers: LocalServers, kills: int) -> dict[str, Any]:
    times: list[float] = []
    for _ in range(kills):
        leader = servers.leader()
        servers.kill9(leader)
        urls = [servers.url(i) for i in servers.ids]
        times.append(asyncio.run(_first_ack(urls, 30.0)))
        servers.start(leader)
        servers.wait_caught_up(leader, servers.leader())
    return {
        "kills": kills,
        "p50_s": round(percentile(times, 50), 3),
        "p99_s": round(percentile(times, 99), 3),
        "max_s": round(max(times), 3) if times else None,
    }


def run_mode(mode: str, args: argparse.Namespace, root: str) -> dict[str, Any]:
    servers = LocalServers(os.path.join(root, mode), mode, agents=args.agents, size=args.servers)
    try:
        servers.start_all()
        leader = servers.leader()
        made = asyncio.run(_create_collection(servers.url(leader)))
        if not made:
            raise RuntimeError("cannot create the bench collection")
        out: dict[str, Any] = {"mode": mode}
        out["throughput"] = asyncio.run(
            throughput(servers.url(leader), args.clients, args.duration)
        )
        leader = servers.leader()
        follower = next(i for i in servers.ids if i != leader)
        servers.wait_caught_up(follower, leader)
        out["lag"] = asyncio.run(
            replication_lag(
                servers.url(leader), servers.url(follower), args.lag_rate, args.lag_duration
            )
        )
        out["failover"] = failover(servers, args.kills) if args.kills > 0 else None
        return out
    finally:
        servers.stop_all()


async def _create_collection(url: str) -> bool:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/_api/collection",
            json={"name": "bench"},
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp,
    ):
        return resp.status == 200


def _print(results: list[dict[str, Any]]) -> None:
    by_mode = {r["mode"]: r for r in results}
    for r in results:
        t, lag, fo = r["throughput"], r["lag"], r["failover"]
        print(f"[{r['mode']}]")
        target = f">= {TARGET_INSERTS_PER_S:.0f}/s" if r["mode"] == "async" else ""
        if r["mode"] == "sync" and "async" in by_mode:
            ratio = t["inserts_per_s"] / max(1e-9, by_mode["async"]["throughput"]["inserts_per_s"])
            target = f">= {SYNC_RATIO:.0%} of async (ratio {ratio:.2f})"
        print(
            f"  inserts/s (32 clients): {t['inserts_per_s']:>9.1f}   target {target}"
            f"   p50 {t['p50_ms']} ms  p99 {t['p99_ms']} ms  errors {t['errors']}"
        )
        print(
            f"  replication lag @ {lag['offered_per_s']:.0f}/s: p50 {lag['lag_p50_ms']} ms"
            f"  p99 {lag['lag_p99_ms']} ms  (acked {lag['acked_per_s']}/s, "
            f"{lag['measured']} writes measured)"
        )
        if fo:
            print(
                f"  failover (kill -9 -> first ack, {fo['kills']} kills): p50 {fo['p50_s']} s"
                f"  p99 {fo['p99_s']} s  max {fo['max_s']} s"
                f"   target p50 <= {TARGET_FAILOVER_P50_S} s, p99 <= {TARGET_FAILOVER_P99_S} s"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench server")
    parser.add_argument("--modes", default="async,sync")
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--lag-rate", type=float, default=500.0)
    parser.add_argument("--lag-duration", type=float, default=10.0)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the node directories")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("async", "sync") for m in modes) or args.servers < 2:
        print("harness.bench server: --modes takes async,sync; --servers >= 2", file=sys.stderr)
        return 4
    return run_modes("server", modes, run_mode, args, _print)


def run_modes(
    name: str,
    modes: list[str],
    run: Callable[[str, argparse.Namespace, str], dict[str, Any]],
    args: argparse.Namespace,
    show: Callable[[list[dict[str, Any]]], None],
) -> int:
    """Run ``run`` for each mode under one scratch directory (kept with ``--keep``), print
    the figures (``--json`` too); 3 when a cluster could not be set up."""
    root = tempfile.mkdtemp(prefix=f"afcheck-bench-{name}-")
    results: list[dict[str, Any]] = []
    try:
        for mode in modes:
            results.append(run(mode, args, root))
    except RuntimeError as exc:
        print(f"harness.bench {name}: {exc}", file=sys.stderr)
        return 3
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    show(results)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0
