"""A cluster's credentials: its secret and root's password, made per cluster, kept 0600.

A backend makes them when it starts a cluster (:func:`create`): 32 random
bytes (hex) as the cluster secret in ``<state-dir>/cluster-secret`` and a
random root password in ``<state-dir>/root-password``, both mode 0600, both
passed to the nodes as files. The harness talks to the agency with a
short-lived member token signed with the secret (:meth:`Credentials.agency_headers`)
and to servers as root (:meth:`Credentials.server_headers`).

``ClusterSpec(auth=False)`` starts nodes with ``--insecure-no-auth`` instead
(:data:`NO_AUTH`): for benchmarks that measure what authentication costs.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cluster.common.tokens import InternalToken, SecretError, read_secret_file

SECRET_FILE = "cluster-secret"
PASSWORD_FILE = "root-password"
ROOT = "root"


@dataclass
class Credentials:
    """The secret and root password of one cluster (empty secret: authentication off)."""

    secret: str = ""
    root_password: str = ""
    secret_file: str = ""
    password_file: str = ""
    _token: InternalToken = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._token = InternalToken(self.secret, server_id="harness")

    @property
    def enabled(self) -> bool:
        return bool(self.secret)

    def agency_headers(self) -> dict[str, str]:
        """``Authorization: bearer <member token>`` (nothing when authentication is off)."""
        return self._token.headers()

    def server_headers(self) -> dict[str, str]:
        """HTTP Basic as root."""
        token = base64.b64encode(f"{ROOT}:{self.root_password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def agent_flags(self, secret_file: str | None = None) -> list[str]:
        """Flags of an agent; ``secret_file`` is the path as the node sees it."""
        if not self.enabled:
            return ["--insecure-no-auth"]
        return ["--jwt-secret-file", secret_file or self.secret_file]

    def server_flags(
        self, secret_file: str | None = None, password_file: str | None = None
    ) -> list[str]:
        """Flags of a server; the paths as the node sees them."""
        if not self.enabled:
            return ["--insecure-no-auth"]
        return [
            "--jwt-secret-file",
            secret_file or self.secret_file,
            "--root-password-file",
            password_file or self.password_file,
        ]

    def to_json(self) -> dict[str, str | bool]:
        """What ``afcheck cluster up --json`` prints under ``auth``."""
        if not self.enabled:
            return {"enabled": False}
        return {
            "enabled": True,
            "user": ROOT,
            "password": self.root_password,
            "password_file": self.password_file,
            "secret_file": self.secret_file,
            "how": (
                "servers: HTTP Basic root:<password>, or POST /_open/auth "
                '{"username": "root", "password": ...} for a JWT; agency: '
                "Authorization: bearer <HS256 JWT with server_id, signed with the secret>"
            ),
        }


NO_AUTH = Credentials()


def _write_private(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def create(
    state_dir: Path, root_password: str | None = None, secret: str | None = None
) -> Credentials:
    """New credentials for a cluster whose state lives in ``state_dir`` (files 0600).

    The secret is 32 random bytes, hex-encoded, unless ``secret`` fixes it (tests).
    """
    secret = secret if secret is not None else secrets.token_bytes(32).hex()
    password = root_password if root_password is not None else secrets.token_urlsafe(18)
    secret_path, password_path = state_dir / SECRET_FILE, state_dir / PASSWORD_FILE
    _write_private(secret_path, secret)
    _write_private(password_path, password)
    return Credentials(secret, password, str(secret_path), str(password_path))


def load(state_dir: str | Path) -> Credentials:
    """The credentials kept in ``state_dir`` (authentication off when there are none).

    Raises :class:`cluster.common.tokens.SecretError` when a file exists but cannot be read.
    """
    state = Path(state_dir)
    secret_path, password_path = state / SECRET_FILE, state / PASSWORD_FILE
    if not secret_path.exists():
        return NO_AUTH
    secret = read_secret_file(str(secret_path), "cluster secret")
    password = (
        read_secret_file(str(password_path), "root password") if password_path.exists() else ""
    )
    return Credentials(secret, password, str(secret_path), str(password_path))


__all__ = ["NO_AUTH", "Credentials", "SecretError", "create", "load"]
