"""Run as a harness process: start a LocalBackend of fake nodes, print every child pid as
one JSON line, then either raise once a line arrives on stdin (``raise``) or wait to be
interrupted (``wait``)."""

from __future__ import annotations

import asyncio
import json
import sys

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.local import LocalBackend

FAKE = "tests.harness_net.fake_node"


async def main(mode: str, state_dir: str) -> None:
    backend = LocalBackend(agent_module=FAKE, server_module=FAKE)
    await backend.start(ClusterSpec(state_dir=state_dir, start_timeout=30))
    pids = [n.pid for n in backend.nodes()]
    assert backend._toxiproxy is not None and backend._toxiproxy.proc is not None
    pids.append(backend._toxiproxy.proc.pid)
    print(json.dumps(pids), flush=True)
    if mode == "raise":
        await asyncio.to_thread(sys.stdin.readline)  # the test has seen the children alive
        raise RuntimeError("boom: the harness failed mid-test")
    await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
