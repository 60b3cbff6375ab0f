"""The plan: deterministic per seed; shards are disjoint and cover it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli.registry import FAULTS, WORKLOADS
from harness.soak.plan import (
    Matrix,
    build_matrix,
    draw,
    parse_shard,
    shard_indices,
    shard_rounds,
)

MATRIX = build_matrix(list(WORKLOADS), FAULTS, "local")


def test_default_matrix_covers_every_workload_family_and_mode() -> None:
    families = {cls.family for cls in FAULTS.values()}
    assert {w for w, _, _ in MATRIX.cells} == set(WORKLOADS)
    assert {f for _, f, _ in MATRIX.cells} == families
    assert {m for _, _, m in MATRIX.cells} == {"async", "sync"}
    assert len(MATRIX.cells) == len(WORKLOADS) * len(families) * 2


def test_local_backend_leaves_out_docker_only_faults() -> None:
    names = {n for fs in MATRIX.families.values() for n in fs}
    assert "isolate-leader" not in names
    docker = build_matrix(list(WORKLOADS), FAULTS, "docker")
    assert "isolate-leader" in {n for fs in docker.families.values() for n in fs}


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**40), k=st.integers(0, 500))
def test_draw_is_a_function_of_seed_and_index(seed: int, k: int) -> None:
    assert draw(seed, MATRIX, k) == draw(seed, MATRIX, k)
    r = draw(seed, MATRIX, k)
    assert r.fault in MATRIX.families[r.family]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_each_pass_visits_every_cell_once(seed: int) -> None:
    n = len(MATRIX.cells)
    cells = {(r.workload, r.family, r.mode) for r in (draw(seed, MATRIX, k) for k in range(n))}
    assert cells == set(MATRIX.cells)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 8), length=st.integers(0, 60))
def test_shards_are_disjoint_and_cover_the_plan(seed: int, n: int, length: int) -> None:
    seen: list[int] = []
    for i in range(1, n + 1):
        for k in shard_indices((i, n)):
            if k >= length:
                break
            seen.append(k)
    assert sorted(seen) == list(range(length))  # each index exactly once
    plan = [draw(seed, MATRIX, k) for k in range(length)]
    per_shard = [shard_rounds(seed, MATRIX, (i, n), length) for i in range(1, n + 1)]
    union = sorted((r for rs in per_shard for r in rs if r.index < length), key=lambda r: r.index)
    assert union == plan


def test_different_seeds_draw_different_plans() -> None:
    a = [draw(1, MATRIX, k) for k in range(20)]
    b = [draw(2, MATRIX, k) for k in range(20)]
    assert a != b


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1", "a/b", "1/0", "/"])
def test_bad_shards_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(bad)


def test_matrix_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown workload"):
        build_matrix(list(WORKLOADS), FAULTS, "local", only_workloads=["nope"])
    with pytest.raises(ValueError, match="unknown fault"):
        build_matrix(list(WORKLOADS), FAULTS, "local", only_nemeses=["nope"])
    with pytest.raises(ValueError, match="no fault"):
        build_matrix(list(WORKLOADS), FAULTS, "local", only_nemeses=["isolate-leader"])
    with pytest.raises(ValueError, match="mode"):
        Matrix(("set",), {"kill": ("kill-leader",)}, ("quorum",))


def test_nemeses_may_name_families() -> None:
    m = build_matrix(list(WORKLOADS), FAULTS, "local", only_nemeses=["clock", "kill-leader"])
    assert set(m.families) == {"clock", "kill"}
    assert m.families["kill"] == ("kill-leader",)
