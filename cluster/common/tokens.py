"""The cluster secret and the HS256 JSON Web Tokens signed with it.

Shared by the agency and the servers: every call between cluster members
carries ``Authorization: bearer <JWT>`` signed with the secret (ArangoDB's
``--server.jwt-secret``).

* Tokens are decoded strictly: three unpadded base64url parts in canonical
  form, an HS256 header, a JSON object of claims; the signature is checked
  before anything else is parsed; ``exp`` must be present and a finite
  number (a string or anything else is refused, never ignored). ArangoDB
  accepts a superuser token without ``exp``, which then never expires; we do
  not: every token we make carries one, and one without is refused.
* The tokens members make for each other (:class:`InternalToken`) carry
  ``server_id`` and live :data:`INTERNAL_TOKEN_LIFETIME_S`; a new one is made
  at half-life, so a leaked token is short-lived and one in use never runs
  out (clock skew between members up to half the lifetime included).
* :func:`read_secret_file` reads the secret (or a password) from a file,
  warning when the file is readable by others.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import os
import re
import stat
from typing import Any

from cluster.common import clock

log = logging.getLogger(__name__)

INTERNAL_TOKEN_LIFETIME_S = 600  # superuser tokens members send each other
MAX_TOKEN_LENGTH = 8192
MIN_SECRET_BYTES = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class SecretError(Exception):
    """A secret file is missing, unreadable or too short; the message says which."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict base64url: no padding, no other characters, canonical trailing bits."""
    if _B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def sign_jwt(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JSON Web Token of ``claims``."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _valid_exp(exp: Any) -> bool:
    return isinstance(exp, int | float) and not isinstance(exp, bool) and math.isfinite(exp)


def verify_jwt(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired HS256 token signed with ``secret``, else None."""
    if not secret or len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        signature = _unb64(parts[2])
        expected = hmac.new(
            secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(expected, signature):
            return None
        header = json.loads(_unb64(parts[0]))
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        if header.get("typ", "JWT") != "JWT":
            return None
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if exp is None or not _valid_exp(exp) or exp < clock.wall():
        return None  # missing, malformed or past: a token that never expires is refused
    return claims


def is_superuser_claims(claims: dict[str, Any]) -> bool:
    """A member's token: it names a server, not a user."""
    return "server_id" in claims and "preferred_username" not in claims


def member_claims(header: str | None, secret: str) -> dict[str, Any] | None:
    """The claims of an ``Authorization: bearer`` header holding a member's token, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    claims = verify_jwt(value.strip(), secret)
    if claims is None or not is_superuser_claims(claims):
        return None
    return claims


class InternalToken:
    """The superuser token one member sends the others, renewed at half its life."""

    def __init__(self, secret: str, server_id: str = "afcheck") -> None:
        self.secret = secret
        self.server_id = server_id
        self._token = ""
        self._exp = 0.0

    def token(self) -> str:
        now = clock.wall()
        if not self._token or self._exp - now < INTERNAL_TOKEN_LIFETIME_S / 2:
            exp = int(now) + INTERNAL_TOKEN_LIFETIME_S
            claims = {"server_id": self.server_id, "iss": "arangodb", "iat": int(now), "exp": exp}
            self._token = sign_jwt(claims, self.secret)
            self._exp = float(exp)
        return self._token

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "bearer ..."}``, or nothing when there is no secret (auth off)."""
        if not self.secret:
            return {}
        return {"Authorization": f"bearer {self.token()}"}


def read_secret_file(path: str, what: str, min_bytes: int = 0) -> str:
    """The stripped text of a secret file; warns when others may read it.

    Raises :class:`SecretError` when it cannot be read or is shorter than ``min_bytes``.
    """
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"cannot read {what} file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "%s file %s is readable by others (mode %o); use 0600", what, path, mode & 0o777
        )
    if len(text.encode()) < min_bytes:
        raise SecretError(f"the {what} in {path} is shorter than {min_bytes} bytes")
    return text
