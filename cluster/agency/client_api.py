"""ArangoDB's agency API for clients: ``/_api/agency/{write,transient,transact,read,inquire,poll,stores}``.

Answers follow ArangoDB's ``RestAgencyHandler.cpp`` (differences are listed in
``docs/agency-api.md``):

* ``write``: ``{"results": [index or 0, ...]}``; 403 if a transaction writes
  below ``/.agency``, else 412 if a precondition failed, else 200. A
  transaction whose preconditions fail is not proposed: it takes no log index.
* ``transact``: items are write transactions or reads (arrays of paths), done
  in order; a write answers its log index, or on a failed precondition the
  read of the failed precondition paths; 412 if any write failed.
* ``transient``: a transact body answered ArangoDB's way (``true``/``false``
  per write, the value per read, always 200); writes are replicated here.
* ``read``: one result per query (see :meth:`Store.read_one`).
* ``inquire``: ``{"results": [last index per clientId or 0], "inquired": true}``,
  404 if an id is unknown; waits until every entry in the leader's log is applied.
* ``poll``: ``GET ?index=N&timeout=S``: the log from ``N`` on (long-polls for
  ``N`` beyond the commit index), or the whole store for ``N = 0``.
* ``stores``: this agent's local tree, TTL table and observers (no leader needed).

A non-leader answers 307 with ``Location`` at the leader's URL as this agent
knows it; 503 when it knows no leader.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cluster.agency.store import parse_read, parse_transact, parse_write
from cluster.agency.store_parse import MAX_CLIENT_ID_LENGTH
from cluster.agency.tree_paths import sorted_json
from cluster.agency.write_guards import SERVER_STATES, check_writes, member_urls
from cluster.common import clock
from cluster.common.errors import (
    ERROR_AGENCY_MALFORMED_TRANSACTION,
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ArangoError,
    bad_parameter,
)
from cluster.common.http import json_response, read_json

if TYPE_CHECKING:
    from cluster.agency.agent import Agent

POLL_TIMEOUT = 60.0
POLL_STEP = 0.02
MAX_POLL_TIMEOUT = 600.0
REQUEST_TIMEOUT = 408


def unavailable(agent: Agent, operation: str, why: str) -> ArangoError:
    return ArangoError(
        503,
        ERROR_HTTP_SERVICE_UNAVAILABLE,
        f"{agent.cfg.id}: {operation}: {why}",
        extra={"leaderId": agent.raft.leader_id},
    )


def redirect_or_unavailable(agent: Agent, request: web.Request, operation: str) -> None:
    """Raise the answer a non-leader gives: 307 to the leader, or 503 with no leader."""
    leader = agent.raft.leader_id
    url = agent.url_of(leader) if leader and leader != agent.cfg.id else None
    if url is None:
        raise unavailable(agent, operation, "no leader known")
    raise web.HTTPTemporaryRedirect(location=url + request.path_qs)


def _must_lead(agent: Agent, request: web.Request, operation: str) -> None:
    if not agent.raft.is_leader():
        redirect_or_unavailable(agent, request, operation)


def _empty_body() -> ArangoError:
    return ArangoError(400, ERROR_AGENCY_MALFORMED_TRANSACTION, "Empty request")


async def commit_writes(agent: Agent, entries: list[dict[str, Any]], operation: str) -> list[int]:
    """Propose the write entries whose preconditions may hold; per entry its index or 0.

    Preconditions are checked on the leader's state first; an entry that fails
    there is checked again after a read barrier (the state is then at least as
    new as every acknowledged write) and, if it still fails, never proposed.
    Proposed entries are checked once more when applied, in log order.
    """
    store = agent.store
    check_writes(
        entries,
        store.get,
        member_urls(agent.pool_urls(), store.get(SERVER_STATES)),
        agent.cfg.observer_allow,
        store.observer_count(),
        agent.cfg.max_observers,
    )
    verdicts = agent.store.precheck(entries)
    if not all(v or e["txn"].get("forbidden") for v, e in zip(verdicts, entries, strict=True)):
        await agent.linearizable_barrier(operation)
        verdicts = agent.store.precheck(entries)
    chosen = [e for e, v in zip(entries, verdicts, strict=True) if v]
    indexes = iter(await agent.propose(chosen, operation) if chosen else [])
    return [next(indexes) if v else 0 for v in verdicts]


def _status(entries: list[dict[str, Any]], results: list[int]) -> int:
    if any(e["txn"].get("forbidden") for e in entries):
        return 403
    return 412 if any(r == 0 for r in results) else 200


def add_client_routes(app: web.Application, agent: Agent) -> None:
    """Register the client API of ``agent`` on ``app``."""
    limit = agent.cfg.body_limit
    ongoing: Counter[str] = Counter()

    @contextlib.contextmanager
    def tracking(entries: list[Any]) -> Iterator[None]:
        ids = [
            e["txn"]["clientId"] for e in entries if isinstance(e, dict) and e["txn"]["clientId"]
        ]
        ongoing.update(ids)
        try:
            yield
        finally:
            ongoing.subtract(ids)
            for cid in ids:
                if ongoing[cid] <= 0:
                    del ongoing[cid]

    async def write(request: web.Request) -> web.StreamResponse:
        _must_lead(agent, request, "write")
        body = await read_json(request, limit)
        if isinstance(body, list) and not body:
            raise _empty_body()
        entries = parse_write(body, clock.wall())
        _must_lead(agent, request, "write")
        with tracking(entries):
            results = await commit_writes(agent, entries, "write")
        return json_response({"results": results}, status=_status(entries, results))

    async def run_items(items: list[Any], operation: str) -> tuple[list[Any], list[bool], int]:
        """Writes and reads of a transact body in order: answers, per-write ok, status."""
        answers: list[Any] = []
        applied: list[bool] = []
        writes: list[dict[str, Any]] = []
        barrier_done = False
        for item in items:
            if isinstance(item, dict):
                (index,) = await commit_writes(agent, [item], operation)
                writes.append(item)
                applied.append(index > 0)
                if index > 0:
                    answers.append(index)
                else:
                    failed = agent.store.failed_preconditions(item["txn"]["pre"])
                    keys = [str(f[2] if len(f) > 2 else f[0]) for f in failed]
                    answers.append(agent.store.read_one(keys))
                continue
            if not barrier_done:
                await agent.linearizable_barrier(operation)
                barrier_done = True
            answers.append(agent.store.read_one(item))
        results = [1 if ok else 0 for ok in applied]
        return answers, applied, _status(writes, results)

    async def transact(request: web.Request) -> web.StreamResponse:
        _must_lead(agent, request, "transact")
        body = await read_json(request, limit)
        if isinstance(body, list) and not body:
            raise _empty_body()
        items = parse_transact(body, clock.wall())
        _must_lead(agent, request, "transact")
        with tracking(items):
            answers, _, status = await run_items(items, "transact")
        return json_response(answers, status=status)

    async def transient(request: web.Request) -> web.StreamResponse:
        _must_lead(agent, request, "transient")
        body = await read_json(request, limit)
        if isinstance(body, list) and not body:
            raise _empty_body()
        items = parse_transact(body, clock.wall())
        _must_lead(agent, request, "transient")
        with tracking(items):
            answers, applied, _ = await run_items(items, "transient")
        flags = iter(applied)
        return json_response(
            [next(flags) if isinstance(i, dict) else a for i, a in zip(items, answers, strict=True)]
        )

    async def read(request: web.Request) -> web.StreamResponse:
        _must_lead(agent, request, "read")
        queries = parse_read(await read_json(request, limit))
        await agent.linearizable_barrier("read")
        return json_response(agent.store.read(queries))

    async def inquire(request: web.Request) -> web.StreamResponse:
        _must_lead(agent, request, "inquire")
        body = await read_json(request, limit)
        if not isinstance(body, list) or not all(
            isinstance(x, str) and len(x) <= MAX_CLIENT_ID_LENGTH for x in body
        ):
            raise bad_parameter("inquire body must be an array of clientId strings")
        try:
            async with asyncio.timeout(agent.cfg.write_timeout):
                # ArangoDB waits while a write carrying one of the ids is on its way to the log
                while any(ongoing[c] > 0 for c in body if c in ongoing):  # noqa: ASYNC110
                    await asyncio.sleep(clock.real_duration(POLL_STEP))
                target = int(agent.raft.status()["lastIndex"])
                await agent.linearizable_barrier("inquire")
                while int(agent.raft.status()["lastApplied"]) < target:
                    _must_lead(agent, request, "inquire")
                    await asyncio.sleep(clock.real_duration(POLL_STEP))
        except TimeoutError as exc:
            raise ArangoError(
                REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
                f"{agent.cfg.id}: inquire: log not applied within {agent.cfg.write_timeout}s",
            ) from exc
        found = agent.store.client_ids(body)
        results = [max(found[cid]) if found[cid] else 0 for cid in body]
        status = 404 if any(r == 0 for r in results) else 200
        return json_response({"inquired": True, "results": results}, status=status)

    async def poll(request: web.Request) -> web.StreamResponse:
        _must_lead(agent, request, "poll")
        try:
            index = int(request.query.get("index", "0"))
            timeout = float(request.query.get("timeout", str(POLL_TIMEOUT)))
        except ValueError as exc:
            raise bad_parameter(f"poll: index must be an integer, timeout a number: {exc}") from exc
        if index < 0 or not 0 <= timeout <= MAX_POLL_TIMEOUT:
            raise bad_parameter(f"poll: need index >= 0 and 0 <= timeout <= {MAX_POLL_TIMEOUT:g}")
        await agent.linearizable_barrier("poll")
        store = agent.store
        reached = True
        if index > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(clock.real_duration(timeout)):
                    while agent.store.applied_index < index:
                        _must_lead(agent, request, "poll")
                        await asyncio.sleep(clock.real_duration(POLL_STEP))
            store = agent.store
            reached = store.applied_index >= index
        commit = int(agent.raft.status()["commitIndex"])
        history = store.history_since(index) if index > 0 and reached else None
        if index > 0 and not reached:
            result: dict[str, Any] = {"commitIndex": commit, "log": []}
        elif history is None:
            result = {"commitIndex": commit, "firstIndex": 0, "readDB": store.dump()}
        else:
            result = {"commitIndex": commit, "firstIndex": index, "log": history}
        return json_response(sorted_json({"code": 200, "error": False, "result": result}))

    async def stores(request: web.Request) -> web.StreamResponse:
        view = agent.store.stores_view()
        empty: list[Any] = [{}, {}, [], []]  # transient writes are replicated into read_db here
        return json_response(sorted_json({"read_db": view, "spearhead": view, "transient": empty}))

    app.router.add_post("/_api/agency/write", write)
    app.router.add_post("/_api/agency/transact", transact)
    app.router.add_post("/_api/agency/transient", transient)
    app.router.add_post("/_api/agency/read", read)
    app.router.add_post("/_api/agency/inquire", inquire)
    app.router.add_get("/_api/agency/poll", poll)
    app.router.add_get("/_api/agency/stores", stores)
