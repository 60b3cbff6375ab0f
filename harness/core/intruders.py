"""What the intruder fault recorded in ``nemesis.jsonl``, and which of it counts as accepted.

The ``intruder`` fault (``nemesis/faults/intruder.py``) reports every request
it sent with the answer's status under ``detail.requests``. A request the
cluster *accepted* (2xx) or *failed on* (5xx) breaks the promise "intruders
change nothing"; refusals (401, 403, 400, 404, 405, 413, ...) and no answer
at all (status 0: say the node was down) keep it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

INTRUDER = "intruder"


def intruder_requests(nemesis: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every request an intruder fault recorded (its start events' ``detail.requests``)."""
    out: list[dict[str, Any]] = []
    for event in nemesis:
        if event.get("family") != INTRUDER or event.get("event") != "start":
            continue
        detail = event.get("detail")
        requests = detail.get("requests") if isinstance(detail, dict) else None
        if isinstance(requests, list):
            out += [r for r in requests if isinstance(r, dict)]
    return out


def not_refused(request: Mapping[str, Any]) -> bool:
    """Whether the cluster took the request (2xx) or failed on it (5xx)."""
    status = request.get("status")
    return isinstance(status, int) and (200 <= status < 300 or status >= 500)
