"""Which rounds a soak runs: a matrix of cases, drawn in a seeded order, sliced into shards.

A **cell** of the matrix is (workload, fault family, mode). The plan is an
endless sequence: pass ``p`` visits every cell once in an order shuffled by
``Random(f"{seed}:pass:{p}")``, and round ``k`` picks one fault of its cell's
family and a run seed from ``Random(f"{seed}:round:{k}")``. So round ``k`` is a
pure function of (seed, matrix, k): two machines with the same seed draw the
same plan, and ``--shard I/N`` takes the rounds ``k`` with ``k % N == I - 1``:
the shards are disjoint and together cover the plan.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("async", "sync")


@dataclass(frozen=True)
class Round:
    """One round of the plan: a normal ``afcheck run`` test."""

    index: int
    workload: str
    family: str
    fault: str
    mode: str
    seed: int

    def name(self) -> str:
        return f"r{self.index:05d}-{self.workload}-{self.fault}-{self.mode}"

    def case(self) -> str:
        """The case across nights (flakiness): what the round tests, not when."""
        return f"{self.workload}/{self.fault}/{self.mode}"


@dataclass(frozen=True)
class Matrix:
    """Workloads x fault families (each with its faults) x modes."""

    workloads: tuple[str, ...]
    families: Mapping[str, tuple[str, ...]]  # family -> fault names (sorted)
    modes: tuple[str, ...] = MODES
    cells: tuple[tuple[str, str, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.workloads:
            raise ValueError("the matrix names no workload")
        if not any(self.families.values()):
            raise ValueError("the matrix names no fault that can run on this backend")
        for mode in self.modes:
            if mode not in MODES:
                raise ValueError(f"mode must be async or sync, not {mode!r}")
        if not self.modes:
            raise ValueError("the matrix names no mode")
        cells = tuple(
            (w, fam, m)
            for w in self.workloads
            for fam in sorted(self.families)
            if self.families[fam]
            for m in self.modes
        )
        object.__setattr__(self, "cells", cells)

    def to_json(self) -> dict[str, Any]:
        return {
            "workloads": list(self.workloads),
            "families": {k: list(v) for k, v in sorted(self.families.items())},
            "modes": list(self.modes),
        }


def backend_capabilities(backend: str) -> frozenset[str]:
    """What a backend offers faults (as :func:`harness.core.fault.offered`, without starting one)."""
    caps = {"leader", "proxies"}
    if backend == "docker":
        caps |= {"isolation", "docker"}
    return frozenset(caps)


def build_matrix(
    workloads: Sequence[str],
    faults: Mapping[str, Any],
    backend: str,
    *,
    only_workloads: Sequence[str] | None = None,
    only_nemeses: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
) -> Matrix:
    """The matrix over the registry's workloads and fault classes (``name -> class`` with
    ``family`` and ``needs``). ``only_nemeses`` holds fault names or family names;
    faults the backend cannot run are left out."""
    chosen_w = list(only_workloads or workloads)
    for w in chosen_w:
        if w not in workloads:
            raise ValueError(f"unknown workload {w!r} (known: {', '.join(sorted(workloads))})")
    caps = backend_capabilities(backend)
    wanted = set(only_nemeses or [])
    families_known = {cls.family for cls in faults.values()}
    for name in wanted:
        if name not in faults and name not in families_known:
            known = ", ".join(sorted(faults))
            raise ValueError(f"unknown fault or family {name!r} (known: {known})")
    families: dict[str, list[str]] = {}
    for name, cls in sorted(faults.items()):
        if wanted and name not in wanted and cls.family not in wanted:
            continue
        if frozenset(cls.needs) - caps:
            continue
        families.setdefault(cls.family, []).append(name)
    return Matrix(
        tuple(chosen_w),
        {k: tuple(v) for k, v in families.items()},
        tuple(modes or MODES),
    )


def load_matrix_file(path: Path) -> dict[str, Any]:
    """A matrix file: JSON ``{"workloads": [...], "nemeses": [...], "modes": [...]}``
    (every key optional; nemeses may name faults or families)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read matrix {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"matrix {path}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"matrix {path}: expected a JSON object")
    out: dict[str, Any] = {}
    for key in ("workloads", "nemeses", "modes"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"matrix {path}: {key!r} must be a list of names")
        out[key] = value
    unknown = set(data) - {"workloads", "nemeses", "modes"}
    if unknown:
        raise ValueError(f"matrix {path}: unknown keys {', '.join(sorted(unknown))}")
    return out


def draw(seed: int, matrix: Matrix, k: int) -> Round:
    """Round ``k`` of the plan (a pure function of seed, matrix and k)."""
    if k < 0:
        raise ValueError("round index must be >= 0")
    cells = list(matrix.cells)
    pass_no, pos = divmod(k, len(cells))
    random.Random(f"{seed}:pass:{pass_no}").shuffle(cells)
    workload, family, mode = cells[pos]
    rng = random.Random(f"{seed}:round:{k}")
    fault = rng.choice(sorted(matrix.families[family]))
    return Round(k, workload, family, fault, mode, rng.randrange(2**31))


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (1 <= I <= N) as (I, N)."""
    left, sep, right = text.partition("/")
    try:
        i, n = int(left), int(right)
    except ValueError:
        raise ValueError(f"--shard takes I/N (e.g. 1/4), not {text!r}") from None
    if not sep or n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard takes I/N with 1 <= I <= N, not {text!r}")
    return i, n


def shard_indices(shard: tuple[int, int], start: int = 0) -> Iterator[int]:
    """The plan indices of shard ``(I, N)``, in order, from ``start`` on."""
    i, n = shard
    k = i - 1
    while k < start:
        k += n
    while True:
        yield k
        k += n


def shard_rounds(seed: int, matrix: Matrix, shard: tuple[int, int], count: int) -> list[Round]:
    """The first ``count`` rounds of a shard."""
    out: list[Round] = []
    for k in shard_indices(shard):
        if len(out) >= count:
            break
        out.append(draw(seed, matrix, k))
    return out
