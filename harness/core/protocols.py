"""The roles a test is built from, as ``typing.Protocol`` classes.

Mirrors Jepsen's split: a *workload* is a client plus a stream of operations
plus the checkers that judge its history; the runner is the only place that
wires a workload, a nemesis schedule and a backend together. The nemesis
``Fault`` base lives in ``harness/core/fault.py``, the ``Backend`` in
``harness/infra/backends/base.py``, the test that holds them all in
``harness/core/test.py``.

Operations travel as two small dataclasses: an :class:`Invocation` (what a
worker asks for) and a :class:`Completion` (what really happened, with an
honest ``ok``/``fail``/``info`` type). The generator turns them into history
lines with ``index``, ``process`` and ``time``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from harness.checkers.base import Checker, RunData
from harness.core.client import ArangoClient

OpType = Literal["invoke", "ok", "fail", "info"]
CompletionType = Literal["ok", "fail", "info"]


# Completion.extra key: monotonic ns at which the answered attempt was sent; the
# recorder turns it into the history's ``attempt_time`` (ns since test start)
ATTEMPT_MONO_NS = "attempt_mono_ns"


@dataclass(frozen=True)
class Invocation:
    """One operation a worker is about to perform (Jepsen's ``:invoke``)."""

    f: str
    value: Any = None
    # extra fields written on the history line (e.g. {"allow_dirty": True}); they
    # also tell the client how to perform the operation
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Completion:
    """What an operation turned out to be.

    ``type`` follows the honest-outcome rule: ``ok`` only when the server
    acknowledged, ``fail`` only when the operation certainly did not happen,
    ``info`` otherwise. ``node`` is the server that answered (from
    ``X-Arango-Server-Id``), ``dirty`` whether the answer was marked
    ``X-Arango-Potential-Dirty-Read``.
    """

    type: CompletionType
    value: Any = None
    node: str | None = None
    error: Any = None
    dirty: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Client(Protocol):
    """Performs one invocation against the system and classifies the outcome.

    ``invoke`` must never raise for a failure of the system under test: it
    returns a ``fail`` or ``info`` completion instead. It is bounded in time.
    """

    async def invoke(self, op: Invocation) -> Completion: ...


@runtime_checkable
class OpSource(Protocol):
    """Produces the next invocation for a worker; every choice comes from ``rng``."""

    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        """The next operation, or ``None`` when this worker has nothing more to do."""


@runtime_checkable
class Workload(Protocol):
    """A client, an operation stream and the checkers that judge the history."""

    name: str

    def checkers(self) -> list[Checker]:
        """The checkers (objects of ``harness/checkers/``) that judge this workload's history."""

    def ops(self) -> OpSource:
        """The operation stream for the main phase."""

    def final_ops(self) -> list[Invocation]:
        """Operations to run once after healing (e.g. the set's final read)."""

    def client(self, http: ArangoClient) -> Client:
        """The workload's client, speaking through the shared failover-aware client."""

    async def setup(self, http: ArangoClient) -> None:
        """Create what the workload needs (collections) before the test starts."""

    def config(self) -> dict[str, Any]:
        """The workload's settings (its config dataclass, as JSON): ``test.json`` holds
        them, and the registry's factory for ``name`` builds the same workload from them."""


__all__ = ["Checker", "RunData"]
