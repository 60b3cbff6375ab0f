"""``afcheck soak`` refuses bad flags in one line with exit code 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.cli.soak import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--duration", "2 hours"], "--duration"),
        (["--duration", "1m", "--shard", "3/2"], "--shard"),
        (["--duration", "1m", "--workloads", "nope"], "unknown workload"),
        (["--duration", "1m", "--nemeses", "isolate-leader"], "no fault"),
        (["--duration", "1m", "--modes", "quorum"], "mode"),
        (["--duration", "1m", "--resume"], "no soak.json"),
        (["--duration", "1m", "--matrix", "/nonexistent.json"], "cannot read matrix"),
    ],
)
def test_bad_flags(
    flags: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["soak", "--store", str(tmp_path / "s"), *flags]) == 4
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_a_store_with_a_soak_needs_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "soak.json").write_text("{}")
    assert main(["soak", "--duration", "1m", "--store", str(tmp_path)]) == 4
    assert "--resume" in capsys.readouterr().err
