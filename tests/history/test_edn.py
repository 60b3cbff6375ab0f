"""The EDN reader and writer: round trips (Hypothesis) and clear errors."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.core import edn

keywords = st.from_regex(r"[a-z][a-z0-9\-]{0,8}(/[a-z]{1,4})?", fullmatch=True).map(edn.Keyword)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | keywords
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(keywords | st.integers() | st.text(max_size=5), inner, max_size=5)
        | st.frozensets(st.integers() | keywords, max_size=5)
    ),
    max_leaves=20,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_round_trip(value: Any) -> None:
    assert edn.loads(edn.dumps(value)) == value


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_reader_never_crashes_on_junk(text: str) -> None:
    try:
        edn.loads_all(text)
    except edn.EdnError:
        pass


def test_jepsen_forms() -> None:
    text = '{:a 1, :b [1 2.5 nil true "x\\ny"] :c #{1 2} :d (1 2) #_ :skip :e \\c} ##Inf -5N 1.5M'
    first, inf, big, dec = edn.loads_all(text)
    assert first == {
        edn.Keyword("a"): 1,
        edn.Keyword("b"): [1, 2.5, None, True, "x\ny"],
        edn.Keyword("c"): frozenset({1, 2}),
        edn.Keyword("d"): [1, 2],
        edn.Keyword("e"): "c",
    }
    assert math.isinf(inf) and big == -5 and dec == 1.5
    assert edn.loads("#jepsen.independent.Tuple{:key 3 :value 4}") == [3, 4]
    assert edn.loads('#inst "2024-01-01T00:00:00Z"') == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "line", "truncated"),
    [
        ('{:a "b', 1, True),
        ("[1 2\n3", 1, True),
        ("{:a}", 1, False),
        ("\n[1 2)", 2, False),
        ("1.2.3", 1, False),
        ('"\\q"', 1, False),
    ],
)
def test_errors_name_the_line(text: str, line: int, truncated: bool) -> None:
    with pytest.raises(edn.EdnError) as err:
        edn.loads_all(text)
    assert err.value.line == line
    assert err.value.truncated is truncated


plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8) | keywords,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keywords, inner, max_size=4),
    max_leaves=12,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(keywords, plain_values, min_size=1, max_size=5), max_size=4))
def test_fast_path_reads_what_the_streaming_reader_reads(forms: list[Any]) -> None:
    """``iter_forms`` (JSON fast path when it can) and ``loads_all`` (streaming) agree."""
    text = "\n".join(edn.dumps(f) for f in forms) + "\n"
    fast = [form for _, form in edn.iter_forms(text)]
    assert fast == edn.loads_all(text) == forms
    assert [line for line, _ in edn.iter_forms(text)] == list(range(1, len(forms) + 1))


def test_fast_path_takes_jepsen_lines_and_declines_the_rest() -> None:
    line = '{:type :ok, :f :cas, :value [3 [nil 4]], :process :nemesis, :error "a, :b c"}\n'
    assert edn._fast_forms(line) == [
        (
            1,
            {
                "type": "ok",
                "f": "cas",
                "value": [3, [None, 4]],
                "process": "nemesis",
                "error": "a, :b c",
            },
        )
    ]
    for text in ("{:a #{1}}", "{:a 1N}", "{:a \\c}", "{:a 1 :b 2}", "{1 2}", "{:a NaN}"):
        assert edn._fast_forms(text) is None, text
