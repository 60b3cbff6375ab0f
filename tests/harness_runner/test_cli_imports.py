"""The CLI imports only what the command it runs needs (start-up speed lives in
``python -m harness.bench startup``; this checks the cause, not the clock)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import contextlib, io, json, sys
from harness.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"pandas", "numpy", "aiohttp",
               "docker", "reports"} or m == "harness.core.runner")
print(json.dumps({"code": code, "heavy": heavy}))
"""


def loaded(*argv: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["check", "--help"]])
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    got = loaded(*argv)
    assert got["code"] == 0 and got["heavy"] == [], got


def test_check_on_a_small_history_imports_nothing_heavy(tmp_path: Path) -> None:
    edn = tmp_path / "h.edn"
    edn.write_text(
        "{:type :invoke, :f :write, :value 1, :process 0, :index 0}\n"
        "{:type :ok, :f :write, :value 1, :process 0, :index 1}\n"
    )
    got = loaded("check", "--model", "cas-register", str(edn))
    assert got["code"] == 0 and got["heavy"] == [], got
