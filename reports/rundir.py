"""Reading a run directory: the files a test leaves behind, checked for shape.

A run directory holds ``test.json``, ``history.jsonl``, ``nemesis.jsonl``,
``roles.jsonl``, ``results.json`` and ``nodes/<id>/*.log`` (``*.log.gz`` once a
soak compacted it). Only the history is required; a missing optional file becomes a note shown in the report. A
file that is present but malformed is an error naming the file and line,
except a torn last line of a JSON Lines file (the writer crashed mid-line),
which is dropped with a note, since a crash must leave an analysable prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HISTORY = "history.jsonl"
HISTORY_EDN = "history.edn"
NEMESIS = "nemesis.jsonl"
ROLES = "roles.jsonl"
TEST = "test.json"
RESULTS = "results.json"
NODES = "nodes"

OP_TYPES = ("invoke", "ok", "fail", "info")


class RunDirError(Exception):
    """The run directory cannot be read; the message names the file and the problem."""


@dataclass
class RunDir:
    """The parsed contents of one run directory."""

    path: Path
    history: list[dict[str, Any]]
    test: dict[str, Any] = field(default_factory=dict)
    nemesis: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] | None = None
    node_logs: list[str] = field(default_factory=list)  # paths relative to the run dir
    notes: list[str] = field(default_factory=list)  # tolerated problems, shown in the report

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RunDirError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise RunDirError(f"{path.name}: cannot read: {exc.strerror or exc}") from exc


def read_jsonl(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """Objects of a JSON Lines file; blank lines skipped, a torn last line dropped."""
    text = _read_text(path)
    lines = text.split("\n")
    records: list[dict[str, Any]] = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number - 1 == last and not text.endswith("\n"):
                notes.append(f"{path.name}: dropped a torn last line ({number})")
                continue
            raise RunDirError(f"{path.name}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise RunDirError(f"{path.name}:{number}: expected a JSON object per line")
        records.append(record)
    return records


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path.name}:{exc.lineno}: not JSON ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise RunDirError(f"{path.name}: expected a JSON object")
    return value


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_history(ops: list[dict[str, Any]]) -> None:
    for i, op in enumerate(ops):
        where = f"{HISTORY}: op {op.get('index', i)}"
        if op.get("type") not in OP_TYPES:
            raise RunDirError(f"{where}: type must be one of {'|'.join(OP_TYPES)}")
        process = op.get("process")
        if not (isinstance(process, int | str) and not isinstance(process, bool)):
            raise RunDirError(f"{where}: process must be an int or a name")
        if not isinstance(op.get("f"), str):
            raise RunDirError(f"{where}: f must be a string")
        if not _is_time(op.get("time")):
            raise RunDirError(f"{where}: time must be a number (ns since test start)")


def _check_timed(name: str, records: list[dict[str, Any]], required: tuple[str, ...]) -> None:
    for i, record in enumerate(records, start=1):
        if not _is_time(record.get("time")):
            raise RunDirError(f"{name}: record {i}: time must be a number (ns since test start)")
        for key in required:
            if key not in record:
                raise RunDirError(f"{name}: record {i}: missing {key!r}")


def _check_results(results: dict[str, Any]) -> None:
    for key in ("checkers", "promises"):
        if key in results and not isinstance(results[key], dict):
            raise RunDirError(f"{RESULTS}: {key!r} must be an object")
    for name, checker in results.get("checkers", {}).items():
        if not isinstance(checker, dict):
            raise RunDirError(f"{RESULTS}: checker {name!r} must be an object")
    for name, promise in results.get("promises", {}).items():
        if not isinstance(promise, dict):
            raise RunDirError(f"{RESULTS}: promise {name!r} must be an object")


def load_run(path: str | Path) -> RunDir:
    """Read and check a run directory; raises :class:`RunDirError` on anything unreadable."""
    root = Path(path)
    if not root.exists():
        raise RunDirError(f"{root}: no such run directory")
    if not root.is_dir():
        raise RunDirError(f"{root}: not a directory")
    notes: list[str] = []
    if not (root / HISTORY).is_file():
        raise RunDirError(f"{root}: no {HISTORY} (is this a run directory?)")
    history = read_jsonl(root / HISTORY, notes)
    _check_history(history)
    run = RunDir(path=root, history=history, notes=notes)
    if run.has(TEST):
        run.test = read_json_object(root / TEST)
    else:
        notes.append(f"{TEST} is missing: test settings unknown")
    if run.has(NEMESIS):
        run.nemesis = read_jsonl(root / NEMESIS, notes)
        _check_timed(NEMESIS, run.nemesis, ("event",))
    else:
        notes.append(f"{NEMESIS} is missing: faults taken from the history")
    if run.has(ROLES):
        run.roles = read_jsonl(root / ROLES, notes)
        _check_timed(ROLES, run.roles, ("node", "role"))
    else:
        notes.append(f"{ROLES} is missing: no leadership timeline")
    if run.has(RESULTS):
        run.results = read_json_object(root / RESULTS)
        _check_results(run.results)
    else:
        notes.append(f"{RESULTS} is missing: the history was not checked")
    nodes = root / NODES
    if nodes.is_dir():
        logs = [*nodes.glob("*/*.log"), *nodes.glob("*/*.log.gz")]  # gzipped by a soak
        run.node_logs = sorted(str(p.relative_to(root)) for p in logs)
    return run
