"""The Docker engine as afcheck uses it: connecting, labels, and sweeping up stale runs.

Every container and network a run creates carries the labels
``org.afcheck.run=<run id>`` and ``org.afcheck.owner=<host>:<pid>:<start>``
(the harness process that owns it, with its start time so a reused pid is not
mistaken for the owner). A resource whose owner process is gone is stale: an
earlier run crashed or was killed before its teardown; :func:`sweep_stale`
removes those, and :func:`remove_run` removes one run's resources.

The Docker SDK is synchronous; callers in async code run these functions in a
thread. Every call has a timeout (the client's), and every failure is turned
into :class:`DockerError` naming the operation.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions

LABEL_RUN = "org.afcheck.run"
LABEL_OWNER = "org.afcheck.owner"
LABEL_NODE = "org.afcheck.node"
LABEL_IMAGE = "org.afcheck.image"
LABEL_SOURCE_HASH = "org.afcheck.source-hash"
# a cluster started by `afcheck cluster up --backend docker`: it outlives the command that
# started it on purpose, so the stale sweep leaves it alone; `afcheck cluster down` removes it
LABEL_DETACHED = "org.afcheck.detached"
DEFAULT_TIMEOUT = 30.0
# where each run's /24 subnet is drawn from
SUBNET_POOL = ipaddress.IPv4Network("10.213.0.0/16")
PROVISION_HINT = (
    "start one with `bash tools/provision-docker.sh` (installs docker.io, runs dockerd)"
)

T = TypeVar("T")


class DockerError(RuntimeError):
    """A Docker engine call failed; the message names the operation."""


class DockerUnavailable(DockerError):
    """No Docker engine answers. One line, suitable for a CLI error or a pytest skip."""


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(timeout: float = DEFAULT_TIMEOUT) -> docker.APIClient:
    """A low-level client to the engine that answers a ping; else :class:`DockerUnavailable`."""
    try:
        client = docker.APIClient(
            base_url=engine_address(), version="auto", timeout=int(max(1, timeout))
        )
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DockerUnavailable(
            f"no Docker engine answers at {engine_address()} ({reason[:160]}); {PROVISION_HINT}"
        ) from None
    return client


def engine_answers(timeout: float = 5.0) -> str | None:
    """``None`` when an engine answers, else the one-line reason it does not."""
    try:
        connect(timeout).close()
    except DockerUnavailable as exc:
        return str(exc)
    return None


def call(operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, with any engine failure raised as :class:`DockerError`."""
    try:
        return fn(*args, **kwargs)
    except docker.errors.APIError as exc:
        raise DockerError(f"docker: {operation} failed: {exc.explanation or exc}") from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise DockerError(f"docker: {operation} failed: {type(exc).__name__}: {exc}") from exc


# -- owners ------------------------------------------------------------------


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_label(pid: int | None = None) -> str:
    """This process as an owner: ``<host>:<pid>:<start time>``."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def owner_alive(label: str) -> bool:
    """Whether the owner named by an owner label still runs (owners on other hosts count as alive)."""
    if label.count(":") < 2:
        return False  # not a label we wrote: nobody owns it
    host, _, rest = label.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not start or _start_time(pid) == start


# -- sweeping ----------------------------------------------------------------


@dataclass
class Swept:
    """What a sweep removed."""

    containers: list[str]
    networks: list[str]

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks)


def labelled(
    client: docker.APIClient, label: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Containers (running or not) and networks carrying ``label`` (``key`` or ``key=value``)."""
    filters = {"label": [label]}
    containers = call("list containers", client.containers, all=True, filters=filters)
    networks = call("list networks", client.networks, filters=filters)
    return list(containers), list(networks)


