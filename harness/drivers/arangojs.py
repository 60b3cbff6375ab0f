"""Requests through arangojs (ArangoDB's JavaScript driver), via a long-lived Node process.

``tools/node/bridge.mjs`` holds one arangojs ``Database`` and speaks JSON lines:
one request per line with an id, one answer per line, many in flight at once
(as an application's requests would be). ``tools/install-arangojs.sh`` installs
the pinned arangojs into ``tools/node/node_modules``.

What arangojs does through a failover (10.x, read from its source and measured,
docs/drivers.md): a 503 that names a leader in ``X-Arango-Endpoint`` is sent
again to that leader (added to the host list if new), without a bound; a
503 with an empty header (errorNum 1495) and every other error answer is
thrown (``ArangoError``); a refused connection (``isSafeToRetry``) is retried
on the next host, other network errors (a reset, a timeout) are thrown, and
any error moves the active host on (strategy ``NONE``).

Outcomes: an answer is classified as the native client classifies it (every
earlier attempt arangojs made was a refusal or a refused connection, the only
ones it repeats); a network error is ``fail`` only when arangojs itself marks
it safe to retry (the connection was refused), else ``info``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import time
from pathlib import Path
from typing import Any

from harness.core.client import Outcome, Response, ServerAddress, classify_status, error_num_of
from harness.drivers.base import DriverClient, answered, driver_error
from harness.drivers.modes import DriverUnavailable

DRIVER = "arangojs"
NODE_DIR = Path(__file__).resolve().parents[2] / "tools" / "node"
BRIDGE = NODE_DIR / "bridge.mjs"
START_TIMEOUT_S = 30.0


def unavailable_reason(node_dir: Path = NODE_DIR) -> str | None:
    """Why the arangojs mode cannot run here, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "arangojs client: no `node` on PATH (install Node.js >= 20)"
    if not (node_dir / "bridge.mjs").is_file():
        return f"arangojs client: no bridge at {node_dir / 'bridge.mjs'} (run from a checkout)"
    if not (node_dir / "node_modules" / "arangojs" / "package.json").is_file():
        return f"arangojs client: arangojs is not installed in {node_dir} (run `make setup`)"
    return None


def outcome_of_error(err: dict[str, Any]) -> Outcome:
    """``ok``/``fail``/``info`` of an error arangojs threw (as the bridge describes it)."""
    code = err.get("code")
    if isinstance(code, int) and err.get("class") in ("ArangoError", "HttpError"):
        num = err.get("errorNum")
        return classify_status(code, num if isinstance(num, int) else None)[0]
    return "fail" if err.get("safe") is True else "info"


