"""Retention evicts the oldest passing rounds first and never a failing one."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.soak.retention import Kept, choose_evictions, evict


def kept(i: int, passing: bool = True, size: int = 100) -> Kept:
    return Kept(i, Path(f"/nonexistent/{i}"), passing, size)


def test_keep_passing_evicts_oldest_first() -> None:
    rounds = [kept(3), kept(0), kept(1, passing=False), kept(2)]
    out = choose_evictions(rounds, keep_passing=1, max_bytes=None, store_bytes=400)
    assert [k.index for k in out] == [0, 2]


def test_max_bytes_evicts_oldest_passing_until_under() -> None:
    rounds = [kept(0), kept(1, passing=False, size=1000), kept(2), kept(3)]
    out = choose_evictions(rounds, keep_passing=None, max_bytes=1150, store_bytes=1300)
    assert [k.index for k in out] == [0, 2]


def test_failing_rounds_stay_even_over_the_bound() -> None:
    rounds = [kept(0, passing=False, size=5000), kept(1)]
    out = choose_evictions(rounds, keep_passing=0, max_bytes=10, store_bytes=5100)
    assert [k.index for k in out] == [1]


@settings(max_examples=100, deadline=None)
@given(
    verdicts=st.lists(st.booleans(), max_size=30),
    keep=st.none() | st.integers(0, 10),
    max_bytes=st.none() | st.integers(0, 3000),
)
def test_never_a_failing_round_and_oldest_passing_first(
    verdicts: list[bool], keep: int | None, max_bytes: int | None
) -> None:
    rounds = [kept(i, p) for i, p in enumerate(verdicts)]
    out = choose_evictions(rounds, keep, max_bytes, store_bytes=100 * len(rounds))
    assert all(k.passing for k in out)
    passing = [k.index for k in rounds if k.passing]
    assert [k.index for k in out] == passing[: len(out)]  # a prefix: oldest first
    left = len(passing) - len(out)
    if keep is not None:
        assert left <= keep


def test_evict_deletes_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "r00001-x" / "20260101T000000"
    run.mkdir(parents=True)
    (run / "history.jsonl").write_text("{}\n")
    gone: list[int] = []
    evict([Kept(1, run, True, 3)], lambda k: gone.append(k.index))
    assert gone == [1]
    assert not run.exists() and not run.parent.exists()
