"""``/_api/replication/applier-state`` keeps ArangoDB's shape for every applier phase."""

from __future__ import annotations

import pytest

from cluster.server.applier_state import PHASES, applier_state, tcp_endpoint

NOW_MS = 1_764_600_000_000.0  # 2025-12-01T14:40:00Z


def status(phase: str, **kw: object) -> dict[str, object]:
    return {
        "phase": phase,
        "leader": "s1",
        "epoch": 3,
        "leaderLastTick": 0,
        "resyncs": 0,
        "retries": 0,
        "retryPause": 0.1,
        "lastError": None,
        **kw,
    }


def test_a_tailing_follower_reports_ticks_as_strings_and_how_far_behind() -> None:
    out = applier_state(
        status("tailing", leaderLastTick=120), 100, "s2", "http://h:1", NOW_MS, None
    )
    st = out["state"]
    assert (st["running"], st["phase"]) == (True, "running")
    assert st["lastAppliedContinuousTick"] == "100" and st["lastAvailableContinuousTick"] == "120"
    assert st["ticksBehind"] == 20 and st["lastError"] == {"errorNum": 0}
    assert st["time"] == "2025-12-01T14:40:00Z"
    assert out["endpoint"] == "tcp://h:1" and out["server"]["serverId"] == "s2"
    assert "database" not in out  # global=true: the server-wide applier


def test_a_leader_has_an_inactive_applier_and_no_endpoint() -> None:
    out = applier_state(status("stopped"), 500, "s1", "", NOW_MS, "_system")
    st = out["state"]
    assert (st["running"], st["phase"], st["ticksBehind"]) == (False, "inactive", 0)
    assert st["lastAppliedContinuousTick"] is None and out["endpoint"] is None
    assert out["database"] == "_system"


def test_an_error_is_reported_with_its_message() -> None:
    out = applier_state(
        status("retrying", lastError="connection refused", retries=4),
        7,
        "s3",
        "https://h:2",
        NOW_MS,
        None,
    )
    st = out["state"]
    assert st["lastError"]["errorNum"] != 0 and "refused" in st["lastError"]["errorMessage"]
    assert st["progress"]["failedConnects"] == 4 and out["endpoint"] == "ssl://h:2"


@pytest.mark.parametrize("phase", sorted(PHASES))
def test_every_phase_maps_to_an_arangodb_phase(phase: str) -> None:
    out = applier_state(status(phase), 1, "s2", "http://h:1", NOW_MS, None)
    assert out["state"]["phase"] in ("inactive", "initial", "running")
    assert out["afcheck"]["phase"] == phase  # our own detail stays available


def test_tcp_endpoint_leaves_unknown_schemes_alone() -> None:
    assert tcp_endpoint("unix:///tmp/s") == "unix:///tmp/s"
