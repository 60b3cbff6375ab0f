"""When faults happen: healthy for H seconds, a fault for F seconds, repeated.

A schedule knows nothing about workloads. It draws the fault of each cycle
(always the same one, or one of several chosen with the run's seed), injects
it, holds it, heals it, and reports each start and end through ``on_event``
(the runner writes ``nemesis.jsonl`` and the history's nemesis lines from
it). When ``stop`` is set the active fault is healed at once and the
schedule returns.

Profiles set H and F: ``full`` (10 s healthy, 10 s fault: the default) and
``short`` (for the default CI run).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.core.fault import Fault, NemesisContext, is_skipped


@dataclass(frozen=True)
class Profile:
    healthy_s: float
    fault_s: float
    time_limit_s: float  # a sensible test length for this profile


PROFILES: dict[str, Profile] = {
    "full": Profile(healthy_s=10.0, fault_s=10.0, time_limit_s=35.0),
    "short": Profile(healthy_s=4.0, fault_s=6.0, time_limit_s=16.0),
}


# on_event(event, id, fault, what the fault reported); event: start | end | error
EventSink = Callable[[str, int, Fault, dict[str, Any]], Awaitable[None] | None]


class NemesisSchedule:
    """Runs faults in cycles beside the generator.

    ``applied`` lists the faults that really acted (in order), ``skipped`` those
    whose inject found nothing to act on, ``errors`` what failed.
    """

    def __init__(
        self,
        faults: Sequence[Fault],
        ctx: NemesisContext,
        rng: random.Random,
        on_event: EventSink,
        *,
        healthy_s: float = 10.0,
        fault_s: float = 10.0,
    ) -> None:
        self.faults = list(faults)
        self.ctx = ctx
        self.rng = rng
        self.on_event = on_event
        self.healthy_s = healthy_s
        self.fault_s = fault_s
        self._active: tuple[int, Fault] | None = None
        self._next_id = 0
        self.applied: list[Fault] = []
        self.skipped: list[Fault] = []
        self.errors: list[str] = []

    async def _emit(self, event: str, fid: int, fault: Fault, info: dict[str, Any]) -> None:
        result = self.on_event(event, fid, fault, info)
        if result is not None:
            await result

    async def _wait(self, seconds: float, stop: asyncio.Event) -> bool:
        """Sleep ``seconds`` unless ``stop`` is set first; True when stopped."""
        if stop.is_set():  # wait_for with timeout 0 would time out even on a set event
            return True
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle healthy/fault until ``stop`` is set; always leaves every fault healed."""
        if not self.faults:
            await stop.wait()
            return
        try:
            while not await self._wait(self.healthy_s, stop):
                fault = self.rng.choice(self.faults)
                if await self._inject(fault):
                    await self._wait(self.fault_s, stop)
                    await self.heal_active()
        finally:
            await self.heal_active()

    async def _inject(self, fault: Fault) -> bool:
        fid = self._next_id
        self._next_id += 1
        try:
            touched = await fault.inject(self.ctx) or {}
        except Exception as exc:  # a fault that could not apply (no leader now, ...)
            self.errors.append(f"{fault.name}: inject failed: {type(exc).__name__}: {exc}")
            await self._emit("error", fid, fault, {"error": f"{type(exc).__name__}: {exc}"})
            # it may have applied partly: heal what it touched
            await self._heal(fault)
            return False
        (self.skipped if is_skipped(touched) else self.applied).append(fault)
        self._active = (fid, fault)
        await self._emit("start", fid, fault, touched)
        return True

    async def heal_active(self) -> None:
        if self._active is None:
            return
        fid, fault = self._active
        self._active = None
        info = await self._heal(fault)
        await self._emit("end", fid, fault, info)

    async def _heal(self, fault: Fault) -> dict[str, Any]:
        try:
            return await fault.heal(self.ctx) or {}
        except Exception as exc:
            self.errors.append(f"{fault.name}: heal failed: {type(exc).__name__}: {exc}")
            return {"error": f"heal failed: {type(exc).__name__}: {exc}"}
