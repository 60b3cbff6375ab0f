"""An in-process stand-in for :class:`cluster.agency.agent.Agent` behind the real HTTP API.

It has no Raft: :meth:`FakeAgent.propose` appends each entry at the next log
index and applies it at once, as a single agent that commits immediately
would. Everything the HTTP layer decides (parsing, preconditions before
proposing, status codes, answers) runs unchanged, so tests can count log
indices and read the log without starting processes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cluster.agency.api import build_app
from cluster.agency.config import AgentConfig
from cluster.agency.store import ApplyResult, Store


class _Raft:
    def __init__(self, agent: FakeAgent) -> None:
        self._agent = agent
        self.leader_id: str | None = "a1"

    def is_leader(self) -> bool:
        return self.leader_id == "a1"

    def status(self) -> dict[str, Any]:
        index = len(self._agent.log)
        return {"commitIndex": index, "lastApplied": index, "lastIndex": index, "term": 1}


class FakeAgent:
    """One agent that commits every proposal at once; ``log`` is what was proposed."""

    def __init__(self) -> None:
        self.cfg = AgentConfig(
            id="a1", data_dir="unused", write_timeout=2.0, observer_allow=["http://h:1/"]
        )
        self.secret = ""  # authentication off: these tests are about the API's answers
        self.raft = _Raft(self)
        self.store = Store()
        self.log: list[dict[str, Any]] = []
        self.barriers = 0

    def url_of(self, agent_id: str) -> str | None:
        return {"a1": "http://127.0.0.1:1", "a2": "http://127.0.0.1:2"}.get(agent_id)

    def pool_urls(self) -> list[str]:
        return ["http://127.0.0.1:1", "http://127.0.0.1:2"]

    async def propose(self, entries: list[dict[str, Any]], operation: str) -> list[int]:
        results = []
        for entry in entries:
            self.log.append(json.loads(json.dumps(entry)))
            index = len(self.log)
            result = self.store.apply(entry, index)
            results.append(index if isinstance(result, ApplyResult) and result.ok else 0)
        return results

    def apply(self, entry: dict[str, Any]) -> None:
        """Commit an internal entry (an expiry, a noop) as the leader would."""
        self.log.append(entry)
        self.store.apply(entry, len(self.log))

    async def linearizable_barrier(self, operation: str) -> None:
        self.barriers += 1

    def config_view(self) -> dict[str, Any]:
        return {"leaderId": self.raft.leader_id}


Call = Callable[..., Coroutine[Any, Any, tuple[int, Any]]]


def serve(test: Callable[[FakeAgent, Call], Awaitable[None]]) -> None:
    """Run ``test(agent, call)`` against the real app; ``call(method, path, body)``."""

    async def main() -> None:
        agent = FakeAgent()
        app: web.Application = build_app(cast(Any, agent))
        async with TestClient(TestServer(app)) as client:

            async def call(
                method: str, path: str, body: Any = None, raw: bytes | None = None
            ) -> tuple[int, Any]:
                data = raw if raw is not None else (None if body is None else json.dumps(body))
                resp = await client.request(
                    method,
                    path,
                    data=data,
                    allow_redirects=False,
                    headers={"Content-Type": "application/json"},
                )
                text = await resp.text()
                if resp.status == 307:
                    return resp.status, resp.headers["Location"]
                return resp.status, json.loads(text, object_pairs_hook=_pairs) if text else None

            await test(agent, call)

    asyncio.run(main())


class Ordered(dict[str, Any]):
    """A decoded JSON object that remembers its keys' order as sent."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.order = [k for k, _ in pairs]


def _pairs(pairs: list[tuple[str, Any]]) -> Ordered:
    return Ordered(pairs)


def key_orders(value: Any) -> list[list[str]]:
    """Every object's key order in a decoded answer, depth first."""
    out: list[list[str]] = []
    if isinstance(value, Ordered):
        out.append(value.order)
        for item in value.values():
            out.extend(key_orders(item))
    elif isinstance(value, list):
        for item in value:
            out.extend(key_orders(item))
    return out
