"""``afcheck cluster switchover [--to sN]`` and ``afcheck cluster restart --rolling [--upgrade X]``.

Both act on the cluster ``afcheck cluster up`` started, local or Docker.

``switchover`` asks the leading server to hand its role over
(``POST /_admin/cluster/switchover`` with a member token signed with the
cluster secret): it stops taking writes, waits until the chosen follower holds
every write and moves the leader key to it; nothing is stopped.

``restart --rolling`` restarts the servers one at a time, followers first,
the leader last: each is stopped with SIGTERM (a leader hands over first, see
:mod:`cluster.server.handover`), started again with the command line and
environment it ran with, and waited for until it follows the leader and holds
its last tick. ``--upgrade PATH`` starts each with the source tree ``PATH``
first on ``PYTHONPATH`` (a new build of the servers). On a Docker cluster
``--upgrade IMAGE`` recreates each server's container from the node image
``IMAGE`` (:mod:`harness.cli.cluster_docker_ops`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness.cli.cluster_state import (
    EXIT_HARNESS,
    EXIT_OK,
    EXIT_USAGE,
    ClusterCommandError,
    load_state,
    process_identity,
    same_process,
    write_state,
)
from harness.infra import procs
from harness.infra.backends import credentials
from harness.infra.probe import http_json

STOP_GRACE = 10.0  # seconds a server gets to hand over and exit before SIGKILL
CATCH_UP_S = 60.0


def register(sub: Any) -> None:
    """Add ``switchover`` and ``restart`` to the ``afcheck cluster`` subcommands."""
    sw = sub.add_parser("switchover", help="hand leadership to a caught-up follower")
    sw.add_argument("--to", default=None, metavar="ID", help="the server to hand over to")
    sw.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for it")
    rs = sub.add_parser("restart", help="restart the servers one by one without a failover")
    rs.add_argument("--rolling", action="store_true", required=True, help="one server at a time")
    rs.add_argument(
        "--upgrade",
        default=None,
        metavar="PATH|IMAGE",
        help="local: start the servers from the source tree PATH (first on PYTHONPATH);"
        " docker: recreate their containers from the node image IMAGE",
    )
    for p in (sw, rs):
        p.add_argument("--state-dir", default="store/cluster")
        p.add_argument("--json", action="store_true", help="print JSON")
    sw.set_defaults(func=cmd_switchover)
    rs.set_defaults(func=cmd_restart)


class _Cluster:
    """The recorded local cluster and how to talk to its servers."""

    def __init__(self, state_dir: str) -> None:
        state = load_state(state_dir)
        if state is None:
            raise ClusterCommandError(f"no cluster in {state_dir}; run `afcheck cluster up`")
        self.state = state
        self.docker = state.get("backend", "local") == "docker"
        self.creds = credentials.load(state_dir)
        self.servers: list[dict[str, Any]] = list(state.get("servers", []))
        if not self.servers:
            raise ClusterCommandError("the cluster has no servers")

    def url(self, sid: str) -> str:
        for s in self.servers:
            if s["id"] == sid:
                return str(s.get("direct_url") or s["url"])
        raise ClusterCommandError(f"no server {sid!r} (servers: {self.ids()})")

    def ids(self) -> list[str]:
        return [str(s["id"]) for s in self.servers]

    def role(self, sid: str) -> dict[str, Any] | None:
        status, body = http_json(
            self.url(sid) + "/_admin/server/role",
            time_limit=2.0,
            headers=self.creds.server_headers(),
        )
        return body if status == 200 and isinstance(body, dict) else None

    def leader(self, limit: float = 20.0) -> str:
        deadline = time.monotonic() + limit
        while True:
            leaders = [
                sid
                for sid in self.ids()
                if (r := self.role(sid)) and r.get("afRole") == "leader"
                if r.get("details", {}).get("leaseValid")
            ]
            if len(leaders) == 1:
                return leaders[0]
            if time.monotonic() > deadline:
                raise ClusterCommandError(f"no single leading server within {limit:g} s")
            time.sleep(0.1)

    def switchover(self, to: str | None, timeout: float) -> dict[str, Any]:
        leader = self.leader()
        body: dict[str, Any] = {"timeout": timeout}
        if to is not None:
            body["to"] = to
        status, answer = http_json(
            self.url(leader) + "/_admin/cluster/switchover",
            body,
            time_limit=timeout + 10.0,
            headers=self.creds.agency_headers() or self.creds.server_headers(),
        )
        if status != 200 or not isinstance(answer, dict):
            reason = answer.get("errorMessage") if isinstance(answer, dict) else answer
            raise ClusterCommandError(f"switchover refused by {leader} (HTTP {status}): {reason}")
        return answer

    def wait_following(self, sid: str, limit: float = CATCH_UP_S) -> str:
        """Wait until ``sid`` follows the leader and holds its last tick; the leader's id."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            mine = self.role(sid)
            leader = (mine or {}).get("leader")
            theirs = self.role(str(leader)) if leader and leader != sid else None
            applier = (mine or {}).get("details", {}).get("applier", {})
            if (
                mine
                and theirs
                and mine.get("afRole") == "follower"
                and applier.get("phase") == "tailing"
                and mine.get("lastTick", -1) >= theirs.get("lastTick", 0)
            ):
                return str(leader)
            time.sleep(0.1)
        raise ClusterCommandError(f"{sid} did not catch up with the leader within {limit:g} s")

    def restart(self, sid: str, upgrade: str | None) -> None:
        """SIGTERM ``sid``, then start it again as it ran (with ``upgrade`` on PYTHONPATH)."""
        record = next(s for s in self.servers if s["id"] == sid)
        pid = int(record["pid"])
        if "start_time" in record and not same_process(pid, record):
            raise ClusterCommandError(
                f"{sid}: pid {pid} is no longer the process the state records; left alone"
            )
        command, env = _command_of(pid, sid)
        if upgrade is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (upgrade, env.get("PYTHONPATH", "")) if p
            )
        if not procs.stop(pid, STOP_GRACE):
            raise ClusterCommandError(f"{sid} (pid {pid}) did not exit")
        proc = procs.spawn(command, str(record["log"]), env)
        procs.let_go(proc)
        record["pid"] = proc.pid
        record.update(process_identity(proc.pid) or {})
        write_state(self.state)


