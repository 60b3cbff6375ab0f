"""Histories both ways: Jepsen EDN in, Porcupine JSON out and in, same verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bench.histories import unique_register_history
from harness.checkers.linearizable import check_linearizable
from harness.checkers.porcupine_format import from_porcupine, looks_like_porcupine, to_porcupine
from harness.cli import main
from harness.core.history import read_history, write_edn
from tests.checkers.helpers import history

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("anomaly", [None, "stale-read", "lost-write"])
def test_porcupine_round_trip_keeps_the_verdict(anomaly: str | None) -> None:
    ops, _ = unique_register_history(
        300, 5, 3, 0.1, cas_rate=0.3, seed=4, anomaly=anomaly, nemesis_every=25
    )
    exported = to_porcupine(ops)
    assert looks_like_porcupine(json.dumps(exported))
    back = from_porcupine(json.loads(json.dumps(exported)))
    assert check_linearizable(back).valid is check_linearizable(ops).valid is (anomaly is None)


def test_porcupine_export_leaves_out_fail_ops_and_unknown_reads() -> None:
    h = history(
        (0, "invoke", "write", [1, 5]),
        (0, "ok", "write", [1, 5]),
        (1, "invoke", "cas", [1, [4, 6]]),
        (1, "fail", "cas", [1, [4, 6]]),
        (2, "invoke", "read", [1, None]),
        (2, "info", "read", [1, None]),
        (3, "invoke", "write", [1, 7]),
        (3, "info", "write", [1, 7]),
        ("nemesis", "info", "start", "partition"),
    )
    out = to_porcupine(h)
    assert [o["Input"]["Op"] for o in out] == ["write", "write"]
    assert out[1]["Output"]["Unknown"] is True
    assert out[1]["Return"] > max(o["Call"] for o in out)


def test_jepsen_edn_with_independent_keys_info_fail_and_nemesis(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "{:type :invoke, :f :write, :value [0 1], :process 0, :time 1, :index 0}",
            "{:type :info, :f :start, :value nil, :process :nemesis, :time 2, :index 1}",
            "{:type :ok, :f :write, :value [0 1], :process 0, :time 3, :index 2}",
            "{:type :invoke, :f :cas, :value [0 [1 2]], :process 1, :time 4, :index 3}",
            '{:type :info, :f :cas, :value [0 [1 2]], :process 1, :time 5, :index 4, :error "timeout"}',
            "{:type :invoke, :f :write, :value [1 3], :process 2, :time 6, :index 5}",
            "{:type :fail, :f :write, :value [1 3], :process 2, :time 7, :index 6}",
            "{:type :invoke, :f :read, :value [0 nil], :process 3, :time 8, :index 7}",
            "{:type :ok, :f :read, :value [0 2], :process 3, :time 9, :index 8}",
            "{:type :invoke, :f :read, :value [1 nil], :process 4, :time 10, :index 9}",
            "{:type :ok, :f :read, :value [1 3], :process 4, :time 11, :index 10}",
        ]
    )
    path = tmp_path / "history.edn"
    path.write_text(text + "\n", encoding="utf-8")
    ops = read_history(path)
    assert ops[1].process == "nemesis" and ops[4].error == "timeout"
    result = check_linearizable(ops)
    # key 0 is fine (the info cas happened); key 1 read a value whose write failed
    assert result.valid is False
    assert [f["key"] for f in result.evidence["failures"]] == [1]


def test_cli_reads_porcupine_and_exports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops, _ = unique_register_history(120, 4, 2, 0.1, cas_rate=0.2, seed=2, anomaly="stale-read")
    edn = tmp_path / "history.edn"
    write_edn(edn, ops)
    out = tmp_path / "p.json"
    assert main(["check", "--model", "cas-register", str(edn), "--export-porcupine", str(out)]) == 1
    assert main(["check", "--model", "cas-register", str(out)]) == 1
    assert main(["check", "--model", "cas-register", "--format", "porcupine", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sum("invalid" in line for line in lines) == 3


def test_cli_rejects_bad_porcupine_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"ClientId": 0, "Input": {"Op": "fly"}, "Call": 1, "Return": 2}]')
    assert main(["check", "--model", "register", "--format", "porcupine", str(bad)]) == 3
    assert "unknown Op" in capsys.readouterr().err


def test_fixtures_never_unknown() -> None:
    for path in sorted(FIXTURES.glob("*register*.edn")) + [FIXTURES / "independent-valid.edn"]:
        assert check_linearizable(read_history(path)).valid in (True, False), path
