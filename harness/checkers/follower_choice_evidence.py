"""The evidence the follower-choice checker reads, parsed.

* :class:`FailoverRunData`: a run's data plus the failover jobs supervision
  recorded in the agency (``failovers.json``) and each server's replication
  log as tick ranges (``wal_ticks.json``), both written by
  :mod:`harness.core.failover_evidence`.
* :class:`FailoverJob`: one job of ``Target/FailoverJobs``.
* :class:`Holdings`: which ticks of each epoch each server ever held, from its
  log (entries and pruning marks) and from the rollback files it wrote.
* :func:`write_identity`: the ``(key, value)`` a document write stands for, in a
  rollback entry and in a history operation, so the two can be matched.

Within one epoch a single leader wrote every entry and each follower holds a
prefix of that leader's log, so a server's holdings of an epoch are one
number: the highest tick of that epoch it ever held.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from harness.checkers.base import RunData
from harness.checkers.result import as_list, as_map, opt_int, text

WRITE_FS = frozenset({"add", "write", "cas"})
DOC_OPS = frozenset({"insert", "replace", "update"})


@dataclass
class FailoverRunData(RunData):
    """A run's data with the failover jobs and WAL ticks (None: that file was not recorded)."""

    failover_jobs: list[dict[str, Any]] | None = None
    wal_ticks: dict[str, Any] | None = None
    # ``wal_ticks.jsonl``: samples taken during the run, ``{"time", "node", "epochs":
    # {epoch: [first, last]}}`` (a log restored from a snapshot forgets its past)
    wal_timeline: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def extend(
        cls,
        run: RunData,
        *,
        failover_jobs: list[dict[str, Any]] | None,
        wal_ticks: dict[str, Any] | None,
        wal_timeline: list[dict[str, Any]] | None = None,
    ) -> FailoverRunData:
        base = {f.name: getattr(run, f.name) for f in fields(RunData)}
        return cls(
            **base,
            failover_jobs=failover_jobs,
            wal_ticks=wal_ticks,
            wal_timeline=list(wal_timeline or []),
        )


@dataclass(frozen=True)
class FailoverJob:
    """One promotion as supervision recorded it; ``epoch`` is the new leader's epoch."""

    index: int
    old: str
    new: str
    epoch: int
    time_ms: int | None
    health: dict[str, str] = field(default_factory=dict)
    heartbeat_ticks: dict[str, int | None] = field(default_factory=dict)
    eligible: tuple[str, ...] = ()
    sync: str | None = None


def parse_job(raw: Any, index: int) -> FailoverJob | None:
    """A job of ``Target/FailoverJobs``, or None when it lacks old, new or epoch.

    Jobs recorded before supervision wrote ``eligible`` count every GOOD
    candidate as eligible (only the promoted one when the reason names a sync
    follower).
    """
    data = as_map(raw)
    old, new, epoch = text(data.get("old")), text(data.get("new")), opt_int(data.get("epoch"))
    if not old or not new or epoch is None:
        return None
    health: dict[str, str] = {}
    ticks: dict[str, int | None] = {}
    for server, info in as_map(data.get("candidates")).items():
        info = as_map(info)
        health[str(server)] = text(info.get("health")) or "unknown"
        ticks[str(server)] = _tick(info.get("lastTick"))
    sync = text(data.get("sync")) or None
    if "eligible" in data:
        eligible = tuple(str(s) for s in as_list(data.get("eligible")))
    elif "sync follower" in text(data.get("reason")):
        sync = sync or new
        eligible = (new,)
    else:
        eligible = tuple(s for s, h in sorted(health.items()) if h == "GOOD")
    return FailoverJob(
        index=index,
        old=old,
        new=new,
        epoch=epoch,
        time_ms=opt_int(data.get("time")),
        health=health,
        heartbeat_ticks=ticks,
        eligible=eligible,
        sync=sync,
    )


def parse_jobs(raw: Iterable[Any]) -> list[FailoverJob]:
    jobs = (parse_job(item, n) for n, item in enumerate(raw))
    return [j for j in jobs if j is not None]


