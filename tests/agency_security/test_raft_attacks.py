"""Issue 10 rows 1 and 3: forged Raft RPCs.

Row 1: ``requestVote`` with term 2^63-1 and no credentials, sent to every
agent, left each one campaigning forever (every campaign failed to persist
term 2^63 in SQLite). Row 3: a forged ``requestVote`` with term+1 every
0.3 s kept the agency leaderless. Now every Raft route needs the cluster's
token (401 without it or with a wrong one), and even a member's request is
validated (terms and indices within 2^62, sane relations; 400 otherwise) and
changes nothing.
"""

from __future__ import annotations

import time

import pytest

from tests.agency.agents import AgencyCluster, holds
from tests.agency_security.attacks import (
    MAX_INT64,
    NOT_AUTHORIZED,
    send,
    settled_terms,
    terms,
    vote,
    wrong_secret_headers,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

VOTE = "/_api/agency_priv/requestVote"
APPEND = "/_api/agency_priv/appendEntries"


def test_a_huge_term_without_credentials_is_refused_and_elections_go_on(
    agency: AgencyCluster,
) -> None:
    c = agency
    before = settled_terms(c)
    leader = c.leader()
    for ident in c.ids:
        for headers in ({}, wrong_secret_headers()):
            assert send(c, ident, VOTE, vote(MAX_INT64), headers) == (401, NOT_AUTHORIZED)
    # a member's token does not make the request valid either
    for ident in c.ids:
        peer = next(i for i in c.ids if i != ident)
        status, body = send(c, ident, VOTE, vote(MAX_INT64, peer), c.headers())
        assert status == 400, body
    assert terms(c) == before
    assert c.leader() == leader
    # the agency still elects: kill the leader, a new one commits writes
    c.kill9(leader)
    try:
        _, body = c.write_via_leader([[{"/row1": 1}]])
        assert body["results"][0] > 0
    finally:
        c.start(leader)


def test_forged_votes_every_300ms_do_not_keep_the_agency_leaderless(
    agency: AgencyCluster,
) -> None:
    c = agency
    start_terms = settled_terms(c)
    leader = c.leader()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        for ident in c.ids:
            term = start_terms[ident] + 1
            assert send(c, ident, VOTE, vote(term))[0] == 401
            assert send(c, ident, VOTE, vote(term), wrong_secret_headers())[0] == 401
        time.sleep(0.3)
    assert terms(c) == start_terms
    holds(lambda: c.leader(limit=2.0) == leader, 1.0, "the same leader")


@pytest.mark.parametrize(
    "body",
    [
        {"term": -1, "leaderId": "a2", "prevLogIndex": 0, "prevLogTerm": 0, "entries": []},
        {"term": 2**62 + 1, "leaderId": "a2", "prevLogIndex": 0, "prevLogTerm": 0},
        {"term": 1, "leaderId": "a2", "prevLogIndex": -5, "prevLogTerm": 0, "leaderCommit": 0},
        {"term": 1, "leaderId": "a2", "prevLogIndex": 0, "prevLogTerm": 7, "leaderCommit": 0},
        {"term": 1, "leaderId": "a2", "prevLogIndex": 0, "prevLogTerm": 0, "leaderCommit": -1},
        {"term": 1, "leaderId": "a2", "prevLogIndex": 0, "prevLogTerm": 0, "leaderCommit": 1.5},
        {"term": "1", "leaderId": "a2", "prevLogIndex": 0, "prevLogTerm": 0, "leaderCommit": 0},
        {"term": 1, "leaderId": "", "prevLogIndex": 0, "prevLogTerm": 0, "leaderCommit": 0},
        {"term": 1, "leaderId": "zz", "prevLogIndex": 0, "prevLogTerm": 0, "leaderCommit": 0},
        {
            "term": 1,
            "leaderId": "a2",
            "prevLogIndex": 0,
            "prevLogTerm": 0,
            "leaderCommit": 0,
            "entries": [[1, 5, {"kind": "noop"}]],
        },
        {
            "term": 3,
            "leaderId": "a2",
            "prevLogIndex": 0,
            "prevLogTerm": 0,
            "leaderCommit": 0,
            "entries": [[1, 2, {"kind": "noop"}], [2, 1, {"kind": "noop"}]],
        },
    ],
)
def test_malformed_appends_from_a_member_get_400_and_change_nothing(
    agency: AgencyCluster, body: dict[str, object]
) -> None:
    c = agency
    leader = c.leader()
    target = next(i for i in c.ids if i != leader and i != body.get("leaderId"))
    before = settled_terms(c)
    status, answer = send(c, target, APPEND, body, c.headers())
    assert status == 400, answer
    assert terms(c) == before
    assert c.leader() == leader
