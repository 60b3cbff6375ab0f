"""``/_api/version?details=true`` names the server's build: a hash of its ``cluster`` source."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cluster.common import build
from cluster.server.api_databases import VERSION
from tests.server_api.conftest import RunningServer, StartServer


def test_details_report_a_stable_build_id(server: RunningServer) -> None:
    first = server.call("GET", "/_api/version", params={"details": "true"})
    assert first.status_code == 200
    body = first.json()
    assert body["version"] == VERSION
    ident = body["details"]["afcheck-build"]
    assert re.fullmatch(r"[0-9a-f]{12}", ident), ident
    assert ident == build.source_id()
    again = server.call("GET", "/_api/version", params={"details": "true"})
    assert again.json()["details"]["afcheck-build"] == ident


def test_the_build_id_is_the_same_for_every_server_of_one_tree(start_server: StartServer) -> None:
    ids = {
        start_server().call("GET", "/_api/version?details=true").json()["details"]["afcheck-build"]
        for _ in range(2)
    }
    assert len(ids) == 1


def test_without_details_no_build_is_reported(server: RunningServer) -> None:
    body = server.call("GET", "/_api/version").json()
    assert "details" not in body and body["version"] == VERSION


def test_the_build_id_follows_the_python_source(tmp_path: Path) -> None:
    tree = tmp_path / "cluster"
    shutil.copytree(build.PACKAGE_DIR, tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    before = build.tree_id(tree)
    assert re.fullmatch(r"[0-9a-f]{12}", before) and build.tree_id(tree) == before
    # files other than Python source, and byte-code caches, do not count
    (tree / "notes.txt").write_text("not source\n", encoding="utf-8")
    (tree / "__pycache__").mkdir(exist_ok=True)
    (tree / "__pycache__" / "stale.py").write_text("x = 1\n", encoding="utf-8")
    assert build.tree_id(tree) == before
    api = tree / "server" / "api_databases.py"
    api.write_text(api.read_text(encoding="utf-8").replace(VERSION, "3.11.99"), encoding="utf-8")
    changed = build.tree_id(tree)
    assert changed != before
    (tree / "server" / "extra.py").write_text("", encoding="utf-8")
    assert build.tree_id(tree) not in (changed, before)
