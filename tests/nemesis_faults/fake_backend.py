"""An in-memory backend for unit tests of fault plans: records what faults did."""

from __future__ import annotations

from typing import Any

from harness.infra.backends.base import Link, Node
from harness.infra.backends.credentials import NO_AUTH
from harness.infra.net import directed_links


class RecordingNetwork:
    def __init__(self, agents: list[str], servers: list[str]) -> None:
        self._links = [
            Link(src, dst, f"{src}->{dst}", "l", "u")
            for src, dst in directed_links(agents, servers)
        ]
        self.cut_links: set[tuple[str, str]] = set()
        self.toxics: dict[tuple[str, str], list[tuple[str, Any]]] = {}

    def links(self) -> list[Link]:
        return list(self._links)

    async def cut(self, links: list[tuple[str, str]]) -> None:
        self.cut_links.update(links)

    async def slow(self, links: list[tuple[str, str]], latency_ms: int, jitter_ms: int) -> None:
        for lk in links:
            self.toxics.setdefault(lk, []).append(("latency", (latency_ms, jitter_ms)))

    async def reset_peer(self, links: list[tuple[str, str]], timeout_ms: int) -> None:
        for lk in links:
            self.toxics.setdefault(lk, []).append(("reset_peer", timeout_ms))

    async def limit_data(self, links: list[tuple[str, str]], nbytes: int) -> None:
        for lk in links:
            self.toxics.setdefault(lk, []).append(("limit_data", nbytes))

    async def heal(self, links: list[tuple[str, str]] | None = None) -> None:
        targets = set(links) if links is not None else set(self.cut_links) | set(self.toxics)
        self.cut_links -= targets
        for lk in targets:
            self.toxics.pop(lk, None)


class RecordingBackend:
    name = "recording"
    credentials = NO_AUTH

    def __init__(self, agents: int = 3, servers: int = 2) -> None:
        ids = [f"a{i}" for i in range(1, agents + 1)] + [f"s{i}" for i in range(1, servers + 1)]
        self._nodes = {
            i: Node(i, "agent" if i[0] == "a" else "server", "u", "d", "", "", "", pid=100 + n)
            for n, i in enumerate(ids)
        }
        self._net = RecordingNetwork(
            [i for i in ids if i[0] == "a"], [i for i in ids if i[0] == "s"]
        )
        self.running = set(ids)
        self.paused: set[str] = set()
        self.clocks: dict[str, tuple[float, float]] = {}
        self.events: list[tuple[str, str]] = []

    async def start(self, spec: Any) -> None: ...

    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    def node(self, node_id: str) -> Node:
        return self._nodes[node_id]

    @property
    def net(self) -> RecordingNetwork:
        return self._net

    async def kill(self, node_id: str) -> None:
        self.running.discard(node_id)
        self.events.append(("kill", node_id))

    async def stop(self, node_id: str) -> None:
        await self.kill(node_id)

    async def start_node(self, node_id: str) -> None:
        self.running.add(node_id)
        self.events.append(("start", node_id))

    async def restart(self, node_id: str) -> None:
        await self.start_node(node_id)

    async def pause(self, node_id: str) -> None:
        self.paused.add(node_id)

    async def resume(self, node_id: str) -> None:
        self.paused.discard(node_id)

    async def set_clock(self, node_id: str, offset: float, rate: float = 1.0) -> None:
        self.clocks[node_id] = (offset, rate)

    async def is_running(self, node_id: str) -> bool:
        return node_id in self.running

    async def collect_logs(self, dest_dir: str) -> None: ...

    async def teardown(self) -> None: ...
