"""Issue 10 rows 8 and 9: observers anywhere, and arithmetic past int64.

Row 8: ``observe`` took any URL (the agency then POSTs there: a request
forgery from inside the cluster) and any number of them. Now a callback URL
must be a cluster member's or on ``--observer-allow`` (403 otherwise), and
the agency keeps at most ``--max-observers`` (400 beyond).
Row 9: ``increment`` could overflow to what a JSON reader takes as
``Infinity``. Now a result outside the signed 64-bit range is 400 and the
whole request changes nothing. (The server half of row 9, ``wal/tail`` and
``match`` with a huge tick, is ``tests/server_storage/test_resync_integration.py``.)
"""

from __future__ import annotations

from typing import Any

import pytest

from cluster.agency.store import Store, parse_write
from cluster.agency.write_guards import increment_overflow, observer_allowed
from tests.agency.agents import AgencyCluster
from tests.agency_security.attacks import MAX_INT64, leader_value

pytestmark = [pytest.mark.timeout(120)]


def _write(c: AgencyCluster, txns: list[Any]) -> tuple[int, Any]:
    return c.write(c.leader(), txns)


@pytest.mark.integration
def test_observers_only_for_members_and_at_most_the_cap(agency: AgencyCluster) -> None:
    c = agency
    member = c.url(c.ids[1]) + "/callback"
    for url in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:1/x"):
        status, body = _write(c, [[{"/obs": {"op": "observe", "url": url}}]])
        assert status == 403 and body["errorNum"] == 11, body
    stores = c.leader()
    assert _write(c, [[{"/obs/a": {"op": "observe", "url": member}}]])[0] == 200
    assert _write(c, [[{"/obs/b": {"op": "observe", "url": member}}]])[0] == 200
    assert _write(c, [[{"/obs/c": {"op": "observe", "url": member}}]])[0] == 200
    status, body = _write(c, [[{"/obs/d": {"op": "observe", "url": member}}]])
    assert status == 400 and "too many observers" in body["errorMessage"], body
    assert c.leader() == stores


@pytest.mark.integration
def test_an_overflowing_increment_is_400_and_changes_nothing(agency: AgencyCluster) -> None:
    c = agency
    assert _write(c, [[{"/n": MAX_INT64 - 1, "/m": -(2**63)}]])[0] == 200
    step = {"op": "increment", "step": 5}
    for txns in (
        [[{"/n": step}]],
        [[{"/other": 1, "/n": step}]],  # the whole transaction is refused
        [[{"/other": 1}], [{"/n": step}]],  # and the whole request
        [[{"/m": {"op": "decrement"}}]],
        [[{"/z": {"op": "set", "new": {"y": MAX_INT64}}, "/z/y": {"op": "increment"}}]],
    ):
        status, body = _write(c, txns)
        assert status == 400 and "64-bit" in body["errorMessage"], (txns, body)
    assert leader_value(c, "/n") == MAX_INT64 - 1
    assert leader_value(c, "/other") is None
    assert _write(c, [[{"/n": {"op": "increment"}}]])[0] == 200
    assert leader_value(c, "/n") == MAX_INT64


def test_the_store_refuses_an_overflow_that_raced_the_check() -> None:
    store = Store()
    (first,) = parse_write([[{"/n": MAX_INT64}]], 0.0)
    (bump,) = parse_write([[{"/n": {"op": "increment"}, "/k": 1}]], 0.0)
    assert store.apply(first, 1).ok
    assert increment_overflow(bump["txn"], store.get) == "/n"
    result = store.apply(bump, 2)
    assert not result.ok and store.get("/n") == MAX_INT64 and store.get("/k") is None


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://10.0.0.1:8529/cb", True),
        ("http://10.0.0.1:85/cb", False),  # a prefix of a member's port is not the member
        ("https://10.0.0.1:8529/cb", False),
        ("http://hooks.example:80/afcheck/x", True),
        ("http://hooks.example/other", False),
        ("http://[::1", False),
    ],
)
def test_observer_urls(url: str, ok: bool) -> None:
    members = ["http://10.0.0.1:8529"]
    assert observer_allowed(url, members, ["http://hooks.example/afcheck/"]) is ok