def _command_of(pid: int, sid: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a running process (Linux ``/proc``)."""
    try:
        raw_cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        raw_env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError as exc:
        raise ClusterCommandError(f"cannot read how {sid} (pid {pid}) was started: {exc}") from exc
    command = [part.decode() for part in raw_cmd.split(b"\0") if part]
    env = dict(part.decode().split("=", 1) for part in raw_env.split(b"\0") if b"=" in part)
    if not command:
        raise ClusterCommandError(f"{sid} (pid {pid}) is not running")
    return command, env


def _upgrade_tree(path: str | None) -> str | None:
    if path is None:
        return None
    tree = os.path.abspath(path)
    if not os.path.isfile(os.path.join(tree, "cluster", "server", "__main__.py")):
        raise ValueError(f"--upgrade {path}: not a source tree (no cluster/server/__main__.py)")
    return tree


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data))
    else:
        print(" ".join(f"{k}={v}" for k, v in data.items()))


def cmd_switchover(args: argparse.Namespace) -> int:
    if not 0 < args.timeout <= 60:
        print("error: --timeout must be in (0, 60] seconds", file=sys.stderr)
        return EXIT_USAGE
    try:
        answer = _Cluster(os.path.abspath(args.state_dir)).switchover(args.to, args.timeout)
    except ClusterCommandError as exc:
        print(f"afcheck cluster switchover: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    _print({k: answer[k] for k in ("old", "new", "epoch", "tick", "seconds")}, args.json)
    return EXIT_OK


def cmd_restart(args: argparse.Namespace) -> int:
    try:
        cluster = _Cluster(os.path.abspath(args.state_dir))
        upgrade = args.upgrade if cluster.docker else _upgrade_tree(args.upgrade)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ClusterCommandError as exc:
        print(f"afcheck cluster restart: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    try:
        leader = cluster.leader()
        order = [s for s in cluster.ids() if s != leader] + [leader]
        if cluster.docker:
            from harness.cli.cluster_docker_ops import rolling_restart

            def say(line: str) -> None:
                print(line, file=sys.stderr)

            leader = rolling_restart(cluster.state, order, upgrade, cluster.wait_following, say)
        else:
            for sid in order:
                cluster.restart(sid, upgrade)
                leader = cluster.wait_following(sid)
                print(f"restarted {sid}; it follows {leader}", file=sys.stderr)
    except ClusterCommandError as exc:
        print(f"afcheck cluster restart: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    _print({"restarted": ",".join(order), "leader": leader, "upgrade": upgrade or ""}, args.json)
    return EXIT_OK
