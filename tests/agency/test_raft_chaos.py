"""Randomized faults on in-process Raft nodes: partitions, crashes with restart from disk.

Safety checked at the end: every node's applied sequence is a prefix of the
longest one, and every proposal acknowledged to a client is in it, once.
The seed is in the test id, so a failure can be repeated.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from cluster.agency.log_store import LogStore
from cluster.agency.raft import RaftNode
from cluster.agency.raft_types import NotLeader
from tests.agency.test_raft_unit import ListMachine, Net, make_machine, settings

pytestmark = pytest.mark.timeout(120)


async def _chaos(tmp: Path, seed: int, steps: int = 30) -> None:
    rng = random.Random(seed)
    ids = ["n1", "n2", "n3"]
    net = Net()

    def boot(ident: str) -> RaftNode:
        node = RaftNode(
            settings(ident, ids, snapshot_every=15),
            LogStore(str(tmp / ident)),
            net.transport(ident),
            make_machine,
        )
        net.nodes[ident] = node
        node.start()
        return node

    for ident in ids:
        boot(ident)
    acked: list[int] = []
    counter = 0
    down: set[str] = set()
    running = True

    async def client() -> None:
        # a flag, not cancel(): Python 3.11's wait_for can swallow a cancellation
        nonlocal counter
        while running:
            leaders = [n for i, n in net.nodes.items() if i not in down and n.is_leader()]
            if not leaders:
                await asyncio.sleep(0.01)
                continue
            counter += 1
            value = counter
            try:
                await asyncio.wait_for(leaders[0].propose([{"v": value}]), 0.5)
                acked.append(value)
            except (NotLeader, TimeoutError):
                pass

    clients = [asyncio.create_task(client()) for _ in range(3)]
    try:
        for _ in range(steps):
            action = rng.choice(["cut", "heal", "crash", "restart", "wait"])
            if action == "cut":
                a, b = rng.sample(ids, 2)
                net.cut.add((a, b))
            elif action == "heal":
                net.cut.clear()
            elif action == "crash" and len(down) < 1:
                victim = rng.choice(ids)
                down.add(victim)
                node = net.nodes.pop(victim)
                await node.stop()
                node._disk.close()
            elif action == "restart" and down:
                boot(down.pop())
            await asyncio.sleep(rng.uniform(0.05, 0.3))
        net.cut.clear()
        while down:
            boot(down.pop())
        await asyncio.sleep(1.0)
    finally:
        running = False
        await asyncio.wait_for(asyncio.gather(*clients, return_exceptions=True), 5)
    # let everyone converge on the final commit index
    for _ in range(300):
        applied = [n.last_applied for n in net.nodes.values()]
        if len(set(applied)) == 1:
            break
        await asyncio.sleep(0.01)
    histories: list[list[int]] = []
    for node in net.nodes.values():
        sm = node.sm
        assert isinstance(sm, ListMachine)
        histories.append(list(sm.applied))
    for node in list(net.nodes.values()):
        await node.stop()
        node._disk.close()
    longest = max(histories, key=len)
    for h in histories:
        assert h == longest[: len(h)], f"seed {seed}: divergent applied sequences"
    assert len(set(longest)) == len(longest), f"seed {seed}: an entry applied twice"
    missing = set(acked) - set(longest)
    assert not missing, f"seed {seed}: acknowledged but lost: {sorted(missing)[:10]}"
    assert acked, f"seed {seed}: nothing was ever acknowledged"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_partitions_and_crashes_keep_raft_safe(tmp_path: Path, seed: int) -> None:
    asyncio.run(_chaos(tmp_path, seed))
