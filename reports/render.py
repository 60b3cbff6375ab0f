"""``report.html``: one self-contained page per run directory, readable offline.

No script, no external resource: a Content-Security-Policy forbids loading
anything, the stylesheet is inlined and charts are inline SVG.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from reports import context, details, follower_choice, jobs, nodes, sections
from reports.drivers import client_section
from reports.html import h
from reports.rundir import RunDirError, load_run

REPORT = "report.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
UNRENDERED = "this section could not be rendered from results.json"


def _stylesheet() -> str:
    return resources.files("reports").joinpath("static/report.css").read_text(encoding="utf-8")


SECTIONS: tuple[Callable[[context.Context], str], ...] = (
    sections.header,
    client_section,  # which client (a real driver?) sent the workload's requests
    sections.notes,
    sections.verdicts,
    sections.promises,
    details.timeline,
    sections.lost_writes,
    jobs.queue,
    sections.split_brain,
    sections.availability,
    follower_choice.follower_choice,
    details.performance,
    details.dirty_reads,
    details.linearizability,
    details.set_anomalies,
    details.other_checkers,
    nodes.nodes,
    details.files,
)


def _section(build: Callable[[context.Context], str], ctx: context.Context) -> str:
    """One section; evidence of an unexpected shape costs that section, not the report."""
    try:
        return build(ctx)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        name = build.__name__.replace("_", " ")
        return (
            f'<section class="notes"><h2>{h(name)}</h2><p>{UNRENDERED}: '
            f"{h(type(exc).__name__)}: {h(str(exc))}</p></section>"
        )


def render(ctx: context.Context) -> str:
    """The page for an analysed run."""
    body = "".join(_section(build, ctx) for build in SECTIONS)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{h(sections.title(ctx))} — afcheck report</title>"
        f"<style>{_stylesheet()}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def render_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html``; the name the runner calls."""
    return write_report(run_dir)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render ``run_dir`` into ``out`` (default: ``run_dir/report.html``) and return its path.

    Raises :class:`RunDirError` when the run directory cannot be read or the
    report cannot be written.
    """
    run = load_run(run_dir)
    page = render(context.build(run))
    target = Path(out) if out is not None else run.path / REPORT
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(page, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise RunDirError(f"{target}: cannot write the report: {exc.strerror or exc}") from exc
    return target
