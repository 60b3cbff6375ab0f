"""A small client of the agency's key/value API, as a server uses it.

The configured agency URLs are tried in turn. A 307 (not the Raft leader),
a 503 (no leader) or a connection error moves on to the next URL rather than
following ``Location``: the configured URL is this server's own path to that
agent (possibly a per-link proxy) and a redirect would bypass it. Every request
has a timeout and carries this server's short-lived token signed with the
cluster secret (``headers``), and a whole call gives up after one pass over the URLs (plus a
second pass after a short pause when every agent said "no leader yet").
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

PREFIX = "/arango"

log = logging.getLogger(__name__)


class AgencyError(Exception):
    """No agent could answer; the message names the server and the operation."""


class AgencyClient:
    """Reads and writes the agency with a per-request timeout."""

    def __init__(
        self,
        node_id: str,
        urls: list[str],
        session: aiohttp.ClientSession,
        timeout: float,
        headers: Callable[[], dict[str, str]] = dict,
    ) -> None:
        if not urls:
            raise ValueError("at least one agency URL is needed")
        self.node_id = node_id
        self.urls = list(urls)
        self.session = session
        self.timeout = timeout
        self.headers = headers
        self._current = 0  # index of the URL that answered last

    async def _post(self, op: str, body: Any) -> tuple[int, Any]:
        """POST to ``/_api/agency/<op>`` on the first agent that can answer."""
        errors: list[str] = []
        for attempt in range(2):
            for i in range(len(self.urls)):
                index = (self._current + i) % len(self.urls)
                url = f"{self.urls[index]}/_api/agency/{op}"
                try:
                    async with self.session.post(
                        url,
                        json=body,
                        headers=self.headers(),
                        allow_redirects=False,
                        timeout=aiohttp.ClientTimeout(total=self.timeout),
                    ) as resp:
                        if resp.status in (307, 503):
                            errors.append(f"{self.urls[index]}: HTTP {resp.status}")
                            continue
                        text = await resp.text()
                        self._current = index
                        try:
                            return resp.status, json.loads(text) if text else None
                        except ValueError:
                            errors.append(f"{self.urls[index]}: answer is not JSON")
                            continue
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors.append(f"{self.urls[index]}: {type(exc).__name__} {exc}".strip())
            if attempt == 0:
                await asyncio.sleep(min(0.1, self.timeout / 4))
        raise AgencyError(f"{self.node_id}: agency {op} failed: {'; '.join(errors[-4:])}")

    async def read(self, paths: list[str]) -> dict[str, Any]:
        """Read ``paths`` (relative to ``/arango``) atomically; returns the ``arango`` subtree."""
        status, data = await self._post("read", [[PREFIX + p for p in paths]])
        if status != 200 or not isinstance(data, list) or not data:
            raise AgencyError(f"{self.node_id}: agency read answered HTTP {status}: {data!r}")
        top = data[0]
        if not isinstance(top, dict):
            return {}
        tree = top.get(PREFIX.strip("/"), {})
        return tree if isinstance(tree, dict) else {}

    async def write(
        self, updates: dict[str, Any], preconditions: dict[str, Any] | None = None
    ) -> bool:
        """One transaction (paths relative to ``/arango``); False when a precondition failed."""
        txn: list[Any] = [{PREFIX + k: v for k, v in updates.items()}]
        if preconditions:
            txn.append({PREFIX + k: v for k, v in preconditions.items()})
        status, data = await self._post("write", [txn])
        if status == 412:
            return False
        if status != 200:
            raise AgencyError(f"{self.node_id}: agency write answered HTTP {status}: {data!r}")
        results = data.get("results") if isinstance(data, dict) else None
        return bool(isinstance(results, list) and results and results[0])


def get_path(tree: dict[str, Any], path: str) -> Any:
    """The value at ``/A/B/C`` inside a tree returned by :meth:`AgencyClient.read`."""
    node: Any = tree
    for part in path.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
