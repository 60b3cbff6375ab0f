"""Job state changes inside a write transaction, and the queries over ``_jobs``.

Every change is a document write to ``_jobs`` (one WAL entry), so followers
hold the queue as the leader does. A try runs in three transactions:

1. :func:`start_try` appends a try (server, epoch, start time) and sets the
   job ``running``; a ``running`` job found by a new leader gets its last try
   marked ``unknown`` first, as nobody can know how it ended;
2. the effect: :func:`apply_document` for a ``document`` job (an
   ``http-callback`` job POSTs outside any transaction);
3. :func:`finish_try` records the outcome: ``done``, or back to ``pending``
   (after a back-off) while tries remain, else ``failed``.

A job with an idempotency key gets ``applied`` in the effect's own
transaction; a later try that finds it applies nothing. Without a key a try
interrupted between 2 and 3 is run again, so its effect may happen twice
(at-least-once, as a Foxx queue job).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from cluster.common.errors import ERROR_ARANGO_CONFLICT, ArangoError
from cluster.server import storage_ddl as ddl
from cluster.server import storage_docs as docs
from cluster.server.jobs_model import ACTIVE_STATES, JOBS_COLLECTION, JobSpec, idempotent_id
from cluster.server.storage_tx import Tx

RETRY_BACKOFF_MS = 200
MAX_BACKOFF_MS = 10_000


def job_not_found(job_id: str) -> ArangoError:
    return ArangoError(404, 1202, f"job not found: {job_id[:100]}")


def ensure_collection(tx: Tx, db: str) -> None:
    """Create ``_jobs`` in ``db`` on the first enqueue (a replicated DDL entry)."""
    if tx.collection(db, JOBS_COLLECTION) is None:
        ddl.create_collection(tx, db, JOBS_COLLECTION, {"isSystem": True})


@dataclass(frozen=True)
class Enqueued:
    job: dict[str, Any]
    tick: int
    created: bool


def enqueue(tx: Tx, db: str, queue: str, spec: JobSpec, now_ms: int) -> Enqueued:
    """Add a pending job; with an idempotency key already used in ``queue``, the existing one."""
    tx.require_database(db)
    ensure_collection(tx, db)
    body = spec.document(queue, now_ms)
    if spec.idempotency_key is not None:
        key = idempotent_id(queue, spec.idempotency_key)
        existing = tx.get_doc(db, JOBS_COLLECTION, key)
        if existing is not None:
            if not spec.same_request(existing):
                raise ArangoError(
                    409,
                    ERROR_ARANGO_CONFLICT,
                    f"idempotency key already used in queue {queue!r} by job {key} "
                    "with another type or params",
                )
            return Enqueued(existing, 0, False)
        body["_key"] = key
    else:
        # never the key generator's next key: after an async failover the new leader
        # would hand out the same ids again, and a client polling its job would read
        # another job's state
        body["_key"] = secrets.token_hex(8)
    written = docs.insert(tx, db, JOBS_COLLECTION, body)
    assert written.new is not None
    return Enqueued(written.new, written.tick, True)


def _job(tx: Tx, db: str, job_id: str) -> dict[str, Any] | None:
    if tx.collection(db, JOBS_COLLECTION) is None:
        return None
    return tx.get_doc(db, JOBS_COLLECTION, job_id)


def get_job(tx: Tx, db: str, queue: str, job_id: str) -> dict[str, Any]:
    tx.require_database(db)
    job = _job(tx, db, job_id)
    if job is None or job.get("queue") != queue:
        raise job_not_found(job_id)
    return job


def cancel(tx: Tx, db: str, queue: str, job_id: str) -> tuple[dict[str, Any], int]:
    """Remove a pending job; 409 when it already runs or ended."""
    job = get_job(tx, db, queue, job_id)
    if job.get("state") != "pending":
        raise ArangoError(
            409, ERROR_ARANGO_CONFLICT, f"job {job_id} is {job.get('state')}: only pending ones"
        )
    removed = docs.remove(tx, db, JOBS_COLLECTION, job_id)
    return job, removed.tick


def _save(tx: Tx, db: str, job: dict[str, Any]) -> dict[str, Any]:
    written = docs.replace(tx, db, JOBS_COLLECTION, job["_key"], job)
    assert written.new is not None
    return written.new


def start_try(
    tx: Tx, db: str, job_id: str, server: str, epoch: int, now_ms: int
) -> tuple[dict[str, Any], bool] | None:
    """Begin the next try of an active job: ``(job, run?)``; None when it is gone or ended.

    ``run`` is False when the job had used up its tries (an interrupted last
    try): it is ``failed`` now.
    """
    job = _job(tx, db, job_id)
    if job is None or job.get("state") not in ACTIVE_STATES:
        return None
    tries = [dict(t) for t in job.get("tries") or []]
    if job["state"] == "running" and tries and tries[-1].get("outcome") is None:
        tries[-1]["outcome"] = "unknown"
        tries[-1]["error"] = f"interrupted: {server} took over in epoch {epoch}"
    job["tries"] = tries
    if len(tries) >= int(job.get("maxTries") or 1):
        job.update(state="failed", finishedAt=now_ms, lastError="maxTries reached")
        return _save(tx, db, job), False
    tries.append({"try": len(tries) + 1, "server": server, "epoch": epoch, "startedAt": now_ms})
    job["state"] = "running"
    return _save(tx, db, job), True


def _current(tx: Tx, db: str, job_id: str, try_no: int) -> dict[str, Any]:
    """The job, if it still runs ``try_no``; else 409 (cancelled, or another try took over)."""
    job = _job(tx, db, job_id)
    tries = (job or {}).get("tries") or []
    if job is None or job.get("state") != "running" or not tries or tries[-1]["try"] != try_no:
        raise ArangoError(409, ERROR_ARANGO_CONFLICT, f"job {job_id} no longer runs try {try_no}")
    return job


def apply_document(
    tx: Tx, db: str, job_id: str, try_no: int, server: str, epoch: int, now_ms: int
) -> dict[str, Any]:
    """The effect of a ``document`` job's try (with its idempotency marker, if it has a key)."""
    job = _current(tx, db, job_id, try_no)
    keyed = job.get("idempotencyKey") is not None
    if keyed and job.get("applied"):
        return {"skipped": True, "appliedInTry": job["applied"].get("try")}
    p = job["params"]
    if p["op"] == "insert":
        written = docs.insert(tx, db, p["collection"], p["document"])
    elif p["op"] == "update":
        written = docs.update(tx, db, p["collection"], p["key"], p["document"])
    else:
        written = docs.remove(tx, db, p["collection"], p["key"])
    result = {**written.meta, "tick": written.tick}
    if keyed:
        job["applied"] = {"try": try_no, "server": server, "epoch": epoch, "at": now_ms}
        _save(tx, db, job)
    return result


