"""A failover-aware ArangoDB HTTP client with honest outcomes.

Every request ends as one of three outcomes (Jepsen's vocabulary):

* ``ok``: the server acknowledged (2xx).
* ``fail``: the operation certainly did not happen: 412 (precondition or
  ``_rev`` mismatch), 409, 404 and other 4xx refusals, a 503 with errorNum
  1496/1495 (a follower, or no leader, refused before doing anything), or a
  refused connection (nothing was sent).
* ``info``: anything else: a timeout, a connection reset after the request
  was sent, a 503 with errorNum 1457 (sync replication timeout: the write
  happened locally but was not acknowledged), other 5xx.

Only requests that certainly did not happen are retried: a 503 from a
follower is followed to the leader named in ``X-Arango-Endpoint``; a vacuum
(empty header) or a refused connection makes the client refresh its leader
from ``/_api/cluster/endpoints`` and try the next server, with a bounded
number of attempts inside the operation's deadline. Each response records
the answering server (``X-Arango-Server-Id``) and whether it was marked
``X-Arango-Potential-Dirty-Read``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from harness.infra.backends.base import Backend

Outcome = Literal["ok", "fail", "info"]

NOT_LEADER = 1496
LEADERSHIP_CHALLENGE = 1495
SYNC_REPLICATION_TIMEOUT = 1457

# the longest pause between two tries of one operation while no leader is known: a
# failover is noticed within this much of the new leader taking over
MAX_BACKOFF_S = 0.1

HEADER_ENDPOINT = "X-Arango-Endpoint"
HEADER_SERVER_ID = "X-Arango-Server-Id"
HEADER_DIRTY = "X-Arango-Potential-Dirty-Read"
HEADER_ALLOW_DIRTY = "X-Arango-Allow-Dirty-Read"


@dataclass(frozen=True)
class ServerAddress:
    """A server as the client reaches it, plus other addresses it may be named by."""

    id: str
    url: str
    aliases: tuple[str, ...] = ()


@dataclass
class Response:
    """The classified result of one logical request (after any retries)."""

    outcome: Outcome
    status: int | None
    body: Any
    node: str | None = None
    dirty: bool = False
    error: Any = None
    url: str | None = None
    attempts: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    # when the request that produced this answer was sent (monotonic ns); with
    # retries, only that last attempt can have taken effect
    sent_ns: int | None = None

    @property
    def error_num(self) -> int | None:
        return error_num_of(self.body)


def error_num_of(body: Any) -> int | None:
    """The ArangoDB ``errorNum`` of an error body, if it has one."""
    if isinstance(body, dict):
        num = body.get("errorNum")
        if isinstance(num, int) and not isinstance(num, bool):
            return num
    return None


def classify_status(status: int, error_num: int | None) -> tuple[Outcome, bool]:
    """Outcome of an HTTP answer, and whether it is safe to retry elsewhere.

    Retrying is safe only when the server refused before doing anything.
    """
    if 200 <= status < 300:
        return "ok", False
    if status == 503 and error_num in (NOT_LEADER, LEADERSHIP_CHALLENGE):
        return "fail", True
    if status == 408:
        return "info", False
    if 400 <= status < 500:
        return "fail", False
    return "info", False


def host_port(url: str) -> str:
    """``tcp://h:p``, ``http://h:p/x`` or ``h:p`` -> ``h:p`` (for matching endpoints)."""
    rest = url.strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1]
    return rest.split("/", 1)[0].lower()


def server_addresses(backend: Backend) -> list[ServerAddress]:
    """The servers of a running backend, with every address they may be named by.

    A follower names the leader by the address it reaches it at (its own
    proxy, when proxied) or the leader's advertised address, so every proxy
    leading to a server is an alias of that server.
    """
    nodes = [n for n in backend.nodes() if n.kind == "server"]
    aliases: dict[str, set[str]] = {n.id: {n.direct_url} for n in nodes}
    try:
        links = backend.net.links()
    except Exception:  # no network (unproxied backend): direct addresses only
        links = []
    for link in links:
        if link.dst in aliases:
            aliases[link.dst].add("http://" + link.listen)
            aliases[link.dst].add("http://" + link.upstream)
    return [ServerAddress(n.id, n.url, tuple(sorted(aliases[n.id] - {n.url}))) for n in nodes]


