"""What ``afcheck cluster`` keeps and prints, whichever backend runs the cluster.

The state file ``<state-dir>/cluster.json`` (written atomically), the
cluster's credentials (``<state-dir>/cluster-secret`` and ``root-password``,
0600), the identity of a recorded process (its start time and command line,
so ``down`` never signals a pid that was reused), the ``--agency-flag
KEY=VALUE`` parsing, the text or JSON output, and the agency read that names
the leading server. :mod:`harness.cli.cluster` (local
processes) and :mod:`harness.cli.cluster_docker` (containers) both use them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from harness.infra.backends import credentials
from harness.infra.backends.credentials import Credentials, SecretError
from harness.infra.probe import http_json

EXIT_OK, EXIT_HARNESS, EXIT_USAGE = 0, 3, 4
STATE_FILE = "cluster.json"
SERVER_LEADER_KEY = "/arango/Plan/AsyncReplication/Leader"


class ClusterCommandError(Exception):
    """A one-line reason the command failed (exit code 3)."""


def state_path(state_dir: str) -> str:
    return os.path.join(state_dir, STATE_FILE)


def load_state(state_dir: str) -> dict[str, Any] | None:
    """The recorded cluster, or None when there is no state file."""
    path = state_path(state_dir)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ClusterCommandError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ClusterCommandError(f"{path} is not a cluster state file")
    return data


def write_state(state: dict[str, Any]) -> None:
    """Replace ``<state["state_dir"]>/cluster.json`` atomically."""
    path = state_path(state["state_dir"])
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
    os.replace(tmp, path)


def load_credentials(state_dir: str) -> Credentials:
    """The credentials kept in ``state_dir`` (none: authentication off)."""
    try:
        return credentials.load(state_dir)
    except SecretError as exc:
        raise ClusterCommandError(str(exc)) from exc


def process_identity(pid: int) -> dict[str, Any] | None:
    """``{"start_time", "cmdline"}`` of a running process (from ``/proc``), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            stat = fh.read()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    cmdline = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return {"start_time": int(fields[19]), "cmdline": cmdline}


def same_process(pid: int, recorded: dict[str, Any]) -> bool:
    """Whether ``pid`` is still the process recorded at ``up`` (start time and command line)."""
    now = process_identity(pid)
    if now is None:
        return False
    return bool(
        now["start_time"] == recorded.get("start_time")
        and now["cmdline"] == recorded.get("cmdline")
    )


def parse_flags(pairs: list[str]) -> dict[str, str]:
    """``["grace-period=3"]`` -> ``{"grace-period": "3"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ClusterCommandError(f"--agency-flag expects KEY=VALUE, got {pair!r}")
        out[key.lstrip("-")] = value
    return out


def print_view(data: dict[str, Any], as_json: bool) -> None:
    """One line per node (or one JSON object), plus the stopped nodes after ``down``."""
    if as_json:
        print(json.dumps(data))
        return
    for kind in ("agents", "servers"):
        for node in data.get(kind, []):
            extras = " ".join(f"{k}={v}" for k, v in node.items() if k not in ("id", "url"))
            print(f"{node['id']} {node['url']} {extras}")
    if "stopped" in data:
        print("stopped: " + " ".join(data["stopped"]))


def server_leader(agency_url: str | None, creds: Credentials) -> str | None:
    """The server the agency at ``agency_url`` names leader (a linearizable agency read)."""
    if agency_url is None:
        return None
    status, body = http_json(
        agency_url + "/_api/agency/read",
        [[SERVER_LEADER_KEY]],
        time_limit=2.0,
        headers=creds.agency_headers(),
    )
    if status != 200 or not isinstance(body, list) or not body:
        return None
    node: Any = body[0]
    for part in SERVER_LEADER_KEY.strip("/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None
