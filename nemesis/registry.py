"""Fault names, as ``--nemesis`` and the pytest suites spell them, to fault factories."""

from __future__ import annotations

from collections.abc import Callable

from nemesis.faults.base import Fault
from nemesis.faults.clock import ClockBump, ClockStrobe
from nemesis.faults.isolate import IsolateAgencyLeader, IsolateLeader
from nemesis.faults.kill import KillAgencyLeader, KillLeader, KillRandom
from nemesis.faults.network import FlakyNetwork, SlowNetwork
from nemesis.faults.partition import (
    Bridge,
    PartitionAgencyMinority,
    PartitionClientLeader,
    PartitionLeader,
    PartitionMajoritiesRing,
    PartitionRandomHalves,
)
from nemesis.faults.pause import PauseAgencyLeader, PauseLeader

FAULTS: dict[str, Callable[[], Fault]] = {
    "partition-leader": PartitionLeader,
    "partition-random-halves": PartitionRandomHalves,
    "partition-agency-minority": PartitionAgencyMinority,
    "partition-majorities-ring": PartitionMajoritiesRing,
    "bridge": Bridge,
    "partition-client-leader": PartitionClientLeader,
    "kill-leader": KillLeader,
    "kill-random": KillRandom,
    "kill-agency-leader": KillAgencyLeader,
    "pause-leader": PauseLeader,
    "pause-agency-leader": PauseAgencyLeader,
    "isolate-leader": IsolateLeader,
    "isolate-agency-leader": IsolateAgencyLeader,
    "clock-bump": ClockBump,
    "clock-strobe": ClockStrobe,
    "slow-network": SlowNetwork,
    "flaky-network": FlakyNetwork,
}

# faults that need a backend able to disconnect a node from the network (docker);
# elsewhere they report themselves skipped
NEEDS_ISOLATION = frozenset(("isolate-leader", "isolate-agency-leader"))

# faults that need Toxiproxy (an unproxied cluster cannot run them)
NEEDS_PROXIES = frozenset(
    name
    for name in FAULTS
    if name.startswith("partition") or name in ("bridge", "slow-network", "flaky-network")
)


def make_fault(name: str) -> Fault:
    """A new fault by name; ``KeyError`` lists the known names."""
    try:
        return FAULTS[name]()
    except KeyError:
        raise KeyError(f"unknown fault {name!r} (known: {', '.join(FAULTS)})") from None
