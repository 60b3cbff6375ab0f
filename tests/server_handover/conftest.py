"""Fixtures: a factory of real clusters, each stopped at the end of the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_handover.cluster import HandoverCluster


@pytest.fixture
def handover_cluster(tmp_path: Path) -> Iterator[Callable[..., HandoverCluster]]:
    made: list[HandoverCluster] = []

    def make(**kwargs: Any) -> HandoverCluster:
        made.append(HandoverCluster(tmp_path / f"cluster{len(made)}", **kwargs))
        return made[-1]

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
