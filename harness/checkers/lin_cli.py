"""The linearizability options of ``afcheck check``, kept beside the checker.

``afcheck check`` reads each FILE as our ``history.jsonl``, Jepsen's
``history.edn`` or Porcupine's JSON operations (``--format``, by default
chosen by content). For the register models it takes ``--time-limit``
(seconds per file), ``--key-time-limit`` (seconds per key), ``--memo-bytes``
(the search memo's bound) and ``-j N`` (several FILEs checked in N
processes, or one FILE's keys; the verdicts and output do not depend on N). ``--explain`` prints, for each failing
key, the operation that cannot be placed, the longest linearizable prefix, the
states tried and the window on a per-process timeline. ``--export-porcupine
OUT`` also writes each history in Porcupine's JSON (OUT is a file for one
FILE, a directory for several): that is how a history goes to Porcupine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.core.history import HistoryError, Op, read_history

FORMATS = ("auto", "jsonl", "edn", "porcupine")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the reading and linearizability flags to ``afcheck check``."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="history format (default: by content; Porcupine JSON is a list of operations)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print a readable counterexample per failing key"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        help="check the FILEs (or one FILE's keys) in N processes; same output for any N",
    )
    parser.add_argument("--time-limit", type=float, help="seconds per file (register models)")
    parser.add_argument("--key-time-limit", type=float, help="seconds per key (register models)")
    parser.add_argument(
        "--memo-bytes", type=int, help="bound of the search memo per key, in bytes (default 1 GiB)"
    )
    parser.add_argument(
        "--export-porcupine",
        metavar="OUT",
        help="also write each history as Porcupine JSON (a file for one FILE, else a directory)",
    )


def read(path: Path, args: argparse.Namespace) -> list[Op]:
    """The history in ``path`` in the chosen (or detected) format."""
    fmt = getattr(args, "format", "auto")
    if fmt == "porcupine" or (fmt == "auto" and _looks_porcupine(path)):
        from harness.checkers.porcupine_format import from_porcupine

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return from_porcupine(data, str(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise HistoryError(str(path), 0, f"cannot read: {exc}") from None
        except ValueError as exc:
            raise HistoryError(str(path), 0, f"bad Porcupine JSON: {exc}") from None
    if fmt == "edn":
        from harness.core.history import read_edn

        return read_edn(path)
    if fmt == "jsonl":
        from harness.core.history import read_jsonl

        return read_jsonl(path)
    return read_history(path)


def _looks_porcupine(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(2048)
    except (OSError, UnicodeDecodeError):
        return False
    from harness.checkers.porcupine_format import looks_like_porcupine

    return looks_like_porcupine(head)


def check(ops: list[Op], model: str, args: argparse.Namespace | None) -> Any:
    """The linearizability check with the flags' limits."""
    from harness.checkers.linearizable import DEFAULT_MEMO_BYTES, check_linearizable

    def get(name: str) -> Any:
        return getattr(args, name, None)

    return check_linearizable(
        ops,
        model,
        memo_bytes=get("memo_bytes") or DEFAULT_MEMO_BYTES,
        key_seconds=get("key_time_limit"),
        file_seconds=get("time_limit"),
        jobs=get("jobs") or 1,
    )


def after(name: str, ops: list[Op], result: Any, args: argparse.Namespace) -> None:
    """Per file, after its line: the Porcupine export and the explanation, when asked."""
    out = getattr(args, "export_porcupine", None)
    if out:
        from harness.checkers.porcupine_format import dumps

        target = Path(out)
        if len(args.files) > 1:
            target.mkdir(parents=True, exist_ok=True)
            target = target / (Path(name).stem + ".json")
        try:
            target.write_text(dumps(ops), encoding="utf-8")
        except ValueError as exc:
            print(f"  (not exported to Porcupine JSON: {exc})")
    if getattr(args, "explain", False) and result.valid is not True:
        from harness.checkers.explain import render

        text = render(result.to_json())
        if text:
            print(text)
