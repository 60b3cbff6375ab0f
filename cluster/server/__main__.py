"""``python -m cluster.server --id s1 --listen HOST:PORT --agency URL,... --data-dir DIR``.

Runs one document server until SIGTERM or SIGINT, then shuts down cleanly: a
leader first hands its role to a caught-up follower (a planned switchover,
:mod:`cluster.server.handover`, at most ``HANDOVER_TIMEOUT`` seconds) so that
stopping it loses no acknowledged write and triggers no failover.
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
from cluster.common.config import BARE_FLAGS, expand_bare_flags, load
from cluster.common.errors import ArangoError
from cluster.common.http import setup_logging
from cluster.server.config import ServerConfig
from cluster.server.node import ServerNode, StartupRefused

log = logging.getLogger("cluster.server")
HANDOVER_TIMEOUT = 5.0  # seconds; the harness waits 10 s after SIGTERM before SIGKILL


async def _serve(cfg: ServerConfig) -> None:
    node = ServerNode(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        await stop.wait()
        await _hand_over(node)
    finally:
        log.info("%s: shutting down", cfg.id)
        await node.stop()


async def _hand_over(node: ServerNode) -> None:
    """On the way out, hand leadership over if this server leads (errors are logged)."""
    leadership = node.leadership
    if leadership is None or not leadership.leading(lease=False):
        return
    try:
        done = await leadership.switchover(wait_s=HANDOVER_TIMEOUT)
    except ArangoError as exc:
        log.warning("%s: no switchover before exit: %s", node.cfg.id, exc.message)
        return
    log.info("%s: handed leadership to %s before exit", node.cfg.id, done["new"])


def _expand_bare_flags(argv: Sequence[str]) -> list[str]:
    """``--insecure-no-auth`` alone means ``--insecure-no-auth true``."""
    return expand_bare_flags(argv, BARE_FLAGS)


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
