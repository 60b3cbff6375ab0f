"""WAL growth benchmark: does a server's data directory stay bounded under steady writes?

``python -m harness.bench wal_growth [--duration 1800] [--rate 300] [--docs 100]
[--sample 10] [--compare 120] [--root DIR]``

A cluster of 3 agents and 2 document servers (async replication, no proxies)
is started with :class:`~harness.infra.backends.local.LocalBackend`. One
client updates a constant set of ``--docs`` documents at ``--rate`` writes/s
for ``--duration`` seconds, so the data set stays the same size while the
replication log would grow by one entry per write. Every ``--sample`` seconds
the leader's and the follower's data-directory size (every file, the SQLite
``-wal`` included) and WAL row count are sampled.

Printed: the samples, then per server the size at the end of the warm-up
(the first 5 minutes, or the first sixth of a shorter run), at the end, and
the growth in between, beside the target (less than 20 MB over the 25
minutes after the first 5, i.e. 0.8 MB/min). With ``--compare S`` (0 = skip)
the same load runs for S seconds on a fresh cluster with pruning disabled
(``--wal-prune-interval 0``) and the growth rates are printed side by side
(a ratio, since these machines are noisy).

Figures only: the command never fails on a missed target. Exit code 3 when
the cluster cannot be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.local import LocalBackend

AUTH = {"Authorization": "Basic " + base64.b64encode(b"root:").decode()}
TARGET_MB_PER_MIN = 20.0 / 25.0
WARMUP_S = 300.0
COLLECTION = "walbench"
MB = 1024 * 1024


@dataclass
class Sample:
    t: float
    sizes: dict[str, int]  # role -> data-dir bytes
    rows: dict[str, int]  # role -> WAL rows


@dataclass
class RunResult:
    label: str
    duration: float
    samples: list[Sample] = field(default_factory=list)
    writes_ok: int = 0
    writes_failed: int = 0


def dir_size(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                pass  # a file removed while walking (a checkpointed -wal, a .tmp)
    return total


def wal_rows(data_dir: str) -> int:
    """Rows of the server's WAL table (a short read-only look at its SQLite file)."""
    path = os.path.join(data_dir, "data.sqlite")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM wal").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


