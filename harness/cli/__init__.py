"""``afcheck``: the command line.

Exit codes follow Jepsen: 0 valid, 1 invalid, 2 unknown; 3 and above mean
the harness itself failed (bad flags, a node would not start), with a
one-line reason on stderr.

Each subcommand lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``func`` (``args -> int``) as a default. Only
the module of the command being run is imported (``afcheck --help`` lists
the commands from :data:`COMMANDS` without importing any), so start-up never
pays for pandas, aiohttp or the Docker SDK it does not use.
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

# command -> (module with register(subparsers), one-line help), in the order
# `afcheck --help` lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "cluster": ("harness.cli.cluster", "start, inspect or stop a local cluster"),
    "run": ("harness.cli.run", "run one test (workload + nemesis) against a fresh cluster"),
    "check": ("harness.cli.check", "check saved histories (history.jsonl or Jepsen history.edn)"),
    "report": ("reports.cmd", "write the HTML loss report of a run directory"),
    "images": ("harness.cli.images", "build the Docker images of the cluster"),
    "soak": (
        "harness.cli.soak",
        "run rounds drawn from a workload x fault x mode matrix for hours",
    ),
    "index": ("harness.cli.index", "write index.html, junit.xml and summary.md over a store"),
}


class UsageError(Exception):
    """Bad flags or arguments: reported in one line, exit code 4."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; of the commands, only the one ``argv`` names gets its module imported
    (``argv=None``: every command's)."""
    parser = _Parser(
        prog="afcheck",
        description="Test what an active-failover database loses under faults.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    wanted = _command(argv)
    for name, (module, help_text) in COMMANDS.items():
        if argv is None or name == wanted:
            importlib.import_module(module).register(sub)
        else:  # listed by --help; never parsed in this process
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command(argv: Sequence[str] | None) -> str | None:
    """The command ``argv`` names (its first word that is not an option)."""
    for word in argv or []:
        if not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    try:
        args = build_parser(argv).parse_args(argv)
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
