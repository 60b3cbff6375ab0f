"""Workloads by name, as ``afcheck run --workload`` and the nemesis suites know them."""

from __future__ import annotations

from collections.abc import Callable

from harness.core.protocols import Workload
from workloads.dirty_read import DirtyReadWorkload
from workloads.register import RegisterWorkload
from workloads.set import SetWorkload

WORKLOADS: dict[str, Callable[[], Workload]] = {
    "register": RegisterWorkload,
    "set": SetWorkload,
    "dirty-read": DirtyReadWorkload,
}


def make_workload(name: str) -> Workload:
    """A fresh workload; ``KeyError`` names the known ones."""
    try:
        return WORKLOADS[name]()
    except KeyError:
        known = ", ".join(sorted(WORKLOADS))
        raise KeyError(f"unknown workload {name!r} (known: {known})") from None