async def _json(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    try:
        async with session.request(
            method, url, json=body, headers=AUTH, timeout=aiohttp.ClientTimeout(total=10)
        ) as resp:
            return resp.status, await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return 0, None


async def find_leader(session: aiohttp.ClientSession, urls: dict[str, str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for ident, url in urls.items():
            status, body = await _json(session, "GET", f"{url}/_admin/server/role")
            if (
                status == 200
                and isinstance(body, dict)
                and body.get("afRole") == "leader"
                and body.get("details", {}).get("leaseValid")
            ):
                return ident
        await asyncio.sleep(0.1)
    raise RuntimeError("no leader within 60 s")


async def load(
    session: aiohttp.ClientSession,
    url: str,
    rate: float,
    docs: int,
    stop_at: float,
    result: RunResult,
) -> None:
    """``rate`` PATCHes/s round-robin over ``docs`` keys (at most 64 in flight)."""
    in_flight = asyncio.Semaphore(64)
    pad = "x" * 120

    async def one(n: int) -> None:
        try:
            status, _ = await _json(
                session,
                "PATCH",
                f"{url}/_api/document/{COLLECTION}/k{n % docs}",
                {"n": n, "pad": pad},
            )
            if status in (200, 201, 202):
                result.writes_ok += 1
            else:
                result.writes_failed += 1
        finally:
            in_flight.release()

    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        now = time.monotonic()
        if due >= stop_at or now >= stop_at:
            break  # (a server slower than the rate gets fewer writes, not a longer run)
        if due > now:
            await asyncio.sleep(due - now)
        await in_flight.acquire()
        task = asyncio.create_task(one(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    await asyncio.gather(*tasks)


async def run_once(
    label: str, root: str, args: argparse.Namespace, duration: float, flags: dict[str, str]
) -> RunResult:
    backend = LocalBackend()
    spec = ClusterSpec(
        agents=3,
        servers=2,
        replication="async",
        proxied=False,
        server_flags={"log-level": "WARNING", **flags},
        root_password="",  # the benchmark's clients log in as root:
        state_dir=os.path.join(root, label),
    )
    result = RunResult(label, duration)
    await backend.start(spec)
    try:
        servers = {n.id: n for n in backend.nodes() if n.kind == "server"}
        urls = {i: n.direct_url for i, n in servers.items()}
        async with aiohttp.ClientSession() as session:
            leader = await find_leader(session, urls)
            follower = next(i for i in servers if i != leader)
            lurl = urls[leader]
            status, _ = await _json(
                session, "POST", f"{lurl}/_api/collection", {"name": COLLECTION}
            )
            if status not in (200, 201, 409):
                raise RuntimeError(f"cannot create the collection on {leader}: HTTP {status}")
            for k in range(args.docs):
                await _json(
                    session, "POST", f"{lurl}/_api/document/{COLLECTION}", {"_key": f"k{k}"}
                )
            roles = {"leader": leader, "follower": follower}
            print(f"[{label}] leader {leader}, follower {follower}; {duration:.0f} s", flush=True)
            start = time.monotonic()
            stop_at = start + duration
            writer = asyncio.create_task(load(session, lurl, args.rate, args.docs, stop_at, result))
            while True:
                t = time.monotonic() - start
                sample = Sample(
                    t,
                    {r: dir_size(servers[i].data_dir) for r, i in roles.items()},
                    {r: wal_rows(servers[i].data_dir) for r, i in roles.items()},
                )
                result.samples.append(sample)
                print(
                    f"  t={t:7.0f}s  leader {sample.sizes['leader'] / MB:8.2f} MB "
                    f"{sample.rows['leader']:8d} rows   follower "
                    f"{sample.sizes['follower'] / MB:8.2f} MB {sample.rows['follower']:8d} rows"
                    f"   writes ok {result.writes_ok} failed {result.writes_failed}",
                    flush=True,
                )
                if t >= duration:
                    break
                await asyncio.sleep(max(0.0, min(args.sample, start + duration - time.monotonic())))
            await writer
    finally:
        await backend.teardown()
    return result


def warmup_of(duration: float) -> float:
    return WARMUP_S if duration >= 2 * WARMUP_S else duration / 6


def at(result: RunResult, t: float) -> Sample:
    """The first sample at or after ``t``."""
    return next((s for s in result.samples if s.t >= t), result.samples[-1])


def summary(result: RunResult) -> dict[str, Any]:
    warm = at(result, warmup_of(result.duration))
    end = result.samples[-1]
    minutes = max(1e-9, (end.t - warm.t) / 60)
    out: dict[str, Any] = {
        "label": result.label,
        "warmup_s": round(warm.t),
        "end_s": round(end.t),
        "writes_per_s": round(result.writes_ok / max(1e-9, end.t), 1),
        "writes_failed": result.writes_failed,
    }
    for role in ("leader", "follower"):
        growth = end.sizes[role] - warm.sizes[role]
        out[role] = {
            "mb_at_warmup": round(warm.sizes[role] / MB, 2),
            "mb_at_end": round(end.sizes[role] / MB, 2),
            "growth_mb": round(growth / MB, 2),
            "growth_mb_per_min": round(growth / MB / minutes, 3),
            "total_mb": round(end.sizes[role] / MB, 2),
            "wal_rows_at_warmup": warm.rows[role],
            "wal_rows_at_end": end.rows[role],
        }
    return out


def print_summaries(items: list[dict[str, Any]]) -> None:
    print()
    header = f"{'':32}" + "".join(f"{s['label']:>22}" for s in items)
    print(header)

    def row(name: str, fn: Any) -> None:
        print(f"{name:32}" + "".join(f"{fn(s)!s:>22}" for s in items))

    row("run (s) / warm-up (s)", lambda s: f"{s['end_s']} / {s['warmup_s']}")
    row("writes/s ok (failed)", lambda s: f"{s['writes_per_s']} ({s['writes_failed']})")
    for role in ("leader", "follower"):
        row(f"{role}: MB after warm-up", lambda s, r=role: s[r]["mb_at_warmup"])
        row(f"{role}: MB at end", lambda s, r=role: s[r]["mb_at_end"])
        row(f"{role}: growth after warm-up MB", lambda s, r=role: s[r]["growth_mb"])
        row(f"{role}: growth MB/min", lambda s, r=role: s[r]["growth_mb_per_min"])
        row(
            f"{role}: WAL rows warm-up/end",
            lambda s, r=role: f"{s[r]['wal_rows_at_warmup']}/{s[r]['wal_rows_at_end']}",
        )
    main = items[0]
    worst = max(main["leader"]["growth_mb_per_min"], main["follower"]["growth_mb_per_min"])
    verdict = "met" if worst < TARGET_MB_PER_MIN else "MISSED"
    print(
        f"\ntarget: < 20 MB over the 25 min after the first 5 ({TARGET_MB_PER_MIN:.2f} MB/min): "
        f"{verdict} (worst {worst:.3f} MB/min)"
    )
    if len(items) > 1:
        base = max(items[1]["leader"]["growth_mb_per_min"], 1e-9)
        ratio = main["leader"]["growth_mb_per_min"] / base
        print(f"leader growth rate, pruning vs no pruning: {ratio:.3f}x")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m harness.bench wal_growth", description=__doc__)
    p.add_argument("--duration", type=float, default=1800.0, help="seconds of load (1800)")
    p.add_argument("--rate", type=float, default=300.0, help="update writes per second (300)")
    p.add_argument("--docs", type=int, default=100, help="documents updated round-robin (100)")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between samples (10)")
    p.add_argument(
        "--compare",
        type=float,
        default=120.0,
        help="seconds of the same load with pruning disabled, afterwards (0 = skip)",
    )
    p.add_argument("--root", default="", help="state directory (default: a temporary one)")
    args = p.parse_args(argv)
    if args.duration <= 0 or args.rate <= 0 or args.docs < 1 or args.sample <= 0:
        p.error("--duration, --rate, --docs and --sample must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.root or tempfile.mkdtemp(prefix="afcheck-walbench-")
    results: list[RunResult] = []
    try:
        results.append(asyncio.run(run_once("pruning", root, args, args.duration, {})))
        if args.compare > 0:
            flags = {"wal-prune-interval": "0"}
            results.append(asyncio.run(run_once("no-pruning", root, args, args.compare, flags)))
    except (RuntimeError, OSError) as exc:
        print(f"wal_growth: cannot run: {exc} (state in {root})", file=sys.stderr)
        return 3
    print_summaries([summary(r) for r in results])
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
