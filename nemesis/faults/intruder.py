"""An intruder: requests from outside the cluster, without its secret, at every node.

Each injection sends, and records with the answer's status:

* forged Raft RPCs (``requestVote`` with the next term and with 2^63-1,
  ``appendEntries`` naming itself leader) to every agent, without credentials
  and with a token signed with a wrong secret;
* agency writes of ``Plan/AsyncReplication/Leader`` and reads of the whole
  tree, to every agent, without credentials;
* requests to every server with a superuser token and a user token signed
  with a wrong key, and with a wrong password: WAL tail, user list, document
  insert;
* malformed bodies (not JSON, deeply nested, NaN) and an oversized body to
  agents and servers;
* slow half-open connections: a few sockets per node that send half a
  request line and then nothing; they stay open until :meth:`Intruder.heal`.

The promise "intruders change nothing" (``harness/core/promises.py``) holds
when no recorded answer is 2xx or 5xx and the other promised properties hold
as usual. A status of 0 means no answer (say the node was down).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from cluster.agency.config import AGENCY_BODY_LIMIT
from cluster.common.http import DEFAULT_BODY_LIMIT
from cluster.common.tokens import sign_jwt
from harness.core.fault import Fault, NemesisContext, Report, report
from harness.infra.backends.base import Node

WRONG_SECRET = "an-intruder-guessed-this-secret"
FAR_FUTURE = 4_000_000_000
HUGE_TERM = 2**63 - 1
LEADER_KEY = "/arango/Plan/AsyncReplication/Leader"
SLOW_PER_NODE = 2
REQUEST_TIMEOUT = 3.0

Attack = tuple[str, str, str, bytes, dict[str, str]]  # name, method, path, body, headers


def _bearer(claims: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": "bearer " + sign_jwt(claims, WRONG_SECRET)}


def _padded(size: int) -> bytes:
    """A JSON body of ``size`` bytes (an empty array padded with spaces)."""
    return b"[" + b" " * (size - 2) + b"]"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def agent_attacks(term: int) -> list[Attack]:
    """What an intruder sends an agent whose term is ``term``."""
    forged = _bearer({"server_id": "intruder", "iss": "arangodb", "exp": FAR_FUTURE})
    vote = {"candidateId": "a1", "lastLogIndex": 10**9, "preVote": False}
    append = {"leaderId": "a1", "prevLogIndex": 0, "prevLogTerm": 0, "entries": []}
    out: list[Attack] = []
    for label, headers in (("no-credentials", {}), ("wrong-secret", forged)):
        for t in (term + 1, HUGE_TERM):
            body = _json({**vote, "term": t, "lastLogTerm": t})
            out.append(
                (
                    f"requestVote term {t} {label}",
                    "POST",
                    "/_api/agency_priv/requestVote",
                    body,
                    headers,
                )
            )
        body = _json({**append, "term": term + 1, "leaderCommit": 10**9})
        out.append(
            (f"appendEntries {label}", "POST", "/_api/agency_priv/appendEntries", body, headers)
        )
        write = _json([[{LEADER_KEY: "intruder"}]])
        out.append((f"write leader key {label}", "POST", "/_api/agency/write", write, headers))
    out += [
        ("read tree", "POST", "/_api/agency/read", _json([["/"]]), {}),
        ("config", "GET", "/_api/agency/config", b"", {}),
        ("malformed write", "POST", "/_api/agency/write", b'[[{"/x":', {}),
        ("oversized write", "POST", "/_api/agency/write", _padded(AGENCY_BODY_LIMIT + 1), {}),
    ]
    return out


def server_attacks() -> list[Attack]:
    """What an intruder sends a server."""
    superuser = _bearer({"server_id": "intruder", "iss": "arangodb", "exp": FAR_FUTURE})
    user = _bearer({"preferred_username": "root", "iss": "arangodb", "exp": FAR_FUTURE})
    wrong_password = {"Authorization": "Basic cm9vdDppbnRydWRlcg=="}  # root:intruder
    doc = _json({"_key": "intruder", "by": "intruder"})
    nested = b"[" * 200 + b"]" * 200
    out: list[Attack] = []
    for label, headers in (
        ("wrong-key superuser token", superuser),
        ("wrong-key user token", user),
        ("wrong password", wrong_password),
        ("no credentials", {}),
    ):
        out += [
            (f"wal tail {label}", "GET", "/_api/wal/tail?from=1", b"", headers),
            (f"users {label}", "GET", "/_api/user", b"", headers),
            (f"insert {label}", "POST", "/_api/document/intruders", doc, headers),
        ]
    out += [
        ("malformed insert", "POST", "/_api/document/intruders", b'{"a":', wrong_password),
        ("nested insert", "POST", "/_api/document/intruders", nested, superuser),
        ("NaN insert", "POST", "/_api/document/intruders", b'{"a":NaN}', user),
        (
            "oversized insert",
            "POST",
            "/_api/document/intruders",
            _padded(DEFAULT_BODY_LIMIT + 1),
            {},
        ),
    ]
    return out


async def _send(session: aiohttp.ClientSession, node: Node, attack: Attack) -> dict[str, Any]:
    name, method, path, body, headers = attack
    status = 0
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            async with session.request(
                method,
                node.direct_url + path,
                data=body or None,
                headers={"Content-Type": "application/json", **headers},
                allow_redirects=False,
            ) as resp:
                status = resp.status
                await resp.read()
    except (TimeoutError, aiohttp.ClientError, OSError):
        status = 0
    return {"node": node.id, "attack": name, "status": status}


async def _agent_term(session: aiohttp.ClientSession, node: Node, ctx: NemesisContext) -> int:
    """The agent's term as the harness sees it (0 if it does not answer)."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            async with session.get(
                node.direct_url + "/_api/agency/config",
                headers=ctx.backend.credentials.agency_headers(),
            ) as resp:
                body = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
        return 0
    term = body.get("term") if isinstance(body, dict) else None
    return term if isinstance(term, int) else 0


