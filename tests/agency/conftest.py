"""Fixtures: a factory of real agent clusters (local backend), all torn down at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agency.agents import AgencyCluster, start_agency


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[Callable[..., AgencyCluster]]:
    """``agency(size=3, flags=None, proxied=False)``: a started agency."""
    made: list[AgencyCluster] = []

    def make(**kwargs: Any) -> AgencyCluster:
        cluster = start_agency(tmp_path / f"agency{len(made)}", **kwargs)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
