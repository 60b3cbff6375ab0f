"""``afcheck cluster up|status|down``: a cluster of detached local processes.

``up`` starts the cluster with :class:`harness.infra.backends.local.LocalBackend`
(the same backend a test run uses: Toxiproxy with one proxy per directed link,
then the agents, then the servers), waits until the agency has a Raft leader
and a server leads, records pids, ports and URLs in ``<state-dir>/cluster.json``
and lets go of the processes (:meth:`LocalBackend.detach`), so the cluster
outlives the command. Each process keeps the locks of its ports, so they stay
claimed against parallel harness processes while the cluster lives and are
free again once ``down`` has stopped it. ``status`` asks every node for its
view; ``down`` stops every process group (nodes and Toxiproxy) and checks that
none is left, but only a pid whose start time and command line are still the
ones recorded at ``up`` (a pid the system reused is left alone).

Every cluster gets its own random secret and root password (``--root-password``
overrides the latter), kept 0600 in the state directory and printed by
``up --json`` under ``auth``; ``status`` uses them. Node logs: ``<state-dir>/nodes/<id>/<id>.log``.
With ``--backend docker`` the cluster is containers instead (:mod:`harness.cli.cluster_docker`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from harness.cli import cluster_ops
from harness.cli.cluster_state import (
    EXIT_HARNESS,
    EXIT_OK,
    EXIT_USAGE,
    ClusterCommandError,
    load_credentials,
    load_state,
    parse_flags,
    print_view,
    process_identity,
    same_process,
    server_leader,
    state_path,
    write_state,
)
from harness.infra import procs
from harness.infra.backends.base import ClusterSpec, Node
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.backends.credentials import Credentials
from harness.infra.backends.node_table import NodeStartError
from harness.infra.probe import http_json
from harness.infra.toxiproxy import ToxiproxyError


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
    up.add_argument(
        "--root-password",
        default=None,
        help="root's password on the servers (default: a random one, kept in the state dir)",
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
    cluster_ops.register(sub)  # switchover, restart --rolling


def _nodes(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [*state.get("agents", []), *state.get("servers", [])]


def _direct(node: dict[str, Any]) -> str:
    """Where the harness asks a node directly (past its client proxy)."""
    return str(node.get("direct_url") or node["url"])


def _pids(state: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(name, pid, record) of every process the cluster runs: its nodes, then Toxiproxy."""
    out = [(str(n["id"]), n["pid"], n) for n in _nodes(state) if isinstance(n.get("pid"), int)]
    proxy = state.get("toxiproxy") or {}
    if isinstance(proxy.get("pid"), int):
        out.append(("toxiproxy", proxy["pid"], proxy))
    return out


def _ours(pid: int, record: dict[str, Any]) -> bool:
    """Whether ``pid`` still runs the process recorded at ``up``."""
    return procs.alive(pid) and same_process(pid, record)


def _public(state: dict[str, Any], creds: Credentials | None = None) -> dict[str, Any]:
    keys = ("id", "url", "pid")
    out: dict[str, Any] = {
        "backend": "local",
        "state_dir": state["state_dir"],
        "agents": [{k: a[k] for k in keys} for a in state["agents"]],
        "servers": [{k: s[k] for k in keys} for s in state["servers"]],
    }
    if creds is not None:
        out["auth"] = creds.to_json()
    return out


def _with_identity(record: dict[str, Any], pid: int | None) -> dict[str, Any]:
    """``record`` plus the process's start time and command line (checked by ``down``)."""
    identity = process_identity(pid) if pid is not None else None
    if identity is not None:
        record.update(identity)
    return record


def _record(node: Node) -> dict[str, Any]:
    port = int(node.direct_url.rsplit(":", 1)[1])
    record = {
        "id": node.id,
        "url": node.url,
        "direct_url": node.direct_url,
        "pid": node.pid,
        "port": port,
        "log": node.log_path,
        "data_dir": node.data_dir,
    }
    return _with_identity(record, node.pid)