class ArangoClient:
    """Talks to a set of servers, following the leader; one per test (shared by workers)."""

    def __init__(
        self,
        servers: list[ServerAddress],
        *,
        username: str = "root",
        password: str = "",
        request_timeout: float = 2.0,
        op_timeout: float = 5.0,
        max_attempts: int = 8,
        retry_backoff: float = 0.05,
    ) -> None:
        if not servers:
            raise ValueError("ArangoClient needs at least one server")
        self.servers = list(servers)
        self.request_timeout = request_timeout
        self.op_timeout = op_timeout
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._auth_header = {"Authorization": f"Basic {token}"}
        self._by_id = {s.id: s for s in servers}
        self._by_addr: dict[str, ServerAddress] = {}
        for s in servers:
            for addr in (s.url, *s.aliases):
                self._by_addr[host_port(addr)] = s
        self._leader: ServerAddress | None = None
        # the believed leader that last gave an ambiguous answer (dead, cut off,
        # paused): the next operation asks the other servers for the leader first
        self._suspect: ServerAddress | None = None
        self._rotation = 0
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ArangoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # force_close: a pooled connection that died during a partition would
            # otherwise turn a never-sent request into an ambiguous ``info``.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0),
                headers=self._auth_header,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @property
    def leader(self) -> ServerAddress | None:
        """The server this client currently believes leads."""
        return self._leader

    def server(self, server_id: str) -> ServerAddress:
        return self._by_id[server_id]

    def resolve(self, endpoint: str) -> ServerAddress | None:
        """Map an endpoint named by a server to the address this client uses."""
        return self._by_addr.get(host_port(endpoint)) if endpoint.strip() else None

    def _next_server(self) -> ServerAddress:
        self._rotation = (self._rotation + 1) % len(self.servers)
        return self.servers[self._rotation]

    async def refresh_endpoints(
        self, wait_s: float = 1.0, avoid: ServerAddress | None = None
    ) -> ServerAddress | None:
        """Ask every server for ``/_api/cluster/endpoints`` at once; adopt the first known leader.

        ``avoid`` is a server that just failed to answer or refused as a
        non-leader: an answer naming it as the leader is stale (a follower that
        has not yet seen the failover) and passed over, unless it comes from
        ``avoid`` itself. The servers are asked concurrently and the first
        acceptable answer wins, so a server that hangs (cut off by a partition,
        paused) costs nothing when another one knows the leader; only when no
        server names one does the refresh wait for every answer, at most
        ``wait_s``.
        """

        async def ask(s: ServerAddress) -> tuple[ServerAddress, ServerAddress] | None:
            resp = await self._send(s, "GET", "/_api/cluster/endpoints", None, None, {}, wait_s)
            if resp.outcome != "ok" or not isinstance(resp.body, dict):
                return None
            endpoints = resp.body.get("endpoints")
            if not isinstance(endpoints, list) or not endpoints:
                return None
            first = endpoints[0]
            if not isinstance(first, dict):
                return None
            leader = self.resolve(str(first.get("endpoint", "")))
            if leader is None or (leader is avoid and s is not avoid):
                return None
            return s, leader

        # ``avoid`` naming itself is believed only when no other server names a leader
        fallback: ServerAddress | None = None
        pending = {asyncio.ensure_future(ask(s)) for s in self.servers}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    answer = task.result()
                    if answer is None:
                        continue
                    if answer[0] is avoid:
                        fallback = answer[1]
                        continue
                    self._leader = answer[1]
                    return answer[1]
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if fallback is not None:
            self._leader = fallback
        return fallback

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        target: str | None = None,
        read_only: bool = False,
        deadline_s: float | None = None,
    ) -> Response:
        """Send one logical request; follow the leader unless ``target`` names a server.

        With ``target`` the request goes to that server only (no redirects):
        that is how dirty reads reach a follower. ``read_only`` turns an
        indeterminate outcome into ``fail``: a read that may or may not have
        happened changed nothing.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (deadline_s if deadline_s is not None else self.op_timeout)
        hdrs = dict(headers or {})
        attempts = 0
        resp: Response | None = None
        server = self._by_id[target] if target is not None else self.servers[self._rotation]
        if target is None and self._leader is None and self._suspect is not None:
            suspect, self._suspect = self._suspect, None
            found = await self.refresh_endpoints(
                wait_s=min(0.5, self.request_timeout), avoid=suspect
            )
            if found is None and self.servers[self._rotation] is suspect:
                self._next_server()
        while True:
            attempts += 1
            if target is not None:
                server = self._by_id[target]
            else:
                server = self._leader or self.servers[self._rotation]
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            sent_ns = time.monotonic_ns()
            resp = await self._send(
                server, method, path, body, params, hdrs, min(self.request_timeout, remaining)
            )
            resp.attempts = attempts
            resp.sent_ns = sent_ns
            retry = resp.outcome == "fail" and resp.error_num in (NOT_LEADER, LEADERSHIP_CHALLENGE)
            refused = resp.outcome == "fail" and resp.status is None
            if target is not None or not (retry or refused) or attempts >= self.max_attempts:
                break
            endpoint = resp.headers.get(HEADER_ENDPOINT, "")
            named = self.resolve(endpoint)
            if retry and named is not None and named is not server:
                self._leader = named
                continue
            # vacuum or refused: back off, then look for the leader elsewhere, never
            # trusting an answer that names the server that just refused
            self._leader = None
            backoff = min(self.retry_backoff * attempts, MAX_BACKOFF_S)
            await asyncio.sleep(min(backoff, max(0.0, remaining)))
            found = await self.refresh_endpoints(
                wait_s=min(0.5, max(0.05, remaining)), avoid=server
            )
            if found is None and self.servers[self._rotation] is server:
                self._next_server()
        if resp is None:
            resp = Response("fail", None, None, error="deadline passed before sending")
        elif target is None and resp.outcome == "ok" and resp.node:
            self._leader = self._by_id.get(resp.node, self._leader)
        elif target is None and resp.outcome == "info" and resp.status is None:
            # no answer at all (a dead leader behind its proxy closes the connection,
            # a cut-off one times out): stop sending every operation to it
            self._suspect = server
            self._leader = None
        if read_only and resp.outcome == "info":
            resp.outcome = "fail"
        return resp

    async def _send(
        self,
        server: ServerAddress,
        method: str,
        path: str,
        body: Any,
        params: dict[str, str] | None,
        headers: dict[str, str],
        wait_s: float,
    ) -> Response:
        url = server.url.rstrip("/") + path
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            async with self._get_session().request(
                method,
                url,
                data=data,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=wait_s),
            ) as http:
                raw = await http.read()
                resp_headers = {k: v for k, v in http.headers.items()}
                status = http.status
        except aiohttp.ClientConnectorError as exc:
            # the connection was never established: nothing was sent
            return Response(
                "fail", None, None, error=f"connect {server.id}: {exc.strerror or exc}", url=url
            )
        except TimeoutError:
            return Response("info", None, None, error=f"timeout after {wait_s:.2f}s", url=url)
        except aiohttp.ClientError as exc:
            return Response("info", None, None, error=f"{type(exc).__name__}: {exc}", url=url)
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")[:200]
        outcome, _ = classify_status(status, error_num_of(parsed))
        node = resp_headers.get(HEADER_SERVER_ID)
        dirty = resp_headers.get(HEADER_DIRTY, "").lower() == "true"
        error: Any = None
        if outcome != "ok":
            error = (
                {"code": status, "errorNum": error_num_of(parsed), "message": _message(parsed)}
                if isinstance(parsed, dict)
                else {"code": status, "message": str(parsed)[:200]}
            )
        elif 200 <= status < 300 and raw and not isinstance(parsed, dict | list):
            outcome, error = "info", f"unparseable body from {server.id}"
        return Response(
            outcome,
            status,
            parsed,
            node=node,
            dirty=dirty,
            error=error,
            url=url,
            headers=resp_headers,
        )


def _message(body: dict[str, Any]) -> str:
    return str(body.get("errorMessage", ""))[:200]
