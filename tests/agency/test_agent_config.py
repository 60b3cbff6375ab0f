"""The agent's flags and config file: accepted forms and one-line refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.agency.config import AgentConfig
from cluster.common.config import ConfigError, build


def test_flags_and_file_merge(tmp_path: Path) -> None:
    cfg = build(
        AgentConfig,
        {"id": "a1", "data-dir": str(tmp_path), "grace-period": 5, "peer": ["a2=http://h:1/"]},
        {"peer": ["a2=http://127.0.0.1:9", "a3=http://127.0.0.1:10"], "ok_threshold": "2"},
    )
    assert cfg.peers() == {"a2": "http://127.0.0.1:9", "a3": "http://127.0.0.1:10"}
    assert cfg.grace_period == 5.0 and cfg.ok_threshold == 2.0
    assert cfg.own_url() == "http://127.0.0.1:8531"


@pytest.mark.parametrize(
    "values, reason",
    [
        ({"data_dir": "d"}, "--id is required"),
        ({"id": "a1", "data_dir": "d", "peer": ["a2=http://x:1"]}, "1, 3 or 5"),
        ({"id": "a1", "data_dir": "d", "peer": ["a1=http://x:1", "a2=http://x:2"]}, "own id"),
        ({"id": "a1", "data_dir": "d", "peer": ["nonsense", "a3=http://x:2"]}, "ID=http"),
        ({"id": "a1", "data_dir": "d", "listen": "localhost"}, "HOST:PORT"),
        ({"id": "a1", "data_dir": "d", "election_timeout_min": "0.1"}, "twice the heartbeat"),
        ({"id": "a1", "data_dir": "d", "ok_threshold": "4"}, "ok_threshold < grace_period"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(values: dict[str, object], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        build(AgentConfig, {}, values)


def test_process_refuses_bad_flags_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "a1", "data-dir": str(tmp_path), "bogus": 1}))
    for argv in (["--id", "a1"], ["--config", str(bad)]):
        proc = subprocess.run(
            [sys.executable, "-m", "cluster.agency", *argv],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1].startswith("cluster.agency: error:")