def _tick(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return opt_int(value)


def write_identity(key: Any, value: Any) -> str:
    """A hashable name for "document ``key`` now holds ``value``" (keys as strings)."""
    return json.dumps([str(key), value], sort_keys=True, default=str)


def entry_identity(entry: dict[str, Any]) -> str | None:
    """The identity of a WAL or rollback entry's document write, None for other entries."""
    if entry.get("op") not in DOC_OPS:
        return None
    doc = entry.get("doc")
    if not isinstance(doc, dict):
        return None
    key = entry.get("key", doc.get("_key"))
    return None if key is None else write_identity(key, doc.get("value"))


def op_identity(f: str, value: Any) -> str | None:
    """The identity of a history write: ``add v`` (set), ``write [k, v]``, ``cas [k, [old, new]]``."""
    if f == "add":
        return write_identity(value, value)
    if f == "write" and isinstance(value, list) and len(value) == 2:
        return write_identity(value[0], value[1])
    if f == "cas" and isinstance(value, list) and len(value) == 2:
        pair = value[1]
        if isinstance(pair, list) and len(pair) == 2:
            return write_identity(value[0], pair[1])
    return None


class Holdings:
    """Per server and epoch, the lowest and highest tick it ever held; and the document
    entries known by ``(epoch, tick)`` (from rollback files: the entries a server gave up)."""

    def __init__(
        self,
        wal_ticks: dict[str, Any],
        rollbacks: list[dict[str, Any]],
        timeline: Iterable[dict[str, Any]] = (),
    ) -> None:
        self.spans: dict[str, dict[int, tuple[int, int]]] = {}
        self.entries: dict[int, dict[int, dict[str, Any]]] = {}  # epoch -> tick -> entry
        # server -> epoch -> last tick, from the server's own log (entries and marks) only
        self.logs: dict[str, dict[int, int]] = {}
        for server, info in wal_ticks.items():
            info = as_map(info)
            for name, span in as_map(info.get("epochs")).items():
                span = as_map(span)
                first, last = opt_int(span.get("first")), opt_int(span.get("last"))
                if str(name).isdigit() and first is not None and last is not None:
                    self._add(str(server), int(name), first, last)
                    self._log(str(server), int(name), last)
            for mark in as_list(info.get("marks")):
                if isinstance(mark, list) and len(mark) == 2:
                    mark_tick, mark_epoch = opt_int(mark[0]), opt_int(mark[1])
                    if mark_tick is not None and mark_epoch is not None:
                        self._add(str(server), mark_epoch, mark_tick, mark_tick)
                        self._log(str(server), mark_epoch, mark_tick)
        for sample in timeline:  # what a server held at some time during the run
            node = text(sample.get("node"))
            for name, span in as_map(sample.get("epochs")).items():
                if node and str(name).isdigit() and isinstance(span, list) and len(span) == 2:
                    first, last = opt_int(span[0]), opt_int(span[1])
                    if first is not None and last is not None:
                        self._add(node, int(name), first, last)
        for entry in rollbacks:
            tick, epoch = opt_int(entry.get("tick")), opt_int(entry.get("epoch"))
            if tick is None or epoch is None or entry.get("op") == "state":
                continue  # "state" entries stand for pruned ones: their tick is not their own
            self._add(text(entry.get("server")) or "?", epoch, tick, tick)
            self.entries.setdefault(epoch, {}).setdefault(tick, entry)

    def _add(self, server: str, epoch: int, first: int, last: int) -> None:
        by_epoch = self.spans.setdefault(server, {})
        old = by_epoch.get(epoch)
        by_epoch[epoch] = (first, last) if old is None else (min(old[0], first), max(old[1], last))

    def _log(self, server: str, epoch: int, last: int) -> None:
        by_epoch = self.logs.setdefault(server, {})
        by_epoch[epoch] = max(by_epoch.get(epoch, last), last)

    def line_before(self, epoch: int, server: str) -> int | None:
        """The last tick before ``epoch`` began, from a log holding ``epoch`` and an earlier
        one (``server``'s own if it qualifies, else the lowest any server's log shows).

        A log holds the epochs of its line in ascending tick order, so the last tick
        of its latest earlier epoch is where ``epoch``'s leader started writing: the
        position of the server promoted into ``epoch``. A log restored from a snapshot
        (or pruned past its marks) shows no earlier epoch and does not qualify.
        """
        found: dict[str, int] = {}
        for name, by_epoch in self.logs.items():
            earlier = [last for e, last in by_epoch.items() if e < epoch]
            if epoch in by_epoch and earlier:
                found[name] = max(earlier)
        if server in found:
            return found[server]
        return min(found.values()) if found else None

    def last(self, server: str, epoch: int) -> int | None:
        """The highest tick of ``epoch`` that ``server`` ever held (None: none of it)."""
        span = self.spans.get(server, {}).get(epoch)
        return span[1] if span is not None else None

    def first_of_epoch(self, epoch: int) -> int | None:
        """The lowest tick of ``epoch`` any server is known to have held."""
        firsts = [s[epoch][0] for s in self.spans.values() if epoch in s]
        return min(firsts) if firsts else None

    def known_entries(self, epoch: int, above: int, upto: int) -> list[dict[str, Any]]:
        """The known entries of ``epoch`` with ``above < tick <= upto``, by tick."""
        known = self.entries.get(epoch, {})
        return [known[t] for t in sorted(known) if above < t <= upto]
