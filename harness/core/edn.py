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

import json
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


# One pass of ``re.findall`` over the whole text: every token is one string,
# classified by its first character. Newlines are tokens (to count lines);
# other whitespace, commas and comments are skipped. A string without its
# closing quote, and any stray character, still come out as (bad) tokens.
_TOKEN = re.compile(
    r"""
    \n
  | "[^"\\]*(?:\\.[^"\\]*)*"?
  | \#\#(?:Inf|-Inf|NaN)
  | \#[{_]
  | \#[A-Za-z][^\s,\[\]{}()"\#;]*
  | \\(?:newline|space|tab|return|u[0-9A-Fa-f]{4}|.)
  | [\[\]{}()]
  | ;[^\n]*
  | [^\s,\[\]{}()"\#;\\][^\s,\[\]{}()"\#;]*
  | [^\s,]
    """,
    re.VERBOSE | re.DOTALL,
)
_INT = re.compile(r"[+-]?\d+N?$")
_FLOAT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$")
_STRING_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_CHAR_NAMES = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_SPECIALS = {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}
_END = object()
_DISCARD = "#_"
_ATOM_CACHE_MAX = 200_000


class _Frame:
    """An open collection (or the top level, ``opener`` ``""``) and the prefixes
    (``#_`` discards, ``#tag``s) waiting for the next form inside it."""

    __slots__ = ("items", "line", "opener", "prefixes")

    def __init__(self, opener: str, line: int) -> None:
        self.opener = opener
        self.line = line
        self.items: list[Any] = []
        self.prefixes: list[tuple[str, int]] = []


