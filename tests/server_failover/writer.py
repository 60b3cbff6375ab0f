"""A background client that inserts unique documents through failovers and records outcomes.

Each insert ends as ``acked`` (201/202), ``failed`` (a definite refusal: the
server said it is not the leader or has no sync follower, before writing) or
``unknown`` (timeout, connection loss, or errorNum 1457: the write may or may
not have happened). It follows ``X-Arango-Endpoint`` to the leader and
otherwise tries the servers in turn.
"""

from __future__ import annotations

import threading
import time

from tests.server_failover.servers import FailoverCluster, http

DEFINITE_REFUSALS = {1495, 1496, 503}


class Writer:
    def __init__(self, cluster: FailoverCluster, collection: str, pause: float = 0.01) -> None:
        self.cluster = cluster
        self.collection = collection
        self.pause = pause
        self.acked: list[str] = []
        self.acked_by: list[tuple[str, str]] = []  # (key, answering server) in ack order
        self.failed = 0
        self.unknown: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._target = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "writer did not stop"

    def _urls(self) -> list[str]:
        return [self.cluster.url(i) for i in self.cluster.ids]

    def _run(self) -> None:
        n = 0
        urls = self._urls()
        url = urls[0]
        while not self._stop.is_set():
            n += 1
            key = f"w{n}"
            reply = http(
                f"{url}/_api/document/{self.collection}", "POST", {"_key": key}, time_limit=10.0
            )
            if reply.status in (201, 202):
                self.acked.append(key)
                self.acked_by.append((key, reply.header("X-Arango-Server-Id") or "?"))
            elif (
                reply.status == 0
                or reply.status >= 500
                and (
                    not isinstance(reply.body, dict)
                    or reply.body.get("errorNum") not in DEFINITE_REFUSALS
                )
            ):
                self.unknown.append(key)
            else:
                self.failed += 1
            if reply.status not in (201, 202):
                endpoint = reply.header("X-Arango-Endpoint")
                if endpoint:
                    url = endpoint
                else:
                    self._target = (self._target + 1) % len(urls)
                    url = urls[self._target]
                time.sleep(0.05)
            time.sleep(self.pause)
