"""What the cluster says about itself: leaders and roles, asked over the nodes' direct URLs.

These are the harness's own observations (for leader-aware faults, start-up
readiness and ``roles.jsonl``), so they bypass Toxiproxy: a partition never
hides a node from the harness. Every request carries the cluster's
credentials (``backend.credentials``: a member token for agents, root for
servers) and has a timeout; an agent or server that does not answer in time
simply counts as not answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp

from harness.infra.backends.base import Backend, Node

DEFAULT_TIMEOUT = 1.0
LEADER_KEY = "/arango/Plan/AsyncReplication/Leader"
# "fenced": a leader whose lease expired (it refuses writes and leader reads)
ROLES = ("leader", "fenced", "follower")


def _agents(backend: Backend) -> list[Node]:
    return [n for n in backend.nodes() if n.kind == "agent"]


def _servers(backend: Backend) -> list[Node]:
    return [n for n in backend.nodes() if n.kind == "server"]


def _session(wait: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=wait))


async def _get_json(
    session: aiohttp.ClientSession, url: str, wait: float, headers: dict[str, str] | None = None
) -> Any:
    """The decoded JSON of a 200 answer, or None for anything else (error, timeout, non-JSON)."""
    try:
        async with asyncio.timeout(wait):
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status != 200:
                    return None
                return await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return None


async def agency_configs(
    backend: Backend, wait: float = DEFAULT_TIMEOUT
) -> dict[str, dict[str, Any] | None]:
    """Each agent's ``/_api/agency/config`` answer (None when it did not answer)."""
    agents = _agents(backend)
    headers = backend.credentials.agency_headers()
    async with _session(wait) as session:
        answers = await asyncio.gather(
            *(
                _get_json(session, f"{a.direct_url}/_api/agency/config", wait, headers)
                for a in agents
            )
        )
    return {
        a.id: (ans if isinstance(ans, dict) else None)
        for a, ans in zip(agents, answers, strict=True)
    }


def leader_from_configs(configs: Iterable[dict[str, Any] | None]) -> str | None:
    """The leader named under the highest term any agent reports (None if nobody names one)."""
    best: tuple[int, str] | None = None
    for cfg in configs:
        if not cfg:
            continue
        leader = cfg.get("leaderId")
        term = cfg.get("term")
        if not isinstance(leader, str) or not leader or not isinstance(term, int):
            continue
        if best is None or term > best[0]:
            best = (term, leader)
    return best[1] if best else None


async def agency_leader(backend: Backend, wait: float = DEFAULT_TIMEOUT) -> str | None:
    """The agent currently leading the agency's Raft group, or None during an election."""
    return leader_from_configs((await agency_configs(backend, wait)).values())


def value_at(tree: Any, path: str) -> Any:
    """The value under ``/a/b/c`` in an agency read result (None when absent)."""
    node = tree
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


async def agency_read(backend: Backend, path: str, wait: float = DEFAULT_TIMEOUT) -> Any:
    """Read one agency path from whichever agent answers as leader (None if none does).

    Raises :class:`LookupError` when no agent could serve the read, so "the key is
    empty" and "the agency did not answer" stay distinct.
    """
    body = [[path]]
    headers = backend.credentials.agency_headers()

    async def ask(session: aiohttp.ClientSession, agent: Node) -> tuple[bool, Any]:
        url = f"{agent.direct_url}/_api/agency/read"
        try:
            async with asyncio.timeout(wait):
                async with session.post(
                    url, json=body, headers=headers, allow_redirects=False
                ) as resp:
                    if resp.status != 200:
                        return False, None
                    data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return False, None
        if not isinstance(data, list) or not data:
            return False, None
        return True, value_at(data[0], path)

    async with _session(wait) as session:
        answers = await asyncio.gather(*(ask(session, a) for a in _agents(backend)))
    for ok, value in answers:
        if ok:
            return value
    raise LookupError(f"no agent answered a read of {path}")


async def server_leader(backend: Backend, wait: float = DEFAULT_TIMEOUT) -> str | None:
    """The server the agency's Plan names as leader, or None (no leader, or no agency answer)."""
    try:
        value = await agency_read(backend, LEADER_KEY, wait)
    except LookupError:
        return None
    return value if isinstance(value, str) and value else None


def role_record(node_id: str, answer: dict[str, Any] | None) -> dict[str, Any]:
    """A ``roles.jsonl``-shaped record from one ``/_admin/server/role`` answer."""
    if answer is None:
        return {"node": node_id, "role": "down", "epoch": None, "leader": None, "last_tick": None}
    role = answer.get("afRole")
    epoch = answer.get("epoch")
    leader = answer.get("leader")
    tick = answer.get("lastTick")
    record = {
        "node": node_id,
        "role": role if role in ROLES else "unknown",
        "epoch": epoch if isinstance(epoch, int) else None,
        "leader": leader if isinstance(leader, str) and leader else None,
        "last_tick": _as_int(tick),
    }
    details = answer.get("details")
    leader_for = details.get("leaderFor") if isinstance(details, dict) else None
    if isinstance(leader_for, int | float) and not isinstance(leader_for, bool):
        record["leader_for"] = float(leader_for)  # seconds it has led, as it answered
    return record


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


async def server_answers(
    backend: Backend, wait: float = DEFAULT_TIMEOUT
) -> dict[str, dict[str, Any] | None]:
    """Each server's ``/_admin/server/role`` answer as it came (None when it did not answer)."""
    servers = _servers(backend)
    headers = backend.credentials.server_headers()
    async with _session(wait) as session:
        answers = await asyncio.gather(
            *(
                _get_json(session, f"{s.direct_url}/_admin/server/role", wait, headers)
                for s in servers
            )
        )
    return {
        s.id: ans if isinstance(ans, dict) else None
        for s, ans in zip(servers, answers, strict=True)
    }


async def server_roles(backend: Backend, wait: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
    """Each server's claimed role: ``{"node", "role", "epoch", "leader", "last_tick"}``.

    ``role`` is ``leader``/``fenced``/``follower`` as the server claims it, ``unknown`` when it
    answers without a known role, ``down`` when it does not answer in time.
    """
    answers = await server_answers(backend, wait)
    return [role_record(node, ans) for node, ans in answers.items()]


def unhealthy_followers(answers: Mapping[str, dict[str, Any] | None]) -> list[str] | None:
    """The servers the leader does not yet see GOOD, from :func:`server_answers`.

    None while no single server claims leadership; ``[]`` when the leader sees every
    other server GOOD in ``Supervision/Health`` (so it can fail over, hand over, and in
    sync mode name a sync follower), or does not say what it sees (a build from before
    ``details.health``: then leading is all there is to wait for).
    """
    leaders = [
        (node, ans) for node, ans in answers.items() if ans and ans.get("afRole") == "leader"
    ]
    if len(leaders) != 1:
        return None
    leader, answer = leaders[0]
    details = answer.get("details")
    health = details.get("health") if isinstance(details, dict) else None
    if not isinstance(health, dict):
        return []
    return [node for node in answers if node != leader and health.get(node) != "GOOD"]
