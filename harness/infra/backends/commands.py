"""The command-line arguments of a node, as every backend passes them.

A backend decides addresses (where a node listens, how it reaches each peer
and the agency) and paths; these functions turn them into the arguments of
``python -m cluster.agency`` and ``python -m cluster.server``. The agency's
``grace-period`` flag is passed on to servers as ``agency-grace-period`` so
a server's leader lease stays shorter than supervision's grace period.
``auth`` are the credential flags (:mod:`harness.infra.backends.credentials`).
"""

from __future__ import annotations


def extra_flags(flags: dict[str, str]) -> list[str]:
    """``{"grace-period": "3"}`` -> ``["--grace-period", "3"]``."""
    out: list[str] = []
    for key, value in flags.items():
        out += [f"--{key.lstrip('-')}", str(value)]
    return out


def agent_args(
    node_id: str,
    listen: str,
    data_dir: str,
    clock_file: str,
    peers: list[str],
    flags: dict[str, str],
    auth: list[str],
    advertise: str | None = None,
) -> list[str]:
    """Arguments after ``-m cluster.agency``; ``peers`` as ``id=url``."""
    args = ["--id", node_id, "--listen", listen, "--data-dir", data_dir, *auth]
    if advertise is not None:
        args += ["--advertise", advertise]
    args += ["--clock-file", clock_file]
    for peer in peers:
        args += ["--peer", peer]
    return args + extra_flags(flags)


def server_args(
    node_id: str,
    listen: str,
    advertise: str,
    agency: list[str],
    data_dir: str,
    replication: str,
    clock_file: str,
    peers: list[str],
    flags: dict[str, str],
    agency_flags: dict[str, str],
    auth: list[str],
) -> list[str]:
    """Arguments after ``-m cluster.server``; ``peers`` as ``id=url``, ``agency`` as URLs."""
    args = ["--id", node_id, "--listen", listen, "--advertise", advertise, *auth]
    args += ["--agency", ",".join(agency), "--data-dir", data_dir]
    args += ["--replication", replication, "--clock-file", clock_file]
    for peer in peers:
        args += ["--peer", peer]
    merged = dict(flags)
    grace = agency_flags.get("grace-period")
    if grace is not None:
        merged.setdefault("agency-grace-period", grace)
    return args + extra_flags(merged)
