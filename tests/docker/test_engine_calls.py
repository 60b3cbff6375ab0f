"""The engine calls of a run, against a fake low-level client (no engine needed): a
container's log is streamed to its file in chunks, an engine failure mid-stream is a
DockerError naming the container, and a freeze the runtime could not finish is retried."""

from __future__ import annotations

import asyncio
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


class FreezeOnce:
    """``pause`` fails like runc on a loaded host, ``fails`` times, then freezes."""

    def __init__(
        self, fails: int, message: str = "OCI runtime pause failed: unable to freeze"
    ) -> None:
        self.fails = fails
        self.message = message
        self.calls = 0

    def pause(self, container: str) -> None:
        self.calls += 1
        if self.calls <= self.fails:
            raise docker.errors.APIError(self.message)


def test_a_freeze_the_runtime_could_not_finish_is_retried() -> None:
    engine = RunEngine(run_id="abc")
    engine.client = FreezeOnce(fails=2)
    asyncio.run(engine.pause("cid", "a1"))
    assert engine.client.calls == 3


def test_other_pause_failures_and_endless_freeze_failures_are_raised() -> None:
    engine = RunEngine(run_id="abc")
    engine.client = FreezeOnce(fails=1, message="No such container: cid")
    with pytest.raises(DockerError, match="No such container"):
        asyncio.run(engine.pause("cid", "a1"))
    assert engine.client.calls == 1
    engine.client = FreezeOnce(fails=100)
    with pytest.raises(DockerError, match="unable to freeze"):
        asyncio.run(engine.pause("cid", "a1"))
    assert engine.client.calls == 4
