"""Run as a harness process: start a small DockerBackend cluster, print its run id as one
JSON line, then wait to be interrupted or killed (the test decides which)."""

from __future__ import annotations

import asyncio
import json
import sys

from harness.infra.backends.base import ClusterSpec
from harness.infra.backends.docker import DockerBackend


async def main(node_image: str, toxiproxy_image: str, state_dir: str) -> None:
    async with DockerBackend(node_image, toxiproxy_image) as backend:
        spec = ClusterSpec(agents=1, servers=1, state_dir=state_dir, start_timeout=90)
        await backend.start(spec)
        print(json.dumps({"run": backend.run_id}), flush=True)
        await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
