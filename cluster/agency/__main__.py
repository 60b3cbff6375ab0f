"""``python -m cluster.agency --id a1 --listen HOST:PORT --peer a2=URL ... --data-dir DIR``.

Runs one agent until SIGTERM or SIGINT, then shuts down cleanly. Exit code
2 on bad flags (one line on stderr), 3 if the agent cannot start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from cluster.agency.agent import Agent
from cluster.agency.config import AgentConfig
from cluster.common import clock
from cluster.common.config import expand_bare_flags, load
from cluster.common.http import setup_logging
from cluster.common.tokens import SecretError

log = logging.getLogger("cluster.agency")


async def _serve(cfg: AgentConfig) -> None:
    agent = Agent(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await agent.start()
    try:
        await stop.wait()
    finally:
        log.info("%s: shutting down", cfg.id)
        await agent.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = expand_bare_flags(list(argv) if argv is not None else sys.argv[1:])
    cfg = load(AgentConfig, args, "cluster.agency", "One agent of the afcheck agency.")
    setup_logging(cfg.id, cfg.log_level)
    if cfg.clock_file:
        clock.configure(cfg.clock_file)
    try:
        asyncio.run(_serve(cfg))
    except (OSError, SecretError) as exc:
        print(f"cluster.agency: {cfg.id}: cannot start: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
