"""A deterministic simulator for :class:`~cluster.agency.raft_core.RaftCore`.

``python -m cluster.agency.sim --seed S --steps N [--nodes 3|5] [--broken vote-without-log-check]``

Virtual time advances one tick per step. Everything random (which faults,
when, message drop, delay, duplication and so reordering, partitions,
crashes, torn writes, client proposals and reads, election jitter) is drawn
from generators seeded by ``S``, and nothing depends on dict order of
hashed keys or on wall time, so a seed replays the exact interleaving: the
sha256 digest of the trace, printed last, proves it. :mod:`sim_check`
checks the safety properties after every input; the first violation stops
the run with the seed and step (exit 1).

A crash drops the core and everything not yet persisted; with a *torn*
crash the node dies in the middle of writing its Ready: the hard state and
a prefix of the entries reach the disk, and none of the Ready's messages
leave. That is the only disk loss modelled, because it is the only one the
protocol allows: a Ready's messages go out after its write, so nothing
acknowledged is ever lost.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cluster.agency.raft_core import RaftCore
from cluster.agency.raft_core_msgs import (
    LEADER,
    CoreConfig,
    HardState,
    LogEntry,
    Message,
    NotLeaderError,
    RecoveredState,
    Snapshot,
)
from cluster.agency.sim_check import SafetyChecker, Violation

BROKEN_MODES = ("vote-without-log-check",)


class MemoryStore:
    """An in-memory ``RaftStorage``: what a crashed node finds again on restart."""

    def __init__(self) -> None:
        self.hard = HardState()
        self.snapshot: Snapshot | None = None
        self.entries: list[LogEntry] = []

    def load(self) -> RecoveredState:
        return RecoveredState(self.hard.term, self.hard.vote, self.snapshot, list(self.entries))

    def persist(
        self, hard_state: HardState | None, entries: list[LogEntry], one_by_one: bool = False
    ) -> None:
        if hard_state is not None:
            self.hard = hard_state
        if entries:
            first = entries[0].index
            self.entries = [e for e in self.entries if e.index < first] + list(entries)

    def save_snapshot(self, snap: Snapshot, discard_log: bool = False) -> None:
        self.snapshot = snap
        self.entries = [] if discard_log else [e for e in self.entries if e.index > snap.last_index]


@dataclass
class SimConfig:
    """One run's shape; the fault rates are drawn from the seed within these bounds."""

    seed: int
    steps: int = 400
    nodes: int = 3
    broken: str | None = None
    snapshot_every: int = 15
    trace: bool = False


@dataclass
class SimNode:
    """One simulated node: its disk survives a crash, its core and applied state do not."""

    id: str
    store: MemoryStore = field(default_factory=MemoryStore)
    core: RaftCore | None = None
    applied: list[Any] = field(default_factory=list)
    incarnation: int = 0


@dataclass
class SimResult:
    """What a run found: the trace digest, and the first violation with its step."""

    seed: int
    steps: int
    digest: str
    violation: str | None = None
    step: int | None = None
    stats: dict[str, int] = field(default_factory=dict)


