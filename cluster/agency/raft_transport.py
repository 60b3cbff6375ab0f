"""Raft RPCs between agents over HTTP (``POST /_api/agency_priv/<rpc>``).

A peer is known by its id; its URL is only how this agent reaches it (it may
be a Toxiproxy proxy). Every call carries this agent's short-lived token
signed with the cluster secret and has an explicit timeout; any failure
(refused, reset, timeout, non-JSON answer) comes back as ``None`` so the Raft
loops treat it as a lost message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

PRIV_PREFIX = "/_api/agency_priv/"


class HttpTransport:
    """Sends Raft RPCs to peers through one shared aiohttp session."""

    def __init__(
        self,
        node_id: str,
        peers: dict[str, str],
        session: aiohttp.ClientSession,
        auth_headers: Callable[[], dict[str, str]] = dict,
    ):
        self.node_id = node_id
        self.auth_headers = auth_headers
        self.peers = dict(peers)
        self._session = session
        self.failures: dict[str, int] = {p: 0 for p in peers}

    async def call(
        self, peer: str, rpc: str, body: dict[str, Any], time_limit: float
    ) -> dict[str, Any] | None:
        url = self.peers.get(peer)
        if url is None:
            return None
        payload = json.dumps(body, separators=(",", ":")).encode()
        try:
            async with self._session.post(
                url + PRIV_PREFIX + rpc,
                data=payload,
                headers={
                    "Content-Type": "application/json",
                    "X-Agency-From": self.node_id,
                    **self.auth_headers(),
                },
                timeout=aiohttp.ClientTimeout(total=time_limit),
            ) as resp:
                if resp.status != 200:
                    text = await resp.text()
                    log.debug(
                        "%s: %s to %s: HTTP %d %s", self.node_id, rpc, peer, resp.status, text
                    )
                    return None
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError, OSError) as exc:
            self.failures[peer] = self.failures.get(peer, 0) + 1
            log.debug(
                "%s: %s to %s failed: %s: %s", self.node_id, rpc, peer, type(exc).__name__, exc
            )
            return None
        except asyncio.CancelledError:
            raise
        if not isinstance(data, dict):
            return None
        return data
