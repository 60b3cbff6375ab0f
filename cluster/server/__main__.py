"""``python -m cluster.server --id s1 --listen HOST:PORT --agency URL,... --data-dir DIR``.

Runs one document server until SIGTERM or SIGINT, then shuts down cleanly.
Exit code 2 on bad flags (one line on stderr), 3 if the server cannot start.
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
from cluster.server.node import ServerNode

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


def main(argv: Sequence[str] | None = None) -> int:
    cfg = load(ServerConfig, argv, "cluster.server", "One afcheck document server.")
    setup_logging(cfg.id, cfg.log_level)
    if cfg.clock_file:
        clock.configure(cfg.clock_file)
    try:
        asyncio.run(_serve(cfg))
    except (OSError, sqlite3.Error) as exc:
        print(f"cluster.server: {cfg.id}: cannot start: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
