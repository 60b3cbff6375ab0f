"""What authentication costs: agency writes/s and server inserts/s with and without it.

``python -m harness.bench auth [--duration 10] [--writers 16] [--clients 32] [--rounds 2]``

In one run, side by side: an agency (3 agents) and a cluster (3 agents, 2
servers) started once with the cluster secret (the default: a member token
on every agency request, HTTP Basic as root on every server request) and once
with ``--insecure-no-auth``. Rounds alternate the two so drift on a busy
machine hits both alike; the best round of each counts. Prints the ratio
and the cost against the target (under 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from harness.bench import agency as agency_bench
from harness.bench import server as server_bench

TARGET_COST = 0.10


def agency_writes(root: str, auth: bool, writers: int, duration: float) -> float:
    cluster = agency_bench.LocalAgency(root, flags={"log-level": "WARNING"}, auth=auth)
    try:
        cluster.start_all()
        leader = cluster.leader()
        result = asyncio.run(
            agency_bench.throughput(
                cluster.url(leader), writers, duration, headers=cluster.headers()
            )
        )
        return float(result["ops_per_s"])
    finally:
        cluster.stop_all()


def server_inserts(root: str, auth: bool, clients: int, duration: float) -> float:
    servers = server_bench.LocalServers(root, "async", agents=3, size=2, auth=auth)
    try:
        servers.start_all()
        leader = servers.leader()
        if not asyncio.run(server_bench._create_collection(servers.url(leader))):
            raise RuntimeError("cannot create the bench collection")
        result = asyncio.run(server_bench.throughput(servers.url(leader), clients, duration))
        return float(result["inserts_per_s"])
    finally:
        servers.stop_all()


def _line(what: str, on: float, off: float) -> str:
    ratio = on / off if off else float("nan")
    cost = 1 - ratio
    met = "met" if cost < TARGET_COST else "NOT met"
    return (
        f"{what}: with auth {on:.0f}/s, --insecure-no-auth {off:.0f}/s, ratio {ratio:.3f} "
        f"(cost {cost:+.1%}) [target cost < {TARGET_COST:.0%}: {met}]"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench auth")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--writers", type=int, default=16, help="concurrent agency writers")
    parser.add_argument("--clients", type=int, default=32, help="concurrent server clients")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.duration <= 0 or args.writers < 1 or args.clients < 1 or args.rounds < 1:
        print("harness.bench auth: need positive --duration, --writers, --clients, --rounds",
              file=sys.stderr)  # fmt: skip
        return 4
    root = tempfile.mkdtemp(prefix="afcheck-bench-auth-")
    best: dict[str, float] = {}
    try:
        for k in range(args.rounds):
            for auth in (True, False) if k % 2 == 0 else (False, True):
                tag = "on" if auth else "off"
                where = os.path.join(root, f"{k}-{tag}")
                a = agency_writes(where + "-agency", auth, args.writers, args.duration)
                s = server_inserts(where + "-servers", auth, args.clients, args.duration)
                best[f"agency-{tag}"] = max(best.get(f"agency-{tag}", 0.0), a)
                best[f"server-{tag}"] = max(best.get(f"server-{tag}", 0.0), s)
                print(
                    f"round {k + 1}, auth {tag}: agency {a:.0f} writes/s, servers {s:.0f} inserts/s"
                )
    except RuntimeError as exc:
        print(f"harness.bench auth: {exc}", file=sys.stderr)
        return 3
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures: dict[str, Any] = best
    print(_line("agency writes (3 agents)", figures["agency-on"], figures["agency-off"]))
    print(_line("server inserts (async, 2 servers)", figures["server-on"], figures["server-off"]))
    return 0
