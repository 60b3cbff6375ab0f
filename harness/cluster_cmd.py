"""``afcheck cluster up|status|down``: a cluster of detached local processes.

``up`` starts agents (and servers, when ``cluster.server`` exists) on free
loopback ports, waits until every agent answers and a Raft leader is
elected, and records pids, ports and URLs in ``<state-dir>/cluster.json``.
``status`` asks every node for its view; ``down`` stops every process group
and checks that none is left. Node logs: ``<state-dir>/nodes/<id>/node.log``.
With ``--backend docker`` the cluster is containers instead (:mod:`harness.cluster_docker`).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import json
import os
import shutil
import sys
import time
from typing import Any

from harness import procs

EXIT_OK, EXIT_HARNESS, EXIT_USAGE = 0, 3, 4
STATE_FILE = "cluster.json"
# servers start with user root and an empty password unless configured otherwise
ROOT_NO_PASSWORD = {"Authorization": "Basic " + base64.b64encode(b"root:").decode()}


class ClusterCommandError(Exception):
    """A one-line reason the command failed (exit code 3)."""


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


def _state_path(state_dir: str) -> str:
    return os.path.join(state_dir, STATE_FILE)


def load_state(state_dir: str) -> dict[str, Any] | None:
    try:
        with open(_state_path(state_dir), encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ClusterCommandError(f"cannot read {_state_path(state_dir)}: {exc}") from exc
    if not isinstance(data, dict):
        raise ClusterCommandError(f"{_state_path(state_dir)} is not a cluster state file")
    return data


def _nodes(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [*state.get("agents", []), *state.get("servers", [])]


def _parse_flags(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ClusterCommandError(f"--agency-flag expects KEY=VALUE, got {pair!r}")
        out[key.lstrip("-")] = value
    return out


def _public(state: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "url", "pid")
    return {
        "backend": "local",
        "state_dir": state["state_dir"],
        "agents": [{k: a[k] for k in keys} for a in state["agents"]],
        "servers": [{k: s[k] for k in keys} for s in state["servers"]],
    }


def start_agents(
    state_dir: str, count: int, flags: dict[str, str], taken: set[int]
) -> list[dict[str, Any]]:
    """Spawn ``count`` agents that know each other; their records (not yet waited for)."""
    ids = [f"a{i + 1}" for i in range(count)]
    ports = {i: procs.free_port(taken) for i in ids}
    urls = {i: f"http://127.0.0.1:{ports[i]}" for i in ids}
    out = []
    for ident in ids:
        node_dir = os.path.join(state_dir, "nodes", ident)
        log_path = os.path.join(node_dir, "node.log")
        extra = {"clock-file": os.path.join(node_dir, "clock.json"), **flags}
        peers = {p: urls[p] for p in ids if p != ident}
        cmd = procs.agent_command(ident, ports[ident], peers, os.path.join(node_dir, "data"), extra)
        pid = procs.spawn(cmd, log_path)
        out.append(
            {"id": ident, "url": urls[ident], "pid": pid, "port": ports[ident], "log": log_path}
        )
    return out


def start_servers(
    state_dir: str, count: int, agency: list[str], replication: str, taken: set[int]
) -> list[dict[str, Any]]:
    out = []
    ports = {f"s{k + 1}": procs.free_port(taken) for k in range(count)}
    for ident, port in ports.items():
        node_dir = os.path.join(state_dir, "nodes", ident)
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable,
            "-m",
            "cluster.server",
            "--id",
            ident,
            "--listen",
            f"127.0.0.1:{port}",
            "--advertise",
            url,
            "--agency",
            ",".join(agency),
            "--data-dir",
            os.path.join(node_dir, "data"),
            "--replication",
            replication,
            "--clock-file",
            os.path.join(node_dir, "clock.json"),
        ]
        for other, other_port in ports.items():
            if other != ident:
                cmd += ["--peer", f"{other}=http://127.0.0.1:{other_port}"]
        log_path = os.path.join(node_dir, "node.log")
        pid = procs.spawn(cmd, log_path)
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
        from harness import cluster_docker

        return cluster_docker.cmd_up(args)
    state: dict[str, Any] = {
        "backend": "local",
        "state_dir": state_dir,
        "agents": [],
        "servers": [],
    }
    try:
        old = load_state(state_dir)
        if old is not None and any(procs.alive(n["pid"]) for n in _nodes(old)):
            raise ClusterCommandError(
                f"a cluster is already up in {state_dir}; run `afcheck cluster down` first"
            )
        if args.servers > 0 and importlib.util.find_spec("cluster.server.__main__") is None:
            raise ClusterCommandError("servers are not available yet (no cluster.server)")
        flags = _parse_flags(args.agency_flag)
        shutil.rmtree(os.path.join(state_dir, "nodes"), ignore_errors=True)
        os.makedirs(state_dir, exist_ok=True)
        taken: set[int] = set()
        state["agents"] = start_agents(state_dir, args.agents, flags, taken)
        _write_state(state)
        agency = [a["url"] for a in state["agents"]]
        state["servers"] = start_servers(state_dir, args.servers, agency, args.replication, taken)
        _write_state(state)
        _wait_ready(state, time.monotonic() + args.start_timeout)
    except (ClusterCommandError, OSError) as exc:
        for node in _nodes(state):
            procs.stop(node["pid"])
        if state["agents"]:
            with contextlib.suppress(OSError):
                os.unlink(_state_path(state_dir))
        print(f"afcheck cluster up: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    _print(_public(state), args.json)
    return EXIT_OK


def _write_state(state: dict[str, Any]) -> None:
    path = _state_path(state["state_dir"])
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
    os.replace(tmp, path)


def cmd_status(args: argparse.Namespace) -> int:
    from harness import cluster_docker

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
    _print(out, args.json)
    return EXIT_OK


def _server_leader(agents: list[dict[str, Any]]) -> str | None:
    """The server named leader in the agency (a linearizable agency read)."""
    leader = agency_leader(agents)
    url = next((a["url"] for a in agents if a["id"] == leader), None)
    if url is None:
        return None
    key = "/arango/Plan/AsyncReplication/Leader"
    status, body = procs.http_json(url + "/_api/agency/read", [[key]], time_limit=2.0)
    if status != 200 or not isinstance(body, list) or not body:
        return None
    node: Any = body[0]
    for part in key.strip("/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def cmd_down(args: argparse.Namespace) -> int:
    from harness import cluster_docker

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
    os.unlink(_state_path(state_dir))
    stopped = [n["id"] for n in _nodes(state)]
    _print({"backend": "local", "state_dir": state_dir, "stopped": stopped}, args.json)
    return EXIT_OK


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data))
        return
    for kind in ("agents", "servers"):
        for node in data.get(kind, []):
            extras = " ".join(f"{k}={v}" for k, v in node.items() if k not in ("id", "url"))
            print(f"{node['id']} {node['url']} {extras}")
    if "stopped" in data:
        print("stopped: " + " ".join(data["stopped"]))
