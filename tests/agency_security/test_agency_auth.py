"""Issue 10 row 2: the agency had no authentication on any route.

Anyone could read the tree or write ``Plan/AsyncReplication/Leader`` and so
point servers and clients at an address of their own. Now every route wants
a member token signed with the cluster secret; anything else is 401 with
ArangoDB's body, and the tree is unchanged.
"""

from __future__ import annotations

import pytest

from cluster.common.tokens import InternalToken, sign_jwt
from tests.agency.agents import AgencyCluster
from tests.agency_security.attacks import NOT_AUTHORIZED, leader_value, send, wrong_secret_headers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

LEADER_KEY = "/arango/Plan/AsyncReplication/Leader"
ROUTES: list[tuple[str, object]] = [
    ("/_api/agency/read", [["/"]]),
    ("/_api/agency/write", [[{LEADER_KEY: "intruder"}]]),
    ("/_api/agency/transact", [[{LEADER_KEY: "intruder"}]]),
    ("/_api/agency/transient", [[{LEADER_KEY: "intruder"}]]),
    ("/_api/agency/inquire", ["x"]),
    ("/_api/agency/config", None),
    ("/_api/agency/poll", None),
    ("/_api/agency/stores", None),
    ("/_api/agency_priv/state?path=/", None),
    ("/_api/agency_priv/appendEntries", {"term": 1}),
    ("/_api/agency_priv/installSnapshot", {"term": 1}),
    ("/_api/version", None),
]


def _bad_headers(c: AgencyCluster) -> list[dict[str, str]]:
    secret = c.backend.credentials.secret
    expired = sign_jwt({"server_id": "a9", "exp": 1}, secret)
    user_token = sign_jwt({"preferred_username": "root", "exp": 4_000_000_000}, secret)
    return [
        {},
        wrong_secret_headers(),
        {"Authorization": "bearer " + expired},
        {"Authorization": "bearer " + user_token},  # a user's token is not a member's
        {"Authorization": "Basic cm9vdDo="},  # root with an empty password
        {"Authorization": "bearer " + InternalToken(secret).token() + "x"},
    ]


def test_every_route_needs_the_cluster_secret(agency: AgencyCluster) -> None:
    c = agency
    c.write_via_leader([[{LEADER_KEY: "s1"}]])
    leader = c.leader()
    for path, body in ROUTES:
        for headers in _bad_headers(c):
            assert send(c, leader, path, body, headers) == (401, NOT_AUTHORIZED), (path, headers)
    assert leader_value(c, LEADER_KEY) == "s1"
    assert send(c, leader, "/_api/agency/config", None, c.headers())[0] == 200
