"""Authentication: HTTP Basic against ``_system/_users``, and HS256 JWTs.

* ``POST /_open/auth`` ``{"username", "password"}`` answers ``{"jwt": ...}``,
  a token signed with the cluster secret and valid for one hour
  (``preferred_username``, ``iss``, ``iat``, ``exp``), as ArangoDB does.
* A token without a user but with ``server_id`` (see :meth:`Auth.superuser_token`)
  is a *superuser* token, what ArangoDB's ``--server.jwt-secret`` gives the
  servers of a cluster. Replication endpoints accept only those.
* ``/_api/version`` and ``/_admin/server/availability`` answer without
  credentials, for health checks.

Failures answer 401 with ArangoDB's body; the middleware never lets a bad
header reach a handler.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cluster.common import clock
from cluster.common.errors import unauthorized
from cluster.server.storage import Storage
from cluster.server.users import find_user, password_matches

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN_LIFETIME_S = 3600
MAX_VERIFIED = 1000
OPEN_PATHS = frozenset({"/_api/version", "/_admin/server/availability", "/_open/auth"})
SUPERUSER_PREFIXES = ("/_api/replication", "/_api/wal")
# Typed request keys where aiohttp has them (3.12+), plain strings before.
USER_KEY: Any = (
    web.RequestKey("afcheck.user", str) if hasattr(web, "RequestKey") else "afcheck.user"
)
SUPERUSER_KEY: Any = (
    web.RequestKey("afcheck.superuser", bool) if hasattr(web, "RequestKey") else "afcheck.superuser"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JSON Web Token of ``claims``."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_jwt(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired HS256 token signed with ``secret``, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_unb64(parts[0]))
        expected = hmac.new(
            secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
        ).digest()
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < clock.wall():
        return None
    return claims


def strip_db_prefix(path: str) -> str:
    """``/_db/x/_api/...`` -> ``/_api/...``."""
    if path.startswith("/_db/"):
        rest = path[len("/_db/") :]
        _, sep, tail = rest.partition("/")
        return "/" + tail if sep else "/"
    return path


def request_user(request: web.Request) -> str:
    """The authenticated user of ``request`` (``root`` when authentication is off)."""
    return str(request.get(USER_KEY, "root"))


def is_superuser(request: web.Request) -> bool:
    return bool(request.get(SUPERUSER_KEY, False))


def require_superuser(request: web.Request) -> None:
    if not is_superuser(request):
        raise unauthorized("this endpoint needs a superuser JWT signed with the cluster secret")


class Auth:
    """Checks credentials on every request; issues JWTs."""

    def __init__(
        self, storage: Storage, jwt_secret: str, enabled: bool = True, root_password: str = ""
    ) -> None:
        self.storage = storage
        self.jwt_secret = jwt_secret
        self.enabled = enabled
        self.root_password = root_password
        self._verified: dict[str, tuple[str, bool]] = {}
        self._verified_generation = -1

    def superuser_token(self) -> str:
        """A token the servers of this cluster use with each other (no expiry)."""
        return sign_jwt({"server_id": "afcheck", "iss": "arangodb"}, self.jwt_secret)

    def superuser_headers(self) -> dict[str, str]:
        return {"Authorization": f"bearer {self.superuser_token()}"}

    def check_password(self, username: Any, password: Any) -> bool:
        """True when the user exists, is active and the password matches."""
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        user = self.storage.read(lambda tx: find_user(tx, username, self.root_password))
        if user is None or not user.get("active", True):
            return False
        return password_matches(user.get("authData"), password)

    def user_token(self, username: str) -> str:
        now = int(clock.wall())
        claims = {
            "preferred_username": username,
            "iss": "arangodb",
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
        }
        return sign_jwt(claims, self.jwt_secret)

    def authenticate(self, header: str) -> tuple[str, bool]:
        """``(user, superuser)`` for an Authorization header; 401 when it does not check out.

        Verified headers are remembered until ``_system/_users`` changes (or a
        token expires: bearer tokens are always checked again).
        """
        generation = self.storage.cache.users_generation
        if generation != self._verified_generation:
            self._verified = {}
            self._verified_generation = generation
        known = self._verified.get(header)
        if known is not None:
            return known
        result = self._authenticate(header)
        if len(self._verified) < MAX_VERIFIED and header[:6].lower() == "basic ":
            self._verified[header] = result
        return result

    def _authenticate(self, header: str) -> tuple[str, bool]:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
                raise unauthorized("malformed basic authorization header") from exc
            username, sep, password = decoded.partition(":")
            if not sep or not self.check_password(username, password):
                raise unauthorized("wrong credentials")
            return username, False
        if scheme.lower() == "bearer":
            claims = verify_jwt(value, self.jwt_secret)
            if claims is None:
                raise unauthorized("invalid or expired token")
            if "server_id" in claims and "preferred_username" not in claims:
                return "root", True
            named = claims.get("preferred_username")
            if not isinstance(named, str):
                raise unauthorized("token names no user")
            user = self.storage.read(lambda tx: find_user(tx, named, self.root_password))
            if user is None or not user.get("active", True):
                raise unauthorized("user of this token is unknown or inactive")
            return named, False
        raise unauthorized()

    def middleware(self) -> Any:
        """aiohttp middleware: authenticate, then pass on to the handler."""

        @web.middleware
        async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not self.enabled:
                request[USER_KEY] = "root"
                request[SUPERUSER_KEY] = True
                return await handler(request)
            path = strip_db_prefix(request.path)
            header = request.headers.get("Authorization")
            if path in OPEN_PATHS:
                return await handler(request)
            if not header:
                raise unauthorized()
            user, superuser = self.authenticate(header)
            request[USER_KEY] = user
            request[SUPERUSER_KEY] = superuser
            if path.startswith(SUPERUSER_PREFIXES):
                require_superuser(request)
            return await handler(request)

        return auth_middleware
