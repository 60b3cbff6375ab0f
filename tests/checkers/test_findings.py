"""Histories of anomalies our cluster really showed: the checkers must keep catching them."""

from __future__ import annotations

import json
from pathlib import Path

from harness.checkers import set_full
from harness.core.history import read_history

FINDINGS = Path(__file__).parent / "fixtures" / "findings"


def test_sync_leader_unacknowledged_read_is_a_lost_element() -> None:
    run = FINDINGS / "sync-leader-unacked-read"
    nemesis = [json.loads(line) for line in (run / "nemesis.jsonl").read_text().splitlines()]
    result = set_full.check(read_history(run / "history.jsonl"), nemesis=nemesis).to_json()
    assert result["valid"] is False
    assert result["lost"] == [627]
    rolled_back = {
        entry["doc"]["value"] for entry in json.loads((run / "rollbacks.json").read_text())
    }
    assert 627 in rolled_back  # kept by the returning old leader, not dropped silently
