"""``afcheck index``: the store index (``index.html``, ``junit.xml``, ``summary.md``).

``afcheck index STORE`` indexes one store in place; ``afcheck index --merge A B
... --out DIR`` indexes several (shard stores) into DIR, linking to their runs
relatively (nothing is copied). Earlier nights' rows are kept in
``DIR/index-rows.json`` (or read from ``--history FILE``). Reads run
directories only. Exit status: 0 nothing broke in the indexed runs, 1 a
promise broke in one of them, 3 the index could not be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli import EXIT_HARNESS, EXIT_INVALID, EXIT_VALID, UsageError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "index",
        help="write index.html, junit.xml and summary.md over the runs of a store",
        description="Index every run of a store (or merge several stores) into one offline page.",
    )
    p.add_argument("store", nargs="?", help="the store to index (its index goes into it)")
    p.add_argument("--merge", nargs="+", metavar="STORE", help="stores to merge")
    p.add_argument("--out", help="where the merged index goes (with --merge)")
    p.add_argument("--history", metavar="FILE", help="earlier nights' index-rows.json")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from harness.soak.export import headline
    from harness.soak.index_page import write_index
    from harness.soak.store_index import ROWS_FILE, load_rows

    if args.merge:
        if args.store or not args.out:
            raise UsageError("afcheck index: --merge A B ... takes --out DIR and no STORE")
        stores, out = [Path(s) for s in args.merge], Path(args.out)
    else:
        if not args.store or args.out:
            raise UsageError("afcheck index: give one STORE, or --merge A B ... --out DIR")
        stores, out = [Path(args.store)], Path(args.store)
    for s in stores:
        if not s.is_dir():
            raise UsageError(f"afcheck index: {s} is not a directory")
    history = Path(args.history) if args.history else None
    try:
        fresh = write_index(stores, out, history)
    except OSError as exc:
        print(f"afcheck index: cannot write the index: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    rows = load_rows(out / ROWS_FILE, out) or fresh
    print(headline(rows))
    print(f"index: {out / 'index.html'} ({len(fresh)} runs indexed, {len(rows)} with history)")
    return EXIT_INVALID if any(r.verdict == "invalid" for r in fresh) else EXIT_VALID
