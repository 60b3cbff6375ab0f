"""Queued jobs: what a job is, how an enqueue request is checked, and the job document.

A job lives as a document of the system collection ``_jobs`` of its database,
so it replicates through the WAL like any data. Its fields::

    {"_key": id, "queue", "type", "params", "state", "createdAt", "delayUntil",
     "maxTries", "idempotencyKey", "retryAt", "tries": [...], "applied",
     "result", "lastError", "finishedAt"}

``state`` is ``pending``, ``running``, ``done`` or ``failed``. Each entry of
``tries`` says when (``startedAt``/``finishedAt``, server wall ms) and where
(``server``, ``epoch``) a try ran and how it ended (``outcome``: ``done``,
``error``, or ``unknown`` for a try a failover or a step-down interrupted).
Times are the servers' wall clock in ms since the Unix epoch, as
``delayUntil`` is.

With an ``idempotencyKey`` the job's id is derived from the queue and the key
(a repeated enqueue answers the existing job), and ``applied`` records the
try whose effect committed: see :mod:`cluster.server.jobs_store`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cluster.common.errors import ERROR_FORBIDDEN, ArangoError, bad_parameter
from cluster.server.keys import check_collection_name, check_key

JOBS_COLLECTION = "_jobs"
STATES = ("pending", "running", "done", "failed")
ACTIVE_STATES = ("pending", "running")
TYPES = ("document", "http-callback")
DOCUMENT_OPS = ("insert", "update", "remove")
DEFAULT_MAX_TRIES = 5
MAX_TRIES_LIMIT = 100
MAX_IDEMPOTENCY_KEY = 256
MAX_DELAY_MS = 366 * 24 * 3600 * 1000  # at most a year ahead of the server's clock
CALLBACK_TIMEOUT_S = 10.0
_QUEUE_RE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_SPEC_FIELDS = {"type", "params", "delayUntil", "maxTries", "idempotencyKey"}


def check_queue_name(name: str) -> str:
    """``name`` if 1 to 64 letters, digits, ``_`` or ``-``; else 400."""
    if _QUEUE_RE.fullmatch(name) is None:
        raise bad_parameter(f"illegal queue name {name[:80]!r}: use 1-64 of A-Z a-z 0-9 _ -")
    return name


def check_job_id(value: str) -> str:
    return check_key(value)


@dataclass(frozen=True)
class CallbackPolicy:
    """Where ``http-callback`` jobs may POST: URL prefixes (``--job-callback-allow``)."""

    allowed: tuple[str, ...] = ()

    def permits(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return any(url == p or url.startswith(p.rstrip("/") + "/") for p in self.allowed)


@dataclass(frozen=True)
class JobSpec:
    """A checked enqueue request."""

    type: str
    params: dict[str, Any]
    delay_until: int
    max_tries: int
    idempotency_key: str | None

    def document(self, queue: str, now_ms: int) -> dict[str, Any]:
        """The new job's document (without ``_key``)."""
        return {
            "queue": queue,
            "type": self.type,
            "params": self.params,
            "state": "pending",
            "createdAt": now_ms,
            "delayUntil": self.delay_until,
            "maxTries": self.max_tries,
            "idempotencyKey": self.idempotency_key,
            "retryAt": 0,
            "tries": [],
            "applied": None,
            "result": None,
            "lastError": None,
            "finishedAt": None,
        }

    def same_request(self, job: dict[str, Any]) -> bool:
        """Whether ``job`` was enqueued with this request's type and parameters."""
        return bool(job.get("type") == self.type and job.get("params") == self.params)


def idempotent_id(queue: str, key: str) -> str:
    """The job id an idempotency key decides (the same key in another queue: another job)."""
    digest = hashlib.sha256(f"{queue}\0{key}".encode()).hexdigest()
    return f"k{digest[:40]}"


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise bad_parameter(f"{name} must be a whole number")
    if not low <= int(value) <= high:
        raise bad_parameter(f"{name} must be between {low} and {high}")
    return int(value)


