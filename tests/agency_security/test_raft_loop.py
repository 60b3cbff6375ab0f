"""Elections survive bad input and failing ticks (issue 10, row 1: the campaign loop).

A request that fails validation raises ``ValueError`` (answered 400) and
changes no term; an exception inside a tick or a drain is logged and the
loop goes on, so the next election still happens.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.agency.raft import RaftNode
from tests.agency.test_raft_unit import Net, build, stop_all, wait_leader


def test_invalid_votes_change_no_term(tmp_path: Path) -> None:
    async def body() -> None:
        nodes = build(tmp_path, 3, Net())
        try:
            node = nodes["n1"]
            for bad in (
                {"term": 2**63 - 1, "candidateId": "n2", "lastLogIndex": 0, "lastLogTerm": 0},
                {"term": 5, "candidateId": "n2", "lastLogIndex": 0, "lastLogTerm": 6},
                {"term": 5, "candidateId": "stranger", "lastLogIndex": 0, "lastLogTerm": 0},
                {"term": 5, "candidateId": "n2", "lastLogIndex": -1, "lastLogTerm": 0},
                {"term": True, "candidateId": "n2", "lastLogIndex": 0, "lastLogTerm": 0},
            ):
                with pytest.raises(ValueError):
                    node.handle_request_vote(bad)
                assert node.term == 0
        finally:
            await stop_all(nodes)

    asyncio.run(body())


def test_a_failing_tick_does_not_stop_elections(tmp_path: Path) -> None:
    async def body() -> None:
        nodes = build(tmp_path, 3, Net())
        failures = {"left": 0}
        for node in nodes.values():
            _flaky(node, failures)
        failures["left"] = 30  # the first ticks raise, on every node
        for node in nodes.values():
            node.start()
        try:
            first = await wait_leader(nodes)
            assert failures["left"] == 0
            await nodes[first].stop()  # the leader goes away: the others elect again
            others = {i: n for i, n in nodes.items() if i != first}
            assert await wait_leader(others) != first
        finally:
            await stop_all(nodes)

    asyncio.run(body())


def _flaky(node: RaftNode, failures: dict[str, int]) -> None:
    tick = node.core.tick

    def flaky_tick(*args: Any) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("a bug in a tick")
        tick(*args)

    node.core.tick = flaky_tick  # type: ignore[method-assign]
