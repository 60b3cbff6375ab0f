"""A small EDN reader and writer, enough for Jepsen's ``history.edn``.

Supported: maps, vectors, lists, sets, keywords, symbols, strings, characters,
integers (with an optional ``N``), floats (with an optional ``M``, ``##Inf``,
``##NaN``), ``nil``, ``true``/``false``, comments, ``#_`` discards and tagged
values (``#inst "..."``, ``#jepsen.history.Op{...}``; the tag is dropped, except
``jepsen.independent.Tuple`` which becomes ``[key value]``).

Python mapping: map -> ``dict``, vector and list -> ``list``, set ->
``frozenset``, keyword -> :class:`Keyword` (a ``str``), symbol ->
:class:`Symbol`. Collections used as map keys or set members become tuples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any


class Keyword(str):
    """An EDN keyword such as ``:invoke``; the string holds the name without ``:``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f":{str(self)}"


class Symbol(str):
    """An EDN symbol other than ``nil``/``true``/``false``."""

    __slots__ = ()


class EdnError(ValueError):
    """Malformed EDN; ``line`` is 1-based, ``truncated`` means the text ended inside a form."""

    def __init__(self, message: str, line: int, truncated: bool = False) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.truncated = truncated


_TOKEN = re.compile(
    r"""
    (?P<ws>[\s,]+|;[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<open>\#\{|[\[{(])
  | (?P<close>[\]})])
  | (?P<discard>\#_)
  | (?P<special>\#\#(?:Inf|-Inf|NaN))
  | (?P<tag>\#[A-Za-z][^\s,\[\]{}()"\#;]*)
  | (?P<char>\\(?:newline|space|tab|return|u[0-9A-Fa-f]{4}|.))
  | (?P<atom>[^\s,\[\]{}()"\#;]+)
  | (?P<unterminated>"(?:[^"\\]|\\.)*\\?$)
    """,
    re.VERBOSE | re.DOTALL,
)
_INT = re.compile(r"[+-]?\d+N?$")
_FLOAT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$")
_STRING_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_CHAR_NAMES = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_END = object()


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize()
        self.pending: tuple[str, str, int] | None = None

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def _tokenize(self) -> Iterator[tuple[str, str, int]]:
        pos = 0
        text = self.text
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise EdnError(f"unexpected character {text[pos]!r}", self.line_of(pos))
            kind = m.lastgroup or ""
            if kind == "unterminated":
                raise EdnError("unterminated string", self.line_of(pos), truncated=True)
            if kind != "ws":
                yield kind, m.group(), pos
            pos = m.end()

    def next_token(self) -> tuple[str, str, int] | None:
        if self.pending is not None:
            tok, self.pending = self.pending, None
            return tok
        return next(self.tokens, None)

    def read(self) -> Any:
        """The next form, or ``_END`` at the end of the text."""
        tok = self.next_token()
        if tok is None:
            return _END
        return self._form(tok)

    def _form(self, tok: tuple[str, str, int]) -> Any:
        kind, text, pos = tok
        if kind == "open":
            return self._collection(text, pos)
        if kind == "close":
            raise EdnError(f"unexpected {text!r}", self.line_of(pos))
        if kind == "string":
            return _unescape(text[1:-1], self.line_of(pos))
        if kind == "atom":
            return _atom(text, self.line_of(pos))
        if kind == "char":
            body = text[1:]
            if body in _CHAR_NAMES:
                return _CHAR_NAMES[body]
            if len(body) == 5 and body[0] == "u":
                return chr(int(body[1:], 16))
            return body
        if kind == "special":
            return {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}[text]
        if kind == "discard":
            self._required(pos)
            return self._required(pos)
        if kind == "tag":
            value = self._required(pos)
            if text == "#jepsen.independent.Tuple" and isinstance(value, dict):
                return [value.get(Keyword("key")), value.get(Keyword("value"))]
            return value
        raise EdnError(f"unexpected token {text!r}", self.line_of(pos))  # pragma: no cover

    def _required(self, pos: int) -> Any:
        tok = self.next_token()
        if tok is None:
            raise EdnError("text ends inside a form", self.line_of(pos), truncated=True)
        return self._form(tok)

    def _collection(self, opener: str, pos: int) -> Any:
        closer = _CLOSERS[opener]
        items: list[Any] = []
        while True:
            tok = self.next_token()
            if tok is None:
                raise EdnError(f"{opener!r} is never closed", self.line_of(pos), truncated=True)
            if tok[0] == "close":
                if tok[1] != closer:
                    raise EdnError(
                        f"{opener!r} closed by {tok[1]!r}", self.line_of(tok[2]), truncated=False
                    )
                break
            if tok[0] == "discard":
                self._required(tok[2])
                continue
            items.append(self._form(tok))
        if opener == "{":
            if len(items) % 2:
                raise EdnError("map with an odd number of forms", self.line_of(pos))
            return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
        if opener == "#{":
            return frozenset(_hashable(item) for item in items)
        return items


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((_hashable(k), _hashable(v)) for k, v in value.items()), key=repr))
    return value


def _unescape(body: str, line: int) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u":
            digits = body[i + 2 : i + 6]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise EdnError(f"bad unicode escape \\u{digits}", line)
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        if nxt not in _STRING_ESCAPES:
            raise EdnError(f"bad string escape \\{nxt}", line)
        out.append(_STRING_ESCAPES[nxt])
        i += 2
    return "".join(out)


def _atom(text: str, line: int) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    first = text[0]
    if first.isdigit() or (first in "+-" and len(text) > 1 and text[1].isdigit()):
        if _INT.match(text):
            return int(text.rstrip("N"))
        if _FLOAT.match(text):
            return float(text.rstrip("M"))
        raise EdnError(f"bad number {text!r}", line)
    if first == ":":
        if len(text) == 1:
            raise EdnError("empty keyword", line)
        return Keyword(text[1:])
    return Symbol(text)


def loads_all(text: str) -> list[Any]:
    """Every top-level form in ``text``."""
    reader = _Reader(text)
    forms: list[Any] = []
    while (form := reader.read()) is not _END:
        forms.append(form)
    return forms


def loads(text: str) -> Any:
    """Exactly one form."""
    forms = loads_all(text)
    if len(forms) != 1:
        raise EdnError(f"expected one form, found {len(forms)}", 1)
    return forms[0]


def iter_forms(text: str) -> Iterator[tuple[int, Any]]:
    """Top-level forms with the 1-based line each starts on."""
    reader = _Reader(text)
    while True:
        tok = reader.next_token()
        if tok is None:
            return
        yield reader.line_of(tok[2]), reader._form(tok)


def dumps(value: Any) -> str:
    """EDN text for ``value`` (dict, list/tuple, set, str, Keyword, int, float, bool, None)."""
    parts: list[str] = []
    _dump(value, parts)
    return "".join(parts)


def _dump(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("nil")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, Keyword):
        out.append(":" + str(value))
    elif isinstance(value, Symbol):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if math.isnan(value):
            out.append("##NaN")
        elif math.isinf(value):
            out.append("##Inf" if value > 0 else "##-Inf")
        else:
            out.append(repr(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(", ")
            _dump(k, out)
            out.append(" ")
            _dump(v, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(" ")
            _dump(v, out)
        out.append("]")
    elif isinstance(value, set | frozenset):
        out.append("#{")
        for i, v in enumerate(sorted(value, key=repr)):
            if i:
                out.append(" ")
            _dump(v, out)
        out.append("}")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as EDN")


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'
