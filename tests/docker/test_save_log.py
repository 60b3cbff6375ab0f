"""A container's log is streamed to its file in chunks; an engine failure mid-stream is a
DockerError naming the container (no engine needed: a fake low-level client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.infra.backends.docker_engine import DockerError
from harness.infra.backends.docker_run import RunEngine


class FakeClient:
    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.calls: list[dict[str, Any]] = []

    def logs(self, container: str, **kw: Any) -> Iterator[bytes]:
        self.calls.append({"container": container, **kw})
        for i in range(5):
            if self.fail_after is not None and i == self.fail_after:
                raise docker.errors.APIError("connection reset")
            yield f"2026-12-01T00:00:0{i}Z line {i}\n".encode()


def test_log_is_streamed_not_buffered(tmp_path: Path) -> None:
    engine = RunEngine(run_id="abc")
    engine.client = FakeClient()
    target = tmp_path / "nodes" / "s1" / "s1.log"
    engine.save_log("cid", target)
    assert target.read_text().splitlines()[-1].endswith("line 4")
    assert engine.client.calls == [
        {"container": "cid", "timestamps": True, "stream": True, "follow": False}
    ]


def test_failure_mid_stream_is_a_docker_error(tmp_path: Path) -> None:
    engine = RunEngine(run_id="abc")
    engine.client = FakeClient(fail_after=2)
    with pytest.raises(DockerError, match="read logs of cid"):
        engine.save_log("cid", tmp_path / "s1.log")
