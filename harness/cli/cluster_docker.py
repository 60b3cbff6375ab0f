"""``afcheck cluster up|status|down --backend docker``: a detached cluster of containers.

``up`` starts the same topology as a Docker run (its own network, Toxiproxy,
agents and servers, one proxy per directed link), then lets go of it: the
containers carry :data:`LABEL_DETACHED`, so neither this command's exit nor
the stale-run sweep of a later run removes them. What was started is
recorded in ``<state-dir>/cluster.json`` (``"backend": "docker"``); ``status``
and ``down`` read it, so they need no ``--backend`` flag. ``down`` saves each
container's output to ``<state-dir>/nodes/<id>/<id>.log`` and removes every
container and the network of the cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from harness.cli.cluster_state import (
    EXIT_HARNESS,
    EXIT_OK,
    EXIT_USAGE,
    ClusterCommandError,
    load_credentials,
    load_state,
    parse_flags,
    print_view,
    server_leader,
    state_path,
    write_state,
)
from harness.infra import procs
from harness.infra.backends.base import ClusterSpec, Node
from harness.infra.backends.credentials import Credentials
from harness.infra.backends.docker_engine import (
    LABEL_DETACHED,
    LABEL_RUN,
    DockerError,
    call,
    connect,
    labelled,
    remove_run,
)
from harness.infra.probe import http_json

UP_LIMIT_EXTRA = 120.0  # seconds `up` may take beyond --start-timeout (images, network)


def wants_docker(args: argparse.Namespace) -> bool:
    """``--backend docker``, or (for status/down) a state file that records a docker cluster."""
    if getattr(args, "backend", "local") == "docker":
        return True
    if getattr(args, "cluster_command", None) == "up":
        return False
    try:
        state = load_state(os.path.abspath(args.state_dir))
    except ClusterCommandError:
        return False
    return state is not None and state.get("backend") == "docker"


def _node_record(node: Node) -> dict[str, Any]:
    return {
        "id": node.id,
        "url": node.url,
        "direct_url": node.direct_url,
        "container": node.container,
        "log": node.log_path,
    }


def _public(state: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "url", "container")
    return {
        "backend": "docker",
        "state_dir": state["state_dir"],
        "run_id": state["run_id"],
        "network": state["network"],
        "agents": [{k: a[k] for k in keys} for a in state["agents"]],
        "servers": [{k: s[k] for k in keys} for s in state["servers"]],
    }


def _run_containers(run_id: str) -> list[dict[str, Any]]:
    client = connect()
    try:
        containers, _ = labelled(client, f"{LABEL_RUN}={run_id}")
    finally:
        client.close()
    return containers


def _refuse_if_up(state_dir: str) -> None:
    old = load_state(state_dir)
    if old is None:
        return
    if old.get("backend") == "docker":
        up = bool(_run_containers(str(old.get("run_id"))))
    else:
        nodes = [*old.get("agents", []), *old.get("servers", [])]
        up = any(isinstance(n.get("pid"), int) and procs.alive(n["pid"]) for n in nodes)
    if up:
        raise ClusterCommandError(
            f"a cluster is already up in {state_dir}; run `afcheck cluster down` first"
        )


async def _start(args: argparse.Namespace, state_dir: str, flags: dict[str, str]) -> dict[str, Any]:
    from harness.infra.backends.docker import DockerBackend

    backend = DockerBackend()
    backend.engine.labels[LABEL_DETACHED] = state_dir
    spec = ClusterSpec(
        agents=args.agents,
        servers=args.servers,
        replication=args.replication,
        agency_flags=flags,
        state_dir=state_dir,
        start_timeout=args.start_timeout,
        root_password=args.root_password,
    )
    async with asyncio.timeout(args.start_timeout + UP_LIMIT_EXTRA):
        await backend.start(spec)  # tears everything down itself when it fails
    # from here on the cluster is meant to outlive this process
    procs.unregister(backend)
    await backend.net.client.close()
    backend.engine.client.close()
    nodes = backend.nodes()
    assert backend.subnet is not None
    return {
        "backend": "docker",
        "state_dir": state_dir,
        "run_id": backend.run_id,
        "network": backend.network_name,
        "subnet": str(backend.subnet),
        "toxiproxy": backend.net.client.api,
        "agents": [_node_record(n) for n in nodes if n.kind == "agent"],
        "servers": [_node_record(n) for n in nodes if n.kind == "server"],
    }


def cmd_up(args: argparse.Namespace) -> int:
    state_dir = os.path.abspath(args.state_dir)
    if args.servers < 1:
        print(
            "error: --backend docker needs --servers 1 or more (e.g. --servers 2)", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        flags = parse_flags(args.agency_flag)
        _refuse_if_up(state_dir)
        os.makedirs(state_dir, exist_ok=True)
        state = asyncio.run(_start(args, state_dir, flags))
        write_state(state)
    except (ClusterCommandError, DockerError, OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"afcheck cluster up: {reason}", file=sys.stderr)
        return EXIT_HARNESS
    out = _public(state)
    out["auth"] = load_credentials(state_dir).to_json()
    print_view(out, args.json)
    return EXIT_OK


def _container_states(run_id: str) -> dict[str, str]:
    """Node id -> the container's state (running, paused, exited ...), for one run."""
    return {
        str((c.get("Labels") or {}).get("org.afcheck.node", "?")): str(c.get("State"))
        for c in _run_containers(run_id)
    }


