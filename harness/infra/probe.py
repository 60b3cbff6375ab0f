"""One blocking HTTP request with a JSON body and answer, for probes from synchronous code.

Used where no event loop runs: ``afcheck cluster status`` and tests that ask
a node something between two steps. Every request has a timeout; a node that
cannot be reached gives status 0, never an exception.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def http_json(
    url: str,
    body: Any = None,
    time_limit: float = 2.0,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, parsed JSON or None) for one request; status 0 if unreachable.

    With a ``body`` the request is a POST of that JSON unless ``method`` says otherwise.
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method or ("POST" if data else "GET"), headers=headers or {}
    )
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=time_limit) as resp:
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