class Simulation:
    """Cores, a network, a disk per node and a fault schedule, all driven from one seed."""

    def __init__(self, cfg: SimConfig) -> None:
        if cfg.broken not in (None, *BROKEN_MODES):
            raise ValueError(f"unknown broken mode {cfg.broken!r}")
        self.cfg = cfg
        self.rng = random.Random(f"sim-{cfg.seed}")
        rng = self.rng
        self.p_drop = rng.choice([0.0, 0.02, 0.1, 0.3])
        self.p_dup = rng.choice([0.0, 0.02, 0.1])
        self.max_delay = rng.choice([1, 2, 4, 8])
        self.p_fault = rng.choice([0.005, 0.02, 0.05])
        self.ids = [f"n{i + 1}" for i in range(cfg.nodes)]
        self.nodes = {i: SimNode(i) for i in self.ids}
        self.queue: list[tuple[int, int, Message]] = []
        self.seq = 0
        self.cut: set[tuple[str, str]] = set()
        self.now = 0
        self.hash = hashlib.sha256()
        self.check = SafetyChecker()
        self.counter = 0
        self.reads: dict[int, int] = {}  # read context -> commit floor when asked
        self.stats = {"delivered": 0, "dropped": 0, "crashes": 0, "proposed": 0, "reads": 0}
        for ident in self.ids:
            self._boot(ident)

    # ---------------------------------------------------------------- trace
    def _log(self, line: str) -> None:
        text = f"{self.now} {line}"
        self.hash.update(text.encode() + b"\n")
        if self.cfg.trace:
            print(text)

    # ------------------------------------------------------------ lifecycle
    def _boot(self, ident: str) -> None:
        node = self.nodes[ident]
        node.incarnation += 1
        cfg = CoreConfig(
            node_id=ident,
            peers=tuple(p for p in self.ids if p != ident),
            heartbeat_ticks=2,
            election_ticks_min=10,
            election_ticks_max=20,
            rpc_timeout_ticks=2 * self.max_delay + 2,
            max_batch=4,
            unsafe_grant_vote_without_log_check=self.cfg.broken == "vote-without-log-check",
        )
        rec = node.store.load()
        rng = random.Random(f"core-{self.cfg.seed}-{ident}-{node.incarnation}")
        node.core = RaftCore(cfg, rec, rng)
        snap = rec.snapshot
        node.applied = list(snap.data["applied"]) if snap is not None else []
        self._log(f"boot {ident} term={rec.term} last={node.core.log.last_index}")

    def _crash(self, ident: str) -> None:
        node = self.nodes[ident]
        core = node.core
        assert core is not None
        torn = self.rng.random() < 0.5
        if torn and core.has_ready():
            rd = core.ready()
            if rd.snapshot is None:
                keep = self.rng.randint(0, len(rd.entries))
                self.check.persisted(ident, core, rd.entries[:keep])
                node.store.persist(rd.hard_state, rd.entries[:keep])
                self._log(f"torn {ident} wrote {keep}/{len(rd.entries)}")
        node.core = None
        self.stats["crashes"] += 1
        self._log(f"crash {ident}")

    # -------------------------------------------------------------- network
    def _send(self, m: Message) -> None:
        copies = 2 if self.rng.random() < self.p_dup else 1
        for _ in range(copies):
            if (m.src, m.dst) in self.cut or self.rng.random() < self.p_drop:
                self.stats["dropped"] += 1
                continue
            self.seq += 1
            at = self.now + self.rng.randint(1, self.max_delay)
            heapq.heappush(self.queue, (at, self.seq, m))

    def _deliver_due(self) -> None:
        while self.queue and self.queue[0][0] <= self.now:
            _, _, m = heapq.heappop(self.queue)
            core = self.nodes[m.dst].core
            if core is None or (m.src, m.dst) in self.cut:
                self.stats["dropped"] += 1
                continue
            self.stats["delivered"] += 1
            self._log(f"deliver {m.kind} {m.src}>{m.dst} t{m.term} i{m.index} h{m.hint}")
            try:
                core.step(m)
            except ValueError as exc:  # a correct leader never sends this
                raise Violation(f"{m.dst} refused {m.kind} from {m.src}: {exc}") from exc
            self._drain(m.dst)

    # ----------------------------------------------------------- the drain
    def _drain(self, ident: str) -> None:
        node = self.nodes[ident]
        core = node.core
        assert core is not None
        self.check.observe(ident, core)
        while core.has_ready():
            rd = core.ready()
            self.check.persisted(ident, core, rd.entries)
            if rd.snapshot is not None:
                node.store.save_snapshot(rd.snapshot, discard_log=not rd.snapshot_keeps_log)
            node.store.persist(rd.hard_state, rd.entries)
            for m in rd.messages:
                self._send(m)
            if rd.snapshot is not None:
                node.applied = list(rd.snapshot.data["applied"])
            for e in rd.committed:
                self.check.applied_entry(ident, e)
                node.applied.append(e.entry.get("v"))
            core.advance(rd)
            for rs in rd.read_states:
                floor = self.reads.pop(rs.context, 0)
                self.check.read_released(ident, rs.index, floor)
            self.check.observe(ident, core)
            if core.applied - core.log.snapshot_index >= self.cfg.snapshot_every:
                snap = core.compact(core.applied, {"applied": list(node.applied)})
                node.store.save_snapshot(snap)
                self._log(f"compact {ident} {snap.last_index}")
            self._log(
                f"ready {ident} {rd.role} t{rd.term} +{len(rd.entries)} c{core.commit} "
                f"a{core.applied} m{len(rd.messages)}"
            )

    # ---------------------------------------------------------------- steps
    def _faults(self) -> None:
        rng = self.rng
        down = [i for i in self.ids if self.nodes[i].core is None]
        for ident in down:
            if rng.random() < 0.03:
                self._boot(ident)
        if self.cut and rng.random() < 0.02:
            self.cut = set()
            self._log("heal")
        if rng.random() >= self.p_fault:
            return
        action = rng.choice(["partition", "one-way", "crash"])
        if action == "partition":
            side = rng.sample(self.ids, rng.randint(1, len(self.ids) // 2))
            self.cut = {(a, b) for a in self.ids for b in self.ids if (a in side) != (b in side)}
            self._log(f"partition {sorted(side)}")
        elif action == "one-way":
            a, b = rng.sample(self.ids, 2)
            self.cut.add((a, b))
            self._log(f"cut {a}>{b}")
        elif len(down) < (len(self.ids) - 1) // 2:  # a minority down: the rest can progress
            self._crash(rng.choice([i for i in self.ids if i not in down]))

    def _clients(self) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            ident = rng.choice(self.ids)
            core = self.nodes[ident].core
            if core is not None and core.role == LEADER:
                count = rng.randint(1, 3)
                batch = [{"v": self.counter + k + 1} for k in range(count)]
                self.counter += count
                try:
                    core.propose(batch)
                except NotLeaderError:
                    return
                self.stats["proposed"] += count
                self._log(f"propose {ident} {count}")
                self._drain(ident)
        if rng.random() < 0.05:
            ident = rng.choice(self.ids)
            core = self.nodes[ident].core
            if core is not None:
                self.stats["reads"] += 1
                ctx = self.stats["reads"]
                self.reads[ctx] = self.check.commit_upto
                ok = core.read_index(ctx)
                self._log(f"read {ident} {ctx} {ok}")
                if ok:
                    self._drain(ident)

    def step(self) -> None:
        self.now += 1
        self._faults()
        order = list(self.ids)
        self.rng.shuffle(order)
        for ident in order:
            core = self.nodes[ident].core
            if core is not None:
                core.tick()
                self._drain(ident)
        self._deliver_due()
        self._clients()

    def run(self) -> SimResult:
        self._log(
            f"start seed={self.cfg.seed} nodes={self.cfg.nodes} drop={self.p_drop} "
            f"dup={self.p_dup} delay={self.max_delay} faults={self.p_fault}"
        )
        result = SimResult(self.cfg.seed, self.cfg.steps, "")
        try:
            for _ in range(self.cfg.steps):
                self.step()
        except Violation as exc:
            result.violation, result.step = str(exc), self.now
            self._log(f"violation {exc}")
        result.stats = dict(self.stats, **self.check.summary())
        result.digest = self.hash.hexdigest()
        return result


def simulate(seed: int, steps: int = 400, nodes: int = 3, broken: str | None = None) -> SimResult:
    """Run one seed; the result carries the digest and the first violation, if any."""
    return Simulation(SimConfig(seed=seed, steps=steps, nodes=nodes, broken=broken)).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster.agency.sim")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--nodes", type=int, choices=[3, 5], default=3)
    parser.add_argument("--broken", choices=BROKEN_MODES, default=None)
    parser.add_argument("--trace", action="store_true", help="print every traced event")
    args = parser.parse_args(argv)
    sim = Simulation(SimConfig(args.seed, args.steps, args.nodes, args.broken, trace=args.trace))
    result = sim.run()
    stats = " ".join(f"{k}={v}" for k, v in result.stats.items())
    print(f"seed {result.seed}: {result.steps} steps, {args.nodes} nodes, {stats}")
    if result.violation is not None:
        print(f"VIOLATION at step {result.step} (seed {result.seed}): {result.violation}")
        print(
            f"replay: python -m cluster.agency.sim --seed {result.seed} --steps {args.steps} "
            f"--nodes {args.nodes}" + (f" --broken {args.broken}" if args.broken else "")
        )
    print(f"digest {result.digest}")
    return 1 if result.violation is not None else 0


if __name__ == "__main__":
    sys.exit(main())
