"""One agency agent: Raft + the Store + the HTTP API + leader-only duties.

Leader-only duties start when this agent's first entry of its term is
applied and stop when it loses leadership: TTL expiry proposals, supervision
and observer callbacks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from aiohttp import web

from cluster.agency.api import build_app
from cluster.agency.auth import resolve_secret
from cluster.agency.callbacks import CallbackDispatcher
from cluster.agency.client_api import commit_writes
from cluster.agency.config import AgentConfig, parse_listen
from cluster.agency.log_store import LogStore
from cluster.agency.raft import RaftNode
from cluster.agency.raft_transport import HttpTransport
from cluster.agency.raft_types import NotLeader, RaftSettings, StateMachine
from cluster.agency.store import ApplyResult, Store, parse_write
from cluster.agency.supervision import Supervision, SupervisionConfig
from cluster.common import clock
from cluster.common.errors import (
    ERROR_AGENCY_NOT_LEADER,
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ArangoError,
)
from cluster.common.http import app_runner, client_session
from cluster.common.tokens import InternalToken

log = logging.getLogger(__name__)

BATCH_BODIES = 4  # an appendEntries carries at most about this many client bodies' worth


def _make_store(data: dict[str, Any] | None) -> StateMachine:
    return Store.restore(data) if data else Store()


class Agent:
    """An agency agent process's whole state (see ``python -m cluster.agency``)."""

    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.peer_urls = cfg.peers()
        # SecretError (before anything is opened) when there is no secret and no --insecure-no-auth
        self.secret = resolve_secret(cfg.id, cfg.jwt_secret_file, cfg.insecure_no_auth)
        self.token = InternalToken(self.secret, server_id=cfg.id)
        self.log_store = LogStore(cfg.data_dir)
        self.settings = RaftSettings(
            node_id=cfg.id,
            peers=sorted(self.peer_urls),
            heartbeat_interval=cfg.heartbeat_interval,
            election_timeout_min=cfg.election_timeout_min,
            election_timeout_max=cfg.election_timeout_max,
            rpc_timeout=cfg.rpc_timeout,
            snapshot_every=cfg.snapshot_every,
            max_batch=cfg.max_batch,
            max_batch_bytes=BATCH_BODIES * cfg.body_limit,
            seed=None if cfg.seed < 0 else cfg.seed,
            group_commit=cfg.group_commit,
        )
        self._session = client_session(max(cfg.rpc_timeout, 10.0))
        self.transport = HttpTransport(cfg.id, self.peer_urls, self._session, self.token.headers)
        self.raft = RaftNode(self.settings, self.log_store, self.transport, _make_store)
        self.raft.on_apply = self._after_apply
        self.raft.on_leadership = self._leadership_changed
        self._runner: web.AppRunner | None = None
        self._leader_tasks: list[asyncio.Task[None]] = []
        self._leader_stop = asyncio.Event()
        self._retiring: set[asyncio.Task[None]] = set()
        self._extensions = LeaderExtensions(self)

    @property
    def store(self) -> Store:
        return cast(Store, self.raft.sm)

    def pool_urls(self) -> list[str]:
        """Every agent's URL as this agent knows it (its own included)."""
        return [self.cfg.own_url(), *self.peer_urls.values()]

    def url_of(self, agent_id: str) -> str | None:
        if agent_id == self.cfg.id:
            return self.cfg.own_url()
        return self.peer_urls.get(agent_id)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        host, port = parse_listen(self.cfg.listen)
        self._runner = app_runner(build_app(self))
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port, reuse_address=True).start()
        await self._extensions.open()
        self.raft.start()
        log.info(
            "%s: agent listening on %s, peers %s", self.cfg.id, self.cfg.listen, self.peer_urls
        )

    async def stop(self) -> None:
        await self.raft.stop()
        await self._stop_leader_tasks()
        await self._extensions.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self._session.close()
        self.log_store.close()

    # ------------------------------------------------------- client requests
    async def propose(self, entries: list[dict[str, Any]], operation: str) -> list[int]:
        """Commit ``entries``; the ArangoDB ``results`` (index, or 0 for a failed precondition)."""
        try:
            done = await asyncio.wait_for(self.raft.propose(entries), self.cfg.write_timeout)
        except TimeoutError as exc:
            raise ArangoError(
                503,
                ERROR_HTTP_SERVICE_UNAVAILABLE,
                f"{self.cfg.id}: {operation}: not committed within {self.cfg.write_timeout}s",
            ) from exc
        except NotLeader as exc:
            raise ArangoError(
                503,
                ERROR_AGENCY_NOT_LEADER,
                f"{self.cfg.id}: {operation}: leadership lost; outcome unknown",
                extra={"leaderId": exc.leader_id},
            ) from exc
        results: list[int] = []
        for index, result in done:
            if isinstance(result, Exception):
                raise ArangoError(
                    500, ERROR_HTTP_SERVICE_UNAVAILABLE, f"{self.cfg.id}: {operation}: {result}"
                )
            ok = isinstance(result, ApplyResult) and result.ok
            results.append(index if ok else 0)
        return results

    async def linearizable_barrier(self, operation: str) -> None:
        """Wait until a local read is linearizable, or raise 503."""
        try:
            await self.raft.read_barrier(self.cfg.write_timeout)
        except TimeoutError as exc:
            raise ArangoError(
                503,
                ERROR_HTTP_SERVICE_UNAVAILABLE,
                f"{self.cfg.id}: {operation}: leadership not confirmed in time",
            ) from exc
        except NotLeader as exc:
            raise ArangoError(
                503,
                ERROR_AGENCY_NOT_LEADER,
                f"{self.cfg.id}: {operation}: not the leader",
                extra={"leaderId": exc.leader_id},
            ) from exc

    def config_view(self) -> dict[str, Any]:
        st = self.raft.status()
        pool = {self.cfg.id: self.cfg.own_url(), **self.peer_urls}
        return {
            "term": st["term"],
            "leaderId": st["leaderId"] or "",
            "commitIndex": st["commitIndex"],
            "lastApplied": st["lastApplied"],
            "lastIndex": st["lastIndex"],
            "snapshotIndex": st["snapshotIndex"],
            "lastAcked": {p: {"lastAckedTime": t} for p, t in st["lastAcked"].items()},
            "role": st["role"].upper(),
            "configuration": {
                "id": self.cfg.id,
                "pool": pool,
                "active": sorted(pool),
                "agency size": len(pool),
                "pool size": len(pool),
                "endpoint": self.cfg.own_url(),
                "supervision": self.cfg.supervision,
                "timeoutMult": 1,
                "min ping": self.cfg.election_timeout_min,
                "max ping": self.cfg.election_timeout_max,
            },
            "stats": dict(self.raft.stats, fsyncs=self.log_store.fsyncs),
        }

    # --------------------------------------------------- leader-only duties
    def _leadership_changed(self, leading: bool) -> None:
        if leading:
            self._leader_stop = asyncio.Event()
            self._leader_tasks = [
                asyncio.create_task(self._ttl_loop(self._leader_stop), name="ttl"),
                *self._extensions.start(self._leader_stop),
            ]
        else:
            self._leader_stop.set()  # they finish on their own; keep them referenced till then
            for task in self._leader_tasks:
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
            self._leader_tasks = []

    async def _stop_leader_tasks(self) -> None:
        self._leader_stop.set()
        tasks, self._leader_tasks = [*self._leader_tasks, *self._retiring], []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _ttl_loop(self, stop: asyncio.Event) -> None:
        """Propose an ``expire`` entry whenever keys' TTLs have passed (one at a time)."""
        while not stop.is_set():
            await asyncio.sleep(clock.real_duration(self.cfg.ttl_interval))
            if stop.is_set() or not self.raft.is_ready_leader():
                continue
            entry = self.store.due_expiries(clock.wall())
            if entry is None:
                continue
            try:
                await asyncio.wait_for(self.raft.propose([entry]), self.cfg.write_timeout)
            except (TimeoutError, NotLeader) as exc:
                log.info("%s: expiry not committed: %s", self.cfg.id, exc)

    def _after_apply(self, index: int, entry: dict[str, Any], result: Any) -> None:
        if not self.raft.is_leader() or not isinstance(result, ApplyResult) or not result.changed:
            return
        self._extensions.after_apply(index, result.changed)

    # ------------------------------------------- handle given to supervision
    async def write_transactions(self, transactions: list[list[Any]]) -> list[int]:
        """Write ``transactions`` (ArangoDB form) through Raft; results as the write API."""
        if not self.raft.is_leader():
            raise NotLeader(self.cfg.id, self.raft.leader_id, "supervision write")
        # as client writes: a transaction whose preconditions fail takes no log index
        entries = parse_write(transactions, clock.wall())
        return await commit_writes(self, entries, "supervision write")


