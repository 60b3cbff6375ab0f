"""The images the Docker backend runs: the node image and the Toxiproxy image.

Each image is labelled with a hash of what it is built from (for the node
image: ``cluster/Dockerfile``, every file under ``cluster/``, the pinned
runtime requirements and the base image; for Toxiproxy: the binary). A build
whose hash is already present as an image is skipped, so an unchanged tree is
not rebuilt and a second ``afcheck images build`` takes about a second.

The node image's base is a build argument. ``python:3.11-slim`` is used when
present or pullable; when no registry can be reached, the base is
``afcheck-base:bookworm``, which ``tools/build-base-image.sh`` makes with
``debootstrap`` and ``docker import``. Runtime wheels (aiohttp and its
dependencies, CPython 3.11 manylinux) are downloaded on the host with pip into
``store/images/wheels`` and installed offline in the image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker

from harness.infra.backends.docker_engine import (
    LABEL_IMAGE,
    LABEL_SOURCE_HASH,
    DockerError,
    call,
    connect,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_DIR = REPO_ROOT / "cluster"
DOCKERFILE = CLUSTER_DIR / "Dockerfile"
BASE_SCRIPT = REPO_ROOT / "tools" / "build-base-image.sh"
TOXIPROXY_BINARY = REPO_ROOT / "tools" / "bin" / "toxiproxy-server"

NODE_REPO = "afcheck-node"
TOXIPROXY_REPO = "afcheck-toxiproxy"
DEFAULT_BASE = "python:3.11-slim"
LOCAL_BASE = "afcheck-base:bookworm"
# what the cluster imports beyond the standard library
RUNTIME_REQUIREMENTS = ("aiohttp",)
IMAGE_PYTHON = "3.11"
BUILD_TIMEOUT = 900.0
PULL_TIMEOUT = 120.0

TOXIPROXY_DOCKERFILE = """\
FROM scratch
COPY toxiproxy-server /toxiproxy-server
USER 10001:10001
EXPOSE 8474
ENTRYPOINT ["/toxiproxy-server"]
CMD ["-host", "0.0.0.0", "-port", "8474"]
"""

Progress = Callable[[str], None]


class ImageBuildError(DockerError):
    """An image could not be built; the message says which and why."""


@dataclass
class ImageResult:
    """One image after :func:`build_images`."""

    name: str
    tag: str
    source_hash: str
    built: bool  # False: an image with this hash already existed
    seconds: float
    base: str | None = None
    aliases: list[str] = field(default_factory=list)  # further tags it carries now

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- hashes ------------------------------------------------------------------


def requirements() -> list[str]:
    """The node image's runtime requirements, pinned to the versions installed here."""
    pinned = []
    for name in RUNTIME_REQUIREMENTS:
        try:
            pinned.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
    return pinned


def _source_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


def tree_hash(root: Path, extra: list[str]) -> str:
    """sha256 over every file under ``root`` (relative path + bytes) and ``extra`` strings."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()


def node_dockerfile(cluster_dir: Path) -> Path:
    """The Dockerfile a tree is built with: its own, else this project's."""
    own = cluster_dir / "Dockerfile"
    return own if own.is_file() else DOCKERFILE


def node_hash(base: str, cluster_dir: Path = CLUSTER_DIR) -> str:
    dockerfile = node_dockerfile(cluster_dir)
    extra = [] if dockerfile.parent == cluster_dir else [f"dockerfile={file_hash(dockerfile)}"]
    return tree_hash(cluster_dir, [f"base={base}", *requirements(), *extra])


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- the engine ----------------------------------------------------------------


def image_with_hash(client: docker.APIClient, name: str, source_hash: str) -> str | None:
    """The id of an image ``name`` labelled with ``source_hash``, if one exists."""
    filters = {"label": [f"{LABEL_IMAGE}={name}", f"{LABEL_SOURCE_HASH}={source_hash}"]}
    found = call(f"list {name} images", client.images, filters=filters)
    return str(found[0]["Id"]) if found else None


def image_exists(client: docker.APIClient, ref: str) -> bool:
    try:
        call(f"inspect image {ref}", client.inspect_image, ref)
    except DockerError:
        return False
    return True


