"""The images: labelled with the source hash, not rebuilt when nothing changed, non-root."""

from __future__ import annotations

from typing import Any

import pytest

from harness.infra.backends.docker_engine import LABEL_SOURCE_HASH
from harness.infra.images import build_images

pytestmark = [pytest.mark.docker, pytest.mark.integration]


def test_an_unchanged_tree_is_not_rebuilt(images: tuple[str, str], engine: Any) -> None:
    first = build_images(pull=False, progress=lambda _line: None)
    lines: list[str] = []
    node, toxiproxy = build_images(pull=False, progress=lines.append)
    assert not toxiproxy.built, lines
    # (the source may be edited between two builds while developing; then a rebuild is right)
    assert not node.built or node.source_hash != first[0].source_hash, lines
    for result in (node, toxiproxy):
        labels = engine.inspect_image(result.tag)["Config"]["Labels"]
        assert labels[LABEL_SOURCE_HASH] == result.source_hash


def test_images_run_as_a_non_root_user(images: tuple[str, str], engine: Any) -> None:
    for tag in images:
        user = engine.inspect_image(tag)["Config"]["User"]
        assert user and not user.startswith(("0", "root")), (tag, user)
