"""report.html in headless Chromium: no console error, no exception, nothing blocked.

Skipped when Chromium is absent, except under CI=true where it must run
(Debian package ``chromium``).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from reports.render import write_report
from tests.reports.chromium import chromium_path, open_page
from tests.reports.fixtures import make_dirty_read_run, make_register_run, make_set_run

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("chromium")]

PROBE = (
    "JSON.stringify({svgs: document.querySelectorAll('svg').length,"
    " tables: document.querySelectorAll('table').length,"
    " height: document.body.scrollHeight, title: document.title})"
)


@pytest.fixture(autouse=True)
def _need_chromium() -> None:
    if chromium_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.timeout(180)
def test_set_report_loads_cleanly_and_renders(tmp_path: Path) -> None:
    report = write_report(make_set_run(tmp_path / "set"))
    result = open_page(report, probe=PROBE, screenshot=True)
    assert result.problems == []
    assert isinstance(result.evaluated, str)
    assert '"svgs":' in result.evaluated and "set-partition-leader-async" in result.evaluated
    assert result.screenshot is not None
    assert _png_size(result.screenshot) == (1400, 3000)
    (tmp_path / "set.png").write_bytes(result.screenshot)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("maker", [make_register_run, make_dirty_read_run])
def test_other_reports_load_cleanly(tmp_path: Path, maker: object) -> None:
    report = write_report(maker(tmp_path / "run"))  # type: ignore[operator]
    assert open_page(report).problems == []


@pytest.mark.timeout(180)
def test_the_browser_check_catches_errors(tmp_path: Path) -> None:
    """The harness sees console errors, exceptions and a resource the page's CSP blocks."""
    report = write_report(make_dirty_read_run(tmp_path / "run"))
    page = report.read_text(encoding="utf-8")
    broken = page.replace(
        "</main>",
        '<img src="http://127.0.0.1:9/x.png" alt="">'
        "<script>console.error('boom'); no_such_function();</script></main>",
    )
    bad = tmp_path / "run" / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    problems = " | ".join(open_page(bad).problems)
    # the CSP forbids both the inline script and the image: the page cannot run or fetch anything
    assert "Content Security Policy" in problems
    assert "img-src" in problems and "script-src" in problems
    unprotected = tmp_path / "run" / "plain.html"
    unprotected.write_text(
        "<html><body><script>console.error('boom'); no_such_function();</script></body></html>",
        encoding="utf-8",
    )
    problems = " | ".join(open_page(unprotected).problems)
    assert "console.error: boom" in problems
    assert "no_such_function" in problems
