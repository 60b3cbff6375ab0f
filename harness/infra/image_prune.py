"""Remove the node and Toxiproxy images earlier builds left behind.

Every build of a changed tree adds an image tagged by its source hash
(``afcheck-node:5df7c8595a3c``); a machine that builds every night's commit
keeps them all. :func:`prune_images` removes the images labelled as ours
(``org.afcheck.image``) except:

* an image carrying any tag that is not a source hash: ``latest``, or a tag
  someone gave with ``afcheck images build --tag``;
* an image a container (running or stopped) was created from;
* the ``keep`` newest of the rest, per image name.

Only our labelled images are ever looked at; the base images stay.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import docker

from harness.infra.backends.docker_engine import LABEL_IMAGE, DockerError, call

HASH_TAG = re.compile(r"[0-9a-f]{12}")
DEFAULT_KEEP = 2


@dataclass
class PruneResult:
    """What :func:`prune_images` removed (or, with ``dry_run``, would remove)."""

    removed: list[str] = field(default_factory=list)  # tags
    kept: list[str] = field(default_factory=list)  # tags, with the reason
    failed: list[str] = field(default_factory=list)  # tags the engine would not remove, and why
    layers_mb_before: float | None = None
    layers_mb_after: float | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _layers_mb(client: docker.APIClient) -> float | None:
    try:
        usage = call("disk usage", client.df)
    except DockerError:
        return None
    size = usage.get("LayersSize") if isinstance(usage, dict) else None
    return round(size / 1e6, 1) if isinstance(size, int | float) else None


def _hash_tags(tags: list[str], name: str) -> list[str]:
    return [t for t in tags if t.startswith(f"{name}:") and HASH_TAG.fullmatch(t.split(":", 1)[1])]


def prune_images(
    client: docker.APIClient,
    names: tuple[str, ...],
    keep: int = DEFAULT_KEEP,
    dry_run: bool = False,
) -> PruneResult:
    """Remove old hash-tagged images of ``names`` (see the module docstring)."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    result = PruneResult(dry_run=dry_run, layers_mb_before=_layers_mb(client))
    containers = call("list containers", client.containers, all=True)
    in_use = {str(c.get("ImageID", "")) for c in containers}
    for name in names:
        images = call(
            f"list {name} images", client.images, filters={"label": [f"{LABEL_IMAGE}={name}"]}
        )
        candidates: list[tuple[int, list[str]]] = []
        for image in images:
            tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
            hashed = _hash_tags(tags, name)
            named = [t for t in tags if t not in hashed]
            if named:
                result.kept += [f"{t} (tagged {', '.join(named)})" for t in hashed]
            elif str(image["Id"]) in in_use:
                result.kept += [f"{t} (a container uses it)" for t in hashed]
            elif hashed:
                candidates.append((int(image.get("Created", 0)), hashed))
        candidates.sort(reverse=True)
        for _, hashed in candidates[:keep]:
            result.kept += [f"{t} (among the {keep} newest)" for t in hashed]
        for _, hashed in candidates[keep:]:
            for tag in hashed:
                try:
                    if not dry_run:
                        call(f"remove image {tag}", client.remove_image, tag)
                except DockerError as exc:  # e.g. a container was created from it meanwhile
                    result.failed.append(f"{tag}: {exc}")
                    continue
                result.removed.append(tag)
    result.layers_mb_after = result.layers_mb_before if dry_run else _layers_mb(client)
    return result
