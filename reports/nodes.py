"""The report's nodes section: which nodes ran where, and links to their logs.

``test.json`` lists the cluster's nodes (``nodes[]``: id, kind, url, pid on
the local backend, container name on the Docker backend). The section shows
one row per node, the container column only when some node ran in one, and
links each node's collected logs (``nodes/<id>/*.log``, gzipped in a soak); logs of anything
else the backend collected (e.g. ``nodes/toxiproxy/``) are listed below.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from reports.context import Context, as_list, natural_key
from reports.html import code, h, note, raw, section, table, text


def node_rows(test: dict[str, Any]) -> list[dict[str, Any]]:
    """The well-formed entries of ``test.json``'s ``nodes``, sorted agents first, then servers."""
    rows = [n for n in as_list(test.get("nodes")) if isinstance(n, dict) and "id" in n]
    return sorted(rows, key=lambda n: (str(n.get("kind", "")), natural_key(str(n["id"]))))


def containers(test: dict[str, Any]) -> list[str]:
    """The container names of a run's nodes (empty for a run without containers)."""
    return [str(n["container"]) for n in node_rows(test) if n.get("container")]


def logs_by_node(node_logs: list[str]) -> dict[str, list[str]]:
    """``nodes/<id>/<file>.log[.gz]`` paths grouped by ``<id>``."""
    grouped: dict[str, list[str]] = {}
    for path in node_logs:
        parts = PurePosixPath(path).parts
        owner = parts[1] if len(parts) >= 3 else "?"
        grouped.setdefault(owner, []).append(path)
    return grouped


def _links(paths: list[str]) -> str:
    return " ".join(f'<a href="{h(p)}">{h(PurePosixPath(p).name)}</a>' for p in paths)


def nodes(ctx: Context) -> str:
    rows = node_rows(ctx.test)
    logs = logs_by_node(ctx.run.node_logs)
    if not rows and not logs:
        return ""
    with_containers = any(n.get("container") for n in rows)
    headers = ["node", "kind"]
    headers += ["container"] if with_containers else ["pid"]
    headers += ["url", "logs"]
    body_rows = []
    for n in rows:
        node_id = str(n["id"])
        row: list[Any] = [node_id, text(n.get("kind"))]
        row.append(raw(code(n.get("container"))) if with_containers else n.get("pid"))
        row.append(raw(code(n.get("url"))) if n.get("url") else "")
        found = logs.get(node_id, [])
        row.append(raw(_links(found)) if found else raw('<span class="missing">none</span>'))
        body_rows.append(row)
    body = table(headers, body_rows) if body_rows else note("test.json lists no nodes")
    known = {str(n["id"]) for n in rows}
    others = {k: v for k, v in logs.items() if k not in known}
    if others:
        items = "".join(f"<li>{h(k)}: {_links(v)}</li>" for k, v in sorted(others.items()))
        body += f"<h3>Other logs</h3><ul>{items}</ul>"
    if with_containers:
        body += note(
            f"{len(containers(ctx.test))} containers; each node's log is its container's "
            "output, saved at the end of the run."
        )
    return section("nodes", "Nodes", body)
