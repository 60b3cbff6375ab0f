"""``afcheck images build``: build the node and Toxiproxy images the Docker backend runs.

Progress goes to stderr; with ``--json`` the resulting tags, hashes and
timings are printed as JSON on stdout. Exit code 0 when both images are up to
date, 3 when the engine is missing or a build fails (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_HARNESS = 0, 3
# repeated from harness.infra.images, which imports the Docker SDK only when a build runs
DEFAULT_BASE = "python:3.11-slim"
LOCAL_BASE = "afcheck-base:bookworm"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("images", help="build the Docker images of the cluster")
    sub = parser.add_subparsers(dest="images_command", metavar="ACTION")
    sub.required = True
    build = sub.add_parser(
        "build",
        help="build the node and Toxiproxy images (skipped when the source is unchanged)",
        description="Build the node image from cluster/Dockerfile and the Toxiproxy image. "
        f"The base is {DEFAULT_BASE} when present or pullable, else {LOCAL_BASE} "
        "(built here with debootstrap).",
    )
    build.add_argument("--base", default=None, help="base image for the node image")
    build.add_argument("--no-pull", action="store_true", help="never try a registry")
    build.add_argument(
        "--force",
        action="store_true",
        help="rebuild from scratch (no layer cache) even when up to date",
    )
    build.add_argument("--store", default="store", help="where downloaded wheels are kept")
    build.add_argument("--quiet", action="store_true", help="no build output, only the summary")
    build.add_argument("--json", action="store_true", help="print the result as JSON")
    build.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    from harness.infra.backends.docker_engine import DockerError
    from harness.infra.images import build_images

    def progress(line: str) -> None:
        if not (args.quiet and line.startswith("  |")):
            print(line, file=sys.stderr, flush=True)

    try:
        results = build_images(
            base=args.base,
            pull=not args.no_pull,
            force=args.force,
            store=args.store,
            progress=progress,
        )
    except DockerError as exc:
        print(f"afcheck images: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        for r in results:
            state = "built" if r.built else "up to date"
            print(f"{r.tag}  {state}  {r.seconds:.1f} s")
    return EXIT_OK