class _Mark:
    """A structural token (newline, opener, closer) in the token table."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_NEWLINE = _Mark("\n")
_STRUCTURE: dict[str, Any] = {t: _Mark(t) for t in ("[", "(", "{", "#{", "]", ")", "}")}
_STRUCTURE["\n"] = _NEWLINE
_OPENERS = frozenset(_STRUCTURE[t] for t in ("[", "(", "{", "#{"))


def _forms(text: str) -> Iterator[tuple[int, Any]]:
    """Top-level forms of ``text`` with the 1-based line each starts on.

    Streaming: a form is yielded as soon as it is complete, so a reader of a
    file cut off mid-write gets every form before the cut, then the error.
    The hot loop is one dictionary look-up per token: structural tokens and
    atoms already seen (keywords, small numbers) are in one table.
    """
    table: dict[str, Any] = dict(_STRUCTURE)
    get = table.get
    top = _Frame("", 1)
    stack = [top]
    frame = top
    items = top.items
    line = 1
    form_line = 0  # line of the first token of the top-level form being read
    miss = _END
    for tok in _TOKEN.findall(text):
        value = get(tok, miss)
        if value is miss:
            c = tok[0]
            if c == ";":
                continue
            if c == '"':
                if len(tok) < 2 or tok[-1] != '"' or _odd_backslashes(tok):
                    raise EdnError("unterminated string", line, truncated=True)
                body = tok[1:-1]
                value = _unescape(body, line) if "\\" in body else body
                if frame is top and not form_line:
                    form_line = line
                line += body.count("\n")
            elif c == "#":
                if tok in _SPECIALS:
                    value = _SPECIALS[tok]
                elif tok == _DISCARD or len(tok) > 1:
                    if frame is top and not form_line:
                        form_line = line
                    frame.prefixes.append((tok, line))
                    continue
                else:
                    raise EdnError("unexpected character '#'", line)
            elif c == "\\":
                value = _char(tok, line)
            else:
                value = _atom(tok, line)
                if len(table) < _ATOM_CACHE_MAX:
                    table[tok] = value
        elif value.__class__ is _Mark:
            if value is _NEWLINE:
                line += 1
                continue
            if value in _OPENERS:
                if frame is top and not form_line:
                    form_line = line
                frame = _Frame(tok, line)
                items = frame.items
                stack.append(frame)
                continue
            if frame is top:
                raise EdnError(f"unexpected {tok!r}", line)
            if _CLOSERS[frame.opener] != tok:
                raise EdnError(f"{frame.opener!r} closed by {tok!r}", line)
            if frame.prefixes:
                raise EdnError(f"{frame.prefixes[-1][0]} before {tok!r}", line)
            stack.pop()
            value = _close(frame)
            frame = stack[-1]
            items = frame.items
        if frame.prefixes:
            # a complete form: apply the prefixes waiting for it, innermost first
            while frame.prefixes:
                prefix, _ = frame.prefixes.pop()
                if prefix == _DISCARD:
                    value = miss
                    break
                value = _tagged(prefix, value)
            if value is miss:
                if frame is top:
                    form_line = 0
                continue
        if frame is top:
            yield form_line or line, value
            form_line = 0
        else:
            items.append(value)
    if frame is not top:
        raise EdnError(f"{frame.opener!r} is never closed", frame.line, truncated=True)
    if top.prefixes:
        raise EdnError("text ends inside a form", top.prefixes[-1][1], truncated=True)


def _odd_backslashes(tok: str) -> bool:
    """Whether the closing quote of a string token is escaped (so it is not closing)."""
    n = 0
    i = len(tok) - 2
    while i > 0 and tok[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def _close(frame: _Frame) -> Any:
    items = frame.items
    if frame.opener == "{":
        if len(items) % 2:
            raise EdnError("map with an odd number of forms", frame.line)
        it = iter(items)
        return {
            (_hashable(k) if isinstance(k, list | dict) else k): v
            for k, v in zip(it, it, strict=True)
        }
    if frame.opener == "#{":
        return frozenset(_hashable(item) for item in items)
    return items


def _tagged(tag: str, value: Any) -> Any:
    if tag == "#jepsen.independent.Tuple" and isinstance(value, dict):
        return [value.get(Keyword("key")), value.get(Keyword("value"))]
    return value


def _char(tok: str, line: int) -> str:
    body = tok[1:]
    if body in _CHAR_NAMES:
        return _CHAR_NAMES[body]
    if len(body) == 5 and body[0] == "u":
        return chr(int(body[1:], 16))
    return body


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
    return [form for _, form in _forms(text)]


def loads(text: str) -> Any:
    """Exactly one form."""
    forms = loads_all(text)
    if len(forms) != 1:
        raise EdnError(f"expected one form, found {len(forms)}", 1)
    return forms[0]


def iter_forms(text: str) -> Iterator[tuple[int, Any]]:
    """Top-level forms with the 1-based line each starts on.

    Plain histories (no strings, tags, sets, characters or comments; keywords,
    numbers, ``nil``, booleans, maps, vectors, lists) go through a fast path:
    a few whole-text substitutions turn them into JSON, which ``json`` parses
    in C. Keywords then come back as plain ``str`` (equal to the
    :class:`Keyword`). Anything else, or any doubt, takes the streaming reader.
    """
    fast = _fast_forms(text)
    if fast is not None:
        return iter(fast)
    return _forms(text)


_STRING = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")')
_KEYWORD = re.compile(r":([^\s,\[\]{}()\"#;:]+)")
_SEPARATORS = re.compile(r"[\s,]+")
_HOLE = "\x02"  # where a string was set aside
_NOT_PLAIN = ("#", "\\", ";", "NaN", "Infinity")  # outside strings; JSON rejects the rest
_FEW_KEYWORDS = 64
_SAMPLE = 1 << 13


def _keywords_to_json(text: str, names: set[str]) -> str | None:
    """Keywords as JSON strings; a keyword opening a map, or after ", " in one, as a key."""
    if len(names) > _FEW_KEYWORDS:
        return None
    # longest first, so ``:f`` never cuts into ``:foo``
    for name in sorted(names, key=len, reverse=True):
        text = (
            text.replace("{:" + name + " ", '{"' + name + '":')
            .replace(", :" + name + " ", ',"' + name + '":')
            .replace(":" + name, '"' + name + '"')
        )
    return text


def _fast_forms(text: str) -> list[tuple[int, Any]] | None:
    """Forms and their lines via JSON, or ``None`` when the text is not plain enough.

    Strings are set aside first (EDN and JSON escape alike), the rest is
    rewritten, and the strings are put back into their holes.
    """
    strings: list[str] = []
    rest = text
    if '"' in text:
        parts = _STRING.split(text)
        strings = parts[1::2]
        if _HOLE in text or any('"' in part for part in parts[0::2]):
            return None  # an unterminated string, or the hole marker itself
        rest = _HOLE.join(parts[0::2])
    if any(mark in rest for mark in _NOT_PLAIN):
        return None
    # keyword names: from a sample first (histories repeat a few); checked below
    js = _keywords_to_json(rest, set(_KEYWORD.findall(rest, 0, _SAMPLE)))
    if js is None:
        return None
    if js.count(":") != js.count('":'):  # a keyword the sample missed
        js = _keywords_to_json(rest, set(_KEYWORD.findall(rest)))
        if js is None or js.count(":") != js.count('":'):
            return None
    js = js.replace("(", "[").replace(")", "]")
    js = js.replace(", ", ",").replace(" ", ",").replace("\n", ",")
    if ",," in js or "\t" in js or "\r" in js or "\f" in js or "\v" in js:
        js = _SEPARATORS.sub(",", js)
    js = js.replace("[,", "[").replace(",]", "]").replace("{,", "{").replace(",}", "}")
    js = js.strip(",") + ","
    if "nil" in js:
        # every token is now followed by , ] or } (quoted keywords end in "): bare nil is nil
        for end in (",", "]", "}"):
            js = js.replace("nil" + end, "null" + end).replace("nil" + end, "null" + end)
    js = js[:-1]
    if strings:
        pieces = js.split(_HOLE)
        if len(pieces) != len(strings) + 1:
            return None
        js = "".join(p + s for p, s in zip(pieces, [*strings, ""], strict=True))
    try:
        values = json.loads("[" + js + "]", strict=False)
    except (ValueError, RecursionError):
        return None
    lines = [n for n, line in enumerate(text.split("\n"), 1) if line.strip(" \t\r,")]
    if len(lines) == len(values):
        return list(zip(lines, values, strict=True))
    if len(values) == 1 and lines:
        return [(lines[0], values[0])]
    return None


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
