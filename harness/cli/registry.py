"""The plugins by name: workloads and faults, as ``afcheck run`` and the nemesis suites spell them.

This is the one place that names every plugin; the engine gets objects from
it, never names. Adding a workload or a fault is one new file plus one line
here (see ``docs/extending.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.core.fault import Fault
from harness.core.protocols import Workload
from nemesis.faults.clock import ClockBump, ClockStrobe
from nemesis.faults.intruder import Intruder
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
from nemesis.faults.restart_leader import RestartLeader
from nemesis.faults.rolling_restart import RollingRestart
from workloads.dirty_read import DirtyReadWorkload
from workloads.jobs import JobsWorkload
from workloads.register import RegisterWorkload
from workloads.set import SetWorkload
from workloads.users import UsersWorkload

# a workload factory builds the workload from its settings (test.json's workload.config)
WorkloadFactory = Callable[[Mapping[str, Any]], Workload]

WORKLOADS: dict[str, WorkloadFactory] = {
    "register": RegisterWorkload.from_config,
    "set": SetWorkload.from_config,
    "dirty-read": DirtyReadWorkload.from_config,
    "users": UsersWorkload.from_config,
    "jobs": JobsWorkload.from_config,
}

FAULTS: dict[str, type[Fault]] = {
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
    "restart-leader": RestartLeader,
    "rolling-restart": RollingRestart,
    "intruder": Intruder,
}

MIXED = "mixed"  # every fault whose needs the backend meets, one drawn per cycle
NONE = "none"  # no faults


class Registry:
    """Names to new plugin objects (implements :class:`harness.core.test.Plugins`)."""

    def __init__(
        self,
        workloads: Mapping[str, WorkloadFactory] | None = None,
        faults: Mapping[str, type[Fault]] | None = None,
    ) -> None:
        self.workloads = dict(WORKLOADS if workloads is None else workloads)
        self.faults = dict(FAULTS if faults is None else faults)
        for name, cls in self.faults.items():
            if cls.name != name:
                raise ValueError(f"fault registered as {name!r} calls itself {cls.name!r}")

    def workload(self, name: str, settings: Mapping[str, Any] | None = None) -> Workload:
        """A new workload; ``ValueError`` names the known ones or the bad setting."""
        try:
            factory = self.workloads[name]
        except KeyError:
            known = ", ".join(sorted(self.workloads))
            raise ValueError(f"unknown workload {name!r} (known: {known})") from None
        return factory(settings or {})

    def fault(self, name: str) -> Fault:
        """A new fault; ``ValueError`` names the known ones."""
        try:
            return self.faults[name]()
        except KeyError:
            known = ", ".join(sorted(self.faults))
            raise ValueError(f"unknown fault {name!r} (known: {known}, {MIXED}, {NONE})") from None

    def faults_for(self, nemesis: str) -> tuple[Fault, ...]:
        """The faults a ``--nemesis`` value names: one fault, a comma list, ``mixed`` or ``none``."""
        if nemesis == NONE:
            return ()
        names = sorted(self.faults) if nemesis == MIXED else nemesis.split(",")
        names = [n.strip() for n in names if n.strip()]
        if not names:
            raise ValueError(f"--nemesis names no fault: {nemesis!r}")
        return tuple(self.fault(n) for n in names)

    def with_faults(self, *classes: type[Fault]) -> Registry:
        """This registry plus more faults (each under its own name)."""
        return Registry(self.workloads, {**self.faults, **{c.name: c for c in classes}})

    def with_workloads(self, factories: Mapping[str, WorkloadFactory]) -> Registry:
        """This registry plus more workloads."""
        return Registry({**self.workloads, **factories}, self.faults)


REGISTRY = Registry()
