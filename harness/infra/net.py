"""The Toxiproxy topology: one proxy per directed link, and link faults on it.

For a cluster with agents ``a1..aN`` and servers ``s1..sM`` the directed
links are ``c->sK`` (clients to each server; this proxy's address is the
server's advertised URL, so redirects go through it too), ``sK->sJ``
(replication), ``sK->aI`` (a server's agency endpoints) and ``aI->aJ``
(Raft). A proxy is named ``"<src>-><dst>"``.

Faults are toxics on those proxies; :meth:`ToxiproxyNetwork.heal` removes
them, which closes the connections they held. A cut is a ``timeout`` toxic
with timeout 0 on both streams: no byte passes in either direction (like an
iptables DROP: connects to the proxy still succeed, data never arrives).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from harness.infra.backends.base import CLIENT, Link
from harness.infra.toxiproxy import STREAMS, ToxiproxyClient

LinkKey = tuple[str, str]

# toxic names, one family per fault kind, so heal can find them all
CUT = "cut"
SLOW = "slow"
RESET = "reset"
LIMIT = "limit"


def proxy_name(src: str, dst: str) -> str:
    return f"{src}->{dst}"


def directed_links(agents: list[str], servers: list[str]) -> list[LinkKey]:
    """Every directed link the cluster uses, in a stable order."""
    links: list[LinkKey] = [(CLIENT, s) for s in servers]
    links += [(s, t) for s in servers for t in servers if s != t]
    links += [(s, a) for s in servers for a in agents]
    links += [(a, b) for a in agents for b in agents if a != b]
    return links


class ToxiproxyNetwork:
    """Implements :class:`harness.infra.backends.base.Network` over one Toxiproxy server."""

    def __init__(self, client: ToxiproxyClient, links: Iterable[Link] = ()) -> None:
        self.client = client
        self._links: dict[LinkKey, Link] = {(lk.src, lk.dst): lk for lk in links}
        # toxics we added, per link, so heal(None) needs no listing round trip
        self._toxics: dict[LinkKey, set[str]] = {}

    async def create(self, src: str, dst: str, listen: str, upstream: str) -> Link:
        """Create the proxy for one directed link (replacing a stale one of that name)."""
        name = proxy_name(src, dst)
        await self.client.delete_proxy(name)
        proxy = await self.client.create_proxy(name, listen, upstream)
        link = Link(src=src, dst=dst, proxy=name, listen=proxy.listen, upstream=upstream)
        self._links[(src, dst)] = link
        return link

    def links(self) -> list[Link]:
        return list(self._links.values())

    def link(self, src: str, dst: str) -> Link:
        try:
            return self._links[(src, dst)]
        except KeyError:
            known = ", ".join(sorted(lk.proxy for lk in self._links.values()))
            raise KeyError(f"no proxied link {src}->{dst} (known: {known})") from None

    def active(self) -> dict[LinkKey, set[str]]:
        """Toxics this network added and has not healed yet, per link."""
        return {k: set(v) for k, v in self._toxics.items() if v}

    async def _each(self, links: list[LinkKey], apply: Callable[[Link], Awaitable[None]]) -> None:
        targets = [self.link(src, dst) for src, dst in links]
        await asyncio.gather(*(apply(lk) for lk in targets))

    async def _add(self, link: Link, kind: str, type_: str, attributes: dict[str, int]) -> None:
        for stream in STREAMS:
            name = f"{kind}-{stream}"
            await self.client.add_toxic(link.proxy, name, type_, stream, attributes)
            self._toxics.setdefault((link.src, link.dst), set()).add(name)

    async def cut(self, links: list[LinkKey]) -> None:
        await self._each(links, lambda lk: self._add(lk, CUT, "timeout", {"timeout": 0}))

    async def slow(self, links: list[LinkKey], latency_ms: int, jitter_ms: int) -> None:
        """Each direction of each link gets ``latency_ms`` +- ``jitter_ms`` of delay."""
        attrs = {"latency": latency_ms, "jitter": jitter_ms}
        await self._each(links, lambda lk: self._add(lk, SLOW, "latency", attrs))

    async def reset_peer(self, links: list[LinkKey], timeout_ms: int) -> None:
        attrs = {"timeout": timeout_ms}
        await self._each(links, lambda lk: self._add(lk, RESET, "reset_peer", attrs))

    async def limit_data(self, links: list[LinkKey], nbytes: int) -> None:
        attrs = {"bytes": nbytes}
        await self._each(links, lambda lk: self._add(lk, LIMIT, "limit_data", attrs))

    async def heal(self, links: list[LinkKey] | None = None) -> None:
        """Remove every toxic on these links (all links when ``None``)."""
        if links is None:
            await self.client.reset()
            self._toxics.clear()
            return

        async def clear(link: Link) -> None:
            for toxic in await self.client.toxics(link.proxy):
                await self.client.remove_toxic(link.proxy, toxic.name)
            self._toxics.pop((link.src, link.dst), None)

        await self._each(links, clear)
