"""Routes of active failover: replication (leader side), endpoints, role and mode.

Replication routes (superuser JWT, the cluster secret):

* ``GET /_api/replication/logger-state``: the WAL's state, ArangoDB-shaped.
* ``GET /_api/replication/applier-state[?global=true]``: this follower's applier,
  ArangoDB-shaped (see :mod:`cluster.server.applier_state`); also under ``/_db/{name}/``.
  Like ArangoDB, users with ``rw`` on ``_system`` (root) may read it too.
* ``GET /_api/wal/tail?from=N&serverId=ID&epoch=E&limit=L&timeout=S``: WAL
  entries with ``tick >= N`` (long-poll up to ``timeout`` s when there are
  none). Headers ``X-Arango-Epoch`` (the leader's epoch; followers refuse an
  older one), ``X-Arango-Replication-Lastincluded``, ``-Checkmore``,
  ``-Lasttick``. The request itself acknowledges ``N - 1`` for follower ``ID``
  when ``E`` is the leader's epoch (sync mode relies on it). When tick ``N``
  was pruned (see :mod:`cluster.server.storage_retention`) the answer is
  ``410`` with errorNum 1414 (ArangoDB's "start tick not present") and
  ``X-Arango-Replication-Frompresent: false``: the follower must resync.
  Ticks and epochs outside ``0 .. 2**63-1`` answer ``400``.
* ``POST /_api/replication/match`` ``{"pairs": [[tick, epoch], ...]}``: which of
  these entries the leader holds (a follower's divergence check).
* ``GET /_api/replication/inventory``, ``/dump?db=D&collection=C``,
  ``/snapshot`` (everything at one tick, for the initial sync).
* ``GET /_api/replication/rollbacks`` and ``/rollbacks/{name}``: the rollback
  files of this server (see :mod:`cluster.server.rollback`).

Open or plain-auth routes: ``GET /_api/cluster/endpoints`` (leader first),
``/_admin/server/role``, ``/_admin/server/mode``, ``/_admin/server/availability``
(503 on followers).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from cluster.common import clock
from cluster.common.errors import (
    ERROR_CLUSTER_NOT_LEADER,
    ERROR_FORBIDDEN,
    ArangoError,
    bad_parameter,
    not_found,
)
from cluster.common.http import json_response, read_json
from cluster.server.api_common import may_manage_users, qbool
from cluster.server.applier_state import VERSION, applier_state, tcp_endpoint
from cluster.server.config import ServerConfig
from cluster.server.leadership import Leadership, Role
from cluster.server.replication_base import (
    ERROR_REPLICATION_START_TICK_NOT_PRESENT,
    epoch_at,
    present_pairs,
)
from cluster.server.rollback import RollbackStore
from cluster.server.storage import Storage
from cluster.server.storage_retention import SQLITE_MAX_INT, RetentionPolicy, WalPruner

RequireSuperuser = Callable[[web.Request], None]
MAX_MATCH_PAIRS = 10_000


def _int_param(request: web.Request, name: str, default: int | None = None) -> int:
    """An integer query parameter in SQLite's range (larger ones would overflow: 400)."""
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise bad_parameter(f"query parameter '{name}' is required")
        return default
    try:
        value = int(raw) if len(raw) <= 40 else None
    except ValueError as exc:
        raise bad_parameter(f"query parameter '{name}' must be an integer") from exc
    if value is None or not -SQLITE_MAX_INT <= value <= SQLITE_MAX_INT:
        raise bad_parameter(f"query parameter '{name}' is out of range (at most {SQLITE_MAX_INT})")
    return value


def _tick_pair(p: Any) -> tuple[int, int]:
    """``[tick, epoch]`` as a pair of integers in SQLite's range, else 400."""
    if (
        not isinstance(p, list)
        or len(p) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in p)
    ):
        raise bad_parameter("each pair must be [tick, epoch] with integers")
    if not all(0 <= x <= SQLITE_MAX_INT for x in p):
        raise bad_parameter(f"tick and epoch must be between 0 and {SQLITE_MAX_INT}")
    return p[0], p[1]


