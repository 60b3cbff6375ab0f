"""set-full on hand-written histories (one per outcome), generated ones and mutations."""

from __future__ import annotations

import pytest

from harness.bench.histories import set_history
from harness.checkers.base import FaultWindow
from harness.checkers.set_full import check, check_set_full
from tests.checkers.helpers import MS, history


def _add(p: int, e: int, kind: str = "ok") -> list[tuple[object, ...]]:
    return [(p, "invoke", "add", e), (p, kind, "add", e, {"node": "s1"})]


def _read(p: int, elements: list[int] | None) -> list[tuple[object, ...]]:
    return [(p, "invoke", "read", None), (p, "ok", "read", elements)]


def test_stable_element() -> None:
    r = check_set_full(history(*_add(0, 1), *_read(1, [1])))
    assert r.valid is True
    assert r.evidence["stable-count"] == 1 and r.evidence["lost-count"] == 0
    assert r.evidence["stable-latencies"]["0"] == 0


def test_lost_element_with_details() -> None:
    h = history(*_add(0, 1), *_read(1, [1]), *_read(1, []))
    faults = [FaultWindow(1, "partition-leader", 0, 3 * MS)]
    r = check_set_full(h, faults)
    assert r.valid is False
    assert r.evidence["lost"] == [1]
    detail = r.evidence["lost-details"][0]
    assert detail["ack_time"] == 1 * MS and detail["node"] == "s1"
    assert detail["preceding_fault"]["fault"] == "partition-leader"
    # lost latency: from known (ack at 1 ms) to just after the last read that saw it (2 ms)
    assert r.evidence["lost-latencies"]["1"] == 2 * MS + 1 - 1 * MS


def test_acknowledged_but_never_seen_is_lost() -> None:
    r = check_set_full(history(*_add(0, 1), *_read(1, [])))
    assert r.evidence["lost"] == [1]
    assert r.valid is False


def test_read_concurrent_with_add_missing_it_is_never_read() -> None:
    h = history((0, "invoke", "add", 1), *_read(1, []), (0, "ok", "add", 1))
    r = check_set_full(h)
    assert r.evidence["never-read"] == [1]
    assert r.valid == "unknown"  # Jepsen: nothing stable


def test_stale_element() -> None:
    # acknowledged at 1 ms, missed by a read invoked at 2 ms, seen from 4 ms on
    h = history(*_add(0, 1), *_read(1, []), *_read(1, [1]))
    r = check_set_full(h)
    assert r.evidence["stale"] == [1]
    worst = r.evidence["worst-stale"][0]
    assert worst["stable-latency"] == 2 * MS + 1 - 1 * MS
    # bracketed: known by the add's ok (index 1), missed by the read invoked at 2, seen at 4
    assert (worst["known_index"], worst["missed_by"], worst["seen_again"]) == (1, 2, 4)
    assert r.valid is True
    assert check_set_full(h, linearizable=True).valid is False


def test_recovered_element() -> None:
    h = history(*_add(0, 1, "info"), *_read(1, [1]))
    r = check_set_full(h)
    assert r.evidence["recovered"] == [1]
    assert r.valid is True


def test_unexpected_element() -> None:
    r = check_set_full(history(*_add(0, 1), *_read(1, [1, 99])))
    assert r.evidence["unexpected"] == [99]
    assert r.valid is False


def test_duplicated_element() -> None:
    r = check_set_full(history(*_add(0, 1), *_read(1, [1, 1, 1])))
    assert r.evidence["duplicated"] == {"1": 3}
    assert r.valid is False


def test_failed_add_never_read_is_fine() -> None:
    r = check_set_full(history(*_add(0, 1, "fail"), *_add(0, 2), *_read(1, [2])))
    assert r.valid is True
    assert r.evidence["never-read"] == [1]


def test_entry_point_takes_json_lines_and_nemesis() -> None:
    h = [op.to_dict() for op in history(*_add(0, 1), *_read(1, []))]
    nemesis = [
        {"id": 1, "event": "start", "fault": "kill", "time": 0},
        {"id": 1, "event": "end", "fault": "kill", "time": 10 * MS},
    ]
    r = check(h, nemesis=nemesis)
    assert r.evidence["lost-details"][0]["preceding_fault"]["fault"] == "kill"


@pytest.mark.parametrize("seed", range(3))
def test_generated_history_is_valid(seed: int) -> None:
    r = check_set_full(set_history(20_000, read_every=200, seed=seed))
    assert r.valid is True
    assert r.evidence["lost-count"] == 0


@pytest.mark.parametrize("seed", range(3))
def test_dropping_an_element_from_later_reads_is_caught(seed: int) -> None:
    h = set_history(20_000, read_every=200, seed=seed)
    reads = [op for op in h if op.f == "read" and op.type == "ok" and op.value]
    victim = reads[len(reads) // 2].value[0]
    for op in reads[len(reads) // 2 + 1 :]:
        op.value = [e for e in op.value if e != victim]
    r = check_set_full(h)
    assert r.valid is False
    assert r.evidence["lost"] == [victim]


def _read_gen(p: int, generation: int | None, elements: list[int]) -> list[tuple[object, ...]]:
    return [(p, "invoke", "read", generation), (p, "ok", "read", elements)]


def test_a_generation_read_speaks_only_for_its_own_generation() -> None:
    # generations of 2: {0, 1} and {2, 3}; a read of generation 1 misses 0 and 1
    h = history(
        *_add(0, 0), *_add(0, 1), *_read_gen(1, 0, [0, 1]),
        *_add(0, 2), *_read_gen(1, 1, [2]),
        *_read_gen(1, None, [0, 1, 2]),
    )  # fmt: skip
    r = check_set_full(h, generation_size=2)
    assert r.valid is True and r.evidence["lost-count"] == 0
    assert r.evidence["stable-count"] == 3
    # read as one set, the generation-1 read would have lost 0 and 1 (then seen again: stale)
    assert check_set_full(h).evidence["stale"] == [0, 1]


def test_a_generation_read_missing_its_own_element_is_evidence_of_loss() -> None:
    h = history(*_add(0, 2), *_add(0, 3), *_read_gen(1, 1, [2, 3]), *_read_gen(1, 1, [2]))
    r = check_set_full(h, generation_size=2)
    assert r.valid is False and r.evidence["lost"] == [3]


def test_the_final_whole_set_read_judges_every_generation() -> None:
    # element 1 was never read in its generation; the final read misses it: lost
    h = history(*_add(0, 0), *_add(0, 1), *_add(0, 2), *_read_gen(1, None, [0, 2]))
    r = check_set_full(h, generation_size=2)
    assert r.evidence["lost"] == [1] and r.evidence["stable-count"] == 2


def test_many_generations_read_in_parts_are_all_stable() -> None:
    # 40 generations of 50, a generation read after every 5 adds, a final read of all
    entries: list[tuple[object, ...]] = []
    for e in range(2000):
        entries += _add(0, e)
        if e % 5 == 4:
            g = e // 50
            entries += _read_gen(1, g, list(range(g * 50, e + 1)))
    entries += _read_gen(1, None, list(range(2000)))
    r = check_set_full(history(*entries), generation_size=50)
    assert r.valid is True and r.evidence["stable-count"] == 2000
    assert r.evidence["stale"] == []