def backoff_ms(tries: int) -> int:
    return int(min(MAX_BACKOFF_MS, RETRY_BACKOFF_MS * 2 ** max(0, tries - 1)))


def finish_try(
    tx: Tx, db: str, job_id: str, try_no: int, now_ms: int, result: Any, error: str | None
) -> dict[str, Any]:
    """Record how try ``try_no`` ended (``error`` None: done)."""
    job = _current(tx, db, job_id, try_no)
    tries = [dict(t) for t in job["tries"]]
    last = tries[-1]
    last["finishedAt"] = now_ms
    last["outcome"] = "done" if error is None else "error"
    if error is not None:
        last["error"] = error[:500]
    job["tries"] = tries
    if error is None:
        job.update(state="done", result=result, finishedAt=now_ms, lastError=None)
    elif len(tries) >= int(job.get("maxTries") or 1):
        job.update(state="failed", finishedAt=now_ms, lastError=error[:500])
    else:
        job.update(state="pending", retryAt=now_ms + backoff_ms(len(tries)), lastError=error[:500])
    return _save(tx, db, job)


# -- queries (read transactions) -------------------------------------------------
def active_jobs(tx: Tx, db: str) -> list[dict[str, Any]]:
    """Pending and running jobs of ``db``, oldest first."""
    if tx.collection(db, JOBS_COLLECTION) is None:
        return []
    rows = tx.cur.execute(
        "SELECT doc FROM documents WHERE db = ? AND coll = ? "
        "AND json_extract(doc, '$.state') IN ('pending', 'running')",
        (db, JOBS_COLLECTION),
    )
    jobs = [dict(json.loads(r[0])) for r in rows]
    return sorted(jobs, key=lambda j: (int(j.get("createdAt") or 0), j["_key"]))


def list_jobs(tx: Tx, db: str, queue: str, state: str | None, limit: int) -> list[dict[str, Any]]:
    """Jobs of ``queue`` (in ``state``, if given), oldest first, at most ``limit``."""
    tx.require_database(db)
    if tx.collection(db, JOBS_COLLECTION) is None:
        return []
    sql = "SELECT doc FROM documents WHERE db = ? AND coll = ? AND json_extract(doc, '$.queue') = ?"
    args: list[Any] = [db, JOBS_COLLECTION, queue]
    if state is not None:
        sql += " AND json_extract(doc, '$.state') = ?"
        args.append(state)
    sql += " ORDER BY json_extract(doc, '$.createdAt'), key LIMIT ?"
    args.append(limit)
    return [dict(json.loads(r[0])) for r in tx.cur.execute(sql, args)]