def remove_resources(
    client: docker.APIClient, containers: list[dict[str, Any]], networks: list[dict[str, Any]]
) -> Swept:
    """Force-remove these containers (paused ones are unpaused first), then these networks."""
    removed = Swept([], [])
    for c in containers:
        name = (c.get("Names") or [c["Id"]])[0].lstrip("/")
        if c.get("State") == "paused":
            with contextlib.suppress(DockerError):
                call(f"unpause {name}", client.unpause, c["Id"])
        try:
            call(f"remove container {name}", client.remove_container, c["Id"], force=True, v=True)
        except DockerError as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                raise
        removed.containers.append(name)
    for n in networks:
        _remove_network(client, n)
        removed.networks.append(n["Name"])
    return removed


# a container whose removal is still in progress (by us or by a concurrent teardown)
# keeps its endpoint on the network for a moment: retry for this long
NETWORK_BUSY_S = 15.0


def _remove_network(client: docker.APIClient, network: dict[str, Any]) -> None:
    deadline = time.monotonic() + NETWORK_BUSY_S
    while True:
        try:
            call(f"remove network {network['Name']}", client.remove_network, network["Id"])
            return
        except DockerError as exc:
            text = str(exc)
            if "not found" in text or "No such network" in text:
                return
            if "active endpoints" not in text or time.monotonic() >= deadline:
                raise
        time.sleep(0.2)


def remove_run(client: docker.APIClient, run_id: str) -> Swept:
    """Remove every container and network of one run."""
    containers, networks = labelled(client, f"{LABEL_RUN}={run_id}")
    return remove_resources(client, containers, networks)


def sweep_stale(client: docker.APIClient) -> Swept:
    """Remove the resources of every run whose owner process is gone (detached clusters,
    labelled :data:`LABEL_DETACHED`, are kept: they have no owner process by design)."""
    containers, networks = labelled(client, LABEL_OWNER)

    def stale(resource: dict[str, Any]) -> bool:
        labels = resource.get("Labels") or {}
        if LABEL_DETACHED in labels:
            return False
        return not owner_alive(str(labels.get(LABEL_OWNER, "")))

    return remove_resources(
        client, [c for c in containers if stale(c)], [n for n in networks if stale(n)]
    )


# -- networks ----------------------------------------------------------------


def host_routes_overlap(subnet: ipaddress.IPv4Network, routes: str = "/proc/net/route") -> bool:
    """Whether the host already routes part of ``subnet`` (a LAN or VPN using it)."""
    try:
        with open(routes, encoding="ascii") as fh:
            rows = fh.read().splitlines()[1:]
    except OSError:
        return False
    for row in rows:
        cols = row.split()
        if len(cols) < 8:
            continue
        try:
            dest = ipaddress.IPv4Address(int(cols[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(cols[7], 16).to_bytes(4, "little"))
            net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        except ValueError:
            continue
        if net.prefixlen > 0 and net.overlaps(subnet):
            return True
    return False


def create_network(
    client: docker.APIClient,
    name: str,
    labels: dict[str, str],
    pool: ipaddress.IPv4Network = SUBNET_POOL,
    rng: random.Random | None = None,
) -> ipaddress.IPv4Network:
    """Create an internal bridge network on a free /24 of ``pool``; its subnet.

    Internal: containers on it have no route out of this machine, while the
    host still reaches their addresses on the bridge. A subnet the host routes
    or another Docker network uses is skipped."""
    rng = rng or random.Random()
    subnets = list(pool.subnets(new_prefix=24))
    last = "every subnet tried is in use"
    for _ in range(30):
        subnet = rng.choice(subnets)
        if host_routes_overlap(subnet):
            continue
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(subnet))])
        try:
            call(
                f"create network {name} ({subnet})",
                client.create_network,
                name,
                driver="bridge",
                internal=True,
                ipam=ipam,
                labels=labels,
            )
        except DockerError as exc:
            if "overlap" not in str(exc).lower():
                raise
            last = str(exc)
            continue
        return subnet
    raise DockerError(f"docker: create network {name}: no free /24 subnet in {pool} ({last})")
