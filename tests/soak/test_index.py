"""index.html, junit.xml and summary.md from fixture run directories; merging shard stores."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.soak.export import headline, junit_xml
from harness.soak.index_page import time_axis, write_index
from harness.soak.store_index import ROWS_FILE, read_store
from tests.soak.fakes import make_run


def two_nights(store: Path) -> None:
    make_run(store, "r00000-set-kill-leader-async", "20261130T010000", lost=1)
    make_run(store, "r00001-set-kill-leader-sync", "20261130T020000", mode="sync")
    make_run(
        store,
        "r00002-set-partition-leader-sync",
        "20261201T010000",
        valid=False,
        lost=7,
        nemesis="partition-leader",
        family="partition",
        mode="sync",
        broken=("acked-writes-survive",),
        commit=None,
    )
    make_run(store, "r00003-set-kill-leader-sync", "20261201T020000", mode="sync", lost=9)
    make_run(store, "r00004-set-kill-leader-async", "20261201T030000", incomplete=True)
    make_run(store, "r00005-set-kill-leader-async", "20261201T040000", results=False)


def test_rows_skip_incomplete_and_unfinished_runs(tmp_path: Path) -> None:
    two_nights(tmp_path)
    rows = read_store([tmp_path], tmp_path)
    assert [r.key.split("-")[0] for r in rows] == ["r00000", "r00001", "r00002", "r00003"]
    bad = rows[2]
    assert (bad.verdict, bad.lost, bad.broken, bad.commit) == (
        "invalid",
        7,
        ["acked-writes-survive"],
        "unknown",
    )
    assert rows[0].failovers == [2.0]
    assert rows[0].report == "runs/r00000-set-kill-leader-async/20261130T010000/report.html"


def test_headline_says_what_broke_last_night_and_the_trend(tmp_path: Path) -> None:
    two_nights(tmp_path)
    text = headline(read_store([tmp_path], tmp_path))
    assert "1 of 2 rounds on 2026-12-01 broke a promise: set/partition-leader/sync" in text
    assert "trending up" in text


def test_time_axis_shows_empty_hours_and_switches_to_nights(tmp_path: Path) -> None:
    two_nights(tmp_path)
    rows = read_store([tmp_path], tmp_path)
    keys, labels, unit = time_axis(rows)
    assert unit == "hour"
    # 01h on the 30th to 02h on the 1st: every hour, the 22 empty ones included
    assert len(keys) == 26 and keys[0] == "2026-11-30T01" and keys[-1] == "2026-12-01T02"
    assert labels[0] == "11-30 01h"
    make_run(tmp_path, "r00006-set-kill-leader-sync", "20261205T010000", mode="sync")
    keys, labels, unit = time_axis(read_store([tmp_path], tmp_path))
    assert unit == "night"
    assert keys == [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-05",
    ]
    assert time_axis([]) == ([], [], "hour")


def test_junit_has_one_testcase_per_round_with_the_repeat_command(tmp_path: Path) -> None:
    two_nights(tmp_path)
    root = ET.fromstring(junit_xml(read_store([tmp_path], tmp_path)))
    cases = root.findall(".//testcase")
    assert len(cases) == 4
    failures = root.findall(".//failure")
    assert len(failures) == 1
    assert failures[0].get("message") == "acked-writes-survive"
    assert "repeat with: afcheck run --workload set --nemesis partition-leader" in (
        failures[0].text or ""
    )


def test_index_page_is_self_contained(tmp_path: Path) -> None:
    two_nights(tmp_path)
    write_index([tmp_path], tmp_path)
    html = (tmp_path / "index.html").read_text()
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert html.count("<svg") == 4
    assert 'href="runs/r00002-set-partition-leader-sync/20261201T010000/report.html"' in html
    assert "broke a promise" in html
    summary = (tmp_path / "summary.md").read_text()
    assert "set/partition-leader/sync" in summary and "repeat:" in summary


def test_merge_links_shard_runs_relatively_and_keeps_history(tmp_path: Path) -> None:
    a, b, out = tmp_path / "shard-1", tmp_path / "shard-2", tmp_path / "merged"
    make_run(a, "r00000-set-kill-leader-async", "20261201T010000")
    make_run(b, "r00001-set-kill-leader-sync", "20261201T010500", valid=False, broken=("x",))
    code = main(["index", "--merge", str(a), str(b), "--out", str(out)])
    assert code == 1  # a promise broke in the merged runs
    html = (out / "index.html").read_text()
    assert 'href="../shard-1/runs/r00000-set-kill-leader-async/20261201T010000/report.html"' in html
    assert 'href="../shard-2/runs/' in html
    assert not (out / "runs").exists()  # nothing copied
    assert len(ET.parse(out / "junit.xml").getroot().findall(".//testcase")) == 2
    # the next night: the old shard stores are gone, their rows stay (without links)
    state = json.loads((out / ROWS_FILE).read_text())
    assert len(state) == 2
    c = tmp_path / "night2"
    make_run(c, "r00000-set-kill-leader-async", "20261202T010000")
    import shutil

    shutil.rmtree(a)
    code = main(["index", "--merge", str(c), "--out", str(out)])
    assert code == 0
    assert len(json.loads((out / ROWS_FILE).read_text())) == 3
    assert len(ET.parse(out / "junit.xml").getroot().findall(".//testcase")) == 1
    assert "../shard-1/" not in (out / "index.html").read_text()


def test_index_cli_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(tmp_path / "missing")]) == 4
    assert main(["index", "--merge", str(tmp_path)]) == 4
    assert "error:" in capsys.readouterr().err


def test_index_page_opens_in_chromium_without_errors(tmp_path: Path) -> None:
    from tests.reports.chromium import chromium_path, open_page

    if chromium_path() is None:
        pytest.skip("chromium is not installed")
    two_nights(tmp_path)
    write_index([tmp_path], tmp_path)
    page = open_page(
        tmp_path / "index.html",
        probe="document.querySelectorAll('svg').length + ':' + document.querySelector('.headline').textContent",
        screenshot=True,
        height=1800,
    )
    assert page.problems == []
    assert str(page.evaluated).startswith("4:1 of 2 rounds")
    assert page.screenshot and page.screenshot[:4] == b"\x89PNG"
    (tmp_path / "index.png").write_bytes(page.screenshot)
