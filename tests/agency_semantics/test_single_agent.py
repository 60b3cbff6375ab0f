"""The same semantics through a real agent process (Raft, SQLite log, TTL loop), one agent.

Started as ``python -m cluster.agency`` with supervision off; the tests talk
plain HTTP to it. They prove that what the in-process tests show survives
the real write path: log indices skip nothing for failed preconditions, a
20,000-transaction body commits, expiry leaves the parent, inquire answers 404.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

Http = Callable[..., tuple[int, Any]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Http]:
    root: Path = tmp_path_factory.mktemp("agent")
    port = _free_port()
    log = (root / "agent.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cluster.agency",
            "--id",
            "a1",
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(root / "data"),
            "--supervision",
            "false",
            "--write-timeout",
            "60",
            "--ttl-interval",
            "0.05",
            "--insecure-no-auth",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def http(method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("POST", "/_api/agency/read", [["/"]], timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (root / "agent.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "agent never led"
            time.sleep(0.1)
        yield http
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_failed_preconditions_take_no_log_index(agent: Http) -> None:
    status, body = agent("POST", "/_api/agency/write", [[{"/p": 1}]])
    assert status == 200
    first = body["results"][0]
    for _ in range(3):
        assert agent("POST", "/_api/agency/write", [[{"/p": 2}, {"/p": 5}]]) == (
            412,
            {"results": [0]},
        )
    status, body = agent(
        "POST", "/_api/agency/write", [[{"/q": 1}], [{"/q": 2}, {"/p": 7}], [{"/q": 3}]]
    )
    assert (status, body) == (412, {"results": [first + 1, 0, first + 2]})


def test_a_body_of_20000_transactions_commits(agent: Http) -> None:
    agent("POST", "/_api/agency/write", [[{"huge": {"op": "delete"}}]])
    huge = [[{"huge": {"op": "increment"}}, {}, f"huge{i}"] for i in range(20000)]
    status, body = agent("POST", "/_api/agency/write", huge, timeout=120)
    assert status == 200 and len(body["results"]) == 20000
    assert body["results"] == list(range(body["results"][0], body["results"][0] + 20000))
    assert agent("POST", "/_api/agency/read", [["huge"]]) == (200, [{"huge": 20000}])
    status, body = agent("POST", "/_api/agency/inquire", ["huge19999", "never"])
    assert status == 404 and body["inquired"] is True and body["results"][1] == 0


def test_expiry_leaves_the_parent_and_root_can_be_deleted(agent: Http) -> None:
    agent("POST", "/_api/agency/write", [[{"/t/y": {"op": "set", "new": 12, "ttl": 0.5}}]])
    deadline = time.monotonic() + 10
    while agent("POST", "/_api/agency/read", [["/t/y"]])[1] != [{"t": {}}]:
        assert time.monotonic() < deadline, "the TTL never expired"
        time.sleep(0.1)
    assert agent("POST", "/_api/agency/write", [[{"/.agency/x": 1}]]) == (403, {"results": [0]})
    assert agent("POST", "/_api/agency/write", [[{"//": {"op": "delete"}}]])[0] == 200
    assert agent("POST", "/_api/agency/read", [["/"]]) == (200, [{}])
