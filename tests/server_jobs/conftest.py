"""Fixtures: a real client-API server (storage, HTTP, queue worker) in a thread, under a
gate the test turns from leader to follower and back, in any epoch."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from cluster.common.errors import ERROR_CLUSTER_NOT_LEADER, ArangoError
from cluster.server.app import make_client_app
from cluster.server.auth import Auth
from cluster.server.storage import Storage
from tests.server_api.serving import ThreadServer

BODY_LIMIT = 64 * 1024
TIMEOUT_S = 10.0


class SwitchGate:
    """Leader or follower as the test says, in the epoch the test says."""

    def __init__(self, server_id: str = "s1", leader_url: str = "http://127.0.0.1:1") -> None:
        self.server_id = server_id
        self.leader_url = leader_url
        self.leading = True
        self.epoch = 1

    def lead(self, epoch: int) -> None:
        self.epoch, self.leading = epoch, True

    def follow(self) -> None:
        self.leading = False

    def _refuse(self) -> ArangoError:
        return ArangoError(
            503,
            ERROR_CLUSTER_NOT_LEADER,
            "not a leader",
            headers={"X-Arango-Endpoint": self.leader_url},
        )

    def check_write(self) -> None:
        if not self.leading:
            raise self._refuse()

    def check_read(self, allow_dirty: bool) -> bool:
        if self.leading:
            return False
        if allow_dirty:
            return True
        raise self._refuse()

    async def confirm_read(self, tick: int) -> None:
        return None

    async def commit(self, tick: int) -> None:
        return None

    def endpoints(self) -> list[str]:
        return [self.leader_url]

    def role_info(self) -> dict[str, Any]:
        role = "leader" if self.leading else "follower"
        return {"role": role, "leader": self.server_id, "epoch": self.epoch}


@dataclass
class JobServer:
    url: str
    storage: Storage
    gate: SwitchGate
    http: requests.Session

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return self.http.request(method, self.url + path, **kwargs)

    def enqueue(self, queue: str, job: dict[str, Any], **kwargs: Any) -> requests.Response:
        return self.call("POST", f"/_api/queue/{queue}", json=job, **kwargs)

    def job(self, queue: str, job_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/_api/queue/{queue}/job/{job_id}")
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def wait_state(
        self, queue: str, job_id: str, states: tuple[str, ...], limit: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        job = self.job(queue, job_id)
        while job["state"] not in states and time.monotonic() < deadline:
            time.sleep(0.02)
            job = self.job(queue, job_id)
        assert job["state"] in states, job
        return job


StartServer = Callable[..., JobServer]


@pytest.fixture
def start_job_server(tmp_path: Path) -> Iterator[StartServer]:
    """Factory: ``start_job_server(callback_allow=(...), auth_enabled=False)``."""
    started: list[tuple[ThreadServer, Storage, requests.Session]] = []

    def start(callback_allow: tuple[str, ...] = (), auth_enabled: bool = False) -> JobServer:
        storage = Storage(os.path.join(tmp_path / f"server{len(started)}", "data.sqlite"))
        gate = SwitchGate()
        auth = Auth(storage, "jobs-test-secret", enabled=auth_enabled, root_password="")
        app = make_client_app(storage, gate, auth, BODY_LIMIT, gate.server_id, callback_allow)
        server = ThreadServer(app)
        http = requests.Session()
        http.auth = ("root", "")
        started.append((server, storage, http))
        server.start()
        return JobServer(server.url, storage, gate, http)

    try:
        yield start
    finally:
        for server, storage, http in started:
            http.close()
            server.stop()
            storage.close()


@pytest.fixture
def job_server(start_job_server: StartServer) -> JobServer:
    server = start_job_server()
    assert server.call("POST", "/_api/collection", json={"name": "c"}).status_code == 200
    return server
