"""``prune_images``: old hash-tagged images go; named, used and the newest ones stay."""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.infra.backends.docker_engine import LABEL_IMAGE
from harness.infra.image_prune import prune_images

pytestmark = [pytest.mark.docker, pytest.mark.integration]


def _build(engine: Any, name: str, n: int) -> str:
    """A tiny image of ``name`` (FROM scratch, one label), tagged by a made-up hash."""
    dockerfile = f"FROM scratch\nLABEL {LABEL_IMAGE}={name} n={n}\n".encode()
    tag = f"{name}:{secrets.token_hex(6)}"
    for _ in engine.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, decode=True):
        pass
    return tag


@pytest.fixture
def scratch_images(engine: Any) -> Iterator[tuple[str, list[str]]]:
    name = f"afcheck-prune-test-{secrets.token_hex(3)}"
    tags: list[str] = []
    try:
        for n in range(5):
            tags.append(_build(engine, name, n))
            time.sleep(1.1)  # Created has one-second resolution
        yield name, tags
    finally:
        for c in engine.containers(all=True, filters={"label": f"{LABEL_IMAGE}={name}"}):
            engine.remove_container(c["Id"], force=True)
        for image in engine.images(filters={"label": [f"{LABEL_IMAGE}={name}"]}):
            engine.remove_image(image["Id"], force=True)


def test_prune_keeps_named_used_and_newest(engine: Any, scratch_images: Any) -> None:
    name, (oldest, used, named, newer, newest) = scratch_images
    engine.tag(named, name, "next")  # a tag someone gave: never pruned
    engine.create_container(used, command=["none"], labels={LABEL_IMAGE: name})

    dry = prune_images(engine, (name,), keep=1, dry_run=True)
    assert dry.removed == [newer, oldest]  # newest first, past the one kept
    assert len(engine.images(filters={"label": [f"{LABEL_IMAGE}={name}"]})) == 5

    done = prune_images(engine, (name,), keep=1)
    assert done.removed == [newer, oldest] and done.failed == []
    left = {t for i in engine.images(name=name) for t in i["RepoTags"] or []}
    assert left == {used, named, f"{name}:next", newest}
    reasons = " ".join(done.kept)
    assert "a container uses it" in reasons and f"tagged {name}:next" in reasons

    again = prune_images(engine, (name,), keep=0)
    assert again.removed == [newest]  # the used and the named image stay even with keep 0


def test_prune_refuses_a_negative_keep(engine: Any) -> None:
    with pytest.raises(ValueError):
        prune_images(engine, ("afcheck-prune-test-none",), keep=-1)
