"""Authentication: HTTP Basic against ``_system/_users``, and HS256 JWTs.

* ``POST /_open/auth`` ``{"username", "password"}`` answers ``{"jwt": ...}``,
  a token signed with the cluster secret and valid for one hour
  (``preferred_username``, ``iss``, ``iat``, ``exp``), as ArangoDB does.
  User tokens without a numeric ``exp`` are refused.
* A token without a user but with ``server_id`` (see :meth:`Auth.superuser_token`)
  is a *superuser* token, what ArangoDB's ``--server.jwt-secret`` gives the
  servers of a cluster. Replication endpoints accept only those. The ones a
  server makes live :data:`INTERNAL_TOKEN_LIFETIME_S` and are renewed at half
  their life.
* Tokens are decoded strictly (:mod:`cluster.common.tokens`, shared with the
  agency).
* Failed logins are throttled per user and client address
  (:class:`LoginThrottle`): after a few failures each further attempt waits
  for a doubling delay, capped, so nobody (root included) is locked out for
  good.
* ``/_api/version`` and ``/_admin/server/availability`` answer without
  credentials, for health checks.

Failures answer 401 with ArangoDB's body; the middleware never lets a bad
header reach a handler. It also refuses (401) a request to a database the
user has no access to; what a handler needs beyond that (``ro``/``rw`` on a
collection, ``rw`` on ``_system`` to manage users) the handler checks through
:func:`cluster.server.api_common.require_access`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cluster.common import clock
from cluster.common.errors import ERROR_FORBIDDEN, ArangoError, unauthorized
from cluster.common.tokens import INTERNAL_TOKEN_LIFETIME_S as INTERNAL_TOKEN_LIFETIME_S
from cluster.common.tokens import InternalToken, is_superuser_claims
from cluster.common.tokens import sign_jwt as sign_jwt
from cluster.common.tokens import verify_jwt as verify_jwt
from cluster.server.keys import SYSTEM_DATABASE
from cluster.server.storage import Storage
from cluster.server.users import (
    DEFAULT_ITERATIONS,
    ROOT,
    database_level,
    find_user,
    needs_rehash,
    password_matches,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN_LIFETIME_S = 3600  # user tokens from /_open/auth (ArangoDB: one hour)
MAX_VERIFIED = 1000
MAX_CACHED_USERS = 1000
OPEN_PATHS = frozenset({"/_api/version", "/_admin/server/availability", "/_open/auth"})
SUPERUSER_PREFIXES = ("/_api/replication", "/_api/wal")
# Replication routes an administrator reads as in ArangoDB; the handler checks rw on _system.
ADMIN_PATHS = frozenset({"/_api/replication/applier-state"})
# Callable without access to the database addressed: the handlers check themselves.
SELF_SERVICE_PREFIXES = ("/_api/user", "/_api/database/user")
# Typed request keys where aiohttp has them (3.12+), plain strings before.
USER_KEY: Any = (
    web.RequestKey("afcheck.user", str) if hasattr(web, "RequestKey") else "afcheck.user"
)
SUPERUSER_KEY: Any = (
    web.RequestKey("afcheck.superuser", bool) if hasattr(web, "RequestKey") else "afcheck.superuser"
)


def strip_db_prefix(path: str) -> str:
    """``/_db/x/_api/...`` -> ``/_api/...``."""
    if path.startswith("/_db/"):
        rest = path[len("/_db/") :]
        _, sep, tail = rest.partition("/")
        return "/" + tail if sep else "/"
    return path


def request_user(request: web.Request) -> str:
    """The authenticated user of ``request`` (``root`` when authentication is off)."""
    return str(request.get(USER_KEY, ROOT))


def is_superuser(request: web.Request) -> bool:
    return bool(request.get(SUPERUSER_KEY, False))


def require_superuser(request: web.Request) -> None:
    if not is_superuser(request):
        raise unauthorized("this endpoint needs a superuser JWT signed with the cluster secret")


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    """Failed logins per ``(user, client address)``: free ones, then a doubling wait.

    After ``free`` failures, the next attempt is refused without checking the
    password until ``base * 2**(failures - free)`` seconds (at most ``cap``)
    have passed since the last failure. A success clears the record; a record
    idle for ``2 * cap`` is forgotten. So a guesser gets about one try per
    ``cap`` seconds, and the right password always works again within ``cap``.
    """

    def __init__(
        self,
        free: int = 5,
        base: float = 0.5,
        cap: float = 30.0,
        max_entries: int = 10_000,
        now: Callable[[], float] = clock.monotonic,
    ) -> None:
        self.free, self.base, self.cap, self.max_entries = free, base, cap, max_entries
        self._now = now
        self._records: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()  # logins are checked on worker threads

    def retry_after(self, user: str, remote: str) -> float:
        """Seconds until ``user`` may try again from ``remote`` (0: now)."""
        with self._lock:
            return self._retry_after(user, remote)

    def _retry_after(self, user: str, remote: str) -> float:
        record = self._records.get((user, remote))
        if record is None:
            return 0.0
        now = self._now()
        if now - record.last > 2 * self.cap:
            del self._records[(user, remote)]
            return 0.0
        return max(0.0, record.blocked_until - now)

    def failed(self, user: str, remote: str) -> None:
        with self._lock:
            self._failed(user, remote)

    def _failed(self, user: str, remote: str) -> None:
        key = (user, remote)
        record = self._records.pop(key, None) or _Failures()
        now = self._now()
        record.count += 1
        record.last = now
        if record.count >= self.free:
            delay = min(self.cap, self.base * 2 ** min(record.count - self.free, 30))
            record.blocked_until = now + delay
        self._records[key] = record
        while len(self._records) > self.max_entries:
            self._records.popitem(last=False)

    def succeeded(self, user: str, remote: str) -> None:
        with self._lock:
            self._records.pop((user, remote), None)


def throttled(user: str, seconds: float) -> ArangoError:
    wait = max(1, math.ceil(seconds))
    return ArangoError(
        429,
        ERROR_FORBIDDEN,
        f"too many failed logins for user {user[:100]!r}; retry in {wait} s",
        headers={"Retry-After": str(wait)},
    )


class Auth:
    """Checks credentials on every request; issues JWTs; knows each user's grants."""

    def __init__(
        self,
        storage: Storage,
        jwt_secret: str,
        enabled: bool = True,
        root_password: str = "",
        iterations: int = DEFAULT_ITERATIONS,
        throttle: LoginThrottle | None = None,
    ) -> None:
        if enabled and not jwt_secret:
            raise ValueError("authentication needs a cluster secret")
        self.storage = storage
        self.jwt_secret = jwt_secret
        self.enabled = enabled
        self.root_password = root_password
        self.iterations = iterations
        self.throttle = throttle if throttle is not None else LoginThrottle()
        # called with (user, password) after a login that verified an outdated hash
        self.rehash: Callable[[str, str], None] | None = None
        self._verified: dict[str, tuple[str, bool]] = {}
        self._docs: dict[str, dict[str, Any] | None] = {}
        self._generation = -1
        self._internal = InternalToken(jwt_secret)

    # -- tokens -------------------------------------------------------------------

    def superuser_token(self) -> str:
        """A token the members of this cluster use with each other (short-lived, renewed)."""
        return self._internal.token()

    def superuser_headers(self) -> dict[str, str]:
        """The header members send each other (none when this server has no secret)."""
        return self._internal.headers()

    def user_token(self, username: str) -> str:
        now = int(clock.wall())
        claims = {
            "preferred_username": username,
            "iss": "arangodb",
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
        }
        return sign_jwt(claims, self.jwt_secret)

    # -- users --------------------------------------------------------------------

    def _fresh(self) -> None:
        generation = self.storage.cache.users_generation
        if generation != self._generation:
            self._verified = {}
            self._docs = {}
            self._generation = generation

    def user_doc(self, name: str) -> dict[str, Any] | None:
        """The document of user ``name`` (cached until ``_users`` changes)."""
        self._fresh()
        if name in self._docs:
            return self._docs[name]
        root_password, iterations = self.root_password, self.iterations
        doc = self.storage.read(lambda tx: find_user(tx, name, root_password, iterations))
        if len(self._docs) < MAX_CACHED_USERS:
            self._docs[name] = doc
        return doc

    def database_level(self, user: str, db: str) -> str:
        if user == ROOT:
            return "rw"
        return database_level(self.user_doc(user), db)

    def check_password(self, username: Any, password: Any, remote: str = "") -> bool:
        """True when the user exists, is active and the password matches.

        Raises 429 while ``username`` is throttled for ``remote``.
        """
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        wait = self.throttle.retry_after(username, remote)
        if wait > 0:
            raise throttled(username, wait)
        user = self.user_doc(username)
        ok = (
            user is not None
            and bool(user.get("active", True))
            and password_matches(user.get("authData"), password)
        )
        if not ok:
            self.throttle.failed(username, remote)
            return False
        self.throttle.succeeded(username, remote)
        assert user is not None
        if "_rev" in user and needs_rehash(user.get("authData"), self.iterations) and self.rehash:
            self.rehash(username, password)
        return True

    # -- requests -----------------------------------------------------------------

    def authenticate(self, header: str, remote: str = "") -> tuple[str, bool]:
        """``(user, superuser)`` for an Authorization header; 401 when it does not check out.

        Verified Basic headers are remembered until ``_system/_users`` changes;
        bearer tokens are always checked again (they expire).
        """
        self._fresh()
        known = self._verified.get(header)
        if known is not None:
            return known
        result = self._authenticate(header, remote)
        if len(self._verified) < MAX_VERIFIED and header[:6].lower() == "basic ":
            self._verified[header] = result
        return result

    def _authenticate(self, header: str, remote: str) -> tuple[str, bool]:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
                raise unauthorized("malformed basic authorization header") from exc
            username, sep, password = decoded.partition(":")
            if not sep or not self.check_password(username, password, remote):
                raise unauthorized("wrong credentials")
            return username, False
        if scheme.lower() == "bearer":
            claims = verify_jwt(value, self.jwt_secret)
            if claims is None:
                raise unauthorized("invalid or expired token")
            if is_superuser_claims(claims):
                return ROOT, True
            named = claims.get("preferred_username")
            if not isinstance(named, str):
                raise unauthorized("token names no user")
            if "exp" not in claims:
                raise unauthorized("user tokens must carry exp")
            user = self.user_doc(named)
            if user is None or not user.get("active", True):
                raise unauthorized("user of this token is unknown or inactive")
            return named, False
        raise unauthorized()

    def middleware(self) -> Any:
        """aiohttp middleware: authenticate, check database access, then pass on."""

        @web.middleware
        async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not self.enabled:
                request[USER_KEY] = ROOT
                request[SUPERUSER_KEY] = True
                return await handler(request)
            path = strip_db_prefix(request.path)
            header = request.headers.get("Authorization")
            if path in OPEN_PATHS:
                return await handler(request)
            if not header:
                raise unauthorized()
            remote = request.remote or ""
            if header in self._verified:
                user, superuser = self.authenticate(header, remote)
            else:
                # a password check costs ~0.1 s of PBKDF2: keep it off the event loop
                user, superuser = await asyncio.to_thread(self.authenticate, header, remote)
            request[USER_KEY] = user
            request[SUPERUSER_KEY] = superuser
            if path.startswith(SUPERUSER_PREFIXES) and path not in ADMIN_PATHS:
                require_superuser(request)
            if not superuser and not path.startswith(SELF_SERVICE_PREFIXES):
                db = request.match_info.get("db", SYSTEM_DATABASE)
                if self.database_level(user, db) == "none":
                    raise unauthorized(f"not authorized to access database {db[:100]!r}")
            return await handler(request)

        return auth_middleware
