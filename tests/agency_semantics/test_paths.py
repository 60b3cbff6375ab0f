"""Path normalization as ArangoDB's ``Store::normalize`` / ``Node::split``: slashes carry no meaning.

Properties (hypothesis) over paths built from a tiny alphabet so that
repeated, leading and trailing slashes are common, plus ArangoDB's own
examples from its store unit tests, and the same rule end to end: a value
written under one spelling of a path is read back under any other.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.agency.store import Store, parse_write
from cluster.agency.tree_paths import PathError, normalize_path, split_path

spellings = st.text(alphabet="ab/", max_size=12)


def reference(path: str) -> str:
    """The rule as ArangoDB states it: collapse slash runs, one leading slash, no trailing one."""
    collapsed = re.sub("/+", "/", "/" + path)
    return collapsed[:-1] if len(collapsed) > 1 and collapsed.endswith("/") else collapsed


@given(spellings)
def test_normal_form_matches_the_rule(path: str) -> None:
    assert normalize_path(path) == reference(path)


@given(spellings)
def test_normalizing_is_idempotent_and_canonical(path: str) -> None:
    normal = normalize_path(path)
    assert normalize_path(normal) == normal
    assert normal.startswith("/") and "//" not in normal
    assert normal == "/" or not normal.endswith("/")
    assert split_path(path) == ([] if normal == "/" else normal[1:].split("/"))


@given(spellings, st.data())
def test_extra_slashes_anywhere_change_nothing(path: str, data: st.DataObject) -> None:
    gaps = [i for i in range(len(path) + 1) if i in (0, len(path)) or "/" in path[i - 1 : i + 1]]
    at = data.draw(st.sampled_from(gaps))
    extra = data.draw(st.text(alphabet="/", min_size=1, max_size=3))
    assert normalize_path(path[:at] + extra + path[at:]) == normalize_path(path)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("", "/"),
        ("/", "/"),
        ("//", "/"),
        ("////", "/"),
        ("a", "/a"),
        ("/a/", "/a"),
        ("//a//", "/a"),
        ("a/b/", "/a/b"),
        ("/a//b", "/a/b"),
        ("//a//b//", "/a/b"),
        ("a//b/c", "/a/b/c"),
        ("der/////hund", "/der/hund"),
        ("////der/hund", "/der/hund"),
        ("/foo///bar//baz", "/foo/bar/baz"),
        ("a c", "/a c"),
    ],
)
def test_arangodb_examples(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


@pytest.mark.parametrize("raw", ["/a/../b", "/./a", 7, None])
def test_what_we_refuse(raw: Any) -> None:
    # ours, not ArangoDB's: '.' and '..' segments and non-strings (docs/agency-api.md)
    with pytest.raises(PathError):
        normalize_path(raw)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=3), st.data())
def test_any_spelling_writes_and_reads_the_same_key(
    segments: list[str], data: st.DataObject
) -> None:
    def spell() -> str:
        gaps = [data.draw(st.text(alphabet="/", min_size=1, max_size=3)) for _ in segments]
        lead = data.draw(st.sampled_from(["", "/", "//"]))
        tail = data.draw(st.sampled_from(["", "/", "///"]))
        return lead + "".join(g + s for g, s in zip(gaps, segments, strict=True))[1:] + tail

    store = Store()
    (entry,) = parse_write([[{spell(): {"op": "set", "new": 7}}]], 1.0)
    assert store.apply(entry, 1).changed == ["/" + "/".join(segments)]
    nested: Any = 7
    for segment in reversed(segments):
        nested = {segment: nested}
    assert store.read([[spell()]]) == [nested]
    (delete,) = parse_write([[{spell(): {"op": "delete"}}]], 1.0)
    store.apply(delete, 2)
    assert store.get(spell()) is None
