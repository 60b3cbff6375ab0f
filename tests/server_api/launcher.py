"""Test-only launcher: serve the client API of one always-leader server.

``python -m tests.server_api.launcher --data-dir DIR --port P [--no-auth]``
prints ``ready`` on stdout once it listens on 127.0.0.1:P.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from aiohttp import web

from cluster.server.app import make_client_app
from cluster.server.auth import Auth
from cluster.server.storage import Storage
from tests.server_api.gates import AlwaysLeaderGate

JWT_SECRET = "test-secret"
BODY_LIMIT = 1024 * 1024


def build(data_dir: str, auth_enabled: bool, root_password: str = "") -> web.Application:
    storage = Storage(os.path.join(data_dir, "data.sqlite"))
    gate = AlwaysLeaderGate()
    auth = Auth(storage, JWT_SECRET, enabled=auth_enabled, root_password=root_password)
    app = make_client_app(storage, gate, auth, BODY_LIMIT, "s1")

    async def close_storage(app: web.Application) -> None:
        storage.close()

    app.on_cleanup.append(close_storage)
    return app


async def serve(data_dir: str, port: int, auth_enabled: bool) -> None:
    runner = web.AppRunner(build(data_dir, auth_enabled), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-auth", action="store_true")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.data_dir, args.port, not args.no_auth))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
