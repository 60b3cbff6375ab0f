"""One dataclass per component, loaded from CLI flags and/or a config file.

:func:`load` builds an ``argparse`` parser from a dataclass's fields (field
``listen_addr`` becomes ``--listen-addr``), reads an optional ``--config FILE``
(JSON or TOML, keys spelled as the fields or as the flags), and lets flags
override the file. Field metadata may carry ``help``, ``flag`` (another flag
name) and ``parse`` (a function from the flag's string). List fields take a
repeated flag. Bad input gives a one-line error naming the flag or key.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


# boolean flags that may stand alone: ``--insecure-no-auth`` means ``--insecure-no-auth true``
BARE_FLAGS = ("--insecure-no-auth",)
BOOL_WORDS = frozenset({"1", "true", "yes", "on", "0", "false", "no", "off"})


def expand_bare_flags(argv: Sequence[str], bare: Sequence[str] = BARE_FLAGS) -> list[str]:
    """``argv`` with ``true`` after each flag of ``bare`` given without a value."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        following = argv[i + 1] if i + 1 < len(argv) else ""
        if arg in bare and following.lower() not in BOOL_WORDS:
            out.append("true")
    return out


class ConfigError(ValueError):
    """A configuration value or file is wrong; the message says which and why."""


def _flag(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("flag", "--" + field.name.replace("_", "-")))


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(element type, is_list) for a field annotation."""
    origin = typing.get_origin(tp)
    if origin in (list, Sequence, tuple):
        args = typing.get_args(tp)
        return (args[0] if args else str), True
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return _base_type(members[0])
    return tp, False


def _convert(name: str, tp: Any, value: Any, parse: Callable[[str], Any] | None) -> Any:
    if value is None:
        return None
    if parse is not None and isinstance(value, str):
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{name}: {exc}") from exc
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true or false, got {value!r}")
        if tp is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if tp is str:
            if not isinstance(value, str | int | float):
                raise ValueError(f"expected a string, got {type(value).__name__}")
            return str(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    return value


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        if path.endswith(".toml"):
            data: Any = tomllib.loads(raw.decode())
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is malformed: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold an object of settings")
    return data


def load(cls: type[T], argv: Sequence[str] | None, prog: str, description: str = "") -> T:
    """Build ``cls`` from ``argv`` (and ``--config FILE``); exit 2 with one line on bad input."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", help="JSON or TOML file with settings; flags override it")
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for f in fields:
        _, is_list = _base_type(hints[f.name])
        help_text = f.metadata.get("help", "")
        if is_list:
            parser.add_argument(_flag(f), dest=f.name, action="append", help=help_text)
        else:
            parser.add_argument(_flag(f), dest=f.name, help=help_text)
    ns = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return build(cls, _read_file(ns.config) if ns.config else {}, vars(ns))
    except ConfigError as exc:
        parser.exit(2, f"{prog}: error: {exc}\n")


def build(cls: type[T], file_values: dict[str, Any], flag_values: dict[str, Any]) -> T:
    """Merge file and flag values (flags win) into ``cls``; raise ConfigError on bad input."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    known_keys = set(fields) | {_flag(f).lstrip("-") for f in fields.values()}
    unknown = [k for k in file_values if k not in known_keys]
    if unknown:
        raise ConfigError(f"unknown setting(s) in config file: {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        tp, is_list = _base_type(hints[name])
        parse = f.metadata.get("parse")
        raw = flag_values.get(name)
        if raw is None:
            raw = file_values.get(name, file_values.get(_flag(f).lstrip("-")))
        if raw is None:
            continue
        if is_list:
            items = raw if isinstance(raw, list) else [raw]
            kwargs[name] = [_convert(_flag(f), tp, v, parse) for v in items]
        else:
            kwargs[name] = _convert(_flag(f), tp, raw, parse)
    try:
        obj = cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(str(exc)) from exc
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """The full configuration as plain JSON-able data (for ``test.json`` and status pages)."""
    return typing.cast(dict[str, Any], json.loads(json.dumps(dataclasses.asdict(obj), default=str)))
