"""What every driver-backed client shares: the ``request(...)`` interface of the native one.

A driver client *is a* :class:`harness.core.client.ArangoClient` to the workloads:
the same ``request(method, path, ...) -> Response`` with the same honest outcomes,
so a workload's logic stays one whatever client runs it. Only how a request
travels changes: through the driver's own request path (host list, resolver,
retries, leader following), never through the native client's failover logic.

Each driver error lands in ``Response.error`` as one dict (the history's
``error`` field), so the report can count the driver's error classes::

    {"driver": "python-arango", "class": "ArangoServerError", "code": 503,
     "errorNum": 1496, "message": "...", "server": "s2"}
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from harness.core.client import ArangoClient, Outcome, Response, ServerAddress

SYSTEM = "_system"


def split_database(path: str) -> tuple[str, str]:
    """``/_db/<name>/rest`` -> ``(name, /rest)``; any other path is ``_system``'s."""
    if path.startswith("/_db/"):
        name, sep, rest = path[len("/_db/") :].partition("/")
        if name:
            return unquote(name), "/" + rest if sep else "/"
    return SYSTEM, path


def driver_error(
    driver: str,
    cls: str,
    *,
    code: int | None = None,
    error_num: int | None = None,
    message: str = "",
    server: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The history's ``error`` for a driver's failure (class, HTTP code, errorNum)."""
    out: dict[str, Any] = {"driver": driver, "class": cls}
    if code is not None:
        out["code"] = code
    if error_num is not None:
        out["errorNum"] = error_num
    if message:
        out["message"] = message[:200]
    if server is not None:
        out["server"] = server
    out.update({k: v for k, v in more.items() if v is not None})
    return out


class DriverClient(ArangoClient):
    """Base of the driver-backed clients; knows the servers and their addresses."""

    driver = "driver"

    def __init__(
        self,
        servers: list[ServerAddress],
        *,
        username: str = "root",
        password: str = "",
        request_timeout: float = 2.0,
        op_timeout: float = 5.0,
        setting: str = "default",
    ) -> None:
        super().__init__(
            servers,
            username=username,
            password=password,
            request_timeout=request_timeout,
            op_timeout=op_timeout,
        )
        self.username = username
        self.password = password
        self.setting = setting

    def server_of(self, url: str | None) -> str | None:
        """The id of the server an address (a host the driver used) leads to."""
        found = self.resolve(url) if url else None
        return found.id if found is not None else None

    @staticmethod
    def finish(resp: Response, read_only: bool) -> Response:
        """A read that may or may not have happened changed nothing: ``info`` -> ``fail``."""
        if read_only and resp.outcome == "info":
            resp.outcome = "fail"
        return resp


def answered(
    outcome: Outcome,
    status: int,
    body: Any,
    headers: dict[str, str],
    node: str | None,
    error: Any,
    sent_ns: int,
    attempts: int,
) -> Response:
    """A Response for an HTTP answer the driver handed back."""
    return Response(
        outcome,
        status,
        body,
        node=node,
        dirty=headers.get("x-arango-potential-dirty-read", "").lower() == "true",
        error=error,
        attempts=attempts,
        headers=headers,
        sent_ns=sent_ns,
    )