def _agency_view(
    agents: list[dict[str, Any]], creds: Credentials
) -> tuple[dict[str, Any], str | None]:
    """Each agent's ``/_api/agency/config`` (or None), and the URL of the one that leads."""
    views: dict[str, Any] = {}
    leader_url = None
    for agent in agents:
        status, cfg = http_json(
            agent["direct_url"] + "/_api/agency/config",
            time_limit=1.0,
            headers=creds.agency_headers(),
        )
        views[agent["id"]] = cfg if status == 200 and isinstance(cfg, dict) else None
        if views[agent["id"]] and cfg.get("role") == "LEADER":
            leader_url = agent["direct_url"]
    return views, leader_url


def cmd_status(args: argparse.Namespace) -> int:
    try:
        state = load_state(os.path.abspath(args.state_dir))
        if state is None:
            raise ClusterCommandError(f"no cluster in {args.state_dir}")
        states = _container_states(str(state["run_id"]))
        creds = load_credentials(os.path.abspath(args.state_dir))
    except (ClusterCommandError, DockerError, KeyError) as exc:
        print(f"afcheck cluster status: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    out = _public(state)
    views, leader_url = _agency_view(state["agents"], creds)
    for agent, pub in zip(state["agents"], out["agents"], strict=True):
        cfg = views.get(agent["id"]) or {}
        pub["state"] = states.get(agent["id"], "missing")
        pub["leader"] = cfg.get("leaderId") or None
        pub["role"] = cfg.get("role")
        pub["term"] = cfg.get("term")
    out["server_leader"] = server_leader(leader_url, creds)
    for server, pub in zip(state["servers"], out["servers"], strict=True):
        status, info = http_json(
            server["direct_url"] + "/_admin/server/role",
            time_limit=1.0,
            headers=creds.server_headers(),
        )
        ok = status == 200 and isinstance(info, dict)
        pub["state"] = states.get(server["id"], "missing")
        for field in ("role", "mode", "afRole", "epoch", "lastTick", "leader"):
            pub[field] = info.get(field) if ok else None
    print_view(out, args.json)
    return EXIT_OK


def _save_logs(client: Any, state: dict[str, Any]) -> None:
    for node in [*state["agents"], *state["servers"]]:
        try:
            raw = call(
                f"read logs of {node['id']}", client.logs, node["container"], timestamps=True
            )
        except DockerError:
            continue  # already gone: nothing to save
        path = Path(node["log"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(raw))


def cmd_down(args: argparse.Namespace) -> int:
    state_dir = os.path.abspath(args.state_dir)
    try:
        state = load_state(state_dir)
        if state is None:
            print(f"afcheck cluster down: no cluster in {args.state_dir}", file=sys.stderr)
            return EXIT_OK
        run_id = str(state["run_id"])
        client = connect()
        try:
            _save_logs(client, state)
            removed = remove_run(client, run_id)
            left, networks = labelled(client, f"{LABEL_RUN}={run_id}")
        finally:
            client.close()
    except (ClusterCommandError, DockerError, KeyError, OSError) as exc:
        print(f"afcheck cluster down: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if left or networks:
        names = [str((c.get("Names") or ["?"])[0]).lstrip("/") for c in left]
        names += [str(n.get("Name")) for n in networks]
        print(f"afcheck cluster down: still present: {', '.join(names)}", file=sys.stderr)
        return EXIT_HARNESS
    os.unlink(state_path(state_dir))
    stopped = sorted(str(name).rsplit("-", 1)[-1] for name in removed.containers)
    print_view(
        {"backend": "docker", "state_dir": state_dir, "run_id": run_id, "stopped": stopped},
        args.json,
    )
    return EXIT_OK