def _start(args: argparse.Namespace, state_dir: str, flags: dict[str, str]) -> dict[str, Any]:
    """Start the cluster, let go of it, and return its state record."""
    spec = ClusterSpec(
        agents=args.agents,
        servers=args.servers,
        replication=args.replication,
        agency_flags=flags,
        state_dir=state_dir,
        start_timeout=args.start_timeout,
        root_password=args.root_password,
    )
    cluster = BlockingBackend()
    try:
        cluster.start(spec)  # tears down what it started when it fails
        nodes = cluster.nodes()
        proxy = cluster.backend.toxiproxy
        state: dict[str, Any] = {
            "backend": "local",
            "state_dir": state_dir,
            "agents": [_record(n) for n in nodes if n.kind == "agent"],
            "servers": [_record(n) for n in nodes if n.kind == "server"],
            "toxiproxy": None,
        }
        if proxy is not None and proxy.proc is not None:
            state["toxiproxy"] = _with_identity(
                {"api": proxy.api, "pid": proxy.proc.pid}, proxy.proc.pid
            )
        write_state(state)
    except BaseException:
        cluster.close()
        raise
    cluster.detach()  # from here on the cluster outlives this process
    return state


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

        code = cluster_docker.cmd_up(args)
        if code == EXIT_OK:
            warn_few_servers(args.servers)
        return code
    try:
        old = load_state(state_dir)
        if old is not None and any(_ours(pid, rec) for _, pid, rec in _pids(old)):
            raise ClusterCommandError(
                f"a cluster is already up in {state_dir}; run `afcheck cluster down` first"
            )
        flags = parse_flags(args.agency_flag)
        if old is not None:  # a cluster that died on its own: forget it
            os.unlink(state_path(state_dir))
        os.makedirs(state_dir, exist_ok=True)
        state = _start(args, state_dir, flags)
    except (
        ClusterCommandError,
        NodeStartError,
        ToxiproxyError,
        OSError,
        TimeoutError,
        ValueError,
    ) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"afcheck cluster up: {reason}", file=sys.stderr)
        return EXIT_HARNESS
    print_view(_public(state, load_credentials(state_dir)), args.json)
    warn_few_servers(args.servers)
    return EXIT_OK


def warn_few_servers(servers: int) -> None:
    """Active Failover needs a follower to fail over to: say so on a smaller cluster."""
    if servers < 2:
        what = "no server, an agency only" if servers == 0 else "one server"
        print(
            f"warning: {what}; Active Failover needs at least 2 servers "
            "(a leader and a follower to take over)",
            file=sys.stderr,
        )


def agency_leader(agents: list[dict[str, Any]], creds: Credentials) -> str | None:
    """The id of an agent that reports itself leader, if any."""
    for agent in agents:
        status, cfg = http_json(
            _direct(agent) + "/_api/agency/config",
            time_limit=1.0,
            headers=creds.agency_headers(),
        )
        if status == 200 and isinstance(cfg, dict) and cfg.get("role") == "LEADER":
            return str(cfg["configuration"]["id"])
    return None


def cmd_status(args: argparse.Namespace) -> int:
    from harness.cli import cluster_docker

    if cluster_docker.wants_docker(args):
        return cluster_docker.cmd_status(args)
    try:
        state = load_state(os.path.abspath(args.state_dir))
        creds = load_credentials(os.path.abspath(args.state_dir))
    except ClusterCommandError as exc:
        print(f"afcheck cluster status: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if state is None:
        print(f"afcheck cluster status: no cluster in {args.state_dir}", file=sys.stderr)
        return EXIT_HARNESS
    out = _public(state)
    for agent, pub in zip(state["agents"], out["agents"], strict=True):
        status, cfg = http_json(
            _direct(agent) + "/_api/agency/config",
            time_limit=1.0,
            headers=creds.agency_headers(),
        )
        ok = status == 200 and isinstance(cfg, dict)
        pub["alive"] = procs.alive(agent["pid"])
        pub["leader"] = (cfg.get("leaderId") or None) if ok else None
        pub["role"] = cfg.get("role") if ok else None
        pub["term"] = cfg.get("term") if ok else None
    if state["servers"]:
        out["server_leader"] = _server_leader(state["agents"], creds)
    for server, pub in zip(state["servers"], out["servers"], strict=True):
        status, info = http_json(
            _direct(server) + "/_admin/server/role",
            time_limit=1.0,
            headers=creds.server_headers(),
        )
        pub["alive"] = procs.alive(server["pid"])
        pub["role"] = info.get("role") if status == 200 and isinstance(info, dict) else None
        pub["mode"] = info.get("mode") if status == 200 and isinstance(info, dict) else None
        for field in ("afRole", "epoch", "lastTick", "leader"):
            pub[field] = info.get(field) if status == 200 and isinstance(info, dict) else None
    print_view(out, args.json)
    return EXIT_OK


def _server_leader(agents: list[dict[str, Any]], creds: Credentials) -> str | None:
    """The server named leader in the agency (a linearizable agency read)."""
    leader = agency_leader(agents, creds)
    return server_leader(next((_direct(a) for a in agents if a["id"] == leader), None), creds)


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
    survivors: list[str] = []
    for name, pid, record in _pids(state):
        if procs.alive(pid) and not same_process(pid, record):
            print(
                f"afcheck cluster down: {name}: pid {pid} is no longer the process started by "
                "`cluster up` (start time or command line differ); left alone",
                file=sys.stderr,
            )
        elif not procs.stop(pid):
            survivors.append(name)
    if survivors:
        print(f"afcheck cluster down: still running: {', '.join(survivors)}", file=sys.stderr)
        return EXIT_HARNESS
    os.unlink(state_path(state_dir))
    stopped = [n["id"] for n in _nodes(state)]
    print_view({"backend": "local", "state_dir": state_dir, "stopped": stopped}, args.json)
    return EXIT_OK