def retention_policy(cfg: ServerConfig) -> RetentionPolicy:
    """The server's WAL retention flags as a policy."""
    return RetentionPolicy(cfg.wal_keep_ticks, cfg.wal_max_ticks, cfg.wal_max_bytes)


class ReplicationApi:
    """Handlers; :func:`add_replication_routes` registers them."""

    def __init__(
        self,
        storage: Storage,
        leadership: Leadership,
        rollbacks: RollbackStore,
        data_dir: str,
        require_superuser: RequireSuperuser,
        tail_timeout: float,
        tail_batch: int,
        body_limit: int,
    ) -> None:
        self.storage = storage
        self.leadership = leadership
        self.rollbacks = rollbacks
        self.data_dir = data_dir
        self.require_superuser = require_superuser
        self.tail_timeout = tail_timeout
        self.tail_batch = tail_batch
        self.body_limit = body_limit
        cfg = leadership.cfg
        self.client_ttl = cfg.wal_client_ttl
        self.pruner = WalPruner(
            storage,
            retention_policy(cfg),
            cfg.wal_prune_interval,
            self.needed_tick,
            name=leadership.server_id,
        )

    def needed_tick(self) -> int | None:
        """The lowest tick a live follower acknowledged (None: not leading, or no followers).

        The acknowledged entry itself is kept: it is the pair the follower's
        log shares with ours, should that follower be promoted.
        """
        if self.leadership.role != Role.LEADER:
            return None
        now = clock.monotonic()
        acked = [
            p.acked
            for p in list(self.leadership.acks.followers.values())
            if now - p.last_seen <= self.client_ttl
        ]
        return min(acked) if acked else None

    def _epoch_headers(self) -> dict[str, str]:
        return {"X-Arango-Epoch": str(self.leadership.epoch)}

    def _require_leader(self, request: web.Request) -> None:
        if self.leadership.role != Role.LEADER:
            leader = self.leadership.servers.get(self.leadership.leader_id or "", "")
            raise ArangoError(
                503,
                ERROR_CLUSTER_NOT_LEADER,
                f"not a leader: {self.leadership.server_id} does not serve replication",
                headers={"X-Arango-Endpoint": leader, **self._epoch_headers()},
            )

    # ------------------------------------------------------------ WAL tail

    async def tail(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        from_tick = max(1, _int_param(request, "from", 1))
        limit = min(max(1, _int_param(request, "limit", self.tail_batch)), 10_000)
        server_id = request.query.get("serverId", "")
        epoch = _int_param(request, "epoch", -1)
        try:
            wait = max(0.0, min(float(request.query.get("timeout", "0")), self.tail_timeout))
        except ValueError as exc:
            raise bad_parameter("query parameter 'timeout' must be a number") from exc
        self._require_leader(request)
        if epoch > self.leadership.epoch:
            self.leadership.poke()
            raise ArangoError(
                503,
                ERROR_CLUSTER_NOT_LEADER,
                f"not a leader: {self.leadership.server_id} is at epoch "
                f"{self.leadership.epoch}, the follower knows epoch {epoch}",
                headers=self._epoch_headers(),
            )
        if server_id:
            self.leadership.record_tail(server_id, epoch, from_tick)
        if await asyncio.to_thread(self.storage.tick_gone, from_tick):
            first = await asyncio.to_thread(self.storage.first_tick)
            raise ArangoError(
                410,
                ERROR_REPLICATION_START_TICK_NOT_PRESENT,
                f"required tick {from_tick} is no longer present on {self.leadership.server_id} "
                f"(its WAL starts at tick {first or self.storage.last_tick() + 1}): "
                "resync from a snapshot",
                headers={
                    **self._epoch_headers(),
                    "X-Arango-Replication-Frompresent": "false",
                    "X-Arango-Replication-Lasttick": str(self.storage.last_tick()),
                },
            )
        deadline = clock.monotonic() + wait
        while self.storage.last_tick() < from_tick and self.leadership.role == Role.LEADER:
            left = deadline - clock.monotonic()
            if left <= 0:
                break
            await self.leadership.wal.wait(clock.real_duration(min(left, 0.1)))
        raw = await asyncio.to_thread(self.storage.tail_raw, from_tick, limit)
        last_included = json.loads(raw[-1])["tick"] if raw else 0
        body = (
            '{"entries":[' + ",".join(raw) + '],"lastTick":' + str(self.storage.last_tick()) + "}"
        )
        headers = {
            **self._epoch_headers(),
            "X-Arango-Replication-Lastincluded": str(last_included),
            "X-Arango-Replication-Checkmore": "true" if len(raw) == limit else "false",
            "X-Arango-Replication-Lasttick": str(self.storage.last_tick()),
            "X-Arango-Replication-Frompresent": "true",
        }
        return web.Response(body=body.encode(), content_type="application/json", headers=headers)

    async def match(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        self._require_leader(request)
        data = await read_json(request, self.body_limit)
        pairs = data.get("pairs") if isinstance(data, dict) else None
        if not isinstance(pairs, list) or len(pairs) > MAX_MATCH_PAIRS:
            raise bad_parameter(
                f"expecting {{'pairs': [[tick, epoch], ...]}} (<= {MAX_MATCH_PAIRS})"
            )
        wanted = [_tick_pair(p) for p in pairs]
        present = await asyncio.to_thread(self._present, wanted)
        return json_response(
            {"present": [list(p) for p in present], "lastTick": self.storage.last_tick()},
            headers=self._epoch_headers(),
        )

    def _present(self, wanted: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return present_pairs(self.storage, self.data_dir, wanted)

    # --------------------------------------------------- initial sync, state

    async def logger_state(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        last = self.storage.last_tick()
        return json_response(
            {
                "state": {
                    "running": True,
                    "lastLogTick": str(last),
                    "lastUncommittedLogTick": str(last),
                    "totalEvents": last,
                    "time": clock.wall_ms(),
                },
                "server": {"version": VERSION, "serverId": self.leadership.server_id},
                "clients": [
                    {"serverId": sid, **info}
                    for sid, info in self.leadership.acks.to_json().items()
                ],
                "epoch": self.leadership.epoch,
                "firstTick": await asyncio.to_thread(self.storage.first_tick),
                "pruned": self.pruner.pruned_total,
            },
            headers=self._epoch_headers(),
        )

    async def inventory(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        self._require_leader(request)
        inv = await asyncio.to_thread(self.storage.inventory)
        return json_response(inv, headers=self._epoch_headers())

    async def dump(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        self._require_leader(request)
        db = request.query.get("db", "_system")
        coll = request.query.get("collection")
        if not coll:
            raise bad_parameter("query parameter 'collection' is required")
        docs = await asyncio.to_thread(self.storage.all_documents, db, coll)
        return json_response({"documents": docs}, headers=self._epoch_headers())

    async def snapshot(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        self._require_leader(request)

        def take() -> tuple[int, int, dict[str, Any]]:
            tick, snap = self.storage.dump_all()
            return tick, epoch_at(self.storage, self.data_dir, tick, self.storage.epoch), snap

        tick, epoch, snap = await asyncio.to_thread(take)
        return json_response(
            {"tick": tick, "epoch": epoch, "snapshot": snap}, headers=self._epoch_headers()
        )

    async def rollbacks_list(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        files = await asyncio.to_thread(self.rollbacks.files)
        return json_response({"error": False, "code": 200, "rollbacks": files})

    async def rollback_file(self, request: web.Request) -> web.Response:
        self.require_superuser(request)
        name = request.match_info["name"]
        entries = await asyncio.to_thread(self.rollbacks.entries, name)
        if entries is None:
            raise not_found(f"no rollback file named '{name}'")
        return json_response({"error": False, "code": 200, "name": name, "entries": entries})

    async def applier_state(self, request: web.Request) -> web.Response:
        """ArangoDB's applier state; ``?global=true`` for the server-wide applier."""
        if not may_manage_users(request):  # ArangoDB: admin access, as root has
            raise ArangoError(403, ERROR_FORBIDDEN, "forbidden: applier state needs rw on _system")
        glob = qbool(request, "global", False)
        database = None if glob else request.match_info.get("db", "_system")
        lead = self.leadership
        last = await asyncio.to_thread(self.storage.last_tick)
        leader_url = lead.servers.get(lead.leader_id or "", "") if lead.role != Role.LEADER else ""
        body = applier_state(
            lead.applier.status(), last, lead.server_id, leader_url, clock.wall_ms(), database
        )
        return json_response(body)

    # ------------------------------------------------- endpoints, role, mode

    async def endpoints(self, request: web.Request) -> web.Response:
        urls = self.leadership.endpoints()
        if urls is None:
            # no leader it can name (a fenced leader, a server between roles): the
            # client must ask another server, as for a write it refuses
            raise ArangoError(
                503,
                ERROR_CLUSTER_NOT_LEADER,
                f"{self.leadership.server_id} knows no leader",
                headers={"X-Arango-Endpoint": ""},
            )
        return json_response(
            {
                "error": False,
                "code": 200,
                "endpoints": [{"endpoint": tcp_endpoint(u)} for u in urls],
            }
        )

    async def role(self, request: web.Request) -> web.Response:
        info = self.leadership.role_info()
        return json_response(
            {
                "error": False,
                "code": 200,
                "role": "SINGLE",
                "mode": "resilient",
                "afRole": info["role"],
                "epoch": info["epoch"],
                "lastTick": info["lastTick"],
                "leader": info["leader"],
                "serverId": self.leadership.server_id,
                "details": info,
            }
        )

    async def mode(self, request: web.Request) -> web.Response:
        leading = self.leadership.role == Role.LEADER
        return json_response(
            {"error": False, "code": 200, "mode": "default" if leading else "readonly"}
        )

    async def availability(self, request: web.Request) -> web.Response:
        gate = self.leadership
        if gate.role == Role.LEADER and gate.lease_valid():
            return json_response({"error": False, "code": 200, "mode": "default"})
        err = gate.not_leader_error()
        raise ArangoError(503, err.error_num, err.message, headers=err.headers)


def add_replication_routes(app: web.Application, api: ReplicationApi) -> None:
    """Register the routes (public ones also under ``/_db/{name}/``) and the WAL pruner."""

    async def start_pruner(app: web.Application) -> None:
        api.pruner.start()

    async def stop_pruner(app: web.Application) -> None:
        await api.pruner.stop()

    app.on_startup.append(start_pruner)
    app.on_cleanup.append(stop_pruner)
    r = app.router
    r.add_get("/_api/wal/tail", api.tail)
    r.add_post("/_api/replication/match", api.match)
    r.add_get("/_api/replication/inventory", api.inventory)
    r.add_get("/_api/replication/dump", api.dump)
    r.add_get("/_api/replication/snapshot", api.snapshot)
    r.add_get("/_api/replication/rollbacks", api.rollbacks_list)
    r.add_get("/_api/replication/rollbacks/{name}", api.rollback_file)
    for prefix in ("", "/_db/{db}"):
        r.add_get(prefix + "/_api/replication/applier-state", api.applier_state)
        r.add_get(prefix + "/_api/replication/logger-state", api.logger_state)
        r.add_get(prefix + "/_api/cluster/endpoints", api.endpoints)
        r.add_get(prefix + "/_admin/server/role", api.role)
        r.add_get(prefix + "/_admin/server/mode", api.mode)
        r.add_get(prefix + "/_admin/server/availability", api.availability)
