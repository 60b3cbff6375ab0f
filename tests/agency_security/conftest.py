"""Fixtures: one authenticated three-agent agency per module (real processes, local backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agency.agents import AgencyCluster, start_agency


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyCluster]:
    """Three agents with a random cluster secret, a few observers at most."""
    root: Path = tmp_path_factory.mktemp("agency")
    cluster = start_agency(root, size=3, flags={"max-observers": "3"})
    try:
        yield cluster
    finally:
        cluster.close()
