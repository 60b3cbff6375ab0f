"""The node clock: skew from a file, continuity across rate changes, and no direct time reads in cluster/."""

from __future__ import annotations

import ast
import pathlib
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluster.common import clock
from cluster.common.clock import Clock, Skew, write_skew

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _wait_poll() -> None:
    time.sleep(clock.POLL_INTERVAL * 2)


def test_no_skew_without_file(tmp_path: pathlib.Path) -> None:
    c = Clock(str(tmp_path / "missing.json"))
    assert abs(c.wall() - time.time()) < 0.5
    assert c.skew == Skew()


def test_offset_moves_wall_not_monotonic(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "clock.json")
    c = Clock(path)
    mono_before = c.monotonic()
    write_skew(path, Skew(offset=30.0))
    _wait_poll()
    assert c.wall() - time.time() == pytest.approx(30.0, abs=0.5)
    # the monotonic clock did not jump
    assert c.monotonic() - mono_before < 1.0


def test_rate_scales_both_clocks_and_stays_continuous(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "clock.json")
    c = Clock(path)
    write_skew(path, Skew(offset=0.0, rate=2.0))
    _wait_poll()
    m0, t0 = c.monotonic(), time.monotonic()
    time.sleep(0.2)
    m1, t1 = c.monotonic(), time.monotonic()
    assert (m1 - m0) / (t1 - t0) == pytest.approx(2.0, rel=0.15)
    # switching back to rate 1 does not make the monotonic clock go backwards
    write_skew(path, Skew(offset=0.0, rate=1.0))
    _wait_poll()
    m2 = c.monotonic()
    assert m2 >= m1


def test_malformed_file_is_ignored(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clock.json"
    path.write_text("{not json")
    c = Clock(str(path))
    assert abs(c.wall() - time.time()) < 0.5
    assert "ignoring" in capsys.readouterr().err


@given(st.text(max_size=60))
def test_parse_never_crashes_unexpectedly(text: str) -> None:
    try:
        skew = Skew.parse(text)
    except ValueError:
        return
    assert 0.01 <= skew.rate <= 100


@pytest.mark.parametrize(
    "text",
    ['{"offset": "x"}', '{"rate": 0}', '{"rate": true}', "[1, 2]", '{"offset": null}'],
)
def test_parse_rejects_bad_values(text: str) -> None:
    with pytest.raises(ValueError):
        Skew.parse(text)


FORBIDDEN = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def _direct_time_reads(source: str) -> list[tuple[int, str]]:
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else None
            if isinstance(owner, ast.Attribute):
                name = owner.attr  # datetime.datetime.now
            if name is not None and (name, node.attr) in FORBIDDEN:
                found.append((node.lineno, f"{name}.{node.attr}"))
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module, alias.name) in FORBIDDEN or alias.name in ("time", "monotonic"):
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    return found


def test_cluster_reads_time_only_through_clock_module() -> None:
    offenders = []
    for path in sorted((ROOT / "cluster").rglob("*.py")):
        if path == ROOT / "cluster" / "common" / "clock.py":
            continue
        for line, what in _direct_time_reads(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not offenders, "direct time reads outside cluster/common/clock.py:\n" + "\n".join(
        offenders
    )


def test_detector_finds_direct_reads() -> None:
    assert _direct_time_reads("import time\nx = time.time()\n")
    assert _direct_time_reads("from time import monotonic\n")
    assert _direct_time_reads("import datetime\nd = datetime.datetime.now()\n")
    assert _direct_time_reads("from datetime import datetime\nd = datetime.now()\n")
    assert not _direct_time_reads("import time\ntime.sleep(1)\n")


def test_module_functions_follow_configure(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "clock.json")
    write_skew(path, Skew(offset=-100.0))
    old = clock._CLOCK.path
    try:
        clock.configure(path)
        _wait_poll()
        assert clock.wall() - time.time() == pytest.approx(-100.0, abs=0.5)
        assert clock.current_skew().offset == -100.0
    finally:
        clock.configure(old)


def test_configure_none_ends_the_skew(tmp_path: pathlib.Path) -> None:
    """A process pointed away from its skew file reads true time again at once
    (before, the last skew stayed in force: a test that skewed this process by
    -100 s left every later ``wall_ms()`` in the same test worker 100 s behind)."""
    path = str(tmp_path / "clock.json")
    write_skew(path, Skew(offset=-100.0, rate=2.0))
    old = clock._CLOCK.path
    try:
        clock.configure(path)
        _wait_poll()
        assert clock.current_skew().offset == -100.0
        clock.configure(None)
        assert clock.current_skew() == Skew()
        assert clock.wall() - time.time() == pytest.approx(0.0, abs=0.5)
        before = clock.monotonic()
        time.sleep(0.1)
        assert clock.monotonic() - before == pytest.approx(0.1, abs=0.05)
    finally:
        clock.configure(old)