def _stream_build(
    client: docker.APIClient,
    context: Path,
    tag: str,
    labels: dict[str, str],
    buildargs: dict[str, str],
    progress: Progress,
    nocache: bool = False,
) -> None:
    """Build ``context`` as ``tag`` with the engine's builder, relaying its output."""
    stream = call(
        f"build {tag}",
        client.build,
        path=str(context),
        tag=tag,
        labels=labels,
        buildargs=buildargs,
        rm=True,
        forcerm=True,
        pull=False,
        nocache=nocache,
        decode=True,
    )
    try:
        for chunk in stream:
            if "error" in chunk:
                detail = str(chunk.get("error", "")).strip()
                raise ImageBuildError(f"image {tag}: build failed: {detail}")
            text = str(chunk.get("stream", "")).rstrip()
            if text:
                for line in text.splitlines():
                    progress(f"  | {line}")
    except docker.errors.DockerException as exc:
        raise ImageBuildError(f"image {tag}: build failed: {exc}") from exc


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One image build at a time on this machine (parallel test workers share images)."""
    path = os.path.join(tempfile.gettempdir(), "afcheck-images.lock")
    with open(path, "a+", encoding="ascii") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- the base ------------------------------------------------------------------


def try_pull(client: docker.APIClient, ref: str, progress: Progress) -> bool:
    """Pull ``ref``; False (with the reason shown) when no registry answers."""
    repo, _, tag = ref.partition(":")
    progress(f"base: pulling {ref}")
    try:
        call(f"pull {ref}", client.pull, repo, tag=tag or "latest")
    except DockerError as exc:
        progress(f"base: cannot pull {ref}: {str(exc).splitlines()[0][:200]}")
        return False
    return True


def build_local_base(progress: Progress, tag: str = LOCAL_BASE) -> None:
    """Run ``tools/build-base-image.sh`` (debootstrap + docker import)."""
    if not BASE_SCRIPT.exists():
        raise ImageBuildError(f"base image {tag}: {BASE_SCRIPT.name} not found in tools/")
    progress(f"base: building {tag} with debootstrap (no registry needed; takes minutes)")
    try:
        proc = subprocess.run(
            ["bash", str(BASE_SCRIPT), tag],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImageBuildError(f"base image {tag}: not built within {BUILD_TIMEOUT:g} s") from None
    for line in proc.stderr.splitlines():
        progress(f"  | {line}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImageBuildError(f"base image {tag}: {BASE_SCRIPT.name} failed: {last}")


def resolve_base(client: docker.APIClient, base: str | None, pull: bool, progress: Progress) -> str:
    """The base image to build on, made available locally.

    An explicit ``base`` must exist or be pullable. Without one: the default
    slim image when present or pullable, else ``afcheck-base:bookworm``
    (built here when missing)."""
    if base is not None:
        if image_exists(client, base) or (pull and try_pull(client, base, progress)):
            return base
        raise ImageBuildError(f"base image {base}: not present and cannot be pulled")
    if image_exists(client, DEFAULT_BASE):
        return DEFAULT_BASE
    if image_exists(client, LOCAL_BASE):
        return LOCAL_BASE
    if pull and try_pull(client, DEFAULT_BASE, progress):
        return DEFAULT_BASE
    build_local_base(progress)
    return LOCAL_BASE


# -- the images ----------------------------------------------------------------


def wheels_dir(store: Path, reqs: list[str]) -> Path:
    """Runtime wheels for the image's CPython, downloaded once per requirement set."""
    key = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:12]
    return store / "images" / f"wheels-{key}"


