"""Histories: the :class:`Op` model, the JSONL writer and reader, Jepsen EDN import/export.

A history is a list of ops in index order, with Jepsen's field names (see the
run-directory contract). The JSONL file is appended and flushed line by line
while a test runs, so a crash leaves an analysable prefix; the reader accepts a
truncated last line. ``history.edn`` is read as Jepsen writes it (one map per
line, or one vector of maps) and written one map per line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness.core import edn, edn_ops

OP_TYPES = ("invoke", "ok", "fail", "info")
NEMESIS = "nemesis"
_CORE = ("index", "type", "process", "f", "value", "time", "node", "error", "dirty")


class HistoryError(ValueError):
    """An unreadable history: names the file and the 1-based line."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(slots=True)
class Op:
    """One history entry. ``time`` is ns since the test started; ``extra`` keeps other fields."""

    index: int
    type: str
    process: int | str
    f: str
    value: Any = None
    time: int = 0
    node: str | None = None
    error: Any = None
    dirty: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_client(self) -> bool:
        """A worker's op (integer process), not the nemesis'."""
        return isinstance(self.process, int) and not isinstance(self.process, bool)

    def to_dict(self) -> dict[str, Any]:
        """The JSONL form: core fields, optional ones only when set, then ``extra``."""
        out: dict[str, Any] = {
            "index": self.index,
            "type": self.type,
            "process": self.process,
            "f": self.f,
            "value": self.value,
            "time": self.time,
        }
        if self.node is not None:
            out["node"] = self.node
        if self.error is not None:
            out["error"] = self.error
        if self.dirty is not None:
            out["dirty"] = self.dirty
        for key, val in self.extra.items():
            out.setdefault(key, val)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], default_index: int = 0) -> Op:
        """Validate one decoded line; raises ``ValueError`` with a short reason."""
        if not isinstance(raw, dict):
            raise ValueError(f"expected an object, got {type(raw).__name__}")
        op_type = raw.get("type")
        if op_type not in OP_TYPES:
            raise ValueError(f"bad type {op_type!r} (expected one of {', '.join(OP_TYPES)})")
        process = raw.get("process")
        if isinstance(process, bool) or not isinstance(process, int | str):
            raise ValueError(f"bad process {process!r}")
        f = raw.get("f")
        if not isinstance(f, str):
            raise ValueError(f"bad f {f!r}")
        index = raw.get("index", default_index)
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"bad index {index!r}")
        time = raw.get("time", 0)
        if isinstance(time, float) and time.is_integer():
            time = int(time)
        if isinstance(time, bool) or not isinstance(time, int):
            raise ValueError(f"bad time {time!r}")
        node = raw.get("node")
        if node is not None and not isinstance(node, str):
            raise ValueError(f"bad node {node!r}")
        dirty = raw.get("dirty")
        if dirty is not None and not isinstance(dirty, bool):
            raise ValueError(f"bad dirty {dirty!r}")
        extra = {k: v for k, v in raw.items() if k not in _CORE}
        return cls(
            index=index,
            type=op_type,
            process=process,
            f=f,
            value=raw.get("value"),
            time=time,
            node=node,
            error=raw.get("error"),
            dirty=dirty,
            extra=extra,
        )


@dataclass(slots=True)
class OpPair:
    """A client operation: its invocation and its completion (``None`` if it never completed)."""

    invoke: Op
    complete: Op | None

    @property
    def type(self) -> str:
        """``ok``/``fail``/``info``; an op that never completed counts as ``info``."""
        return self.complete.type if self.complete is not None else "info"


def ops_from_dicts(raws: Iterable[dict[str, Any]], source: str = "<history>") -> list[Op]:
    """Ops from already decoded lines (e.g. the runner's in-memory history)."""
    ops: list[Op] = []
    for n, raw in enumerate(raws):
        try:
            ops.append(Op.from_dict(raw, default_index=n))
        except ValueError as exc:
            raise HistoryError(source, n + 1, str(exc)) from None
    return ops


