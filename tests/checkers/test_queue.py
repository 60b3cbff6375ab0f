"""The total-queue checker on hand-written and mutated histories."""

from __future__ import annotations

import random

from harness.checkers.queue import check_queue
from harness.core.history import Op
from tests.checkers.helpers import history


def _queue_history(n: int, seed: int) -> list[Op]:
    """A correct queue: ``n`` enqueues (some info, half of those applied), dequeues, a drain."""
    rng = random.Random(seed)
    rows: list[tuple[object, ...]] = []
    present: list[int] = []
    for v in range(n):
        kind = "info" if rng.random() < 0.1 else "ok"
        rows.append((v, "invoke", "enqueue", v))
        if kind == "ok" or rng.random() < 0.5:
            present.append(v)
        rows.append((v, kind, "enqueue", v))
        if rng.random() < 0.4 and present:
            rows.append((1000 + v, "invoke", "dequeue", None))
            rows.append((1000 + v, "ok", "dequeue", present.pop(0)))
    rows.append((5000, "invoke", "drain", None))
    rows.append((5000, "ok", "drain", list(present)))
    return history(*rows)


def test_correct_queue_is_valid() -> None:
    for seed in range(5):
        assert check_queue(_queue_history(60, seed)).valid is True


def test_lost_unexpected_and_duplicated_are_caught() -> None:
    h = history(
        (0, "invoke", "enqueue", 1),
        (0, "ok", "enqueue", 1),
        (1, "invoke", "enqueue", 2),
        (1, "ok", "enqueue", 2),
        (2, "invoke", "dequeue", None),
        (2, "ok", "dequeue", 2),
        (3, "invoke", "dequeue", None),
        (3, "ok", "dequeue", 2),
        (4, "invoke", "dequeue", None),
        (4, "ok", "dequeue", 9),
        (5, "invoke", "drain", None),
        (5, "ok", "drain", []),
    )
    result = check_queue(h)
    assert result.valid is False
    ev = result.evidence
    assert ev["lost"] == [1] and ev["unexpected"] == [9] and ev["duplicated"] == {2: 2}
    lost = next(d for d in ev["details"] if d["kind"] == "lost")
    assert lost["enqueue"]["index"] == 0 and lost["dequeues"] == []


def test_mutations_are_caught() -> None:
    base = _queue_history(80, 3)
    drain = base[-1]
    assert isinstance(drain.value, list) and drain.value
    dropped = base[:-1] + [Op(drain.index, "ok", drain.process, "drain", drain.value[1:], 0)]
    assert check_queue(dropped).valid is False
    doubled = base[:-1] + [
        Op(drain.index, "ok", drain.process, "drain", drain.value + drain.value[:1], 0)
    ]
    assert check_queue(doubled).evidence["duplicated"]


def test_info_enqueue_dequeued_is_recovered_not_unexpected() -> None:
    h = history(
        (0, "invoke", "enqueue", 7),
        (0, "info", "enqueue", 7),
        (1, "invoke", "drain", None),
        (1, "ok", "drain", [7]),
    )
    result = check_queue(h)
    assert result.valid is True and result.evidence["recovered"] == [7]
