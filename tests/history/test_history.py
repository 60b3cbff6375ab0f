"""Histories: the Op model, JSONL writing/reading (crash-safe), EDN import/export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.core.history import (
    HistoryError,
    HistoryWriter,
    Op,
    pair_ops,
    parse_edn_history,
    read_edn,
    read_history,
    read_jsonl,
    write_edn,
    write_jsonl,
)

FIXTURES = Path(__file__).parent.parent / "checkers" / "fixtures"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)
ops = st.builds(
    Op,
    index=st.integers(0, 10**6),
    type=st.sampled_from(["invoke", "ok", "fail", "info"]),
    process=st.integers(0, 100) | st.just("nemesis"),
    f=st.sampled_from(["read", "write", "cas", "add", "start"]),
    value=json_values,
    time=st.integers(0, 10**15),
    node=st.none() | st.sampled_from(["s1", "s2"]),
    error=st.none() | st.text(max_size=10),
    dirty=st.none() | st.booleans(),
    extra=st.dictionaries(
        st.sampled_from(["attempt_time", "role", "debug"]), json_values, max_size=2
    ),
)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=50,
    deadline=None,
)
@given(st.lists(ops, max_size=10))
def test_jsonl_round_trip(tmp_path: Path, history: list[Op]) -> None:
    path = tmp_path / "history.jsonl"
    write_jsonl(path, history)
    assert read_jsonl(path) == history


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=50,
    deadline=None,
)
@given(st.lists(ops, max_size=10))
def test_edn_round_trip(tmp_path: Path, history: list[Op]) -> None:
    path = tmp_path / "history.edn"
    write_edn(path, history)
    assert read_edn(path) == history
    assert read_history(path) == history


def test_writer_appends_and_flushes_each_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    writer = HistoryWriter(path)
    writer.write(Op(0, "invoke", 0, "add", 1, 5))
    writer.write({"index": 1, "type": "ok", "process": 0, "f": "add", "value": 1, "time": 6})
    assert len(read_jsonl(path)) == 2  # visible before close
    writer.close()


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_jsonl(path, [Op(0, "invoke", 0, "add", 1, 5)])
    with open(path, "a") as fh:
        fh.write('{"index": 1, "type": "o')
    assert [op.index for op in read_jsonl(path)] == [0]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ('{"index": 1, "type": "done", "process": 0, "f": "x"}', "bad type"),
        ('{"index": 1, "type": "ok", "process": 1.5, "f": "x"}', "bad process"),
        ('{"index": 1, "type": "ok", "process": 0}', "bad f"),
        ('{"index": 1, "type": "ok", "process": 0, "f": "x", "time": "soon"}', "bad time"),
        ("[1, 2]", "expected an object"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "history.jsonl"
    good = json.dumps({"index": 0, "type": "invoke", "process": 0, "f": "x", "time": 0})
    path.write_text(f"{good}\n{line}\n{good}\n")
    with pytest.raises(HistoryError) as err:
        read_jsonl(path)
    assert err.value.line == 2 and reason in err.value.reason
    assert str(path) in str(err.value)


def test_jepsen_fixtures_parse() -> None:
    valid = read_history(FIXTURES / "cas-register-valid.edn")
    assert valid[5].type == "info" and valid[5].value == "timed-out"
    assert valid[6].process == "nemesis"
    vector = read_history(FIXTURES / "cas-register-invalid.edn")
    assert [op.index for op in vector] == list(range(6))
    sets = read_history(FIXTURES / "set-lost.edn")
    assert sets[5].value == [1, 2]
    assert sets[6].value == ["isolated", {"n1": ["n2", "n3"]}]


def test_edn_truncated_last_line_is_skipped_but_not_a_broken_middle() -> None:
    text = "{:type :invoke, :f :read, :process 0, :time 1, :index 0}\n{:type :ok, :f"
    assert len(parse_edn_history(text)) == 1
    with pytest.raises(HistoryError) as err:
        parse_edn_history("{:type :invoke :f}\n{:type :ok, :f :read, :process 0}\n")
    assert err.value.line == 1
    with pytest.raises(HistoryError, match="expected a map"):
        parse_edn_history("[1 2]")


def test_edn_without_index_gets_positions() -> None:
    ops = parse_edn_history(
        "{:type :invoke, :f :read, :process 0}\n{:type :ok, :f :read, :process 0, :value 3}"
    )
    assert [op.index for op in ops] == [0, 1]


def _entry(index: int, kind: str, process: Any) -> Op:
    return Op(index, kind, process, "write", index)


def test_pair_ops_matches_completions_by_process() -> None:
    pairs = pair_ops(
        [
            _entry(0, "invoke", 0),
            _entry(1, "invoke", 1),
            _entry(2, "info", "nemesis"),
            _entry(3, "ok", 1),
            _entry(4, "info", 0),
            _entry(5, "invoke", 2),
        ]
    )
    assert [(p.invoke.index, p.complete.index if p.complete else None) for p in pairs] == [
        (0, 4),
        (1, 3),
        (5, None),
    ]
    assert pairs[2].type == "info"
