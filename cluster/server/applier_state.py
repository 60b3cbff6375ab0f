"""``GET /_api/replication/applier-state`` in ArangoDB's shape.

An Active Failover follower's applier is what ArangoDB users inspect with
``/_api/replication/applier-state?global=true``: whether it runs, the phase,
the last tick it applied, how far behind the leader it is, its progress and
last error. The answer here keeps that shape (ticks as strings, times as ISO
8601 UTC) and adds our own applier's details under ``afcheck``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# our applier's phases -> ArangoDB's: "inactive" (not replicating), "initial"
# (initial synchronisation), "running" (continuous tailing)
PHASES = {
    "stopped": "inactive",
    "starting": "initial",
    "checking": "initial",
    "resyncing": "initial",
    "retrying": "running",
    "tailing": "running",
}
VERSION = "3.11.0"


def iso_utc(ms: float) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def applier_state(
    status: dict[str, Any],
    last_applied: int,
    server_id: str,
    leader_url: str,
    now_ms: float,
    database: str | None,
) -> dict[str, Any]:
    """The ArangoDB answer from our applier's ``status()`` and the follower's last tick.

    ``database`` is None for ``global=true`` (the server-wide applier, as Active
    Failover uses), else the database asked for."""
    phase = str(status.get("phase", "stopped"))
    running = phase != "stopped"
    available = max(int(status.get("leaderLastTick") or 0), last_applied)
    error = status.get("lastError")
    last_error: dict[str, Any] = {"errorNum": 0}
    if error:
        last_error = {"errorNum": 1400, "errorMessage": str(error), "time": iso_utc(now_ms)}
    if not running:
        message = "applier is not running (this server leads or has no leader)"
    elif phase == "tailing":
        message = f"fetching leader log from tick {last_applied}"
    elif phase == "retrying":
        message = f"waiting to retry after: {error}" if error else "waiting to retry"
    else:
        message = f"initial synchronisation ({phase})"
    state = {
        "running": running,
        "phase": PHASES.get(phase, "running"),
        "lastAppliedContinuousTick": str(last_applied) if running else None,
        "lastProcessedContinuousTick": str(last_applied) if running else None,
        "lastAvailableContinuousTick": str(available) if running else None,
        "safeResumeTick": str(last_applied) if running else None,
        "ticksBehind": max(0, available - last_applied) if running else 0,
        "progress": {
            "time": iso_utc(now_ms),
            "message": message,
            "failedConnects": int(status.get("retries") or 0),
        },
        "totalResyncs": int(status.get("resyncs") or 0),
        "totalFailedConnects": int(status.get("retries") or 0),
        "lastError": last_error,
        "time": iso_utc(now_ms),
    }
    out: dict[str, Any] = {
        "state": state,
        "server": {"version": VERSION, "serverId": server_id},
        "endpoint": tcp_endpoint(leader_url) if leader_url else None,
        "afcheck": status,
    }
    if database is not None:
        out["database"] = database
    return out


def tcp_endpoint(url: str) -> str:
    """``http://h:p`` as ArangoDB writes an endpoint: ``tcp://h:p`` (``ssl://`` for https)."""
    for scheme, repl in (("http://", "tcp://"), ("https://", "ssl://")):
        if url.startswith(scheme):
            return repl + url[len(scheme) :]
    return url
