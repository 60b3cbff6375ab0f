"""Fixtures: a client-API server in a thread (always leader), with fast password hashing.

``secure_server(root_password=...)`` gives a :class:`SecureServer`; its
``as_user(name, password)`` makes requests as another user.
"""

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

SECRET = "server-security-test-secret"
BODY_LIMIT = 1024 * 1024
TIMEOUT_S = 10.0
FAST_ITERATIONS = 1_000  # the lowest --password-iterations allows


@dataclass
class SecureServer:
    url: str
    storage: Storage
    auth: Auth
    root: requests.Session

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return self.root.request(method, self.url + path, **kwargs)

    def as_user(
        self, name: str, password: str, method: str, path: str, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return requests.request(method, self.url + path, auth=(name, password), **kwargs)

    def make_user(self, name: str, password: str, **grants: str) -> None:
        """Create ``name``; ``grants`` maps database (or ``db__coll``) to a level."""
        made = self.call("POST", "/_api/user", json={"user": name, "passwd": password})
        assert made.status_code == 201, made.text
        for target, level in grants.items():
            path = target.replace("__", "/")
            put = self.call("PUT", f"/_api/user/{name}/database/{path}", json={"grant": level})
            assert put.status_code == 200, put.text


StartSecure = Callable[..., SecureServer]


@pytest.fixture
def secure_server(tmp_path: Path) -> Iterator[StartSecure]:
    started: list[tuple[ThreadServer, Storage, requests.Session]] = []

    def start(root_password: str = "rootpw", iterations: int = FAST_ITERATIONS) -> SecureServer:
        storage = Storage(os.path.join(tmp_path / f"s{len(started)}", "data.sqlite"))
        gate = AlwaysLeaderGate()
        auth = Auth(storage, SECRET, root_password=root_password, iterations=iterations)
        server = ThreadServer(make_client_app(storage, gate, auth, BODY_LIMIT, gate.server_id))
        session = requests.Session()
        session.auth = ("root", root_password)
        started.append((server, storage, session))
        server.start()
        return SecureServer(server.url, storage, auth, session)

    try:
        yield start
    finally:
        for server, storage, session in started:
            session.close()
            server.stop()
            storage.close()


@pytest.fixture
def srv(secure_server: StartSecure) -> SecureServer:
    return secure_server()
