"""The typed linearizability result keeps the counterexample and the undecided reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers.linearizable import check_linearizable
from harness.checkers.linearizable_result import LinearizableResult
from harness.cli import main
from tests.reports.test_counterexample import lost_write, stale_read

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("make", [stale_read, lost_write])
def test_explain_survives_results_json(make: object) -> None:
    raw = check_linearizable(make(), "cas-register").to_json()  # type: ignore[operator]
    typed = LinearizableResult.from_json(raw)
    failure = typed.failures[0]
    assert failure.explain is not None and failure.method == failure.explain.method
    assert failure.explain.blocked is not None
    assert failure.explain.window
    again = LinearizableResult.from_json(typed.to_json())
    assert again.failures[0].explain == failure.explain


def test_undecided_keys_keep_their_reason() -> None:
    raw = check_linearizable(stale_read(), "cas-register", max_states=1).to_json()
    typed = LinearizableResult.from_json(raw)
    assert typed.valid == "unknown"
    assert [(u.key, u.reason, u.bound) for u in typed.undecided] == [
        (1, "states reached 1", "1 states")
    ]
    assert "undecided" in typed.summary and "states reached 1" in typed.summary


def test_no_fixture_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(FIXTURES.glob("*.edn")) + sorted(FIXTURES.glob("findings/*/history.jsonl")):
        text = path.read_text(encoding="utf-8")
        model = "set" if ":add" in text or '"add"' in text else "cas-register"
        if model == "set" and ":read" not in text and '"read"' not in text:
            model = "availability"
        code = main(["check", "--model", model, str(path)])
        out = capsys.readouterr().out
        assert code in (0, 1), f"{path.name}: {out}"
        assert ": unknown " not in out


def test_lost_elements_are_bracketed_by_reads(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--model", "set", "--explain", str(FIXTURES / "set-lost.edn")])
    out = capsys.readouterr().out
    assert code == 1
    assert "add acknowledged at index" in out and "missing from the read invoked at index" in out
