"""Rendering fixture runs: what a reader needs is on the page, and user data is escaped."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from reports.render import UNRENDERED, render_report, write_report
from tests.reports.fixtures import make_dirty_read_run, make_register_run, make_set_run

WEIRD = "<script>alert('x')</script>&amp;\"' <img src=x onerror=alert(1)>"


def _page(run: Path, strict: bool = True) -> str:
    page = write_report(run).read_text(encoding="utf-8")
    if strict:
        assert UNRENDERED not in page
    return page


def _visible_text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_set_run_shows_verdicts_promises_and_lost_writes(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "set")
    results = json.loads((run / "results.json").read_text())
    checkers = results["checkers"]
    lost = checkers["set-full"]["lost"]
    assert lost  # the fixture loses what s1 acknowledged while cut off
    page = _page(run)
    text = _visible_text(page)
    assert "set-partition-leader-async" in text
    for fact in (
        "workload: set",
        "nemesis: partition-leader",
        "replication: async",
        "backend: local",
        "seed: 7",
    ):
        assert fact in text
    # async: losses are measured, so the run is valid while set-full is not
    assert '<span class="badge valid big">valid</span>' in page
    assert re.search(r"set-full\s*</td><td><span class=\"badge invalid\">invalid", page)
    assert re.search(r"split-brain\s*</td><td><span class=\"badge valid\">valid", page)
    assert f"{len(lost)} acknowledged writes lost" in text
    assert f"Lost acknowledged writes ({len(lost)})" in text
    for element in lost:
        assert f"<td><code>{element}</code></td>" in page
    assert "partition-leader on s1 (10.00–20.00 s)" in text
    assert "broken" in text and "measured" in text and "promised" in text
    assert "not exercised" in text  # dirty reads: the set workload does not read dirty
    # split-brain: the overlapping claim as the checker found it, and no overlapping writes
    assert "None: no two servers acknowledged writes in overlapping time." in text
    (claim,) = checkers["split-brain"]["overlapping-claims"]
    assert f"s1, s2 {claim['start'] / 1e9:.3f} {claim['end'] / 1e9:.3f}" in text
    # availability and failover, as the checker measured them
    window = checkers["availability"]["windows"][0]  # the leadership vacuum
    assert window["fault"]["fault"] == "partition-leader"
    span = f"{window['start'] / 1e9:.3f} {window['end'] / 1e9:.3f}"
    assert f"{span} {window['duration_ns'] / 1e9:.2f} partition-leader" in text
    (failover,) = checkers["availability"]["failovers"]
    assert failover["start"] == 10 * 10**9  # from the partition's start
    row = f"s1 s2 2 unplanned partition-leader 10.000 {failover['end'] / 1e9:.3f}"
    assert row in text
    assert "1 failover." in text
    # performance: charts and the outcome table come from the performance checker
    assert page.count("<svg") >= 3
    assert "Operations by outcome" in text and "Latency of ok operations (ms)" in text
    for name in (
        "history.jsonl",
        "history.edn",
        "nemesis.jsonl",
        "roles.jsonl",
        "test.json",
        "nodes/s1/s1.log",
    ):
        assert f'href="{name}"' in page


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = _page(make_set_run(tmp_path / "set", duration_s=12))
    assert "<script" not in page.lower()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # nothing fetched: no src attributes, no stylesheet links, no url() references
    assert " src=" not in page and "<link" not in page and "url(" not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all("://" not in h and not h.startswith("/") for h in hrefs)


def test_weird_values_are_escaped_everywhere(tmp_path: Path) -> None:
    page = _page(make_register_run(tmp_path / "reg", weird=WEIRD))
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    assert "&amp;amp;" in page  # the literal "&amp;" of the data, escaped once more


def test_weird_values_in_results_keys_and_roles(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "set", duration_s=16)
    results = json.loads((run / "results.json").read_text())
    results["checkers"][WEIRD] = {"valid": WEIRD, "summary": WEIRD, WEIRD: [WEIRD]}
    results["promises"][WEIRD] = {"status": WEIRD, "holds": WEIRD, "evidence": {WEIRD: WEIRD}}
    results["checkers"]["set-full"]["lost-details"][0]["node"] = WEIRD
    (run / "results.json").write_text(json.dumps(results))
    with (run / "roles.jsonl").open("a") as out:
        out.write(
            json.dumps({"time": 1, "node": WEIRD, "role": WEIRD, "epoch": WEIRD, "leader": WEIRD})
            + "\n"
        )
    page = _page(run)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert page.count("&lt;script&gt;") >= 5


def test_register_run_shows_the_failing_window(tmp_path: Path) -> None:
    run = make_register_run(tmp_path / "reg")
    page = _page(run)
    text = _visible_text(page)
    assert "Linearizability failures (2)" in text
    assert "read of 3 after write of 4 completed" in text
    assert 'aria-label="failing window"' in page
    # the window's ops were found in the history: both invoke and completion times are shown
    window = json.loads((run / "results.json").read_text())["checkers"]["linearizable"]["failures"][
        0
    ]["window"]
    first = window[0]
    assert f"<td>p{first['process']}</td><td>{first['f']}</td>" in page
    assert "s1: down from 5.00 s to 9.00 s" in page  # the killed leader's lane
    assert "kill on s1" in text


def test_dirty_read_run_shows_staleness(tmp_path: Path) -> None:
    page = _page(make_dirty_read_run(tmp_path / "dr"))
    text = _visible_text(page)
    assert "Dirty reads" in text and "staleness p99" in text
    assert 'aria-label="staleness (ms)"' in page and 'aria-label="versions behind"' in page
    assert "no fault was applied" in text


def test_minimal_run_without_optional_files(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "set", duration_s=12)
    for name in ("results.json", "nemesis.jsonl", "roles.jsonl", "test.json"):
        (run / name).unlink()
    page = _page(run)
    text = _visible_text(page)
    assert "Notes on the input" in text and "results.json is missing" in text
    assert "badge unknown big" in page
    assert "partition-leader" in text  # faults recovered from the history's nemesis ops
    # nothing is recomputed: without results.json there is no measure to show
    assert "results.json has no performance result" in text
    assert "Lost acknowledged writes" not in text


def test_render_report_is_the_runners_entry_point(tmp_path: Path) -> None:
    run = make_dirty_read_run(tmp_path / "dr")
    assert render_report(run) == run / "report.html"


def test_large_history_is_downsampled(tmp_path: Path) -> None:
    run = make_set_run(tmp_path / "big", rate_per_process=1250, read_share=0.0)
    ops = sum(1 for line in (run / "history.jsonl").open() if '"invoke"' in line)
    started = time.perf_counter()
    page = _page(run)
    took = time.perf_counter() - started
    circles = page.count("<circle")
    print(f"\nreport of {ops:,} ops: {took:.2f} s, {len(page) / 1e6:.2f} MB, {circles} points")
    assert ops > 80_000
    assert circles <= 5000
    assert "showing 5,000 of" in page
    assert "more lost writes not shown; see results.json" in page


@pytest.mark.parametrize("maker", [make_set_run, make_register_run, make_dirty_read_run])
def test_every_fixture_renders_without_missing_values(tmp_path: Path, maker: object) -> None:
    run = maker(tmp_path / "run")  # type: ignore[operator]
    page = _page(run)
    assert "nan" not in _visible_text(page).lower().split()
    assert "None" not in _visible_text(page).split()


def test_an_unknown_checker_result_is_shown_as_not_checked(tmp_path: Path) -> None:
    """A crashed split-brain checker and a missing availability result are said so;
    nothing is recomputed from roles.jsonl in their place."""
    run = make_set_run(tmp_path / "set", duration_s=16)
    results = json.loads((run / "results.json").read_text())
    results["checkers"]["split-brain"] = {
        "valid": "unknown",
        "summary": "checker crashed: ValueError: x",
        "checker": "crash",
        "error": "ValueError: x",
    }
    del results["checkers"]["availability"]
    (run / "results.json").write_text(json.dumps(results))
    text = _visible_text(_page(run))
    assert "not checked: checker crashed: ValueError: x" in text
    assert "Overlapping writes" not in text.split("Split-brain windows")[0]
    assert "Availability and failovers" not in text
    assert "no successful op" in text  # the timeline legend still names the lane


GARBAGE_RESULTS = {
    "valid": [],
    "checkers": {
        "linearizable": {
            "valid": False,
            "failures": [
                {"key": None, "window": None},
                {"key": 1, "window": [{"index": "x"}, {"time": "y"}]},
                7,
            ],
        },
        "set-full": {"lost": [[1, 2], {"a": 1}], "lost-details": "bad", "stable-latencies": [1]},
        "dirty-reads": {"staleness": [1], "stale-reads": [{"staleness_ms": "x"}], "unmarked": 3},
        "availability": {"windows": [{"start": 1}, 4], "failovers": [5, {"from": None}]},
        "split-brain": {
            "overlapping-writes": [1, {"a": None}],
            "overlapping-claims": [{"nodes": "s1", "start": 1, "end": 2}],
        },
    },
    "promises": {"p": {"evidence": [1, 2], "holds": "maybe"}},
}


def test_odd_but_valid_json_evidence_does_not_crash(tmp_path: Path) -> None:
    run = tmp_path / "odd"
    run.mkdir()
    (run / "history.jsonl").write_text(
        '{"index":0,"type":"invoke","process":0,"f":"add","value":1,"time":5}\n'
        '{"index":1,"type":"info","process":"nemesis","f":"start","value":"weird","time":7}\n'
    )
    (run / "roles.jsonl").write_text(
        '{"time":1,"node":"s1","role":"leader","epoch":null,"leader":null}\n'
    )
    (run / "results.json").write_text(json.dumps(GARBAGE_RESULTS))
    text = _visible_text(_page(run))
    # what can be read is shown; malformed entries are left out, never guessed
    assert "Lost acknowledged writes (2)" in text
    assert "Linearizability failures (2)" in text
    assert "the failure names no operations" in text


def test_a_failing_section_costs_only_that_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import render, sections

    def broken(ctx: object) -> str:
        raise KeyError("surprise <b>")

    broken.__name__ = "split_brain"
    monkeypatch.setattr(
        render,
        "SECTIONS",
        tuple(broken if f is sections.split_brain else f for f in render.SECTIONS),
    )
    page = _page(make_dirty_read_run(tmp_path / "dr"), strict=False)
    assert f"{UNRENDERED}: KeyError: &#x27;surprise &lt;b&gt;&#x27;" in page
    assert "Dirty reads" in page and "Files" in page
