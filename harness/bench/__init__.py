"""Benchmarks: commands that print figures beside their targets (never timed asserts).

``python -m harness.bench NAME [flags]``; ``BENCHMARKS`` maps each name to the
module that runs it (a module exposing ``main(argv) -> int``).
"""

from __future__ import annotations

BENCHMARKS: dict[str, str] = {
    "agency": "harness.bench.agency",
    "auth": "harness.bench.auth",
    "checkers": "harness.bench.checkers",
    "docker": "harness.bench.docker",
    "failover_client": "harness.bench.failover_client",
    "fuzz": "harness.bench.fuzz",
    "harness": "harness.bench.harness",
    "porcupine": "harness.bench.porcupine",
    "server": "harness.bench.server",
    "sim": "harness.bench.sim",
    "startup": "harness.bench.startup",
    "switchover": "harness.bench.switchover",
    "wal_growth": "harness.bench.wal_growth",
}
