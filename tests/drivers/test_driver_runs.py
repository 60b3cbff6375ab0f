"""Integration: a short set workload through a real driver against a real local cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.drivers.helpers import skip_without
from tests.harness_runner.test_run_integration import afcheck

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


# python-arango's default keeps to its first host, which need not be the leader (then every
# add is refused with 1496: docs/drivers.md); its failover setting reaches the leader
@pytest.mark.parametrize("client", ["python-arango:failover", "arangojs"])
def test_a_set_run_through_a_driver(client: str, tmp_path: Path) -> None:
    skip_without(client)
    store = tmp_path / "store"
    proc = afcheck(
        "run",
        "--workload", "set",
        "--nemesis", "none",
        "--client", client,
        "--time-limit", "5",
        "--rate", "30",
        "--seed", "5",
        "--store", str(store),
        "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"client: {client}" in proc.stdout
    run = (store / "latest").resolve()
    assert run.parent.name == f"set-none-async-{client.replace(':', '-')}"
    test = json.loads((run / "test.json").read_text())
    assert test["client"] == client and f"--client {client}" in test["repeat"]
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    adds = [op for op in history if op["type"] == "ok" and op["f"] == "add"]
    assert len(adds) >= 10
    assert all(op.get("node") for op in adds)  # the server that answered, as the driver saw it
    results = json.loads((run / "results.json").read_text())
    assert results["checkers"]["set-full"]["valid"] is True
    report = (run / "report.html").read_text()
    assert f"<h2>Client: {client}</h2>" in report


def test_a_driver_that_is_not_installed_is_a_clear_error(tmp_path: Path) -> None:
    proc = afcheck("run", "--client", "no-such-driver", "--store", str(tmp_path))
    assert proc.returncode == 4 and "client must be one of native" in proc.stderr, proc.stderr
