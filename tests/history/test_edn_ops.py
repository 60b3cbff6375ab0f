"""The fast path for one-op-per-line EDN gives exactly what the full reader gives."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core import edn_ops
from harness.core.history import HistoryError, Op, op_to_edn, parse_edn_history


def _full(text: str) -> list[Op]:
    """What the general reader alone gives."""
    with patch.object(edn_ops, "fast_ops", lambda _text: None):
        return parse_edn_history(text)


JEPSEN = (
    "{:type :invoke, :f :write, :value [0 1], :process 0, :time 10, :index 0}\n"
    '{:type :info, :f :start, :value "kill s1", :process :nemesis, :time 11, :index 1}\n'
    "{:type :ok, :f :write, :value [0 1], :process 0, :time 20, :index 2}\n"
    "\n"
    "{:type :invoke, :f :read, :value [0 nil], :process 1, :time 21, :index 3}\n"
    "{:type :ok, :f :read, :value #{1 2}, :process 1, :time 22, :index 4}\n"
    "{:type :fail, :f :cas, :value [0 [1 2]], :process 2, :time 23, :index 5, :error :x}\n"
)


def test_jepsen_lines_match_the_full_reader() -> None:
    fast = edn_ops.fast_ops(JEPSEN)
    assert fast is not None and len(fast.others) == 2  # the set read and the :error line
    assert parse_edn_history(JEPSEN) == _full(JEPSEN)


def test_a_bad_line_names_its_line() -> None:
    text = JEPSEN.replace(":type :ok, :f :read", ":type :bogus, :f :read")
    with pytest.raises(HistoryError) as err:
        parse_edn_history(text, "h.edn")
    assert err.value.line == 6


def test_a_line_cut_off_at_the_end_is_skipped_as_before() -> None:
    text = JEPSEN + "{:type :invoke, :f :read, :va"
    assert parse_edn_history(text) == _full(text)


_values = st.recursive(
    st.none() | st.integers(-5, 10**12) | st.booleans() | st.text('ab nil\\"', max_size=4),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["invoke", "ok", "fail", "info"]),
            st.integers(0, 4) | st.just("nemesis"),
            st.sampled_from(["read", "write", "cas", "start"]),
            _values,
        ),
        min_size=1,
        max_size=12,
    )
)
def test_generated_histories_read_alike(entries: list[tuple[str, object, str, object]]) -> None:
    ops = [Op(i, t, p, f, v, 10 * i) for i, (t, p, f, v) in enumerate(entries)]  # type: ignore[arg-type]
    text = "".join(op_to_edn(op) + "\n" for op in ops)
    assert parse_edn_history(text) == _full(text) == ops
