"""Requests through python-arango (ArangoDB's Python driver), in worker threads.

The driver is synchronous, so each request runs whole (resolver, retries) in a
thread of the client's own pool and the harness's event loop keeps going.
Requests travel the driver's own path: ``Connection.send_request``, the call
every python-arango API method makes, with its host resolver, its urllib3
retries and its fallback on connection errors.

What python-arango does through a failover (8.x, read from its source and
measured, docs/drivers.md): it never follows ``X-Arango-Endpoint``; a 503 with
errorNum 1496 is handed to the application as an ``ArangoServerError``. It
moves to another host only on a *connection* error (or a 503 whose errorNum is
also 503), then keeps that host (the default ``fallback`` resolver) and may send
a request again there after a reset, i.e. after it may have been applied.

Honest outcomes need each attempt the driver made, so the driver gets an HTTP
client (its documented ``http_client`` hook) that only records each attempt in
a thread-local list and changes nothing. An answer is classified as the native
client classifies it; a refusal after an earlier attempt that may have been
applied (a reset, a timeout) is ``info``, not ``fail``; an exception is ``fail``
only when every attempt certainly did nothing (connection refused, or a
refusal answer).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from arango.client import ArangoClient as PyArangoClient
from arango.connection import Connection
from arango.http import DefaultHTTPClient
from arango.request import Request
from arango.response import Response as PyResponse

from harness.core.client import (
    LEADERSHIP_CHALLENGE,
    NOT_LEADER,
    Outcome,
    Response,
    ServerAddress,
    classify_status,
)
from harness.drivers.base import DriverClient, answered, driver_error, split_database

DRIVER = "python-arango"
_local = threading.local()

# exceptions that say a request may have reached the server
_MAYBE_SENT = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    requests.ReadTimeout,
    ConnectionResetError,
    BrokenPipeError,
)
# exceptions that say the connection was never made
_NOT_SENT = (
    urllib3.exceptions.ConnectTimeoutError,  # NewConnectionError is one
    requests.ConnectTimeout,
    ConnectionRefusedError,
)


def never_sent(exc: BaseException) -> bool:
    """Whether the exception chain proves no connection was made (nothing was sent)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    refused = False
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _MAYBE_SENT):
            return False
        refused = refused or isinstance(e, _NOT_SENT)
        linked = [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
        stack.extend(x for x in linked if isinstance(x, BaseException))
    return refused


@dataclass
class Attempt:
    """One HTTP attempt the driver made: an answer, or the exception it raised."""

    url: str
    sent_ns: int
    status: int | None = None
    error_num: int | None = None
    server: str | None = None  # X-Arango-Server-Id of the answer
    error: BaseException | None = None

    @property
    def did_nothing(self) -> bool:
        """Certainly not applied: a refused connection, or an answer that refuses."""
        if self.error is not None:
            return never_sent(self.error)
        return self.status is not None and classify_status(self.status, self.error_num)[0] == "fail"


def _error_num(raw: str) -> int | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    num = body.get("errorNum") if isinstance(body, dict) else None
    return num if isinstance(num, int) and not isinstance(num, bool) else None


class RecordingHTTPClient(DefaultHTTPClient):
    """python-arango's default HTTP client, noting each attempt; behaviour unchanged."""

    def send_request(
        self,
        session: requests.Session,
        method: str,
        url: str,
        headers: MutableMapping[str, str] | None = None,
        params: MutableMapping[str, str] | None = None,
        data: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> PyResponse:
        log: list[Attempt] | None = getattr(_local, "attempts", None)
        attempt = Attempt(url, time.monotonic_ns())
        if log is not None:
            log.append(attempt)
        try:
            resp: PyResponse = super().send_request(
                session, method, url, headers, params, data, auth
            )
        except Exception as exc:
            attempt.error = exc
            raise
        attempt.status = resp.status_code
        attempt.server = resp.headers.get("X-Arango-Server-Id")
        if not 200 <= resp.status_code < 300:
            attempt.error_num = _error_num(resp.raw_body)
        return resp


def call_outcome(attempts: list[Attempt], status: int | None, error_num: int | None) -> Outcome:
    """The honest outcome of one driver call, from every attempt it made.

    ``status`` is the answer the driver handed back (``None``: it raised).
    """
    if status is None:
        return "fail" if attempts and all(a.did_nothing for a in attempts) else "info"
    outcome, _ = classify_status(status, error_num)
    if outcome == "fail" and not all(a.did_nothing for a in attempts[:-1]):
        return "info"  # the driver sent it again after an attempt that may have applied it
    return outcome


def effect_after(attempts: list[Attempt]) -> int | None:
    """When the attempt that may have taken effect was sent (the first one that did not
    certainly do nothing; else the last)."""
    for a in attempts:
        if not a.did_nothing:
            return a.sent_ns
    return attempts[-1].sent_ns if attempts else None


class PythonArangoClient(DriverClient):
    """The workloads' requests through python-arango, honestly classified."""

    driver = DRIVER

    def __init__(self, servers: list[ServerAddress], **kw: Any) -> None:
        super().__init__(servers, **kw)
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="python-arango")
        self._lock = threading.Lock()
        urls = [s.url for s in self.servers]
        resolver = "roundrobin" if self.setting == "failover" else "fallback"
        self._clients: dict[str | None, PyArangoClient] = {None: self._make(urls, resolver)}
        for s in self.servers:  # a request for one server only (``target``) goes to it alone
            self._clients[s.id] = self._make([s.url], "fallback")
        self._conns: dict[tuple[str | None, str], Connection] = {}

    def _make(self, urls: list[str], resolver: str) -> PyArangoClient:
        http = RecordingHTTPClient(request_timeout=self.request_timeout)
        return PyArangoClient(hosts=urls, host_resolver=resolver, http_client=http)

    def _conn(self, target: str | None, database: str) -> Connection:
        with self._lock:
            key = (target, database)
            if key not in self._conns:
                db = self._clients[target].db(
                    database, username=self.username, password=self.password, verify=False
                )
                self._conns[key] = db.conn
            return self._conns[key]

    async def close(self) -> None:
        await super().close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for c in self._clients.values():
            c.close()

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
        loop = asyncio.get_running_loop()
        database, endpoint = split_database(path)
        req = Request(method.lower(), endpoint, dict(headers or {}), dict(params or {}), body)
        deadline = time.monotonic() + (deadline_s if deadline_s is not None else self.op_timeout)
        resp = await loop.run_in_executor(self._pool, self._call, req, target, database, deadline)
        return self.finish(resp, read_only)

    def _call(self, req: Request, target: str | None, database: str, deadline: float) -> Response:
        """One driver call (in a worker thread); with the failover setting, the application
        sends a refused request again so the round-robin resolver's next host gets it."""
        attempts: list[Attempt] = []
        _local.attempts = attempts
        retries = 2 * len(self.servers) if self.setting == "failover" and target is None else 0
        try:
            for n in range(retries + 1):
                resp = self._once(req, target, database, attempts)
                refused = resp.outcome == "fail" and (
                    resp.error_num in (NOT_LEADER, LEADERSHIP_CHALLENGE) or resp.status is None
                )
                if not refused or n == retries or time.monotonic() >= deadline:
                    return resp
                time.sleep(min(0.05 * (n + 1), max(0.0, deadline - time.monotonic())))
            raise AssertionError("unreachable: the loop returns")
        finally:
            _local.attempts = None

    def _once(
        self, req: Request, target: str | None, database: str, attempts: list[Attempt]
    ) -> Response:
        first = len(attempts)
        try:
            answer = self._conn(target, database).send_request(req)
        except Exception as exc:
            last = attempts[-1] if len(attempts) > first else None
            return Response(
                call_outcome(attempts, None, None),
                None,
                None,
                error=driver_error(
                    DRIVER,
                    type(exc).__name__,
                    message=str(exc),
                    server=self.server_of(last.url) if last else None,
                    attempts=len(attempts),
                ),
                attempts=len(attempts),
                sent_ns=effect_after(attempts),
            )
        hdrs = {k.lower(): v for k, v in answer.headers.items()}
        node = hdrs.get("x-arango-server-id")
        error_num = answer.error_code if isinstance(answer.error_code, int) else None
        outcome = call_outcome(attempts, answer.status_code, error_num)
        error = None
        if outcome != "ok":
            error = driver_error(
                DRIVER,
                "ArangoServerError",  # what every API method raises for this answer (a subclass)
                code=answer.status_code,
                error_num=error_num,
                message=str(answer.error_message or answer.status_text),
                server=node,
                attempts=len(attempts),
            )
        return answered(
            outcome,
            answer.status_code,
            answer.body,
            hdrs,
            node,
            error,
            effect_after(attempts) or time.monotonic_ns(),
            len(attempts),
        )
