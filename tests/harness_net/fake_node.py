"""A stand-in node for backend lifecycle tests: accepts the agent/server flags and answers
the few endpoints the backend polls (``/_api/agency/config``, ``/_admin/server/role``,
``/_api/version``). ``a1`` leads the agency and ``s1`` the servers, and sees every
``--peer`` GOOD."""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--id", required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--peer", action="append", default=[])
    args, _ = parser.parse_known_args()
    host, port = args.listen.rsplit(":", 1)
    ticks = 0

    async def config(_: web.Request) -> web.Response:
        return web.json_response({"term": 1, "leaderId": "a1", "commitIndex": 0})

    async def role(_: web.Request) -> web.Response:
        leader = args.id == "s1"
        health = {p.split("=", 1)[0]: "GOOD" for p in args.peer} if leader else {}
        return web.json_response(
            {"role": "SINGLE", "mode": "resilient", "afRole": "leader" if leader else "follower",
             "epoch": 1, "lastTick": ticks, "leader": "s1", "details": {"health": health}}
        )  # fmt: skip

    async def version(_: web.Request) -> web.Response:
        return web.json_response({"server": "fake", "version": "0", "id": args.id})

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.05)

    app = web.Application()
    app.router.add_get("/_api/agency/config", config)
    app.router.add_get("/_admin/server/role", role)
    app.router.add_get("/_api/version", version)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    print(f"{args.id} listening on {args.listen}", flush=True)
    await tick()


if __name__ == "__main__":
    asyncio.run(main())
