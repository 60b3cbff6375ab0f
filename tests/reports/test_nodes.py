"""The nodes section: container names for Docker runs, pids for local ones, log links for both."""

from __future__ import annotations

import json
import re
from pathlib import Path

from reports.render import UNRENDERED, write_report
from tests.reports.fixtures import make_set_run


def _visible_text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _as_docker_run(run: Path) -> list[str]:
    """Rewrite the fixture's test.json as the Docker backend writes it; the container names."""
    test = json.loads((run / "test.json").read_text())
    test["backend"] = "docker"
    names: list[str] = []
    for node in test["nodes"]:
        node["container"] = f"afcheck-0123abcd-{node['id']}"
        node["url"] = f"http://10.213.7.2:{20000 + len(names)}"
        node["pid"] = None
        names.append(node["container"])
    (run / "test.json").write_text(json.dumps(test))
    proxy_logs = run / "nodes" / "toxiproxy"
    proxy_logs.mkdir(parents=True)
    (proxy_logs / "toxiproxy.log").write_text("toxiproxy started\n")
    return names


def test_docker_run_names_every_container_and_links_its_logs(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "set")
    names = _as_docker_run(run)
    page = write_report(run).read_text(encoding="utf-8")
    assert UNRENDERED not in page
    text = _visible_text(page)
    assert '<section id="nodes">' in page
    for name in names:
        assert f"<code>{name}</code>" in page
    assert "containers: afcheck-0123abcd-*" in text
    assert f"{len(names)} containers" in text
    assert 'href="nodes/s1/s1.log"' in page
    assert 'href="nodes/toxiproxy/toxiproxy.log"' in page
    assert "<th>container</th>" in page


def test_local_run_shows_pids_and_no_container_column(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "set")
    test = json.loads((run / "test.json").read_text())
    for i, node in enumerate(test["nodes"]):
        node["pid"] = 4000 + i
    (run / "test.json").write_text(json.dumps(test))
    page = write_report(run).read_text(encoding="utf-8")
    assert UNRENDERED not in page
    assert '<section id="nodes">' in page
    assert "<th>container</th>" not in page and "<th>pid</th>" in page
    assert "containers:" not in _visible_text(page)
    assert 'href="nodes/s1/s1.log"' in page


def test_malformed_nodes_entries_are_skipped(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "set")
    test = json.loads((run / "test.json").read_text())
    test["nodes"] = [7, "s1", {"kind": "server"}, {"id": "<b>x</b>", "container": ["odd"]}]
    (run / "test.json").write_text(json.dumps(test))
    page = write_report(run).read_text(encoding="utf-8")
    assert UNRENDERED not in page
    assert "<b>x</b>" not in page


def test_compacted_run_links_the_gzipped_logs(tmp_path: Path) -> None:
    from harness.soak.rundir import compact

    run = make_set_run(tmp_path / "set")
    compact(run, passing=True)  # what a soak does to a passing round: logs gzipped
    assert (run / "nodes" / "s1" / "s1.log.gz").exists()
    page = write_report(run).read_text(encoding="utf-8")
    assert 'href="nodes/s1/s1.log.gz"' in page
    assert 'href="nodes/s1/s1.log"' not in page