class ArangojsClient(DriverClient):
    """The workloads' requests through arangojs in a Node subprocess."""

    driver = DRIVER

    def __init__(
        self, servers: list[ServerAddress], *, node_dir: Path = NODE_DIR, **kw: Any
    ) -> None:
        super().__init__(servers, **kw)
        self.node_dir = node_dir
        self.version: str | None = None
        self.hosts: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr: list[str] = []
        self._start_lock = asyncio.Lock()

    async def __aenter__(self) -> ArangojsClient:
        await self.start()
        return self

    async def start(self) -> None:
        """Start the bridge and wait until arangojs is ready; ``DriverUnavailable`` if not."""
        async with self._start_lock:
            if self._proc is not None:
                return
            reason = unavailable_reason(self.node_dir)
            if reason is not None:
                raise DriverUnavailable(reason)
            proc = await asyncio.create_subprocess_exec(
                "node",
                str(self.node_dir / "bridge.mjs"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=64 * 1024 * 1024,  # one answer per line; a set read can be long
            )
            assert proc.stdin is not None and proc.stdout is not None
            config = {
                "urls": [s.url for s in self.servers],
                "username": self.username,
                "password": self.password,
                "setting": self.setting,
                "timeout_ms": int(self.request_timeout * 1000),
            }
            proc.stdin.write((json.dumps(config) + "\n").encode())
            await proc.stdin.drain()
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
                ready = json.loads(line) if line.strip() else {}
            except (TimeoutError, ValueError):
                ready = {}
            if not ready.get("ready"):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                err = b""
                if proc.stderr is not None:
                    with contextlib.suppress(TimeoutError):
                        err = await asyncio.wait_for(proc.stderr.read(), 5)
                await proc.wait()
                why = ready.get("fatal") or err.decode(errors="replace").strip()[-300:]
                raise DriverUnavailable(f"arangojs bridge did not start: {why or 'no answer'}")
            self.version = str(ready.get("version"))
            self.hosts = [str(h) for h in ready.get("hosts") or []]
            self._proc = proc
            self._tasks = [
                asyncio.create_task(self._read_answers(), name="arangojs-answers"),
                asyncio.create_task(self._read_stderr(), name="arangojs-stderr"),
            ]

    async def _read_answers(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            rid = msg.get("id") if isinstance(msg, dict) else None
            fut = self._pending.pop(rid, None) if isinstance(rid, int) else None
            if fut is not None and not fut.done():
                fut.set_result(msg)
        gone = {"class": "BridgeExited", "message": "the arangojs bridge exited"}
        for fut in self._pending.values():
            if not fut.done():
                fut.set_result({"error": gone})
        self._pending.clear()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self._stderr = [*self._stderr[-19:], line.decode(errors="replace").rstrip()]

    async def close(self) -> None:
        await super().close()
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

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
        if self._proc is None:
            await self.start()
        assert self._proc is not None and self._proc.stdin is not None
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        line = {
            "id": rid,
            "method": method,
            "path": path,
            "body": body,
            "params": params,
            "headers": headers,
            "target": self.server(target).url if target is not None else None,
        }
        sent_ns = time.monotonic_ns()
        self._proc.stdin.write((json.dumps(line) + "\n").encode())
        wait_s = deadline_s if deadline_s is not None else self.op_timeout
        try:
            await self._proc.stdin.drain()
            answer = await asyncio.wait_for(fut, wait_s)
        except TimeoutError:
            self._pending.pop(rid, None)
            err = driver_error(DRIVER, "NoAnswer", message=f"arangojs gave no answer in {wait_s}s")
            return self.finish(Response("info", None, None, error=err, sent_ns=sent_ns), read_only)
        except (ConnectionError, BrokenPipeError) as exc:
            self._pending.pop(rid, None)
            err = driver_error(DRIVER, "BridgeExited", message=str(exc))
            return self.finish(Response("info", None, None, error=err, sent_ns=sent_ns), read_only)
        return self.finish(self._response(answer, sent_ns), read_only)

    def _response(self, answer: dict[str, Any], sent_ns: int) -> Response:
        err = answer.get("error")
        if isinstance(err, dict):
            hdrs = {str(k).lower(): str(v) for k, v in (err.get("headers") or {}).items()}
            node = hdrs.get("x-arango-server-id")
            code = err.get("code") if isinstance(err.get("code"), int) else None
            body = err.get("body")
            error = driver_error(
                DRIVER,
                str(err.get("class")),
                code=code,
                error_num=error_num_of({"errorNum": err.get("errorNum")}),
                message=str(err.get("message") or ""),
                server=node or self.server_of(err.get("host")),
                cause=err.get("cause"),
            )
            outcome = outcome_of_error(err)
            if code is None:
                return Response(outcome, None, None, error=error, sent_ns=sent_ns)
            return answered(outcome, code, body, hdrs, node, error, sent_ns, 1)
        status = int(answer.get("status") or 0)
        hdrs = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()}
        body = answer.get("body")
        outcome, _ = classify_status(status, error_num_of(body))
        return answered(
            outcome, status, body, hdrs, hdrs.get("x-arango-server-id"), None, sent_ns, 1
        )
