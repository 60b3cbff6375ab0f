"""``afcheck``: the command line.

Exit codes follow Jepsen: 0 valid, 1 invalid, 2 unknown; 3 and above mean
the harness itself failed (bad flags, a node would not start), with a
one-line reason on stderr.

Each subcommand lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``func`` (``args -> int``) as a default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_HARNESS = 3
EXIT_USAGE = 4

# subcommand modules, in the order `afcheck --help` lists them
COMMAND_MODULES: list[str] = [
    # "harness.cli.cluster", ... each added when it lands
    "harness.cli.cluster",
    "harness.cli.run",
    "harness.cli.check",
    "reports.cmd",
    "harness.cli.images",
]


class UsageError(Exception):
    """Bad flags or arguments: reported in one line, exit code 4."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="afcheck",
        description="Test what an active-failover database loses under faults.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.func(args)
        return code
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("afcheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
