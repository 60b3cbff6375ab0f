"""Fixtures: a factory of real agent clusters, all stopped at the end of the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agency.agents import AgencyCluster


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[Callable[..., AgencyCluster]]:
    made: list[AgencyCluster] = []

    def make(**kwargs: Any) -> AgencyCluster:
        cluster = AgencyCluster(tmp_path / f"agency{len(made)}", **kwargs)
        made.append(cluster)
        cluster.start_all()
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