def fetch_wheels(store: Path, progress: Progress) -> Path:
    reqs = requirements()
    target = wheels_dir(store, reqs)
    marker = target / "requirements.txt"
    if marker.exists():
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    machine = platform.machine() or "x86_64"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    cmd += ["--only-binary=:all:", "--python-version", IMAGE_PYTHON, "--implementation", "cp"]
    cmd += ["--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}"]
    cmd += ["--dest", str(tmp), *reqs]
    progress(f"wheels: downloading {' '.join(reqs)} for CPython {IMAGE_PYTHON} ({machine})")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        raise ImageBuildError("wheels: pip download did not finish within 600 s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImageBuildError(f"wheels: pip download failed: {last}")
    (tmp / "requirements.txt").write_text("\n".join(reqs) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def build_node_image(
    client: docker.APIClient,
    store: Path,
    base: str,
    force: bool,
    progress: Progress,
    cluster_dir: Path = CLUSTER_DIR,
    extra_tag: str | None = None,
) -> ImageResult:
    """The node image of ``cluster_dir``; ``latest`` moves only for this project's tree."""
    started = time.monotonic()
    source_hash = node_hash(base, cluster_dir)
    tag = f"{NODE_REPO}:{source_hash[:12]}"
    own = cluster_dir.resolve() == CLUSTER_DIR
    what = "node image" if own else f"node image of {cluster_dir}"
    built = force or not image_with_hash(client, NODE_REPO, source_hash)
    if built:
        wheels = fetch_wheels(store, progress)
        progress(f"{what}: building {tag} on {base}")
        with tempfile.TemporaryDirectory(prefix="afcheck-node-ctx-") as ctx:
            context = Path(ctx)
            shutil.copy2(node_dockerfile(cluster_dir), context / "Dockerfile")
            shutil.copytree(
                cluster_dir,
                context / "cluster",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "Dockerfile"),
            )
            shutil.copytree(wheels, context / "wheels")
            labels = {LABEL_IMAGE: NODE_REPO, LABEL_SOURCE_HASH: source_hash}
            _stream_build(client, context, tag, labels, {"BASE": base}, progress, nocache=force)
    aliases = (["latest"] if own else []) + ([extra_tag] if extra_tag else [])
    for alias in aliases:
        call(f"tag {NODE_REPO}:{alias}", client.tag, tag, NODE_REPO, alias)
    seconds = time.monotonic() - started
    progress(f"{what}: built {tag} in {seconds:.1f} s" if built else f"{what}: {tag} is up to date")
    tags = [f"{NODE_REPO}:{alias}" for alias in aliases]
    return ImageResult(NODE_REPO, tag, source_hash, built, seconds, base, tags)


def build_toxiproxy_image(client: docker.APIClient, force: bool, progress: Progress) -> ImageResult:
    started = time.monotonic()
    if not TOXIPROXY_BINARY.exists():
        raise ImageBuildError(
            f"toxiproxy image: {TOXIPROXY_BINARY.name} missing; run `bash tools/install-toxiproxy.sh`"
        )
    binary_hash = file_hash(TOXIPROXY_BINARY)
    source_hash = hashlib.sha256((binary_hash + TOXIPROXY_DOCKERFILE).encode()).hexdigest()
    tag = f"{TOXIPROXY_REPO}:{source_hash[:12]}"
    built = force or not image_with_hash(client, TOXIPROXY_REPO, source_hash)
    if built:
        progress(f"toxiproxy image: building {tag}")
        with tempfile.TemporaryDirectory(prefix="afcheck-toxiproxy-ctx-") as ctx:
            context = Path(ctx)
            (context / "Dockerfile").write_text(TOXIPROXY_DOCKERFILE, encoding="utf-8")
            shutil.copy2(TOXIPROXY_BINARY, context / "toxiproxy-server")
            labels = {LABEL_IMAGE: TOXIPROXY_REPO, LABEL_SOURCE_HASH: source_hash}
            _stream_build(client, context, tag, labels, {}, progress, nocache=force)
    call(f"tag {tag}", client.tag, tag, TOXIPROXY_REPO, "latest")
    seconds = time.monotonic() - started
    done = f"built {tag} in {seconds:.1f} s" if built else f"{tag} is up to date"
    progress(f"toxiproxy image: {done}")
    latest = [f"{TOXIPROXY_REPO}:latest"]
    return ImageResult(TOXIPROXY_REPO, tag, source_hash, built, seconds, None, latest)


def build_images(
    base: str | None = None,
    pull: bool = True,
    force: bool = False,
    store: str = "store",
    progress: Progress | None = None,
    cluster_dir: Path = CLUSTER_DIR,
    tag: str | None = None,
) -> list[ImageResult]:
    """Build (or find up to date) the node and Toxiproxy images; their tags and timings.
    The node image is of ``cluster_dir`` (a rolling upgrade's new build: ``latest`` moves
    only for this project's tree), also tagged ``afcheck-node:TAG`` with ``tag``."""
    say = progress or _stderr
    client = connect(timeout=BUILD_TIMEOUT)
    try:
        with _build_lock():
            chosen = resolve_base(client, base, pull, say)
            node = build_node_image(
                client, Path(store).resolve(), chosen, force, say, cluster_dir, tag
            )
            toxiproxy = build_toxiproxy_image(client, force, say)
    finally:
        client.close()
    return [node, toxiproxy]


def ensure_images(store: str = "store", progress: Progress | None = None) -> tuple[str, str]:
    """The node and Toxiproxy image tags for the current tree, building what is missing.

    The base is never pulled here (a test run must not wait on a registry): it is
    the slim image or ``afcheck-base:bookworm`` when present, else built."""

    def summary(line: str) -> None:
        if not line.startswith("  |"):
            _stderr(f"afcheck images: {line}")

    node, toxiproxy = build_images(pull=False, store=store, progress=progress or summary)
    return node.tag, toxiproxy.tag
