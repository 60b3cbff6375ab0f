"""``afcheck report RUN_DIR``: write RUN_DIR/report.html and print its path.

Exit 0 when the report was written; 3 with a one-line reason when the run
directory cannot be read or the report cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reports.render import write_report
from reports.rundir import RunDirError

EXIT_OK = 0
EXIT_HARNESS = 3


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand to the ``afcheck`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write the HTML loss report of a run directory",
        description="Render RUN_DIR/report.html from the run's history, faults, roles and results.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. store/latest")
    parser.add_argument(
        "--out", metavar="FILE", default=None, help="write here instead of RUN_DIR/report.html"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        path = write_report(args.run_dir, args.out)
    except RunDirError as exc:
        print(f"afcheck report: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    print(path)
    return EXIT_OK
