"""What an intruder sends an agent: raw requests with or without (wrong) credentials."""

from __future__ import annotations

import json
from typing import Any

from cluster.common.tokens import sign_jwt
from harness.infra.probe import http_json
from tests.agency.agents import AgencyCluster, eventually

NOT_AUTHORIZED = {
    "error": True,
    "errorNum": 11,
    "errorMessage": "not authorized to execute this request",
    "code": 401,
}
MAX_INT64 = 2**63 - 1


def wrong_secret_headers() -> dict[str, str]:
    """A well-formed member token, signed with a secret that is not the cluster's."""
    claims = {"server_id": "intruder", "iss": "arangodb", "exp": 4_000_000_000}
    return {"Authorization": "bearer " + sign_jwt(claims, "not-the-cluster-secret-at-all")}


def vote(term: int, candidate: str = "a2", pre: bool = False) -> dict[str, Any]:
    return {
        "term": term,
        "candidateId": candidate,
        "lastLogIndex": MAX_INT64 if term > 2**62 else 10**9,
        "lastLogTerm": term,
        "preVote": pre,
    }


def send(
    c: AgencyCluster, ident: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request to ``ident``'s own address; GET without a body, else a POST of JSON."""
    return http_json(c.url(ident) + path, body, time_limit=5.0, headers=headers or {})


def terms(c: AgencyCluster) -> dict[str, int]:
    return {i: int(c.cfg(i)["term"]) for i in c.ids}


def settled_terms(c: AgencyCluster, limit: float = 10.0) -> dict[str, int]:
    """Every agent's term once all agree: a baseline not taken mid-election.

    Right after an election the winner may not yet have reached every
    follower, so one agent can still report the old term for a heartbeat.
    """

    def agreed() -> dict[str, int] | None:
        now = terms(c)
        return now if len(set(now.values())) == 1 else None

    settled: dict[str, int] = eventually(agreed, limit, "every agent in the same term")
    return settled


def leader_value(c: AgencyCluster, path: str) -> Any:
    leader = c.leader()
    status, body = c.read(leader, [[path]])
    assert status == 200, body
    node: Any = body[0]
    for part in path.strip("/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))
