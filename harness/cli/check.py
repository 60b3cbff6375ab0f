"""``afcheck check --model M FILE...``: check saved histories, ours or Jepsen's.

Each FILE is a ``history.jsonl`` or a Jepsen ``history.edn``. One line per
file: verdict, op count, check time. Beside a ``history.jsonl`` in a run
directory, ``roles.jsonl`` and ``nemesis.jsonl`` are used when present
(``--roles``/``--nemesis`` name them explicitly). Exit code: 0 all valid, 1 any
invalid, 2 any unknown, 3 an unreadable file (one line naming file and line).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.checkers import lin_cli, processes
from harness.cli import EXIT_HARNESS, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID
from harness.core.history import HistoryError, Op

if TYPE_CHECKING:
    from harness.checkers.base import CheckResult

# models whose checks read roles.jsonl / nemesis.jsonl beside the history
_SIDE_FILES = ("set", "dirty-read", "split-brain", "availability")

MODELS = (
    "cas-register",
    "register",
    "multi-register",
    "queue",
    "set",
    "dirty-read",
    "split-brain",
    "availability",
)


class _Context:
    """Side files of one history: role samples, fault windows, rolled-back values."""

    def __init__(self, args: argparse.Namespace, path: Path) -> None:
        self.args = args
        self.roles: Any = []
        self.faults: Any = []
        self.rolled_back = _rolled_back(args.rolled_back) if args.rolled_back else []
        if args.model in _SIDE_FILES:
            from harness.checkers.base import fault_windows, role_samples

            self.roles = role_samples(_side_lines(args.roles, path, "roles.jsonl"))
            self.faults = fault_windows(_side_lines(args.nemesis, path, "nemesis.jsonl"))


def _side_lines(explicit: str | None, history: Path, name: str) -> list[dict[str, Any]]:
    path = Path(explicit) if explicit else history.with_name(name)
    if not explicit and not path.exists():
        return []
    lines: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(str(path), 0, f"cannot read: {exc}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            if n == len(text.splitlines()) and not text.endswith("\n"):
                break  # a line cut off mid-write
            raise HistoryError(str(path), n, f"not JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise HistoryError(str(path), n, "expected an object")
        lines.append(raw)
    return lines


def _rolled_back(name: str) -> list[tuple[Any, Any]]:
    """``[key, value]`` pairs or ``{"key":..., "value":...}`` objects, as JSON or JSON lines."""
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(name, 0, f"cannot read: {exc}") from None
    try:
        data = json.loads(text)
        items = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise HistoryError(name, n, f"not JSON: {exc.msg}") from None
    pairs: list[tuple[Any, Any]] = []
    for item in items:
        if isinstance(item, list) and len(item) == 2:
            pairs.append((item[0], item[1]))
        elif isinstance(item, dict) and "key" in item:
            pairs.append((item["key"], item.get("value")))
    return pairs


def _checker(model: str) -> Callable[[list[Op], _Context], CheckResult]:
    """The check for ``model``; only its checker module is imported."""
    if model in ("cas-register", "register", "multi-register"):
        return lambda ops, ctx: lin_cli.check(ops, model, ctx.args)
    if model == "queue":
        from harness.checkers.queue import check_queue

        return lambda ops, ctx: check_queue(ops)
    if model == "set":
        from harness.checkers import set_full

        return lambda ops, ctx: set_full.check_set_full(ops, ctx.faults)
    if model == "dirty-read":
        from harness.checkers import dirty_reads

        return lambda ops, ctx: dirty_reads.check_dirty_reads(ops, ctx.roles, ctx.rolled_back)
    if model == "split-brain":
        from harness.checkers import split_brain

        return lambda ops, ctx: split_brain.check_split_brain(ops, ctx.roles)
    from harness.checkers import availability

    return lambda ops, ctx: availability.check_availability(ops, ctx.faults, ctx.roles)


def _verdict(valid: Any) -> str:
    return "valid" if valid is True else "invalid" if valid is False else "unknown"


@dataclass
class _FileOutcome:
    """One file's exit code, what it prints, and its ``--json`` report."""

    code: int
    out: str
    err: str = ""
    report: dict[str, Any] | None = None


def _check_file(args: argparse.Namespace, name: str) -> _FileOutcome:
    path = Path(name)
    try:
        ops = lin_cli.read(path, args)
        ctx = _Context(args, path)
    except HistoryError as exc:
        return _FileOutcome(EXIT_HARNESS, "", f"afcheck check: {exc}\n")
    started = time.perf_counter()
    result = _checker(args.model)(ops, ctx)
    took = time.perf_counter() - started
    code = (
        EXIT_VALID
        if result.valid is True
        else EXIT_INVALID
        if result.valid is False
        else EXIT_UNKNOWN
    )
    report = None
    out = io.StringIO()
    if args.json:
        report = {
            "file": name,
            "model": args.model,
            "ops": len(ops),
            "check-time-s": round(took, 4),
            "result": result.to_json(),
        }
    else:
        out.write(
            f"{name}: {_verdict(result.valid)}  {len(ops)} ops  {took:.3f} s  {result.summary}\n"
        )
    with contextlib.redirect_stdout(out):
        lin_cli.after(name, ops, result, args)
    return _FileOutcome(code, out.getvalue(), "", report)


def _outcomes(args: argparse.Namespace) -> Iterator[_FileOutcome]:
    """Each file's outcome in the order given: with ``-j N`` and several files, the
    files are checked in N worker processes (each checking its keys in one)."""
    files: list[str] = args.files
    jobs = min(args.jobs or 1, len(files))
    if jobs <= 1 or os.name != "posix":
        for name in files:
            yield _check_file(args, name)
        return
    one_process = argparse.Namespace(**{**vars(args), "jobs": 1})
    chunk = max(1, len(files) // (jobs * 4))
    with processes.context().Pool(jobs) as pool:
        yield from pool.imap(partial(_check_file, one_process), files, chunksize=chunk)


def run(args: argparse.Namespace) -> int:
    _checker(args.model)  # import the model's checker before any fork
    # Parsing a history allocates many small objects that live until its check
    # ends and hold no cycles: a rarer young-generation collection saves a
    # third of the reading time, and what was imported is never collected.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    codes: list[int] = []
    reports: list[dict[str, Any]] = []
    for outcome in _outcomes(args):
        sys.stdout.write(outcome.out)
        sys.stderr.write(outcome.err)
        codes.append(outcome.code)
        if outcome.report is not None:
            reports.append(outcome.report)
    if args.json:
        print(json.dumps(reports if len(reports) != 1 else reports[0], indent=2, default=str))
    if EXIT_HARNESS in codes:
        return EXIT_HARNESS
    return max(codes, default=EXIT_VALID)


def register(subparsers: Any) -> None:
    """Add ``check`` to ``afcheck``'s subcommands."""
    parser = subparsers.add_parser(
        "check",
        help="check saved histories (history.jsonl or Jepsen history.edn)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("--model", required=True, choices=MODELS, help="what to check against")
    parser.add_argument("--json", action="store_true", help="print full results as JSON")
    parser.add_argument("--roles", help="roles.jsonl (default: beside each FILE, if present)")
    parser.add_argument("--nemesis", help="nemesis.jsonl (default: beside each FILE, if present)")
    parser.add_argument("--rolled-back", help="JSON or JSON lines of rolled-back [key, value]")
    lin_cli.add_arguments(parser)
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.set_defaults(func=run)
