"""Reading run directories: bad input gives a clear error and exit 3, never a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from reports.rundir import RunDirError, load_run
from tests.reports.fixtures import make_set_run


@pytest.fixture
def set_run(tmp_path: Path) -> Path:
    return make_set_run(tmp_path / "run", duration_s=12)


def test_loads_a_complete_run(set_run: Path) -> None:
    run = load_run(set_run)
    assert run.history and run.nemesis and run.roles and run.results is not None
    assert run.test["workload"] == "set"
    assert "nodes/s1/s1.log" in run.node_logs
    assert run.notes == []


def test_missing_optional_files_become_notes(set_run: Path) -> None:
    for name in ("test.json", "nemesis.jsonl", "roles.jsonl", "results.json"):
        (set_run / name).unlink()
    run = load_run(set_run)
    assert len(run.notes) == 4
    assert any("results.json is missing" in n for n in run.notes)


def test_torn_last_line_is_dropped_with_a_note(set_run: Path) -> None:
    path = set_run / "history.jsonl"
    with path.open("a", encoding="utf-8") as out:
        out.write('{"index": 99999, "type": "inv')
    run = load_run(set_run)
    assert any("torn last line" in n for n in run.notes)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "history.jsonl",
            '{"type":"invoke"}\nnot json\n{"type":"ok"}\n',
            "history.jsonl:2: not JSON",
        ),
        ("history.jsonl", "[1, 2]\n", "expected a JSON object per line"),
        (
            "history.jsonl",
            '{"type":"begin","process":0,"f":"add","time":1}\n',
            "type must be one of",
        ),
        (
            "history.jsonl",
            '{"type":"ok","process":0,"f":"add","time":"soon"}\n',
            "time must be a number",
        ),
        ("history.jsonl", '{"type":"ok","process":null,"f":"add","time":1}\n', "process must be"),
        ("results.json", "{", "results.json:1: not JSON"),
        ("results.json", "[]", "results.json: expected a JSON object"),
        ("results.json", '{"checkers": []}', "'checkers' must be an object"),
        ("results.json", '{"checkers": {"set-full": 3}}', "checker 'set-full' must be an object"),
        ("test.json", "", "test.json:1: not JSON"),
        ("nemesis.jsonl", '{"event":"start"}\n', "nemesis.jsonl: record 1: time must be a number"),
        ("roles.jsonl", '{"time": 5, "role": "leader"}\n', "missing 'node'"),
    ],
)
def test_malformed_files_give_a_clear_error(
    set_run: Path, name: str, content: str, message: str
) -> None:
    (set_run / name).write_text(content, encoding="utf-8")
    with pytest.raises(RunDirError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_run(set_run)


def test_non_utf8_file_is_an_error(set_run: Path) -> None:
    (set_run / "roles.jsonl").write_bytes(b"\xff\xfe{}\n")
    with pytest.raises(RunDirError, match="roles.jsonl: not UTF-8"):
        load_run(set_run)


def test_missing_or_wrong_directory(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        load_run(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="not a directory"):
        load_run(tmp_path / "file")
    with pytest.raises(RunDirError, match="no history.jsonl"):
        load_run(tmp_path)


def test_cli_writes_the_report_and_prints_its_path(
    set_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(set_run)]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(set_run / "report.html")
    assert (set_run / "report.html").stat().st_size > 10_000


def test_cli_exit_3_with_one_line_reason(set_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (set_run / "results.json").write_text('{"checkers": {"x": [1]}}')
    assert main(["report", str(set_run)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checker 'x' must be an object" in err
    assert not (set_run / "report.html").exists()


def test_cli_exit_3_when_report_cannot_be_written(
    set_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(set_run), "--out", str(set_run / "no" / "such" / "dir.html")]) == 3
    assert "cannot write the report" in capsys.readouterr().err
    assert not list(set_run.glob(".*.tmp"))


def test_cli_subprocess_on_a_missing_dir(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 3
    assert done.stderr.strip().endswith("no such run directory") and done.stdout == ""


def test_empty_history_still_renders(tmp_path: Path) -> None:
    run = tmp_path / "empty"
    run.mkdir()
    (run / "history.jsonl").write_text("")
    (run / "results.json").write_text(json.dumps({"valid": "unknown", "checkers": {}}))
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "no client operation in the history" in page
