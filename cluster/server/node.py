"""One document server: storage, REST API, authentication and active failover, wired.

:class:`ServerNode` composes the parts; it owns nothing but their life cycle:
storage (SQLite), the client routes, the replication routes, the applier and
the leadership loop (the Gate the client routes ask).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cluster.common.http import app_runner, client_session, make_error_middleware
from cluster.common.tokens import MIN_SECRET_BYTES, SecretError, read_secret_file
from cluster.server.agency_client import AgencyClient
from cluster.server.app import build_client_routes
from cluster.server.applier import Applier, ReplicationError
from cluster.server.auth import Auth, require_superuser
from cluster.server.config import ServerConfig
from cluster.server.leadership import Leadership
from cluster.server.replication_api import ReplicationApi, add_replication_routes
from cluster.server.rollback import RollbackStore
from cluster.server.storage import Storage

log = logging.getLogger(__name__)

ROOT_PASSWORD_FILE = "root-password"


class StartupRefused(Exception):
    """The configuration is unsafe or unreadable; the message says what to pass."""


@dataclass(frozen=True)
class Security:
    """How this server authenticates: the cluster secret (empty: auth off) and root's password."""

    secret: str
    auth_enabled: bool
    root_password: str


def _read_secret_file(path: str, what: str, min_bytes: int = 0) -> str:
    try:
        return read_secret_file(path, what, min_bytes)
    except SecretError as exc:
        raise StartupRefused(str(exc)) from exc


def _root_password(cfg: ServerConfig, generate: bool) -> str:
    if cfg.root_password:
        return cfg.root_password
    if cfg.root_password_file:
        return _read_secret_file(cfg.root_password_file, "root password")
    if not generate:
        log.warning(
            "%s: root's password is empty (no --root-password); pass --jwt-secret-file to get "
            "a random one written to <data-dir>/%s",
            cfg.id,
            ROOT_PASSWORD_FILE,
        )
        return ""
    path = os.path.join(cfg.data_dir, ROOT_PASSWORD_FILE)
    if os.path.exists(path):
        return _read_secret_file(path, "root password")
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    log.warning("%s: root's password was generated and written to %s", cfg.id, path)
    return password


def resolve_security(cfg: ServerConfig) -> Security:
    """The secret and root password to run with, from the flags (docs/security.md).

    * ``--jwt-secret-file``: the secret; root's password from ``--root-password``
      (or ``-file``), else a random one kept in ``<data-dir>/root-password`` (0600).
    * ``--insecure-no-auth``: no authentication at all, logged at WARNING.
    * ``--jwt-secret`` (deprecated): the secret; root's password as given, else empty.
    * nothing: refused (:class:`StartupRefused`).
    """
    os.makedirs(cfg.data_dir, exist_ok=True)
    if cfg.jwt_secret_file:
        secret = _read_secret_file(cfg.jwt_secret_file, "cluster secret", MIN_SECRET_BYTES)
        return Security(secret, True, _root_password(cfg, generate=True))
    if cfg.insecure_no_auth:
        log.warning(
            "%s: --insecure-no-auth: AUTHENTICATION IS OFF; anyone who reaches this server "
            "may read and change everything, replication included. Pass --jwt-secret-file PATH.",
            cfg.id,
        )
        return Security("", False, cfg.root_password)
    if cfg.jwt_secret:
        log.warning("%s: --jwt-secret is deprecated (visible to ps): use --jwt-secret-file", cfg.id)
        return Security(cfg.jwt_secret, True, _root_password(cfg, generate=False))
    raise StartupRefused(
        "no cluster secret: pass --jwt-secret-file PATH (or --insecure-no-auth for a test "
        "cluster that needs no authentication)"
    )


def member_guard(cfg: ServerConfig, url: Callable[[], str]) -> Callable[[Callable[[], str]], str]:
    """Wrap a token maker so the token goes only to configured members.

    When ``--peer`` lists the other servers, a leader endpoint that is none of
    them (say one registered in the agency by an intruder) gets no token: the
    request is not sent and the applier reports why. Without ``--peer`` the
    agency's registry is the only member list, and the token follows it.
    """
    members = {u.rstrip("/") for u in cfg.peers.values()}

    def token(make: Callable[[], str]) -> str:
        target = url().rstrip("/")
        if members and target not in members:
            raise ReplicationError(
                f"{cfg.id}: refusing to send the cluster token to {target}: "
                "not a configured member (--peer)"
            )
        return make()

    return token


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
        security = resolve_security(cfg)
        storage = Storage(os.path.join(cfg.data_dir, "data.sqlite"))
        self.storage = storage
        auth = Auth(
            storage,
            security.secret,
            enabled=security.auth_enabled,
            root_password=security.root_password,
            iterations=cfg.password_iterations,
        )
        rollbacks = RollbackStore(cfg.data_dir)
        agency_session = client_session(cfg.agency_timeout * 4, limit=8)
        peer_session = client_session(300.0, limit=16)
        self._sessions = [agency_session, peer_session]
        agency = AgencyClient(
            cfg.id, cfg.agency, agency_session, cfg.agency_timeout, auth.superuser_headers
        )
        holder: list[Leadership] = []
        appliers: list[Applier] = []
        guard = member_guard(cfg, lambda: appliers[0].leader_url if appliers else "")
        applier = Applier(
            cfg,
            storage,
            peer_session,
            lambda: guard(auth.superuser_token),
            rollbacks,
            on_newer_epoch=lambda: holder[0].poke() if holder else None,
        )
        appliers.append(applier)
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
        build_client_routes(
            app, storage, leadership, auth, cfg.body_limit, tuple(cfg.job_callback_allow)
        )

        host, port = cfg.host_port
        self._runner = app_runner(app)
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
