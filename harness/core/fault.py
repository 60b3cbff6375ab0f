"""The fault protocol: what the engine needs of a nemesis plugin, and what faults share.

A fault knows nothing about workloads: it reaches the cluster only through
the backend (whole-node faults, clock files) and its network (link toxics).
``inject`` does the fault and ``heal`` undoes it; each returns exactly what
it touched, as ``{"nodes": [...], "links": [[src, dst], ...], "detail": {...}}``
(see :func:`report`), which the schedule writes to ``nemesis.jsonl``. A fault
that finds nothing to act on returns :func:`skipped`. Every random choice is
drawn from ``ctx.rng`` (seeded from the run's seed), so a run can be repeated.

Each fault class declares, as class attributes:

- ``name``: how ``--nemesis`` and ``nemesis.jsonl`` spell it;
- ``family``: one of :data:`FAMILIES`; the promise table is judged per family;
- ``needs``: capabilities (:data:`CAPABILITIES`) the backend must offer.

A class whose family or needs are not declared, or not known, is refused
when it is defined: there is no silent default.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.core import observe
from harness.infra.backends.base import Backend, Isolating

Report = dict[str, Any]
LinkKey = tuple[str, str]

# the families of the promise table (harness/core/promises.py judges a run by them)
FAMILIES = frozenset({"partition", "kill", "pause", "clock", "network", "planned", "intruder"})

# what a fault may need of the backend and cluster:
#   proxies   every link runs through Toxiproxy (link cuts and toxics)
#   isolation the backend can take a node off the network (docker network disconnect)
#   docker    the cluster runs in Docker containers
#   leader    the fault acts on the current leader (skips during a vacuum)
CAPABILITIES = frozenset({"proxies", "isolation", "docker", "leader"})

# how long a leader-aware fault waits for the cluster to name a leader
LEADER_WAIT_S = 5.0


@dataclass
class NemesisContext:
    """What a fault acts through: the backend, and the run's seeded random stream."""

    backend: Backend
    rng: random.Random


class Fault:
    """Base of every fault. Subclasses set ``name``, ``family`` and ``needs``.

    The same instance may be injected and healed many times in one run (one
    cycle at a time); ``heal`` leaves it ready for the next ``inject``.
    """

    name: ClassVar[str]
    family: ClassVar[str]
    needs: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"{cls.__module__}.{cls.__qualname__}"
        if not isinstance(getattr(cls, "name", None), str) or not cls.name:
            raise TypeError(f"{where} declares no fault name")
        family = getattr(cls, "family", None)
        if family not in FAMILIES:
            raise TypeError(
                f"{where}: family {family!r} is not one of {', '.join(sorted(FAMILIES))}"
            )
        if not isinstance(cls.needs, frozenset) or not cls.needs <= CAPABILITIES:
            raise TypeError(
                f"{where}: needs {sorted(cls.needs)!r} must be a frozenset of "
                f"{', '.join(sorted(CAPABILITIES))}"
            )

    async def inject(self, ctx: NemesisContext) -> Report:
        """Do the fault; return what it touched (or :func:`skipped`)."""
        raise NotImplementedError

    async def heal(self, ctx: NemesisContext) -> Report:
        """Undo it (restart killed nodes, resume paused ones, reset clocks, remove toxics)."""
        raise NotImplementedError

    # two faults are the same fault when they are of the same class: a test that
    # names the same faults is the same test
    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"<fault {self.name} ({self.family})>"


def offered(backend: Backend, proxied: bool) -> frozenset[str]:
    """The capabilities a backend offers a fault (see :data:`CAPABILITIES`)."""
    caps = {"leader"}
    if proxied:
        caps.add("proxies")
    if isinstance(backend, Isolating):
        caps.add("isolation")
    if backend.name == "docker":
        caps.add("docker")
    return frozenset(caps)


def unmet(fault: Fault, capabilities: frozenset[str]) -> frozenset[str]:
    """What ``fault`` needs that ``capabilities`` lacks (empty: it can run)."""
    return fault.needs - capabilities


def report(nodes: Iterable[str] = (), links: Iterable[LinkKey] = (), **detail: Any) -> Report:
    """The shape every inject/heal returns."""
    return {
        "nodes": sorted(set(nodes)),
        "links": [[src, dst] for src, dst in links],
        "detail": detail,
    }


def skipped(reason: str) -> Report:
    """The report of a fault that found nothing to act on (e.g. no leader during a vacuum)."""
    return report(skipped=reason)


def is_skipped(info: Report) -> bool:
    """Whether an inject report says the fault did nothing."""
    detail = info.get("detail")
    return isinstance(detail, dict) and "skipped" in detail


def agent_ids(backend: Backend) -> list[str]:
    return [n.id for n in backend.nodes() if n.kind == "agent"]


def server_ids(backend: Backend) -> list[str]:
    return [n.id for n in backend.nodes() if n.kind == "server"]


async def _wait_for(lookup: Callable[[], Awaitable[str | None]], wait_s: float) -> str | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        found = await lookup()
        if found is not None or loop.time() >= deadline:
            return found
        await asyncio.sleep(0.1)


async def server_leader(ctx: NemesisContext, wait_s: float | None = None) -> str | None:
    """The server the agency names as leader now (waits up to ``wait_s``, default
    ``LEADER_WAIT_S``, during a vacuum)."""
    wait = LEADER_WAIT_S if wait_s is None else wait_s
    return await _wait_for(lambda: observe.server_leader(ctx.backend), wait)


async def agency_leader(ctx: NemesisContext, wait_s: float | None = None) -> str | None:
    """The agent leading the agency now (waits up to ``wait_s`` during an election)."""
    wait = LEADER_WAIT_S if wait_s is None else wait_s
    return await _wait_for(lambda: observe.agency_leader(ctx.backend), wait)