class _SupervisionHandle:
    """The agent as supervision sees it (``supervision.AgencyHandle``)."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    def is_leader(self) -> bool:
        return self._agent.raft.is_ready_leader()

    def read_local(self, path: str) -> Any | None:
        return self._agent.store.get(path)

    async def write(self, transactions: list[list[Any]]) -> list[int]:
        return await self._agent.write_transactions(transactions)


class LeaderExtensions:
    """Supervision (a task while leading) and observer callbacks (dispatched while leading)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        cfg = agent.cfg
        self.supervision_config = SupervisionConfig(
            interval=cfg.supervision_interval,
            ok_threshold=cfg.ok_threshold,
            grace_period=cfg.grace_period,
            write_timeout=cfg.write_timeout,
        )
        self.dispatcher = CallbackDispatcher(cfg.id, is_leader=agent.raft.is_leader)

    async def open(self) -> None:
        await self.dispatcher.start()

    def start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        if not self.agent.cfg.supervision:
            return []
        # a fresh instance per leadership: nothing is carried over from an earlier term
        supervision = Supervision(_SupervisionHandle(self.agent), self.supervision_config)
        return [asyncio.create_task(supervision.run(stop), name="supervision")]

    def after_apply(self, index: int, changed: list[str]) -> None:
        for url, paths in self.agent.store.observers_for(changed).items():
            self.dispatcher.notify(url, paths, index)

    async def close(self) -> None:
        await self.dispatcher.stop()
