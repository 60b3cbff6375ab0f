"""Issue 10 row #5: with no ``--jwt-secret`` servers used a secret written in the
source; a token signed with it read the WAL and ``_users``.

Now no secret is in the source: the cluster secret comes from
``--jwt-secret-file``; without one a server refuses to start unless told
``--insecure-no-auth``;
root's password is given, or random and kept in ``<data-dir>/root-password``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import cluster
from cluster.server.__main__ import _expand_bare_flags
from cluster.server.config import ServerConfig
from cluster.server.node import StartupRefused, resolve_security
from tests.server_api.serving import free_port

OLD_SOURCE_SECRET = "afcheck-dev-secret"  # the secret the old source carried
START_TIMEOUT_S = 30.0


def forged_superuser_token(secret: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"server_id": "x", "iss": "arangodb", "exp": 4_000_000_000}).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def test_no_secret_is_written_in_the_source() -> None:
    root = Path(cluster.__file__).parent
    for path in root.rglob("*.py"):
        assert OLD_SOURCE_SECRET not in path.read_text(), path


def cfg_for(tmp_path: Path, **kw: object) -> ServerConfig:
    cfg = ServerConfig(id="s1", agency=["http://127.0.0.1:1"], data_dir=str(tmp_path / "d"))
    for name, value in kw.items():
        setattr(cfg, name, value)
    return cfg


def test_a_server_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(StartupRefused, match="--jwt-secret-file"):
        resolve_security(cfg_for(tmp_path))


def test_insecure_no_auth_runs_without_auth_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        sec = resolve_security(cfg_for(tmp_path, insecure_no_auth=True))
    assert not sec.auth_enabled and sec.secret == ""
    assert "AUTHENTICATION IS OFF" in caplog.text


def test_the_secret_file_and_a_random_root_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("0123456789abcdef0123456789abcdef\n")
    secret_file.chmod(0o600)
    cfg = cfg_for(tmp_path, jwt_secret_file=str(secret_file))
    with caplog.at_level(logging.WARNING):
        sec = resolve_security(cfg)
    assert sec.auth_enabled and sec.secret == "0123456789abcdef0123456789abcdef"
    kept = Path(cfg.data_dir) / "root-password"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text().strip() == sec.root_password and len(sec.root_password) >= 24
    assert f"written to {kept}" in caplog.text
    # a restart keeps it; an explicit one wins
    assert resolve_security(cfg).root_password == sec.root_password
    cfg.root_password = "given"
    assert resolve_security(cfg).root_password == "given"


def test_a_short_or_missing_secret_file_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(StartupRefused, match="shorter"):
        resolve_security(cfg_for(tmp_path, jwt_secret_file=str(short)))
    with pytest.raises(StartupRefused, match="cannot read"):
        resolve_security(cfg_for(tmp_path, jwt_secret_file=str(tmp_path / "none")))


def test_the_legacy_jwt_secret_flag_still_works(tmp_path: Path) -> None:
    sec = resolve_security(cfg_for(tmp_path, jwt_secret="legacy-secret"))
    assert sec.auth_enabled and sec.secret == "legacy-secret" and sec.root_password == ""


# -- a real server process -------------------------------------------------------------


def server_command(port: int, data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "cluster.server", "--id", "s1",
        "--listen", f"127.0.0.1:{port}", "--agency", f"http://127.0.0.1:{free_port()}",
        "--data-dir", str(data_dir), *extra,
    ]  # fmt: skip


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    secret_file = tmp_path / "secret"
    secret_file.write_text(os.urandom(24).hex())
    secret_file.chmod(0o600)
    port, data, log_path = free_port(), tmp_path / "data", tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            server_command(port, data, "--jwt-secret-file", str(secret_file)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                requests.get(url + "/_api/version", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.1)
        yield url, data, log_path
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_token_signed_with_the_old_source_secret_reads_nothing(
    running: tuple[str, Path, Path],
) -> None:
    url, data, log_path = running
    forged = {"Authorization": "bearer " + forged_superuser_token(OLD_SOURCE_SECRET)}
    for path in ["/_api/wal/tail?from=1", "/_api/document/_users/root", "/_api/user"]:
        resp = requests.get(url + path, headers=forged, timeout=10)
        assert resp.status_code == 401, (path, resp.text)
    password = (data / "root-password").read_text().strip()
    assert requests.get(url + "/_api/user", auth=("root", ""), timeout=10).status_code == 401
    # the generated password is root's (the server is not leader here: 503, past auth)
    as_root = requests.get(url + "/_api/user", auth=("root", password), timeout=10)
    assert as_root.status_code in (200, 503), as_root.text
    assert "root's password was generated and written to" in log_path.read_text()


def test_a_server_process_without_a_secret_exits_3(tmp_path: Path) -> None:
    cmd = server_command(free_port(), tmp_path / "d")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "--jwt-secret-file" in done.stderr


def test_insecure_no_auth_is_a_bare_flag() -> None:
    assert _expand_bare_flags(["--insecure-no-auth", "--id", "s1"]) == [
        "--insecure-no-auth", "true", "--id", "s1",
    ]  # fmt: skip
    assert _expand_bare_flags(["--insecure-no-auth", "false"]) == ["--insecure-no-auth", "false"]
    assert _expand_bare_flags(["--id", "s1", "--insecure-no-auth"])[-1] == "true"
