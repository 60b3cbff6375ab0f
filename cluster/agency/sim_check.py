"""The safety properties the simulator checks after every step (Raft paper, figure 3).

* election safety: at most one leader per term;
* log matching: two logs holding an entry with the same index and term hold
  the same entries up to it (checked inductively: the same (index, term)
  always carries the same payload and follows the same previous term);
* leader completeness: a new leader's log holds every entry committed in an
  earlier term;
* state-machine safety: no two nodes apply different entries at one index;
* read safety: a read-index read sees at least what was committed when it
  was asked for.

The checker only observes: it is fed what nodes persist, apply and commit.
"""

from __future__ import annotations

import json
from typing import Any

from cluster.agency.raft_core import RaftCore
from cluster.agency.raft_core_msgs import LEADER, LogEntry


class Violation(Exception):
    """A safety property failed; the message says which and where."""


def entry_key(e: LogEntry) -> str:
    return json.dumps([e.term, e.entry], sort_keys=True, separators=(",", ":"))


class SafetyChecker:
    def __init__(self) -> None:
        self.leaders: dict[int, str] = {}
        self.slots: dict[tuple[int, int], tuple[str, int | None]] = {}
        self.committed: dict[int, tuple[str, int, int]] = {}  # index -> (key, term, commit term)
        self.commit_upto = 0
        self.applied: dict[int, str] = {}
        self.checked_leaders: set[tuple[str, int]] = set()

    def persisted(self, node: str, core: RaftCore, entries: list[LogEntry]) -> None:
        """``node`` is writing ``entries`` (its core's log holds them now)."""
        for e in entries:
            prev = core.log.term_at(e.index - 1)
            key = entry_key(e)
            seen = self.slots.setdefault((e.index, e.term), (key, prev))
            if seen[0] != key or (prev is not None and seen[1] is not None and seen[1] != prev):
                raise Violation(
                    f"log matching: {node} holds a different entry {e.index}@{e.term} "
                    f"(or one after a different term) than another node"
                )

    def applied_entry(self, node: str, e: LogEntry) -> None:
        key = entry_key(e)
        other = self.applied.setdefault(e.index, key)
        if other != key:
            raise Violation(
                f"state-machine safety: {node} applied {key} at {e.index}, another node {other}"
            )

    def observe(self, node: str, core: RaftCore) -> None:
        """After any input: leaders, what they committed, and new leaders' logs."""
        if core.role != LEADER:
            return
        holder = self.leaders.setdefault(core.term, node)
        if holder != node:
            raise Violation(f"election safety: {holder} and {node} both lead term {core.term}")
        if (node, core.term) not in self.checked_leaders:
            self.checked_leaders.add((node, core.term))
            self._complete(node, core)
        for i in range(max(self.commit_upto, core.log.snapshot_index) + 1, core.commit + 1):
            e = core.log.entry(i)
            self.committed.setdefault(i, (entry_key(e), e.term, core.term))
        self.commit_upto = max(self.commit_upto, core.commit)

    def _complete(self, node: str, core: RaftCore) -> None:
        for i, (key, term, commit_term) in self.committed.items():
            if commit_term >= core.term or i <= core.log.snapshot_index:
                continue
            mine = core.log.entry(i) if i <= core.log.last_index else None
            if mine is None or entry_key(mine) != key:
                raise Violation(
                    f"leader completeness: {node} leads term {core.term} without entry "
                    f"{i}@{term} committed in term {commit_term}"
                )

    def read_released(self, node: str, index: int, floor: int) -> None:
        if index < floor:
            raise Violation(f"read safety: {node} served a read at {index} < committed {floor}")

    def summary(self) -> dict[str, Any]:
        return {"terms_with_leader": len(self.leaders), "committed": self.commit_upto}