def parse_spec(body: Any, policy: CallbackPolicy, now_ms: int) -> JobSpec:
    """Check an enqueue body ``{type, params, delayUntil?, maxTries?, idempotencyKey?}``."""
    if not isinstance(body, dict):
        raise bad_parameter("expecting a JSON object {type, params, ...}")
    unknown = sorted(set(body) - _SPEC_FIELDS)
    if unknown:
        raise bad_parameter(f"unknown job attribute(s): {', '.join(unknown)[:200]}")
    kind = body.get("type")
    if kind not in TYPES:
        raise bad_parameter(f"type must be one of {', '.join(TYPES)}")
    params = body.get("params")
    if not isinstance(params, dict):
        raise bad_parameter("params must be an object")
    if kind == "document":
        params = document_params(params)
    else:
        params = callback_params(params, policy)
    key = body.get("idempotencyKey")
    if key is not None and (
        not isinstance(key, str) or not 0 < len(key.encode()) <= MAX_IDEMPOTENCY_KEY
    ):
        raise bad_parameter(f"idempotencyKey must be a string of 1 to {MAX_IDEMPOTENCY_KEY} bytes")
    return JobSpec(
        type=str(kind),
        params=params,
        delay_until=_int(body, "delayUntil", 0, 0, now_ms + MAX_DELAY_MS),
        max_tries=_int(body, "maxTries", DEFAULT_MAX_TRIES, 1, MAX_TRIES_LIMIT),
        idempotency_key=key,
    )


def document_params(params: dict[str, Any]) -> dict[str, Any]:
    """``{collection, op, document?, key?}``: insert a document, update or remove one by key."""
    unknown = sorted(set(params) - {"collection", "op", "document", "key"})
    if unknown:
        raise bad_parameter(f"unknown document job parameter(s): {', '.join(unknown)[:200]}")
    coll = check_collection_name(params.get("collection"))
    op = params.get("op", "insert")
    if op not in DOCUMENT_OPS:
        raise bad_parameter(f"params.op must be one of {', '.join(DOCUMENT_OPS)}")
    out: dict[str, Any] = {"collection": coll, "op": op}
    if op in ("insert", "update"):
        doc = params.get("document")
        if not isinstance(doc, dict):
            raise bad_parameter(f"params.document must be an object for op {op}")
        if "_key" in doc:
            check_key(doc["_key"])
        out["document"] = doc
    if op in ("update", "remove"):
        out["key"] = check_key(params.get("key"))
    elif "key" in params:
        raise bad_parameter("params.key is for update and remove; give document._key to insert")
    return out


def callback_params(params: dict[str, Any], policy: CallbackPolicy) -> dict[str, Any]:
    """``{url, body?, timeout?}``: a POST to ``url``, which the allow-list must permit."""
    unknown = sorted(set(params) - {"url", "body", "timeout"})
    if unknown:
        raise bad_parameter(f"unknown http-callback parameter(s): {', '.join(unknown)[:200]}")
    url = params.get("url")
    if not isinstance(url, str) or not url:
        raise bad_parameter("params.url must be a URL string")
    if not policy.permits(url):
        raise ArangoError(
            403,
            ERROR_FORBIDDEN,
            f"callback URL {url[:200]!r} is not on this server's allow-list (--job-callback-allow)",
        )
    timeout = params.get("timeout", CALLBACK_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise bad_parameter("params.timeout must be a number of seconds in (0, 60]")
    return {"url": url, "body": params.get("body"), "timeout": float(timeout)}


def public(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it: ``id`` instead of the document's system attributes."""
    out = {k: v for k, v in job.items() if not k.startswith("_")}
    out["id"] = job["_key"]
    return out


def due_at(job: dict[str, Any]) -> int:
    """The earliest server wall time (ms) at which a pending job may run."""
    return max(int(job.get("delayUntil") or 0), int(job.get("retryAt") or 0))
