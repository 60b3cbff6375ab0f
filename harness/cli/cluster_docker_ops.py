"""``afcheck cluster restart --rolling [--upgrade IMAGE]`` on a Docker cluster.

The servers are restarted one at a time, followers first and the leader
last. Each container is stopped with SIGTERM (``docker stop``: a leader hands
over first, see :mod:`cluster.server.handover`) and started again; with
``--upgrade IMAGE`` it is *recreated* from ``IMAGE`` instead (a new build of
the node image, e.g. one ``afcheck images`` made from a newer tree), keeping
everything else it was created with: name, hostname, address on the cluster
network, command, user, bind mounts (its data directory), capabilities,
labels and log settings. Its output so far is appended to its log file first,
since removing the container drops it. Before the next server, the one
restarted must follow the leader and hold its last tick.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli.cluster_state import ClusterCommandError, write_state
from harness.infra.backends.docker_engine import (
    LABEL_IMAGE,
    LABEL_SOURCE_HASH,
    DockerError,
    call,
    connect,
)

STOP_GRACE = 10  # seconds a server gets to hand over and exit before SIGKILL


def _one_network(info: dict[str, Any], sid: str) -> tuple[str, str]:
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    if len(networks) != 1:
        raise ClusterCommandError(f"{sid}: expected one network, found {sorted(networks)}")
    name, endpoint = next(iter(networks.items()))
    ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or endpoint.get("IPAddress")
    if not ip:
        raise ClusterCommandError(f"{sid}: no address on network {name}")
    return str(name), str(ip)


def _save_output(api: Any, container: str, log: str | None) -> None:
    """Append the container's output to ``log`` (removing the container drops it)."""
    if not log:
        return
    raw = call("read logs", api.logs, container, timestamps=True)
    path = Path(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        fh.write(bytes(raw))


def recreate(api: Any, container: str, image: str, sid: str, log: str | None) -> str:
    """Replace the stopped ``container`` by one from ``image`` made the same way; its id."""
    info = call(f"inspect {sid}", api.inspect_container, container)
    config, host = info.get("Config") or {}, info.get("HostConfig") or {}
    network, ip = _one_network(info, sid)
    _save_output(api, container, log)
    call(f"remove {sid}", api.remove_container, container)
    host_config = api.create_host_config(
        binds=list(host.get("Binds") or []),
        cap_drop=host.get("CapDrop"),
        security_opt=host.get("SecurityOpt"),
        init=host.get("Init"),
        network_mode=network,
        log_config=host.get("LogConfig"),
    )
    networking = api.create_networking_config(
        {network: api.create_endpoint_config(ipv4_address=ip)}
    )
    # the container's own labels (run, node, detached); the image's come with the new image
    image_labels = {LABEL_IMAGE, LABEL_SOURCE_HASH}
    labels = {k: v for k, v in (config.get("Labels") or {}).items() if k not in image_labels}
    created = call(
        f"create {sid} from {image}",
        api.create_container,
        image,
        command=config.get("Cmd"),
        name=str(info.get("Name", "")).lstrip("/"),
        hostname=config.get("Hostname"),
        labels=labels,
        host_config=host_config,
        networking_config=networking,
        user=config.get("User") or None,
        stop_timeout=config.get("StopTimeout"),
    )
    new_id = str(created["Id"])
    call(f"start {sid}", api.start, new_id)
    return new_id


def rolling_restart(
    state: dict[str, Any],
    order: list[str],
    image: str | None,
    wait_following: Callable[[str], str],
    say: Callable[[str], None],
) -> str:
    """Restart (or, with ``image``, upgrade) the servers of ``order`` in turn; the leader."""
    servers = {str(s["id"]): s for s in state.get("servers", [])}
    api = connect()
    leader = ""
    try:
        if image is not None:
            call(f"inspect image {image}", api.inspect_image, image)  # fail before stopping any
        for sid in order:
            record = servers[sid]
            container = str(record["container"])
            call(f"stop {sid}", api.stop, container, timeout=STOP_GRACE)
            if image is None:
                call(f"start {sid}", api.start, container)
            else:
                record["container"] = recreate(api, container, image, sid, record.get("log"))
                record["image"] = image
                write_state(state)
            leader = wait_following(sid)
            say(f"restarted {sid}" + (f" from {image}" if image else "") + f"; it follows {leader}")
    except DockerError as exc:
        raise ClusterCommandError(str(exc)) from exc
    finally:
        api.close()
    return leader
