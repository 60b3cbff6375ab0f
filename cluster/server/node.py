"""One document server: storage, REST API, authentication and active failover, wired.

:class:`ServerNode` composes the parts; it owns nothing but their life cycle:
storage (SQLite), the client routes, the replication routes, the applier and
the leadership loop (the Gate the client routes ask).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aiohttp import web

from cluster.common.http import client_session, make_error_middleware
from cluster.server.agency_client import AgencyClient
from cluster.server.app import build_client_routes
from cluster.server.applier import Applier
from cluster.server.auth import Auth, require_superuser
from cluster.server.config import DEV_JWT_SECRET, ServerConfig
from cluster.server.leadership import Leadership
from cluster.server.replication_api import ReplicationApi, add_replication_routes
from cluster.server.rollback import RollbackStore
from cluster.server.storage import Storage

log = logging.getLogger(__name__)


class ServerNode:
    """A server process's state; ``start()`` then ``stop()``."""

    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.storage: Storage | None = None
        self.leadership: Leadership | None = None
        self._runner: web.AppRunner | None = None
        self._sessions: list[Any] = []

    async def start(self) -> None:
        cfg = self.cfg
        secret = cfg.jwt_secret
        if not secret:
            log.warning("%s: no --jwt-secret given; using the development secret", cfg.id)
            secret = DEV_JWT_SECRET
        os.makedirs(cfg.data_dir, exist_ok=True)
        storage = Storage(os.path.join(cfg.data_dir, "data.sqlite"))
        self.storage = storage
        auth = Auth(storage, secret, enabled=True, root_password=cfg.root_password)
        rollbacks = RollbackStore(cfg.data_dir)
        agency_session = client_session(cfg.agency_timeout * 4, limit=8)
        peer_session = client_session(300.0, limit=16)
        self._sessions = [agency_session, peer_session]
        agency = AgencyClient(cfg.id, cfg.agency, agency_session, cfg.agency_timeout)
        holder: list[Leadership] = []
        applier = Applier(
            cfg,
            storage,
            peer_session,
            auth.superuser_token,
            rollbacks,
            on_newer_epoch=lambda: holder[0].poke() if holder else None,
        )
        leadership = Leadership(cfg, storage, agency, applier)
        holder.append(leadership)
        self.leadership = leadership

        # build_client_routes adds authentication and the X-Arango-Server-Id header
        app = web.Application(
            middlewares=[make_error_middleware(cfg.id)], client_max_size=cfg.body_limit
        )
        api = ReplicationApi(
            storage,
            leadership,
            rollbacks,
            cfg.data_dir,
            require_superuser,
            cfg.tail_timeout,
            cfg.tail_batch,
            cfg.body_limit,
        )
        add_replication_routes(app, api)
        build_client_routes(app, storage, leadership, auth, cfg.body_limit)

        host, port = cfg.host_port
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        leadership.start()
        log.info(
            "%s: listening on %s (advertised %s), %s replication, agency %s",
            cfg.id,
            cfg.listen,
            cfg.advertised,
            cfg.replication,
            ",".join(cfg.agency),
        )

    async def stop(self) -> None:
        if self.leadership is not None:
            await self.leadership.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        for session in self._sessions:
            await session.close()
        if self.storage is not None:
            self.storage.close()
