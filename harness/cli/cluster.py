"""``afcheck cluster up|status|down``: a cluster of detached local processes.

``up`` starts agents (and servers, when ``cluster.server`` exists) on free
loopback ports, waits until every agent answers and a Raft leader is
elected, and records pids, ports and URLs in ``<state-dir>/cluster.json``.
Ports come from :class:`harness.infra.backends.ports.PortPool`; each node inherits
its port's lock, so the port stays claimed against parallel harness processes
while the node runs and is free again once ``down`` has stopped it.
``status`` asks every node for its view; ``down`` stops every process group
and checks that none is left. Node logs: ``<state-dir>/nodes/<id>/node.log``.
With ``--backend docker`` the cluster is containers instead (:mod:`harness.cli.cluster_docker`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import sys
import time
from typing import Any

from harness.cli.cluster_state import (
    EXIT_HARNESS,
    EXIT_OK,
    EXIT_USAGE,
    ROOT_NO_PASSWORD,
    ClusterCommandError,
    load_state,
    parse_flags,
    print_view,
    server_leader,
    state_path,
    write_state,
)
from harness.infra import procs
from harness.infra.backends.commands import server_args
from harness.infra.backends.ports import PortPool


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cluster", help="start, inspect or stop a local cluster")
    sub = parser.add_subparsers(dest="cluster_command", metavar="ACTION")
    sub.required = True
    up = sub.add_parser("up", help="start agents and servers in the background")
    up.add_argument("--agents", type=int, default=3, help="number of agents: 1, 3 or 5")
    up.add_argument("--servers", type=int, default=0, help="number of single servers")
    up.add_argument("--replication", choices=("async", "sync"), default="async")
    up.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait")
    up.add_argument(
        "--agency-flag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra agent flag, e.g. grace-period=3 (repeatable)",
    )
    for p in (up, sub.add_parser("status", help="each node's view"), sub.add_parser("down")):
        p.add_argument("--state-dir", default="store/cluster")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument(
            "--backend",
            choices=("local", "docker"),
            default="local",
            help="local processes or docker containers (status/down read it from the state)",
        )
    up.set_defaults(func=cmd_up)
    sub.choices["status"].set_defaults(func=cmd_status)
    sub.choices["down"].set_defaults(func=cmd_down)


def _nodes(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [*state.get("agents", []), *state.get("servers", [])]


def _public(state: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "url", "pid")
    return {
        "backend": "local",
        "state_dir": state["state_dir"],
        "agents": [{k: a[k] for k in keys} for a in state["agents"]],
        "servers": [{k: s[k] for k in keys} for s in state["servers"]],
    }


def start_agents(
    state_dir: str, count: int, flags: dict[str, str], pool: PortPool
) -> list[dict[str, Any]]:
    """Spawn ``count`` agents that know each other; their records (not yet waited for).

    Each agent inherits the lock of its port, so the port stays claimed
    against other harness processes for as long as the agent runs.
    """
    ids = [f"a{i + 1}" for i in range(count)]
    ports = {i: pool.take() for i in ids}
    urls = {i: f"http://127.0.0.1:{ports[i]}" for i in ids}
    out = []
    for ident in ids:
        node_dir = os.path.join(state_dir, "nodes", ident)
        log_path = os.path.join(node_dir, "node.log")
        extra = {"clock-file": os.path.join(node_dir, "clock.json"), **flags}
        peers = {p: urls[p] for p in ids if p != ident}
        cmd = procs.agent_command(ident, ports[ident], peers, os.path.join(node_dir, "data"), extra)
        pid = procs.spawn(cmd, log_path, keep_fds=[pool.lock_fd(ports[ident])])
        out.append(
            {"id": ident, "url": urls[ident], "pid": pid, "port": ports[ident], "log": log_path}
        )
    return out


def start_servers(
    state_dir: str, count: int, agency: list[str], replication: str, pool: PortPool
) -> list[dict[str, Any]]:
    """Spawn ``count`` servers; like agents, each keeps its port's lock while it runs."""
    out = []
    ports = {f"s{k + 1}": pool.take() for k in range(count)}
    for ident, port in ports.items():
        node_dir = os.path.join(state_dir, "nodes", ident)
        url = f"http://127.0.0.1:{port}"
        peers = [f"{o}=http://127.0.0.1:{p}" for o, p in ports.items() if o != ident]
        args = server_args(
            ident,
            f"127.0.0.1:{port}",
            url,
            agency,
            os.path.join(node_dir, "data"),
            replication,
            os.path.join(node_dir, "clock.json"),
            peers,
            flags={},
            agency_flags={},
        )
        log_path = os.path.join(node_dir, "node.log")
        pid = procs.spawn(
            [sys.executable, "-m", "cluster.server", *args], log_path, keep_fds=[pool.lock_fd(port)]
        )
        out.append({"id": ident, "url": url, "pid": pid, "port": port, "log": log_path})
    return out


def agency_leader(agents: list[dict[str, Any]]) -> str | None:
    """The id of an agent that reports itself leader, if any."""
    for agent in agents:
        status, cfg = procs.http_json(agent["url"] + "/_api/agency/config", time_limit=1.0)
        if status == 200 and isinstance(cfg, dict) and cfg.get("role") == "LEADER":
            return str(cfg["configuration"]["id"])
    return None


