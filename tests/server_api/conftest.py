"""Fixtures: a client-API server (always leader unless told otherwise) in a thread."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from cluster.server.app import make_client_app
from cluster.server.auth import Auth
from cluster.server.storage import Storage
from tests.server_api.gates import AlwaysLeaderGate
from tests.server_api.serving import ThreadServer

JWT_SECRET = "test-secret"
BODY_LIMIT = 64 * 1024
REQUEST_TIMEOUT_S = 10.0


@dataclass
class RunningServer:
    url: str
    storage: Storage
    auth: Auth
    gate: Any
    http: requests.Session

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        return self.http.request(method, self.url + path, **kwargs)


StartServer = Callable[..., RunningServer]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Factory: ``start_server(gate=..., auth_enabled=..., root_password=...)``."""
    started: list[tuple[ThreadServer, Storage, requests.Session]] = []

    def start(
        gate: Any = None, auth_enabled: bool = True, root_password: str = ""
    ) -> RunningServer:
        data = tmp_path / f"server{len(started)}"
        storage = Storage(os.path.join(data, "data.sqlite"))
        gate = gate if gate is not None else AlwaysLeaderGate()
        auth = Auth(storage, JWT_SECRET, enabled=auth_enabled, root_password=root_password)
        server = ThreadServer(make_client_app(storage, gate, auth, BODY_LIMIT, gate.server_id))
        http = requests.Session()
        http.auth = ("root", root_password)
        started.append((server, storage, http))
        server.start()
        return RunningServer(server.url, storage, auth, gate, http)

    try:
        yield start
    finally:
        for server, storage, http in started:
            http.close()
            server.stop()
            storage.close()


@pytest.fixture
def server(start_server: StartServer) -> RunningServer:
    return start_server()
