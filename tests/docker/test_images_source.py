"""``afcheck images build --source DIR [--tag TAG]`` without an engine: which tree is built,
how it is hashed, and the one-line errors (exit 3) given before any engine is asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import build_parser, main
from harness.cli.images import EXIT_HARNESS, SourceError, check_tag, source_cluster
from harness.infra.images import CLUSTER_DIR, DOCKERFILE, node_dockerfile, node_hash

NOWHERE = "unix:///nonexistent/afcheck-docker.sock"
BASE = "python:3.11-slim"


def copy_cluster(dest: Path) -> Path:
    tree = dest / "cluster"
    shutil.copytree(CLUSTER_DIR, tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tree


def build(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["images", "build", "--no-pull", *args])
    return code, capsys.readouterr().err.strip().splitlines()


def test_the_flags_are_parsed() -> None:
    args = build_parser(["images", "build"]).parse_args(
        ["images", "build", "--source", "../other", "--tag", "next"]
    )
    assert (args.source, args.tag) == ("../other", "next")
    plain = build_parser(["images", "build"]).parse_args(["images", "build"])
    assert (plain.source, plain.tag) == (None, None)


def test_a_checkout_or_its_cluster_directory_names_the_same_tree(tmp_path: Path) -> None:
    tree = copy_cluster(tmp_path)
    assert source_cluster(str(tmp_path)) == tree.resolve()
    assert source_cluster(str(tree)) == tree.resolve()
    assert source_cluster(str(CLUSTER_DIR.parent)) == CLUSTER_DIR


@pytest.mark.parametrize("missing", [True, False])
def test_a_source_without_a_cluster_package_is_refused(tmp_path: Path, missing: bool) -> None:
    where = tmp_path / ("absent" if missing else "empty")
    if not missing:
        (where / "cluster").mkdir(parents=True)  # a folder, but no package in it
    with pytest.raises(SourceError, match="--source"):
        source_cluster(str(where))


@pytest.mark.parametrize(
    "source", ["absent", "empty", "file"], ids=["missing", "no-cluster", "a-file"]
)
def test_a_bad_source_is_one_line_and_exit_3_without_an_engine(
    tmp_path: Path,
    source: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)  # were the engine asked, the error would differ
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("not a tree\n", encoding="utf-8")
    code, err = build(capsys, "--source", str(tmp_path / source), "--tag", "next")
    assert code == EXIT_HARNESS == 3
    assert len(err) == 1 and err[0].startswith("afcheck images: --source "), err


@pytest.mark.parametrize("tag", ["latest", "bad tag", "-x", "a" * 129])
def test_a_bad_tag_is_refused_for_another_tree(
    tmp_path: Path,
    tag: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    copy_cluster(tmp_path)
    code, err = build(capsys, "--source", str(tmp_path), f"--tag={tag}")
    assert code == EXIT_HARNESS and len(err) == 1 and "--tag" in err[0], err


def test_latest_is_a_valid_tag_only_for_the_project_tree() -> None:
    check_tag("latest", own_tree=True)
    check_tag("v3.11.99_rc-1", own_tree=False)
    with pytest.raises(SourceError):
        check_tag("latest", own_tree=False)


def test_another_tree_hashes_by_its_content(tmp_path: Path) -> None:
    tree = copy_cluster(tmp_path)
    own = node_hash(BASE)
    assert node_hash(BASE, tree) == own  # a faithful copy is the same build
    api = tree / "server" / "api_databases.py"
    text = api.read_text(encoding="utf-8")
    api.write_text(text.replace('VERSION = "', 'VERSION = "9', 1), encoding="utf-8")
    assert node_hash(BASE, tree) != own


def test_a_tree_without_a_dockerfile_is_built_with_the_project_one(tmp_path: Path) -> None:
    tree = copy_cluster(tmp_path)
    assert node_dockerfile(tree) == tree / "Dockerfile"
    with_own = node_hash(BASE, tree)
    (tree / "Dockerfile").unlink()
    assert node_dockerfile(tree) == DOCKERFILE
    assert node_hash(BASE, tree) not in (with_own, node_hash(BASE))