async def _half_open(node: Node) -> asyncio.StreamWriter | None:
    """A connection that sends half a request line and then nothing."""
    try:
        host, port = node.direct_url.removeprefix("http://").rsplit(":", 1)
        async with asyncio.timeout(REQUEST_TIMEOUT):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"POST /_api/agency/write HTTP/1.1\r\nHost: x\r\nContent-Le")
            await writer.drain()
    except (TimeoutError, OSError, ValueError):  # ValueError: not a host:port URL
        return None
    return writer


class Intruder(Fault):
    name = "intruder"
    family = "intruder"
    needs = frozenset[str]()

    def __init__(self) -> None:
        self._slow: list[asyncio.StreamWriter] = []

    async def inject(self, ctx: NemesisContext) -> Report:
        nodes = ctx.backend.nodes()
        async with aiohttp.ClientSession() as session:
            sends = []
            for node in nodes:
                if node.kind == "agent":
                    term = await _agent_term(session, node, ctx)
                    attacks = agent_attacks(term)
                else:
                    attacks = server_attacks()
                ctx.rng.shuffle(attacks)
                sends += [_send(session, node, a) for a in attacks]
            answers = list(await asyncio.gather(*sends))
        for node in nodes:
            for _ in range(SLOW_PER_NODE):
                writer = await _half_open(node)
                if writer is not None:
                    self._slow.append(writer)
        return report(
            nodes=[n.id for n in nodes],
            requests=answers,
            slow_connections=len(self._slow),
        )

    async def heal(self, ctx: NemesisContext) -> Report:
        slow, self._slow = self._slow, []
        for writer in slow:
            writer.close()
        for writer in slow:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    await writer.wait_closed()
            except (TimeoutError, OSError):
                continue
        return report(closed_slow_connections=len(slow))
