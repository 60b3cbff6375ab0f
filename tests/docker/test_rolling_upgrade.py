"""``afcheck cluster restart --rolling --upgrade IMAGE`` on a Docker cluster (issue 11 §2).

Every server's container is recreated from the new image, followers first and
the leader last through a switchover, while a client keeps writing: no
acknowledged write is lost, every server ends on the new image with its data
directory kept, and the old leader has handed over.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.infra.probe import http_json
from tests.docker.cluster_cmd import afcheck

NEW_TAG = "rolling-upgrade-test"


class Writer:
    """Inserts unique keys into the leader until stopped; keeps every acknowledged key."""

    def __init__(self, servers: list[dict[str, Any]], password: str) -> None:
        self.urls: dict[str, str] = {str(s["id"]): str(s["url"]) for s in servers}
        token = base64.b64encode(f"root:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        self.acked: list[str] = []
        self.refused = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def leader(self) -> str | None:
        for sid, url in self.urls.items():
            status, body = http_json(
                url + "/_admin/server/role", time_limit=2.0, headers=self.headers
            )
            if status == 200 and isinstance(body, dict) and body.get("afRole") == "leader":
                return sid
        return None

    def run(self) -> None:
        n, leader = 0, None
        while not self.stop.is_set():
            leader = leader or self.leader()
            if leader is None:
                time.sleep(0.1)
                continue
            key = f"k{n}"
            status, _ = http_json(
                self.urls[leader] + "/_api/document/upgrade",
                {"_key": key},
                time_limit=3.0,
                headers=self.headers,
            )
            if status in (201, 202):
                self.acked.append(key)
                n += 1
            else:
                self.refused += 1
                leader = None  # a follower now, or handing over: find the leader again
                n += 1  # a key whose write may have happened is never reused
                time.sleep(0.05)


@pytest.mark.docker
@pytest.mark.integration
@pytest.mark.timeout(900)
def test_rolling_upgrade_recreates_every_server_from_the_new_image(
    state_dir: Path, engine: Any, images: tuple[str, str]
) -> None:
    node_image = images[0]
    repo = node_image.split(":", 1)[0]
    engine.tag(node_image, repo, NEW_TAG)
    new_image = f"{repo}:{NEW_TAG}"
    try:
        up = afcheck(
            "up", "--backend", "docker", "--servers", "3", "--state-dir", str(state_dir), "--json"
        )
        assert up.returncode == 0, up.stderr
        started = json.loads(up.stdout)
        servers = started["servers"]
        password = started["auth"]["password"]
        writer = Writer(servers, password)
        leader = writer.leader()
        assert leader is not None
        status, _ = http_json(
            writer.urls[leader] + "/_api/collection",
            {"name": "upgrade"},
            time_limit=5.0,
            headers=writer.headers,
        )
        assert status == 200
        writer.thread.start()
        time.sleep(2.0)
        restart = afcheck(
            "restart", "--rolling", "--upgrade", new_image, "--state-dir", str(state_dir), "--json"
        )
        time.sleep(1.0)
        writer.stop.set()
        writer.thread.join(10)
        assert restart.returncode == 0, restart.stderr
        done = json.loads(restart.stdout)
        assert done["restarted"].split(",")[-1] == leader  # the leader last
        assert restart.stderr.count(f"from {new_image}") == 3
        state = json.loads((state_dir / "cluster.json").read_text())
        for s in state["servers"]:
            info = engine.inspect_container(s["container"])
            assert info["Config"]["Image"] == new_image and info["State"]["Running"], s["id"]
        # every acknowledged write is on the leader after the upgrade
        now = writer.leader()
        assert now is not None and now != leader  # the old leader handed over
        status, body = http_json(
            writer.urls[now] + "/_api/simple/all-keys",
            {"collection": "upgrade", "type": "key"},
            time_limit=10.0,
            headers=writer.headers,
            method="PUT",
        )
        assert status == 201, body
        kept = set(body["result"])
        assert writer.acked and not set(writer.acked) - kept, "acknowledged writes lost"
        # the recorded cluster agrees on who leads now
        status_cmd = afcheck("status", "--state-dir", str(state_dir), "--json")
        assert status_cmd.returncode == 0, status_cmd.stderr
        assert json.loads(status_cmd.stdout)["server_leader"] == now
    finally:
        engine.remove_image(new_image)