def pair_ops(ops: Iterable[Op]) -> list[OpPair]:
    """Client operations in invocation order, each invocation with its completion.

    A completion belongs to the latest open invocation of the same process. A
    completion without an open invocation is ignored.
    """
    pairs: list[OpPair] = []
    open_by_process: dict[int | str, OpPair] = {}
    for op in ops:
        if op.process.__class__ is not int:  # the nemesis (``is_client``, inlined: hot)
            continue
        if op.type == "invoke":
            pair = OpPair(op, None)
            open_by_process[op.process] = pair
            pairs.append(pair)
        else:
            pending = open_by_process.pop(op.process, None)
            if pending is not None:
                pending.complete = op
    return pairs


# ---------------------------------------------------------------- JSONL


class HistoryWriter:
    """Appends ops to a JSONL file, flushing each line so a crash leaves a readable prefix."""

    def __init__(self, path: str | os.PathLike[str], fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")

    def write(self, op: Op | dict[str, Any]) -> None:
        """Append one op (an :class:`Op` or an already shaped dict) and flush."""
        raw = op.to_dict() if isinstance(op, Op) else op
        self._file.write(json.dumps(raw, separators=(",", ":"), default=_json_default) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot write {type(value).__name__} to a history")


def write_jsonl(path: str | os.PathLike[str], ops: Iterable[Op | dict[str, Any]]) -> None:
    """Write a whole history (replacing the file)."""
    Path(path).unlink(missing_ok=True)
    with HistoryWriter(path) as writer:
        for op in ops:
            writer.write(op)


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[Op]:
    """Ops of a JSONL history. A truncated last line (no newline, not JSON) is skipped."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(name, 0, f"cannot read: {exc}") from None
    lines = text.split("\n")
    last = len(lines) - 1  # the part after the final newline ('' when the file ends with one)
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            if n == last:
                return  # the writer was cut off mid-line
            raise HistoryError(name, n + 1, f"not JSON: {exc.msg}") from None
        try:
            yield Op.from_dict(raw, default_index=n)
        except ValueError as exc:
            raise HistoryError(name, n + 1, str(exc)) from None


def read_jsonl(path: str | os.PathLike[str]) -> list[Op]:
    return list(iter_jsonl(path))


# ---------------------------------------------------------------- EDN


def _plain(value: Any) -> Any:
    """EDN data as JSON-friendly Python: sets become sorted lists, tuples lists."""
    if value is None or value.__class__ in (int, str, float, bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset | set):
        items = [_plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, dict):
        return {_key_name(k): _plain(v) for k, v in value.items()}
    return value


def _key_name(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    return edn.dumps(key)


_PLAIN_KEYS = frozenset(("index", "type", "process", "f", "value", "time", "error"))


def _plain_op(form: dict[Any, Any], default_index: int) -> Op | None:
    """The common shape (core keys, int index/time, str type/f) built directly; else ``None``."""
    get = form.get
    kind, f, process = get("type"), get("f"), get("process", _MISSING)
    index, time = get("index", default_index), get("time", 0)
    if (
        not _PLAIN_KEYS.issuperset(form)
        or kind not in OP_TYPES
        or f.__class__ not in (str, edn.Keyword)
        or process.__class__ not in (int, str, edn.Keyword)
        or index.__class__ is not int
        or time.__class__ is not int
    ):
        return None
    value, error = get("value"), get("error")
    return Op(
        index,
        str(kind),
        process if process.__class__ is int else str(process),
        str(f),
        value if value is None or value.__class__ in (int, str) else _plain(value),
        time,
        error=None if error is None else _plain(error),
    )


_MISSING = object()


def op_from_edn(form: Any, default_index: int) -> Op:
    """One Jepsen op map (keyword keys) as an :class:`Op`."""
    if not isinstance(form, dict):
        raise ValueError(f"expected a map, got {type(form).__name__}")
    fast = _plain_op(form, default_index)
    if fast is not None:
        return fast
    raw = {_key_name(k): v for k, v in form.items()}
    for name in ("type", "f"):
        if isinstance(raw.get(name), str):
            raw[name] = str(raw[name])
    if isinstance(raw.get("process"), edn.Keyword):
        raw["process"] = str(raw["process"])
    for name in ("value", "error"):
        if name in raw:
            raw[name] = _plain(raw[name])
    for name in list(raw):
        if name not in _CORE:
            raw[name] = _plain(raw[name])
    if "node" in raw and not isinstance(raw["node"], str):
        raw["node"] = None if raw["node"] is None else str(raw["node"])
    return Op.from_dict(raw, default_index=default_index)


def _fast_edn_history(text: str, source: str) -> list[Op] | None:
    """Ops via :mod:`edn_ops` (lines of the common shape), or ``None`` to read it in full."""
    fast = edn_ops.fast_ops(text)
    if fast is None:
        return None
    ops = list(map(Op, *fast.columns))
    for position, line_text, line in fast.others:  # lines of another shape, one form each
        try:
            forms = list(edn.iter_forms(line_text))
        except edn.EdnError:
            return None
        if len(forms) != 1:
            return None
        try:
            ops.insert(position, op_from_edn(forms[0][1], default_index=position))
        except ValueError as exc:
            raise HistoryError(source, line, str(exc)) from None
    return ops


def parse_edn_history(text: str, source: str = "<edn>") -> list[Op]:
    """Ops from ``history.edn`` text: one map per line, or one vector/list of maps."""
    fast = _fast_edn_history(text, source)
    if fast is not None:
        return fast
    forms: list[tuple[int, Any]] = []
    try:
        for line, form in edn.iter_forms(text):
            forms.append((line, form))
    except edn.EdnError as exc:
        # one-map-per-line files may end with a line cut off mid-write
        last_line = text.rstrip("\n").count("\n") + 1
        if not (exc.truncated and exc.line == last_line and forms):
            raise HistoryError(
                source, exc.line, f"bad EDN: {str(exc).split(': ', 1)[-1]}"
            ) from None
    if len(forms) == 1 and isinstance(forms[0][1], list):
        line = forms[0][0]
        forms = [(line, item) for item in forms[0][1]]
    ops: list[Op] = []
    for n, (line, form) in enumerate(forms):
        try:
            ops.append(op_from_edn(form, default_index=n))
        except ValueError as exc:
            raise HistoryError(source, line, str(exc)) from None
    return ops


def read_edn(path: str | os.PathLike[str]) -> list[Op]:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(name, 0, f"cannot read: {exc}") from None
    return parse_edn_history(text, name)


_KEYWORD_FIELDS = ("type", "f")


def op_to_edn(op: Op) -> str:
    """One op as a Jepsen EDN map (keyword keys; ``type``, ``f`` and a string process as keywords)."""
    out: dict[Any, Any] = {}
    for key, val in op.to_dict().items():
        if key in _KEYWORD_FIELDS or (key == "process" and isinstance(val, str)):
            val = edn.Keyword(val)
        out[edn.Keyword(key)] = val
    return edn.dumps(out)


def write_edn(path: str | os.PathLike[str], ops: Iterable[Op]) -> None:
    """Write ``history.edn``, one map per line, as Jepsen does."""
    with open(path, "w", encoding="utf-8") as fh:
        for op in ops:
            fh.write(op_to_edn(op) + "\n")


def jsonl_to_edn(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Write ``history.edn`` (Jepsen's format) from a ``history.jsonl``."""
    write_edn(dst, iter_jsonl(src))


def read_history(path: str | os.PathLike[str]) -> list[Op]:
    """Ops from our ``history.jsonl`` or Jepsen's ``history.edn`` (chosen by content)."""
    name = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096).lstrip()
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(name, 0, f"cannot read: {exc}") from None
    if name.endswith(".edn") or head.startswith(("[", "(", "#")) or head.startswith("{:"):
        return read_edn(path)
    return read_jsonl(path)
