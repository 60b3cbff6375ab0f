"""When faults happen: healthy for H seconds, a fault for F seconds, repeated.

A schedule knows nothing about workloads. It draws the fault of each cycle
(always the same one, or, for ``mixed``, one of all faults chosen with the
run's seed), injects it, holds it, heals it, and reports each start and end
through ``on_event`` (the runner writes ``nemesis.jsonl`` and the history's
nemesis lines from it). When ``stop`` is set the active fault is healed at
once and the schedule returns.

Profiles set H and F: ``full`` (10 s healthy, 10 s fault: the default) and
``short`` (for the default CI run).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

MIXED = "mixed"
NONE = "none"


@dataclass(frozen=True)
class Profile:
    healthy_s: float
    fault_s: float
    time_limit_s: float  # a sensible test length for this profile


PROFILES: dict[str, Profile] = {
    "full": Profile(healthy_s=10.0, fault_s=10.0, time_limit_s=35.0),
    "short": Profile(healthy_s=4.0, fault_s=6.0, time_limit_s=16.0),
}


class FaultLike(Protocol):
    """What a schedule needs of a fault (``nemesis/base.py`` defines the real one)."""

    name: str

    async def inject(self, ctx: Any) -> dict[str, Any]: ...

    async def heal(self, ctx: Any) -> dict[str, Any]: ...


# on_event(event, id, fault name, what the fault reported)
EventSink = Callable[[str, int, str, dict[str, Any]], Awaitable[None] | None]


class NemesisSchedule:
    """Runs faults in cycles beside the generator."""

    def __init__(
        self,
        fault_names: list[str],
        factories: dict[str, Callable[[], FaultLike]],
        ctx: Any,
        rng: random.Random,
        on_event: EventSink,
        *,
        healthy_s: float = 10.0,
        fault_s: float = 10.0,
    ) -> None:
        unknown = [n for n in fault_names if n not in factories]
        if unknown:
            known = ", ".join(sorted(factories))
            raise KeyError(f"unknown fault(s) {', '.join(unknown)} (known: {known})")
        self.fault_names = fault_names
        self.factories = factories
        self.ctx = ctx
        self.rng = rng
        self.on_event = on_event
        self.healthy_s = healthy_s
        self.fault_s = fault_s
        self._active: tuple[int, FaultLike] | None = None
        self._next_id = 0
        self.errors: list[str] = []

    @staticmethod
    def faults_for(nemesis: str, factories: dict[str, Callable[[], FaultLike]]) -> list[str]:
        """The faults a ``--nemesis`` value names: one fault, ``mixed`` (all), or ``none``."""
        if nemesis == NONE:
            return []
        if nemesis == MIXED:
            return sorted(factories)
        return [n.strip() for n in nemesis.split(",") if n.strip()]

    async def _emit(self, event: str, fid: int, name: str, info: dict[str, Any]) -> None:
        result = self.on_event(event, fid, name, info)
        if result is not None:
            await result

    async def _wait(self, seconds: float, stop: asyncio.Event) -> bool:
        """Sleep ``seconds`` unless ``stop`` is set first; True when stopped."""
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle healthy/fault until ``stop`` is set; always leaves every fault healed."""
        if not self.fault_names:
            await stop.wait()
            return
        try:
            while not await self._wait(self.healthy_s, stop):
                name = self.rng.choice(self.fault_names)
                if await self._inject(name):
                    await self._wait(self.fault_s, stop)
                    await self.heal_active()
        finally:
            await self.heal_active()

    async def _inject(self, name: str) -> bool:
        fault = self.factories[name]()
        fid = self._next_id
        self._next_id += 1
        try:
            touched = await fault.inject(self.ctx)
        except Exception as exc:  # a fault that could not apply (no leader now, ...)
            self.errors.append(f"{name}: inject failed: {type(exc).__name__}: {exc}")
            await self._emit("error", fid, name, {"error": f"{type(exc).__name__}: {exc}"})
            # it may have applied partly: heal what it touched
            await self._heal(fid, fault)
            return False
        self._active = (fid, fault)
        await self._emit("start", fid, name, touched or {})
        return True

    async def heal_active(self) -> None:
        if self._active is None:
            return
        fid, fault = self._active
        self._active = None
        info = await self._heal(fid, fault)
        await self._emit("end", fid, fault.name, info)

    async def _heal(self, fid: int, fault: FaultLike) -> dict[str, Any]:
        try:
            return await fault.heal(self.ctx) or {}
        except Exception as exc:
            self.errors.append(f"{fault.name}: heal failed: {type(exc).__name__}: {exc}")
            return {"error": f"heal failed: {type(exc).__name__}: {exc}"}
