"""``python -m cluster.server --id s1 --listen HOST:PORT --agency URL,... --data-dir DIR``.

Runs one document server until SIGTERM or SIGINT, then shuts down cleanly.
Exit code 2 on bad flags (one line on stderr), 3 if the server cannot start
(also when no cluster secret is given: see docs/security.md).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import sys
from collections.abc import Sequence

from cluster.common import clock
from cluster.common.config import load
from cluster.common.http import setup_logging
from cluster.server.config import ServerConfig
from cluster.server.node import ServerNode, StartupRefused

log = logging.getLogger("cluster.server")


async def _serve(cfg: ServerConfig) -> None:
    node = ServerNode(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        await stop.wait()
    finally:
        log.info("%s: shutting down", cfg.id)
        await node.stop()


BARE_FLAGS = ("--insecure-no-auth",)
BOOL_WORDS = frozenset({"1", "true", "yes", "on", "0", "false", "no", "off"})


def _expand_bare_flags(argv: Sequence[str]) -> list[str]:
    """``--insecure-no-auth`` alone means ``--insecure-no-auth true``."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        following = argv[i + 1] if i + 1 < len(argv) else ""
        if arg in BARE_FLAGS and following.lower() not in BOOL_WORDS:
            out.append("true")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _expand_bare_flags(list(argv) if argv is not None else sys.argv[1:])
    cfg = load(ServerConfig, args, "cluster.server", "One afcheck document server.")
    setup_logging(cfg.id, cfg.log_level)
    if cfg.clock_file:
        clock.configure(cfg.clock_file)
    try:
        asyncio.run(_serve(cfg))
    except (OSError, sqlite3.Error, StartupRefused) as exc:
        print(f"cluster.server: {cfg.id}: cannot start: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