def _wait_ready(state: dict[str, Any], deadline: float) -> None:
    pending = {n["id"]: n for n in _nodes(state)}
    while True:
        for ident, node in list(pending.items()):
            if not procs.alive(node["pid"]):
                raise ClusterCommandError(
                    f"{ident} exited during start-up: {procs.tail(node['log'])}"
                )
            path = "/_api/agency/config" if ident.startswith("a") else "/_api/version"
            status, _ = procs.http_json(node["url"] + path, time_limit=1.0)
            if status == 200:
                del pending[ident]
        if not pending and agency_leader(state["agents"]) is not None:
            return
        if time.monotonic() > deadline:
            waiting = ", ".join(sorted(pending)) or "an agency leader"
            raise ClusterCommandError(f"timed out waiting for {waiting}")
        time.sleep(0.1)


def cmd_up(args: argparse.Namespace) -> int:
    state_dir = os.path.abspath(args.state_dir)
    if args.agents not in (1, 3, 5):
        print(f"error: --agents must be 1, 3 or 5, not {args.agents}", file=sys.stderr)
        return EXIT_USAGE
    if args.servers < 0:
        print("error: --servers must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    if args.backend == "docker":
        from harness.cli import cluster_docker

        return cluster_docker.cmd_up(args)
    state: dict[str, Any] = {
        "backend": "local",
        "state_dir": state_dir,
        "agents": [],
        "servers": [],
    }
    pool = PortPool()  # the nodes keep their ports' locks; ours go when `up` ends
    try:
        old = load_state(state_dir)
        if old is not None and any(procs.alive(n["pid"]) for n in _nodes(old)):
            raise ClusterCommandError(
                f"a cluster is already up in {state_dir}; run `afcheck cluster down` first"
            )
        if args.servers > 0 and importlib.util.find_spec("cluster.server.__main__") is None:
            raise ClusterCommandError("servers are not available yet (no cluster.server)")
        flags = parse_flags(args.agency_flag)
        shutil.rmtree(os.path.join(state_dir, "nodes"), ignore_errors=True)
        os.makedirs(state_dir, exist_ok=True)
        state["agents"] = start_agents(state_dir, args.agents, flags, pool)
        write_state(state)
        agency = [a["url"] for a in state["agents"]]
        state["servers"] = start_servers(state_dir, args.servers, agency, args.replication, pool)
        write_state(state)
        _wait_ready(state, time.monotonic() + args.start_timeout)
    except (ClusterCommandError, OSError) as exc:
        for node in _nodes(state):
            procs.stop(node["pid"])
        if state["agents"]:
            with contextlib.suppress(OSError):
                os.unlink(state_path(state_dir))
        print(f"afcheck cluster up: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    finally:
        pool.release()
    print_view(_public(state), args.json)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from harness.cli import cluster_docker

    if cluster_docker.wants_docker(args):
        return cluster_docker.cmd_status(args)
    try:
        state = load_state(os.path.abspath(args.state_dir))
    except ClusterCommandError as exc:
        print(f"afcheck cluster status: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if state is None:
        print(f"afcheck cluster status: no cluster in {args.state_dir}", file=sys.stderr)
        return EXIT_HARNESS
    out = _public(state)
    for agent, pub in zip(state["agents"], out["agents"], strict=True):
        status, cfg = procs.http_json(agent["url"] + "/_api/agency/config", time_limit=1.0)
        ok = status == 200 and isinstance(cfg, dict)
        pub["alive"] = procs.alive(agent["pid"])
        pub["leader"] = (cfg.get("leaderId") or None) if ok else None
        pub["role"] = cfg.get("role") if ok else None
        pub["term"] = cfg.get("term") if ok else None
    if state["servers"]:
        out["server_leader"] = _server_leader(state["agents"])
    for server, pub in zip(state["servers"], out["servers"], strict=True):
        status, info = procs.http_json(
            server["url"] + "/_admin/server/role", time_limit=1.0, headers=ROOT_NO_PASSWORD
        )
        pub["alive"] = procs.alive(server["pid"])
        pub["role"] = info.get("role") if status == 200 and isinstance(info, dict) else None
        pub["mode"] = info.get("mode") if status == 200 and isinstance(info, dict) else None
        for field in ("afRole", "epoch", "lastTick", "leader"):
            pub[field] = info.get(field) if status == 200 and isinstance(info, dict) else None
    print_view(out, args.json)
    return EXIT_OK


def _server_leader(agents: list[dict[str, Any]]) -> str | None:
    """The server named leader in the agency (a linearizable agency read)."""
    leader = agency_leader(agents)
    return server_leader(next((a["url"] for a in agents if a["id"] == leader), None))


def cmd_down(args: argparse.Namespace) -> int:
    from harness.cli import cluster_docker

    if cluster_docker.wants_docker(args):
        return cluster_docker.cmd_down(args)
    state_dir = os.path.abspath(args.state_dir)
    try:
        state = load_state(state_dir)
    except ClusterCommandError as exc:
        print(f"afcheck cluster down: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if state is None:
        print(f"afcheck cluster down: no cluster in {args.state_dir}", file=sys.stderr)
        return EXIT_OK
    survivors = [n["id"] for n in _nodes(state) if not procs.stop(n["pid"])]
    if survivors:
        print(f"afcheck cluster down: still running: {', '.join(survivors)}", file=sys.stderr)
        return EXIT_HARNESS
    os.unlink(state_path(state_dir))
    stopped = [n["id"] for n in _nodes(state)]
    print_view({"backend": "local", "state_dir": state_dir, "stopped": stopped}, args.json)
    return EXIT_OK
