"""One run's resources on the Docker engine, with async calls bounded in time.

:class:`RunEngine` owns what a single run creates: its network and its
labelled containers. Every call runs the synchronous Docker SDK in a thread
under an explicit timeout and raises :class:`DockerError` naming the
operation and the node. The backend decides what to create; this module knows
how (host config, fixed address, labels, no privileges).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from harness.infra.backends.docker_engine import (
    LABEL_NODE,
    LABEL_OWNER,
    LABEL_RUN,
    DockerError,
    Swept,
    call,
    connect,
    create_network,
    owner_label,
    remove_run,
    sweep_stale,
)

T = TypeVar("T")
STOP_GRACE = 10  # seconds a container gets to exit on SIGTERM before SIGKILL
LOG_MAX_SIZE = "50m"
FREEZE_ATTEMPTS = 4


def _drain(chunks: Iterable[bytes], out: BinaryIO) -> None:
    for chunk in chunks:
        out.write(chunk)


class RunEngine:
    """The engine as one run sees it: ``afcheck-<run>`` network and ``afcheck-<run>-<role>``
    containers, all labelled with the run id and this process as owner."""

    def __init__(self, call_timeout: float = 30.0, run_id: str | None = None) -> None:
        self.call_timeout = call_timeout
        self.run_id = run_id or uuid.uuid4().hex[:10]
        self.network = f"afcheck-{self.run_id}"
        self.labels = {LABEL_RUN: self.run_id, LABEL_OWNER: owner_label()}
        self.client: Any = None

    def container_name(self, role: str) -> str:
        return f"afcheck-{self.run_id}-{role}"

    async def connect(self) -> None:
        """Connect to the engine (:class:`DockerUnavailable` when none answers)."""
        self.client = await asyncio.to_thread(connect, self.call_timeout)

    async def do(self, operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a thread, bounded by ``call_timeout`` (and the client's)."""
        try:
            async with asyncio.timeout(self.call_timeout + 5):
                return await asyncio.to_thread(call, operation, fn, *args, **kwargs)
        except TimeoutError:
            raise DockerError(
                f"docker: {operation}: no answer within {self.call_timeout:g} s"
            ) from None

    async def sweep_stale(self) -> Swept:
        return await asyncio.to_thread(sweep_stale, self.client)

    async def create_network(self) -> ipaddress.IPv4Network:
        return await self.do(
            f"create network {self.network}", create_network, self.client, self.network, self.labels
        )

    async def create(
        self,
        role: str,
        image: str,
        command: list[str],
        ip: str,
        binds: dict[str, dict[str, str]] | None = None,
        as_caller: bool = True,
    ) -> str:
        """Create (not start) the container of ``role`` at address ``ip``; its id.

        Every capability is dropped; ``init`` reaps and forwards signals. With
        ``as_caller`` and a non-root caller, it runs as the caller's uid:gid so
        files in its bind mounts stay the caller's; otherwise as the image's user."""
        api = self.client
        host_config = api.create_host_config(
            binds=binds or {},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            init=True,
            network_mode=self.network,
            log_config={"Type": "json-file", "Config": {"max-size": LOG_MAX_SIZE}},
        )
        networking = api.create_networking_config(
            {self.network: api.create_endpoint_config(ipv4_address=ip)}
        )
        user = f"{os.getuid()}:{os.getgid()}" if as_caller and os.getuid() != 0 else None
        created = await self.do(
            f"create container for {role}",
            api.create_container,
            image,
            command=command,
            name=self.container_name(role),
            hostname=role,
            labels={**self.labels, LABEL_NODE: role},
            host_config=host_config,
            networking_config=networking,
            user=user,
            stop_timeout=STOP_GRACE,
        )
        return str(created["Id"])

    async def state(self, container: str, role: str) -> dict[str, Any]:
        """The container's ``State`` (``Running``, ``Paused``, ``ExitCode``, ``Pid`` ...)."""
        info = await self.do(f"inspect {role}", self.client.inspect_container, container)
        state: dict[str, Any] = info.get("State") or {}
        return state

    async def start(self, container: str, role: str) -> None:
        await self.do(f"start {role}", self.client.start, container)

    async def kill(self, container: str, role: str) -> None:
        await self.do(f"kill {role}", self.client.kill, container)

    async def stop(self, container: str, role: str) -> None:
        await self.do(f"stop {role}", self.client.stop, container, timeout=STOP_GRACE)

    async def pause(self, container: str, role: str) -> None:
        """``docker pause``; a freeze the runtime could not finish in time ("unable to
        freeze": a process of the container mid-syscall on a loaded host) is retried, since
        the runtime thaws the container again when a freeze fails."""
        for attempt in range(1, FREEZE_ATTEMPTS + 1):
            try:
                await self.do(f"pause {role}", self.client.pause, container)
                return
            except DockerError as exc:
                if "unable to freeze" not in str(exc) or attempt == FREEZE_ATTEMPTS:
                    raise
            await asyncio.sleep(0.2 * attempt)

    async def unpause(self, container: str, role: str) -> None:
        await self.do(f"unpause {role}", self.client.unpause, container)

    async def disconnect(self, container: str, role: str) -> None:
        await self.do(
            f"disconnect {role} from {self.network}",
            self.client.disconnect_container_from_network,
            container,
            self.network,
            force=True,
        )

    async def reconnect(self, container: str, role: str, ip: str) -> None:
        await self.do(
            f"connect {role} to {self.network}",
            self.client.connect_container_to_network,
            container,
            self.network,
            ipv4_address=ip,
        )

    async def logs_tail(self, container: str | None, lines: int = 20) -> str:
        """The last lines of a container's output (for error messages; never raises)."""
        if container is None:
            return "(no container)"
        try:
            raw = await self.do("read logs", self.client.logs, container, tail=lines)
        except DockerError as exc:
            return f"(no log: {exc})"
        return bytes(raw).decode("utf-8", "replace").rstrip()

    def save_log(self, container: str, path: Path) -> None:
        """Write a container's whole output, with timestamps, to ``path`` (synchronous).

        Streamed in chunks: a node's log can be many megabytes, and a soak saves
        every node's log every round; whole-log buffers would fragment the heap."""
        operation = f"read logs of {container}"
        chunks = call(
            operation, self.client.logs, container, timestamps=True, stream=True, follow=False
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            call(operation, _drain, chunks, out)

    def remove_all(self) -> Swept:
        """Remove every container and the network of this run (synchronous, idempotent)."""
        if self.client is None:
            return Swept([], [])
        return remove_run(self.client, self.run_id)

    def close(self) -> None:
        """Close the engine connection (its HTTP pool): one per run, so a soak does not
        keep a pool per round (idempotent)."""
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
