"""Switchover benchmark: how long writes stop during a planned switchover, beside a kill -9.

``python -m harness.bench switchover [--modes async,sync] [--switchovers 20]
[--kills 5] [--clients 4]``

For each replication mode, on a fresh cluster of real processes (3 agents, 3
document servers, default settings, no proxies), ``--clients`` clients insert
documents as fast as they can, following ``X-Arango-Endpoint`` to the leader.
Meanwhile:

1. ``--switchovers`` times, ``POST /_admin/cluster/switchover`` to the leader
   (member token signed with the cluster secret); before the next one the
   old leader must follow and hold the new leader's last tick;
2. then ``--kills`` times, kill -9 of the leader (an unplanned failover), the
   killed server restarted and caught up before the next one.

**Unavailability** of one leader change: from the last insert the old leader
acknowledged to the first one the new leader acknowledged. Printed: p50, p99
and max of each, the ratio of the p50s (planned / unplanned, the same run on
the same machine), and the acknowledged writes that the new leader lacks
after each switchover (there must be none). Exit code 3 when the cluster
cannot be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from harness.bench.agency import percentile
from harness.bench.server import AUTH, LocalServers, _create_collection, run_modes
from harness.infra.probe import http_json


@dataclass
class Load:
    """Clients inserting unique keys from a thread of their own; every ack is recorded."""

    urls: list[str]
    clients: int
    acks: list[tuple[float, str, str]] = field(default_factory=list)  # (time, server, key)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._client(session, c) for c in range(self.clients)))

    async def _client(self, session: aiohttp.ClientSession, cid: int) -> None:
        url, n, turn = self.urls[0], 0, cid
        while not self._stop.is_set():
            n += 1
            key = f"c{cid}-{n}"
            try:
                async with session.post(
                    f"{url}/_api/document/bench",
                    json={"_key": key},
                    headers=AUTH,
                    timeout=aiohttp.ClientTimeout(total=5),
                ) as resp:
                    await resp.read()
                    status, headers = resp.status, resp.headers
            except (aiohttp.ClientError, TimeoutError):
                status, headers = 0, None
            if status in (201, 202) and headers is not None:
                self.acks.append((time.monotonic(), headers.get("X-Arango-Server-Id", "?"), key))
                continue
            endpoint = headers.get("X-Arango-Endpoint") if headers is not None else None
            if endpoint and endpoint in self.urls:
                url = endpoint
            else:
                turn += 1
                url = self.urls[turn % len(self.urls)]
            await asyncio.sleep(0.005)


def unavailability(acks: list[tuple[float, str, str]], t0: float, old: str) -> float | None:
    """From the old leader's last ack (at or before the change) to the next leader's first."""
    first_new = next((t for t, sid, _ in acks if t >= t0 and sid not in (old, "?")), None)
    if first_new is None:
        return None
    last_old = max((t for t, sid, _ in acks if sid == old and t <= first_new), default=t0)
    return first_new - min(last_old, first_new)


def _switchover(servers: LocalServers, headers: dict[str, str]) -> tuple[float, str, str]:
    leader = servers.leader()
    t0 = time.monotonic()
    status, body = http_json(
        servers.url(leader) + "/_admin/cluster/switchover", {}, time_limit=20.0, headers=headers
    )
    if status != 200 or not isinstance(body, dict):
        raise RuntimeError(f"switchover refused by {leader}: HTTP {status} {body}")
    return t0, leader, str(body["new"])


def _missing(servers: LocalServers, server: str, keys: list[str]) -> int:
    url = servers.url(server) + "/_api/simple/all-keys"
    status, body = http_json(
        url, {"collection": "bench", "type": "key"}, time_limit=30.0, method="PUT", headers=AUTH
    )
    if status != 201 or not isinstance(body, dict):
        raise RuntimeError(f"cannot list the keys on {server}: HTTP {status}")
    return len(set(keys) - set(body["result"]))


def _stats(times: list[float]) -> dict[str, Any]:
    return {
        "count": len(times),
        "p50_s": round(percentile(times, 50), 3) if times else None,
        "p99_s": round(percentile(times, 99), 3) if times else None,
        "max_s": round(max(times), 3) if times else None,
    }


def run_mode(mode: str, args: argparse.Namespace, root: str) -> dict[str, Any]:
    servers = LocalServers(os.path.join(root, mode), mode)
    try:
        servers.start_all()
        if not asyncio.run(_create_collection(servers.url(servers.leader()))):
            raise RuntimeError("cannot create the bench collection")
        member = servers.cluster.backend.credentials.agency_headers()
        load = Load([servers.url(i) for i in servers.ids], args.clients)
        load.start()
        planned: list[float | None] = []
        lost = 0
        try:
            time.sleep(1.0)
            for _ in range(args.switchovers):
                t0, old, new = _switchover(servers, member or AUTH)
                servers.wait_caught_up(old, new)
                time.sleep(0.5)
                planned.append(unavailability(list(load.acks), t0, old))
                lost += _missing(servers, new, [k for t, _, k in list(load.acks) if t < t0])
            unplanned: list[float | None] = []
            for _ in range(args.kills):
                old = servers.leader()
                t0 = time.monotonic()
                servers.kill9(old)
                new = servers.leader()
                servers.start(old)
                servers.wait_caught_up(old, new)
                time.sleep(0.5)
                unplanned.append(unavailability(list(load.acks), t0, old))
        finally:
            load.stop()
        return {
            "mode": mode,
            "switchover": _stats([t for t in planned if t is not None]),
            "switchover_without_new_ack": sum(t is None for t in planned),
            "acked_lost_after_switchovers": lost,
            "kill9": _stats([t for t in unplanned if t is not None]),
            "acked": len(load.acks),
        }
    finally:
        servers.stop_all()


def _print(results: list[dict[str, Any]]) -> None:
    for r in results:
        sw, k9 = r["switchover"], r["kill9"]
        print(f"[{r['mode']}] {r['acked']} inserts acknowledged")
        print(
            f"  switchover ({sw['count']}): writes stop p50 {sw['p50_s']} s  p99 {sw['p99_s']} s"
            f"  max {sw['max_s']} s; acknowledged writes lost: {r['acked_lost_after_switchovers']}"
        )
        if k9["count"]:
            ratio = (sw["p50_s"] or 0.0) / max(1e-9, k9["p50_s"] or 0.0)
            print(
                f"  kill -9 ({k9['count']}): writes stop p50 {k9['p50_s']} s  p99 {k9['p99_s']} s"
                f"  max {k9['max_s']} s;  switchover/kill p50 ratio {ratio:.2f}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench switchover")
    parser.add_argument("--modes", default="async,sync")
    parser.add_argument("--switchovers", type=int, default=20)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the node directories")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("async", "sync") for m in modes):
        print("harness.bench switchover: --modes takes async,sync", file=sys.stderr)
        return 4
    if args.switchovers < 1 or args.kills < 0 or args.clients < 1:
        print(
            "harness.bench switchover: need --switchovers >= 1, --kills >= 0, --clients >= 1",
            file=sys.stderr,
        )
        return 4
    return run_modes("switchover", modes, run_mode, args, _print)
