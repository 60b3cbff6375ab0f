"""``/_api/queue``: enqueue, inspect, list and cancel queued jobs (see docs/jobs.md).

- ``POST /_api/queue/{queue}``: enqueue ``{type, params, delayUntil?, maxTries?,
  idempotencyKey?}``; 202 (201 with ``waitForSync=true``) with the job, or 200
  with the existing job when its idempotency key was used before in this queue.
- ``GET /_api/queue/{queue}/job/{id}``: the job's state and tries.
- ``DELETE /_api/queue/{queue}/job/{id}``: cancel a pending job (409 otherwise).
- ``GET /_api/queue/{queue}?state=pending&limit=100``: the queue's jobs, oldest first.

Access follows the document routes: reading needs ``ro`` on the database,
enqueueing and cancelling ``rw`` (a ``document`` job also ``rw`` on its target
collection); a follower refuses as it does for documents (503 with
``X-Arango-Endpoint``) and serves reads only when dirty reads are allowed.
"""

from __future__ import annotations

from aiohttp import web

from cluster.common import clock
from cluster.common.errors import bad_parameter
from cluster.common.http import json_response
from cluster.server import jobs_store as store
from cluster.server.api_common import CONTEXT, context, database, qbool, require_access, route
from cluster.server.jobs_model import (
    STATES,
    CallbackPolicy,
    check_job_id,
    check_queue_name,
    parse_spec,
    public,
)
from cluster.server.jobs_worker import QueueWorker

WORKER = web.AppKey("afcheck.queue_worker", QueueWorker)
POLICY = web.AppKey("afcheck.callback_policy", CallbackPolicy)
DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000


def _queue(request: web.Request) -> str:
    return check_queue_name(request.match_info["queue"])


async def enqueue(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, queue = database(request), _queue(request)
    require_access(request, db, "rw")
    wait_for_sync = qbool(request, "waitForSync", False)
    spec = parse_spec(await ctx.body(request), request.app[POLICY], clock.wall_ms())
    if spec.type == "document":
        require_access(request, db, "rw", str(spec.params["collection"]))
    done = await ctx.write(lambda tx: store.enqueue(tx, db, queue, spec, clock.wall_ms()))
    await ctx.commit(done.tick)
    if done.created:
        request.app[WORKER].wake()
    status = (201 if wait_for_sync else 202) if done.created else 200
    body = {"error": False, "code": status, "created": done.created, **public(done.job)}
    return json_response(body, status=status)


async def read_job(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db, queue = database(request), _queue(request)
    require_access(request, db, "ro")
    job_id = check_job_id(request.match_info["id"])
    job = ctx.storage.read(lambda tx: store.get_job(tx, db, queue, job_id))
    return json_response({"error": False, "code": 200, **public(job)}, headers=headers)


async def cancel_job(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.gate.check_write()
    db, queue = database(request), _queue(request)
    require_access(request, db, "rw")
    job_id = check_job_id(request.match_info["id"])
    job, tick = await ctx.write(lambda tx: store.cancel(tx, db, queue, job_id))
    await ctx.commit(tick)
    return json_response({"error": False, "code": 200, "cancelled": True, **public(job)})


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_parameter(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


async def list_jobs(request: web.Request) -> web.Response:
    ctx = context(request)
    headers = ctx.read_headers(request)
    db, queue = database(request), _queue(request)
    require_access(request, db, "ro")
    state = request.query.get("state")
    if state is not None and state not in STATES:
        raise bad_parameter(f"state must be one of {', '.join(STATES)}")
    limit = _limit(request)
    jobs = ctx.storage.read(lambda tx: store.list_jobs(tx, db, queue, state, limit))
    body = {
        "error": False,
        "code": 200,
        "queue": queue,
        "count": len(jobs),
        "jobs": [public(j) for j in jobs],
    }
    return json_response(body, headers=headers)


def add_routes(app: web.Application, policy: CallbackPolicy) -> None:
    """The routes, and the queue worker's life with the application's (after the context)."""
    worker = QueueWorker(app[CONTEXT], policy)
    app[POLICY] = policy
    app[WORKER] = worker

    async def start_worker(app: web.Application) -> None:
        worker.start()

    async def stop_worker(app: web.Application) -> None:
        await worker.stop()  # before the cleanup closes the write batcher

    app.on_startup.append(start_worker)
    app.on_shutdown.append(stop_worker)
    route(app, "POST", "/_api/queue/{queue}", enqueue)
    route(app, "GET", "/_api/queue/{queue}", list_jobs)
    route(app, "GET", "/_api/queue/{queue}/job/{id}", read_job)
    route(app, "DELETE", "/_api/queue/{queue}/job/{id}", cancel_job)
