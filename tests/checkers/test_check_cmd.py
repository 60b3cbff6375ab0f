"""``afcheck check``: verdict lines, exit codes, several files, JSON, unreadable files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bench.histories import register_history
from harness.cli import main
from harness.core.history import write_jsonl

FIXTURES = Path(__file__).parent / "fixtures"


def test_valid_and_invalid_files_in_one_call(capsys: pytest.CaptureFixture[str]) -> None:
    valid = str(FIXTURES / "cas-register-valid.edn")
    invalid = str(FIXTURES / "cas-register-invalid.edn")
    assert main(["check", "--model", "cas-register", valid]) == 0
    assert main(["check", "--model", "cas-register", valid, invalid]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith(f"{valid}: valid  11 ops")
    assert lines[-1].startswith(f"{invalid}: invalid  6 ops")


def test_independent_keys_and_set_model() -> None:
    assert main(["check", "--model", "cas-register", str(FIXTURES / "independent-valid.edn")]) == 0
    assert main(["check", "--model", "set", str(FIXTURES / "set-lost.edn")]) == 1


def test_unknown_verdict_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    # cas in a plain-register history: the model does not fit, so the verdict is unknown
    ops = [op for op in register_history(50, seed=2) if op.f == "cas"]
    write_jsonl(path, ops)
    assert main(["check", "--model", "register", str(path)]) == 2


def test_unreadable_file_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "history.jsonl"
    bad.write_text(
        '{"index": 0, "type": "invoke", "process": 0, "f": "add", "time": 0}\nnope\n{}\n'
    )
    missing = tmp_path / "absent.jsonl"
    code = main(["check", "--model", "set", str(FIXTURES / "set-lost.edn"), str(bad), str(missing)])
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"afcheck check: {bad}:2: not JSON: Expecting value"
    assert str(missing) in err[1]


def test_json_output_and_side_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    history = [
        {"index": 0, "type": "invoke", "process": 0, "f": "write", "value": 1, "time": 0},
        {"index": 1, "type": "invoke", "process": 1, "f": "write", "value": 2, "time": 1},
        {"index": 2, "type": "ok", "process": 0, "f": "write", "value": 1, "time": 5, "node": "s1"},
        {"index": 3, "type": "ok", "process": 1, "f": "write", "value": 2, "time": 6, "node": "s2"},
    ]
    (run / "history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    roles = [
        {"time": 0, "node": "s1", "role": "leader"},
        {"time": 0, "node": "s2", "role": "leader"},
        {"time": 9, "node": "s1", "role": "leader"},
        {"time": 9, "node": "s2", "role": "leader"},
    ]
    (run / "roles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in roles))
    assert main(["check", "--model", "split-brain", "--json", str(run / "history.jsonl")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["result"]["overlap-count"] == 1
    assert report["result"]["claims-count"] == 1


def test_usage_error_exits_4() -> None:
    assert main(["check", "--model", "bogus", "x"]) == 4


def test_console_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "check",
            "--model",
            "cas-register",
            str(FIXTURES / "cas-register-invalid.edn"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "invalid" in proc.stdout


def test_files_in_processes_print_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-j 2`` with several files: the same lines in the same order, the same exit code."""
    files = [str(p) for p in sorted(FIXTURES.glob("*register*.edn"))]
    files += [str(FIXTURES / "independent-valid.edn"), str(tmp_path / "missing.edn")]

    def lines(jobs: str) -> tuple[int, list[str], str]:
        code = main(["check", "-j", jobs, "--model", "cas-register", *files])
        out, err = capsys.readouterr()
        return code, [re.sub(r"  [\d.]+ s  ", "  ", line) for line in out.splitlines()], err

    one, two = lines("1"), lines("2")
    assert one == two
    assert one[0] == 3 and "missing.edn" in one[2]
