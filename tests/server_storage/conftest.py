"""Fixtures: real agency + server clusters (see tests/server_failover/servers.py), stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_failover.servers import FailoverCluster


@pytest.fixture
def failover_cluster(tmp_path: Path) -> Iterator[Callable[..., FailoverCluster]]:
    made: list[FailoverCluster] = []

    def make(**kwargs: Any) -> FailoverCluster:
        cluster = FailoverCluster(tmp_path / f"cluster{len(made)}", **kwargs)
        made.append(cluster)
        cluster.start_all()
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
