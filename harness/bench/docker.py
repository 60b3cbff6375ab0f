"""Benchmark: the Docker backend beside the local one, and the image builds.

* Cluster start-up (3 agents + 2 servers, proxied): the time from ``start()``
  until every node answers and a server leads, and the teardown time, on the
  local backend and the Docker backend alternately in one run; the figure
  that matters is the docker/local ratio (this machine is noisy).
* Image builds: cold (``--force``: no layer cache, base present) and warm (an
  unchanged tree: only the hash check). With ``--base`` also the debootstrap
  base image (minutes; built under a separate tag so nothing in use changes).

``python -m harness.bench docker [--rounds N] [--base] [--store DIR]``
Exit code 3 with one line on stderr when no Docker engine answers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from harness.infra.backends.base import Backend, ClusterSpec
from harness.infra.backends.docker import DockerBackend
from harness.infra.backends.docker_engine import engine_answers
from harness.infra.backends.local import LocalBackend
from harness.infra.images import BASE_SCRIPT, build_images, ensure_images

BENCH_BASE_TAG = "afcheck-base:bench"


async def _start_and_stop(backend: Backend, state_dir: str) -> tuple[float, float]:
    spec = ClusterSpec(agents=3, servers=2, state_dir=state_dir, start_timeout=120)
    started = time.perf_counter()
    try:
        await backend.start(spec)
        up = time.perf_counter() - started
    finally:
        stopping = time.perf_counter()
        await backend.teardown()
    return up, time.perf_counter() - stopping


def startup(rounds: int, images: tuple[str, str]) -> dict[str, list[tuple[float, float]]]:
    """(start-up s, teardown s) per round, per backend, alternating backends."""
    times: dict[str, list[tuple[float, float]]] = {"local": [], "docker": []}
    for _ in range(rounds):
        for name in ("local", "docker"):
            backend: Backend = LocalBackend() if name == "local" else DockerBackend(*images)
            with tempfile.TemporaryDirectory(prefix=f"afcheck-bench-{name}-") as state:
                times[name].append(asyncio.run(_start_and_stop(backend, state)))
    return times


def image_builds(store: str) -> tuple[float, float]:
    """(cold s, warm s) for the node and Toxiproxy images together."""
    quiet = lambda _line: None  # noqa: E731
    started = time.perf_counter()
    build_images(pull=False, force=True, store=store, progress=quiet)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    build_images(pull=False, store=store, progress=quiet)
    return cold, time.perf_counter() - started


def base_build() -> float | None:
    started = time.perf_counter()
    proc = subprocess.run(["bash", str(BASE_SCRIPT), BENCH_BASE_TAG], check=False, timeout=1800)
    if proc.returncode != 0:
        return None
    elapsed = time.perf_counter() - started
    subprocess.run(["docker", "rmi", BENCH_BASE_TAG], capture_output=True, check=False, timeout=60)
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench docker")
    parser.add_argument("--rounds", type=int, default=3, help="cluster starts per backend")
    parser.add_argument("--base", action="store_true", help="also time the debootstrap base")
    parser.add_argument("--store", default="store", help="where wheels are cached")
    args = parser.parse_args(argv)
    reason = engine_answers()
    if reason is not None:
        print(f"bench docker: {reason}", file=sys.stderr)
        return 3

    images = ensure_images(args.store)
    cold, warm = image_builds(args.store)
    images = ensure_images(args.store)
    print("image builds (node + toxiproxy images; base present)")
    print(f"  cold (no layer cache)   {cold:7.1f} s")
    print(f"  warm (unchanged tree)   {warm:7.1f} s   cold/warm {cold / max(warm, 1e-3):.0f}x")
    if args.base:
        base = base_build()
        shown = "failed" if base is None else f"{base:7.1f} s"
        print(f"  base (debootstrap + import) {shown}")

    times = startup(args.rounds, images)
    print(f"cluster start-up, 3 agents + 2 servers, proxied (median of {args.rounds})")
    print(f"  {'backend':8} {'start s':>8} {'teardown s':>11}   rounds")
    medians = {}
    for name, rounds in times.items():
        up = statistics.median(t[0] for t in rounds)
        down = statistics.median(t[1] for t in rounds)
        medians[name] = up
        shown = " ".join(f"{t[0]:.1f}" for t in rounds)
        print(f"  {name:8} {up:8.2f} {down:11.2f}   {shown}")
    print(f"  docker/local start-up ratio {medians['docker'] / medians['local']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
