"""A test is a value: everything that defines one run, handed whole to the runner.

As in Jepsen's test map, a :class:`Test` holds the workload and the faults
themselves (objects, not names), the backend, the cluster to start, how the
generator and the fault schedule are driven, the seed every random choice
flows from, the timeouts and where the run goes. ``run_test(test)`` needs
nothing else.

A test is written to ``test.json`` (:meth:`Test.to_json`) and read back
(:meth:`Test.from_json`) with a registry of plugins handed in from the edge
(the CLI or the pytest suites), which turns names back into objects. With the
same seed, the generator and the fault schedule draw the same choices, so
``afcheck run --replay RUN_DIR`` repeats a run: same operations, same faults
at the same offsets. :meth:`Test.flags` is the same test as ``afcheck run``
flags (``test.json["repeat"]``).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from harness.drivers.modes import NATIVE, parse_client
from harness.infra.backends import BACKENDS
from harness.infra.backends.base import ClusterSpec

if TYPE_CHECKING:
    from harness.core.fault import Fault
    from harness.core.protocols import Workload

REPLICATION = ("async", "sync")


class Plugins(Protocol):
    """What reading a test back needs: names to new plugin objects (``ValueError`` when unknown)."""

    def workload(self, name: str, settings: Mapping[str, Any] | None = None) -> Workload: ...

    def fault(self, name: str) -> Fault: ...


@dataclass(frozen=True)
class Timeouts:
    """Seconds the runner and its client wait."""

    recovery: float = 60.0  # for a leader, then convergence, after healing
    final: float = 60.0  # for the final reads
    request: float = 2.0  # one HTTP request
    op: float = 5.0  # one operation, retries included


def default_cluster() -> ClusterSpec:
    return ClusterSpec(agents=3, servers=3)


@dataclass(frozen=True, eq=False)
class Test:
    """One test, whole. Two tests are equal when they serialize the same."""

    __test__ = False  # not a pytest test class

    workload: Workload
    seed: int
    nemesis: str = "none"  # as spelled: a fault name, a comma list, "mixed" or "none"
    faults: tuple[Fault, ...] = ()  # what the schedule draws from
    backend: str = "local"
    cluster: ClusterSpec = field(default_factory=default_cluster)
    # the generator: client processes, operations/s over all of them, seconds of workload
    concurrency: int = 5
    rate: float = 50.0
    time_limit: float = 60.0
    # the fault schedule: seconds healthy, then seconds of one fault, repeated
    healthy_s: float = 10.0
    fault_s: float = 10.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    store: str = "store"
    name: str = ""  # default: <workload>-<nemesis>-<replication>[-<client>]
    # whose requests the workload sends: "native" (ours), or a real driver (harness/drivers)
    client: str = NATIVE

    def test_name(self) -> str:
        driver = "" if self.client == NATIVE else "-" + self.client.replace(":", "-")
        return (
            self.name or f"{self.workload.name}-{self.nemesis}-{self.cluster.replication}{driver}"
        )

    def validate(self) -> None:
        """``ValueError`` naming the first bad setting."""
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.cluster.replication not in REPLICATION:
            raise ValueError(f"replication must be async or sync, not {self.cluster.replication!r}")
        if self.healthy_s < 0 or self.fault_s <= 0:
            raise ValueError("healthy time must be >= 0 and fault time > 0 seconds")
        if self.cluster.agents < 1 or self.cluster.servers < 1:
            raise ValueError("need at least one agent and one server")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rate < 0:
            raise ValueError("rate must be >= 0 (0 = unlimited)")
        if self.time_limit <= 0:
            raise ValueError("time limit must be > 0 seconds")
        if min(dataclasses.astuple(self.timeouts)) <= 0:
            raise ValueError("timeouts must be > 0 seconds")
        parse_client(self.client)

    # ---- test.json ---------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The whole test as JSON (``test.json``, less what the runner adds)."""
        return {
            "name": self.test_name(),
            "seed": self.seed,
            "workload": {"name": self.workload.name, "config": self.workload.config()},
            "nemesis": self.nemesis,
            "faults": [f.name for f in self.faults],
            "backend": self.backend,
            # where the cluster keeps its state is the runner's choice (inside the run directory)
            "cluster": {
                k: v
                for k, v in dataclasses.asdict(self.cluster).items()
                if k not in ("state_dir", "root_password", "secret")  # no secrets in test.json
            },
            "concurrency": self.concurrency,
            "rate": self.rate,
            "time_limit": self.time_limit,
            "healthy_s": self.healthy_s,
            "fault_s": self.fault_s,
            "timeouts": dataclasses.asdict(self.timeouts),
            "store": self.store,
            "client": self.client,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], plugins: Plugins) -> Test:
        """The test ``data`` (a ``test.json``) describes; ``ValueError`` says what is wrong."""
        try:
            w = data["workload"]
            workload = plugins.workload(str(w["name"]), w.get("config") or {})
            faults = tuple(plugins.fault(str(n)) for n in data.get("faults", []))
            test = cls(
                workload=workload,
                seed=int(data["seed"]),
                nemesis=str(data["nemesis"]),
                faults=faults,
                backend=str(data["backend"]),
                cluster=ClusterSpec(**data["cluster"]),
                concurrency=int(data["concurrency"]),
                rate=float(data["rate"]),
                time_limit=float(data["time_limit"]),
                healthy_s=float(data["healthy_s"]),
                fault_s=float(data["fault_s"]),
                timeouts=Timeouts(**data.get("timeouts", {})),
                store=str(data.get("store", "store")),
                client=str(data.get("client", NATIVE)),
            )
            name = str(data.get("name", ""))
            if name != test.test_name():  # a name of its own, not the default one
                test = dataclasses.replace(test, name=name)
        except KeyError as exc:
            raise ValueError(f"test.json: missing {exc.args[0]!r}") from None
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"test.json: malformed: {exc}") from None
        test.validate()
        return test

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Test):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True, default=str))

    # ---- the same test as `afcheck run` flags --------------------------------

    def flags(self) -> list[str]:
        """``afcheck run`` arguments that build this very test (harness/cli/run.py parses them).

        Settings with no flag of their own are left out only when they have
        their default value, so the flags always rebuild an equal test.
        """
        c = self.cluster
        out = ["--name", self.name] if self.name else []
        out += [
            "--workload", self.workload.name,
            "--workload-config", json.dumps(self.workload.config(), separators=(",", ":")),
            "--nemesis", self.nemesis,
            "--backend", self.backend,
            "--replication", c.replication,
            "--agents", str(c.agents),
            "--servers", str(c.servers),
            "--time-limit", _num(self.time_limit),
            "--concurrency", str(self.concurrency),
            "--rate", _num(self.rate),
            "--healthy", _num(self.healthy_s),
            "--fault", _num(self.fault_s),
            "--seed", str(self.seed),
            "--store", self.store,
        ]  # fmt: skip
        for key, value in sorted(c.agency_flags.items()):
            out += ["--agency-flag", f"{key}={value}"]
        for key, value in sorted(c.server_flags.items()):
            out += ["--server-flag", f"{key}={value}"]
        base = default_cluster()
        if not c.proxied:
            out.append("--no-proxies")
        if self.client != NATIVE:
            out += ["--client", self.client]
        if c.start_timeout != base.start_timeout:
            out += ["--start-timeout", _num(c.start_timeout)]
        defaults = Timeouts()
        for f in dataclasses.fields(Timeouts):
            value = getattr(self.timeouts, f.name)
            if value != getattr(defaults, f.name):
                out += [f"--{f.name}-timeout", _num(value)]
        return out

    def repeat_command(self) -> str:
        """The ``afcheck run`` command line that runs this test again (same seed)."""
        return shlex.join(["afcheck", "run", *self.flags()])


def _num(x: float) -> str:
    """A float as short as it reads back exactly."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)
