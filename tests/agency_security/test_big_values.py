"""Issue 10 row 4: one 15 MB agency write blocked the leader's loop and caused an election.

The agency now refuses bodies over ``--body-limit`` (1 MiB by default; agency
values are cluster metadata) with 413 before parsing them, and an
appendEntries carries at most a few bodies' worth. Measured here: 20 writes
of the largest accepted size in a row cause no election (no term changes).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cluster.agency.config import AGENCY_BODY_LIMIT
from tests.agency.agents import AgencyCluster
from tests.agency_security.attacks import send, settled_terms, terms

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

WRITES = 20


def max_size_write(i: int) -> list[Any]:
    """A write whose JSON body is exactly the agency's body limit."""
    empty = [[{f"/big/{i % 4}": ""}]]
    pad = AGENCY_BODY_LIMIT - len(json.dumps(empty).encode())
    body = [[{f"/big/{i % 4}": "x" * pad}]]
    assert len(json.dumps(body).encode()) == AGENCY_BODY_LIMIT
    return body


def test_twenty_maximum_size_writes_cause_no_election(agency: AgencyCluster) -> None:
    c = agency
    before = settled_terms(c)
    leader = c.leader()
    for i in range(WRITES):
        status, body = c.write(leader, max_size_write(i), limit=30.0)
        assert status == 200, body
    assert terms(c) == before, "an election happened during the big writes"
    assert c.leader() == leader


def test_a_body_over_the_limit_is_413(agency: AgencyCluster) -> None:
    c = agency
    body = [[{"/big/over": "x" * AGENCY_BODY_LIMIT}]]
    status, answer = send(c, c.leader(), "/_api/agency/write", body, c.headers())
    assert status == 413 and answer["errorNum"] == 413, answer
