"""``afcheck images build``: build the node and Toxiproxy images the Docker backend runs.

Progress goes to stderr; with ``--json`` the resulting tags, hashes and
timings are printed as JSON on stdout. Exit code 0 when both images are up to
date, 3 when the engine is missing, a build fails or ``--source``/``--tag`` is
unusable (one line on stderr).

``--source DIR`` builds the node image from another tree (a checkout containing
``cluster/``, or a ``cluster`` directory), e.g. the new build of a rolling
upgrade (``afcheck cluster restart --rolling --upgrade afcheck-node:TAG``). It
is tagged by its hash and, with ``--tag TAG``, ``afcheck-node:TAG``; ``latest``
moves only when the project's own tree is built.

``afcheck images prune [--keep N] [--dry-run] [--json]`` removes the
hash-tagged images earlier builds left (all but the ``N`` newest, default 2;
never one tagged ``latest`` or by ``--tag``, nor one a container uses) and
prints the engine's layer storage before and after.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_HARNESS = 0, 3
# repeated from harness.infra.images, which imports the Docker SDK only when a build runs
DEFAULT_BASE = "python:3.11-slim"
LOCAL_BASE = "afcheck-base:bookworm"
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class SourceError(Exception):
    """``--source`` or ``--tag`` cannot be used; the message is one line."""


def source_cluster(source: str) -> Path:
    """The ``cluster`` package ``--source`` names: ``DIR/cluster``, or ``DIR`` itself."""
    root = Path(source).expanduser().resolve()
    if not root.is_dir():
        raise SourceError(f"--source {source}: not a directory")
    for candidate in (root / "cluster", root):
        if candidate.name == "cluster" and (candidate / "__init__.py").is_file():
            return candidate
    raise SourceError(
        f"--source {source}: no cluster/ package in it (give a checkout or its cluster/)"
    )


def check_tag(tag: str | None, own_tree: bool) -> None:
    """A tag Docker accepts; ``latest`` is only for a build of the project's own tree."""
    if tag is None:
        return
    if not TAG_PATTERN.fullmatch(tag):
        raise SourceError(f"--tag {tag!r}: not a valid image tag")
    if tag == "latest" and not own_tree:
        raise SourceError("--tag latest: latest only names a build of the project's own tree")


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
    build.add_argument(
        "--source",
        metavar="DIR",
        default=None,
        help="build the node image from this tree (a checkout with cluster/, or a cluster/ "
        "directory) instead of the project's; `latest` then stays where it is",
    )
    build.add_argument(
        "--tag", metavar="TAG", default=None, help="also tag the node image afcheck-node:TAG"
    )
    build.add_argument("--quiet", action="store_true", help="no build output, only the summary")
    build.add_argument("--json", action="store_true", help="print the result as JSON")
    build.set_defaults(func=cmd_build)
    prune = sub.add_parser(
        "prune",
        help="remove the hash-tagged images earlier builds left behind",
        description="Remove afcheck-node and afcheck-toxiproxy images tagged only by a source "
        "hash, keeping the newest --keep of each, any image tagged latest or by --tag, and "
        "any image a container uses.",
    )
    prune.add_argument(
        "--keep", type=int, default=2, metavar="N", help="hash-tagged images kept per name"
    )
    prune.add_argument("--dry-run", action="store_true", help="only say what would go")
    prune.add_argument("--json", action="store_true", help="print the result as JSON")
    prune.set_defaults(func=cmd_prune)


def cmd_build(args: argparse.Namespace) -> int:
    from harness.infra.backends.docker_engine import DockerError
    from harness.infra.images import CLUSTER_DIR, build_images

    try:
        cluster_dir = CLUSTER_DIR if args.source is None else source_cluster(args.source)
        check_tag(args.tag, cluster_dir == CLUSTER_DIR)
    except SourceError as exc:
        print(f"afcheck images: {exc}", file=sys.stderr)
        return EXIT_HARNESS

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
            cluster_dir=cluster_dir,
            tag=args.tag,
        )
    except DockerError as exc:
        print(f"afcheck images: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        for r in results:
            state = "built" if r.built else "up to date"
            also = f"  (also {', '.join(r.aliases)})" if r.aliases else ""
            print(f"{r.tag}  {state}  {r.seconds:.1f} s{also}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from harness.infra.backends.docker_engine import DockerError, connect
    from harness.infra.image_prune import prune_images
    from harness.infra.images import NODE_REPO, TOXIPROXY_REPO

    if args.keep < 0:
        print("afcheck images: --keep must be 0 or more", file=sys.stderr)
        return EXIT_HARNESS
    try:
        result = prune_images(connect(), (NODE_REPO, TOXIPROXY_REPO), args.keep, args.dry_run)
    except DockerError as exc:
        print(f"afcheck images: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return EXIT_OK
    verb = "would remove" if args.dry_run else "removed"
    for tag in result.removed:
        print(f"{verb} {tag}")
    for line in result.failed:
        print(f"not removed: {line}", file=sys.stderr)
    before, after = result.layers_mb_before, result.layers_mb_after
    storage = f"; image layers {before} MB -> {after} MB" if before is not None else ""
    print(f"{verb} {len(result.removed)}, kept {len(result.kept)}{storage}")
    return EXIT_OK
