"""``soak.json``: what a soak has done so far, so ``--resume`` continues where it stopped.

One record per round attempt (plan index, case, status, run directory relative
to the store, lost writes, failovers, harness RSS, size); a round whose status
is final (:data:`DONE`) is never run again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "soak.json"
DONE = frozenset({"valid", "invalid", "unknown", "error"})


@dataclass
class SoakState:
    seed: int
    shard: tuple[int, int]
    matrix: dict[str, Any]
    backend: str
    round_time: float
    duration_s: float
    commit: str = "unknown"
    elapsed_s: float = 0.0  # summed over every session of this soak
    sessions: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def done_indices(self) -> set[int]:
        return {int(r["index"]) for r in self.rounds if r.get("status") in DONE}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "seed": self.seed,
            "shard": f"{self.shard[0]}/{self.shard[1]}",
            "matrix": self.matrix,
            "backend": self.backend,
            "round_time": self.round_time,
            "duration_s": self.duration_s,
            "commit": self.commit,
            "elapsed_s": round(self.elapsed_s, 1),
            "sessions": self.sessions,
            "rounds": self.rounds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SoakState:
        try:
            left, _, right = str(data["shard"]).partition("/")
            return cls(
                seed=int(data["seed"]),
                shard=(int(left), int(right)),
                matrix=dict(data["matrix"]),
                backend=str(data["backend"]),
                round_time=float(data["round_time"]),
                duration_s=float(data["duration_s"]),
                commit=str(data.get("commit", "unknown")),
                elapsed_s=float(data.get("elapsed_s", 0.0)),
                sessions=int(data.get("sessions", 0)),
                rounds=list(data.get("rounds", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{STATE_FILE}: malformed: {exc}") from None

    def save(self, store: Path) -> None:
        path = store / STATE_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def load_state(store: Path) -> SoakState | None:
    path = store / STATE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return SoakState.from_json(data)
