"""``afcheck cluster restart --rolling --upgrade IMAGE`` on a Docker cluster (issue 11 §2).

The new image is a genuinely different build: a copy of ``cluster/`` whose
``VERSION`` is changed, built with ``afcheck images build --source DIR --tag
TAG``. Every server's container is recreated from it, followers first and the
leader last through a switchover, while a client keeps writing: no
acknowledged write is lost, every server ends on the new image (and answers
``/_api/version`` with the new version and build) with its data directory
kept, and the old leader has handed over.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cluster.common.build import tree_id
from cluster.server.api_databases import VERSION
from harness.infra.backends.docker_engine import remove_run
from harness.infra.probe import http_json
from tests.docker.cluster_cmd import ROOT, afcheck

NEW_TAG = "rolling-upgrade-test"
NEW_VERSION = "3.11.99"
BUILD_LIMIT = 600  # seconds `afcheck images build` may take (it waits for other builds)


def new_source(dest: Path) -> Path:
    """A checkout-like directory whose ``cluster/`` is this tree with ``VERSION`` changed."""
    tree = dest / "cluster"
    shutil.copytree(ROOT / "cluster", tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    api = tree / "server" / "api_databases.py"
    text = api.read_text(encoding="utf-8")
    line = f'VERSION = "{VERSION}"'
    assert text.count(line) == 1 and NEW_VERSION != VERSION
    api.write_text(text.replace(line, f'VERSION = "{NEW_VERSION}"'), encoding="utf-8")
    return dest


def build_image(source: Path) -> dict[str, Any]:
    """``afcheck images build --source SOURCE --tag NEW_TAG``: the node image's result."""
    store = os.environ.get("AFCHECK_STORE", "store")
    cmd = [sys.executable, "-m", "harness.cli", "images", "build", "--no-pull", "--quiet"]
    cmd += ["--store", store, "--source", str(source), "--tag", NEW_TAG, "--json"]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_LIMIT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    node: dict[str, Any] = json.loads(proc.stdout)[0]
    return node


def versions(urls: dict[str, str], headers: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Server id -> (version, afcheck-build) from ``/_api/version?details=true``."""
    out = {}
    for sid, url in urls.items():
        status, body = http_json(
            url + "/_api/version?details=true", time_limit=5.0, headers=headers
        )
        assert status == 200 and isinstance(body, dict), (sid, status, body)
        out[sid] = (str(body["version"]), str(body["details"]["afcheck-build"]))
    return out


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
@pytest.mark.timeout(1100)
def test_rolling_upgrade_recreates_every_server_from_a_new_build(
    state_dir: Path, engine: Any, images: tuple[str, str], tmp_path: Path
) -> None:
    source = new_source(tmp_path / "new-build")
    new_build = tree_id(source / "cluster")
    node = build_image(source)
    new_image = f"{node['name']}:{NEW_TAG}"
    built = [node["tag"], new_image]
    try:
        assert new_image in node["aliases"] and not node["tag"].endswith(":latest")
        new_id = engine.inspect_image(new_image)["Id"]
        assert engine.inspect_image(node["tag"])["Id"] == new_id
        assert engine.inspect_image(f"{node['name']}:latest")["Id"] != new_id  # latest stays
        up = afcheck(
            "up", "--backend", "docker", "--servers", "3", "--state-dir", str(state_dir), "--json"
        )
        assert up.returncode == 0, up.stderr
        started = json.loads(up.stdout)
        servers = started["servers"]
        password = started["auth"]["password"]
        writer = Writer(servers, password)
        before = versions(writer.urls, writer.headers)
        old_builds = {build for _, build in before.values()}
        assert {v for v, _ in before.values()} == {VERSION} and len(old_builds) == 1, before
        assert new_build not in old_builds
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
            assert info["Image"] == new_id, s["id"]
        # every server now runs the new build: its version and source hash
        after = versions(writer.urls, writer.headers)
        assert after == {sid: (NEW_VERSION, new_build) for sid in before}, after
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
        recorded = state_dir / "cluster.json"
        if recorded.exists():  # its containers hold the image: remove them first
            remove_run(engine, json.loads(recorded.read_text())["run_id"])
        for ref in built:
            engine.remove_image(ref)
