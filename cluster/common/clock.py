"""The only reader of time in ``cluster/``.

Every wall-clock and monotonic read in the cluster goes through this module so
that the harness can skew a node's clock without touching the host's clock.
The skew comes from a small JSON file (path in ``AFCHECK_CLOCK_FILE`` or set by
:func:`configure`)::

    {"offset": 12.5, "rate": 1.0}

* ``offset`` (seconds) is added to the wall clock only, as a ``settimeofday``
  bump would be.
* ``rate`` scales how fast both clocks advance from the moment the file is
  read, as an ``adjtimex`` frequency change would (it slows or speeds
  ``CLOCK_MONOTONIC`` too). Both skewed clocks stay continuous when the rate
  changes.

The file is checked (one ``stat``) at most every ``POLL_INTERVAL`` seconds of
true monotonic time, so reading the clock stays cheap in hot paths.
A missing or malformed file means no skew; a malformed file is reported once
on stderr and otherwise ignored, so a bad nemesis write never stops a node.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass

POLL_INTERVAL = 0.02
ENV_VAR = "AFCHECK_CLOCK_FILE"


@dataclass(frozen=True)
class Skew:
    """A clock skew as the nemesis writes it."""

    offset: float = 0.0
    rate: float = 1.0

    @staticmethod
    def parse(text: str) -> Skew:
        """Parse the clock file's JSON; raise ``ValueError`` with the reason."""
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"clock file is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("clock file must hold a JSON object")
        offset = data.get("offset", 0.0)
        rate = data.get("rate", 1.0)
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise ValueError("clock offset must be a number of seconds")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.01 <= rate <= 100:
            raise ValueError("clock rate must be a number between 0.01 and 100")
        return Skew(float(offset), float(rate))


class Clock:
    """A skewable clock. Use the module-level functions in node code."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._path = path
        self._skew = Skew()
        self._mtime: int | None = None
        self._next_poll = 0.0
        self._warned = False
        # Anchor of the current rate segment: true monotonic and skewed monotonic.
        self._anchor_true = time.monotonic()
        self._anchor_mono = self._anchor_true
        self._anchor_wall_true = time.time()
        self._anchor_wall = self._anchor_wall_true

    @property
    def path(self) -> str | None:
        return self._path

    def set_path(self, path: str | None) -> None:
        """Follow the skew file at ``path`` from now on; ``None`` ends any skew at once."""
        with self._lock:
            self._path = path
            self._mtime = None
            self._next_poll = 0.0
            if path is None:
                self._apply(Skew())

    @property
    def skew(self) -> Skew:
        self._poll()
        return self._skew

    def _poll(self) -> None:
        now = time.monotonic()
        if now < self._next_poll or self._path is None:
            return
        with self._lock:
            self._next_poll = now + POLL_INTERVAL
            try:
                mtime = os.stat(self._path).st_mtime_ns
            except OSError:
                mtime = None
            if mtime == self._mtime:
                return
            self._mtime = mtime
            skew = Skew()
            if mtime is not None:
                try:
                    with open(self._path, encoding="utf-8") as fh:
                        skew = Skew.parse(fh.read())
                except (OSError, ValueError) as exc:
                    if not self._warned:
                        print(f"clock: ignoring {self._path}: {exc}", file=sys.stderr)
                        self._warned = True
                    return
            self._apply(skew)

    def _apply(self, skew: Skew) -> None:
        # Re-anchor both clocks so they stay continuous across a rate change.
        true_mono = time.monotonic()
        true_wall = time.time()
        self._anchor_mono = self._mono_at(true_mono)
        self._anchor_wall = self._wall_at(true_wall) - self._skew.offset + skew.offset
        self._anchor_true = true_mono
        self._anchor_wall_true = true_wall
        self._skew = skew

    def _mono_at(self, true_mono: float) -> float:
        return self._anchor_mono + (true_mono - self._anchor_true) * self._skew.rate

    def _wall_at(self, true_wall: float) -> float:
        return self._anchor_wall + (true_wall - self._anchor_wall_true) * self._skew.rate

    def monotonic(self) -> float:
        """Seconds on the node's monotonic clock (rate-skewed, never jumps)."""
        self._poll()
        return self._mono_at(time.monotonic())

    def wall(self) -> float:
        """Seconds since the epoch on the node's wall clock (offset- and rate-skewed)."""
        self._poll()
        return self._wall_at(time.time())

    def real_duration(self, seconds: float) -> float:
        """How long to really sleep for ``seconds`` to pass on this node's clock."""
        self._poll()
        return seconds / self._skew.rate


_CLOCK = Clock(os.environ.get(ENV_VAR) or None)


def configure(path: str | None) -> None:
    """Point this process's clock at a skew file (``None`` for no skew)."""
    _CLOCK.set_path(path)


def monotonic() -> float:
    """The node's monotonic clock, in seconds."""
    return _CLOCK.monotonic()


def wall() -> float:
    """The node's wall clock, in seconds since the epoch."""
    return _CLOCK.wall()


def wall_ms() -> int:
    """The node's wall clock in whole milliseconds."""
    return int(_CLOCK.wall() * 1000)


def real_duration(seconds: float) -> float:
    """Real seconds to sleep so that ``seconds`` pass on this node's clock."""
    return _CLOCK.real_duration(seconds)


def current_skew() -> Skew:
    """The skew in force now (for status pages)."""
    return _CLOCK.skew


def write_skew(path: str, skew: Skew) -> None:
    """Atomically write a clock file (used by the harness and tests)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"offset": skew.offset, "rate": skew.rate}, fh)
    os.replace(tmp, path)
