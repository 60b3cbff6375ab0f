"""The report's queue section: jobs per state, and lost, duplicated, late or early jobs with
their tries and the failover and fault that followed their acknowledgement."""

from __future__ import annotations

from typing import Any

from harness.checkers.jobs_result import JobIssue, JobsResult
from reports.context import Context
from reports.html import code, h, long_table, note, raw, secs, section, table, text

STATES = ("pending", "running", "done", "failed", "missing")


def _tries(issue: JobIssue) -> str:
    """``#1 s1@e1 unknown; #2 s2@e2 done``."""
    parts = []
    for t in issue.tries:
        parts.append(
            f"#{text(t.get('try'))} {text(t.get('server'))}@e{text(t.get('epoch'))} "
            f"{text(t.get('outcome')) or 'running'}"
        )
    return "; ".join(parts) or "no try"


def _failover(issue: JobIssue) -> str:
    f = issue.failover
    if f is None:
        return "none after it"
    epoch = f" (epoch {f.epoch})" if f.epoch is not None else ""
    return f"{f.old or '?'} → {f.new} at {f.time / 1e9:.2f} s{epoch}"


def _fault(issue: JobIssue) -> str:
    f = issue.preceding_fault
    if f is None:
        return "none recorded"
    end = f"–{f.end / 1e9:.2f}" if f.end is not None else " on"
    nodes = f" on {', '.join(f.nodes)}" if f.nodes else ""
    return f"{f.fault}{nodes} ({f.start / 1e9:.2f}{end} s)"


def _issue_rows(issues: list[JobIssue], extra: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for i, j in enumerate(issues, start=1):
        ack = j.ack_time / 1e9 if j.ack_time is not None else None
        detail = {"copies": j.copies, "late": j.late_ms, "reason": j.reason}[extra]
        rows.append(
            [
                i,
                raw(code(j.element)),
                raw(code(j.job_id or "?")),
                "yes" if j.keyed else "no",
                raw(secs(ack), True) if ack is not None else "not acknowledged",
                j.node or "?",
                j.state,
                detail if detail is not None else "",
                _tries(j),
                _failover(j),
                _fault(j),
            ]
        )
    return rows


HEADERS = [
    "#",
    "element",
    "job",
    "keyed",
    "acknowledged at (s)",
    "by server",
    "state at the end",
    "",
    "tries (server@epoch outcome)",
    "failover after the ack",
    "fault",
]


def _issues(title: str, issues: list[JobIssue], extra: str, label: str, empty: str) -> str:
    body = f"<h3>{h(title)} ({len(issues)})</h3>"
    if not issues:
        return body + f'<p class="empty">{h(empty)}</p>'
    headers = [label if name == "" else name for name in HEADERS]
    return body + long_table(headers, _issue_rows(issues, extra), shown=12, what="jobs")


def queue(ctx: Context) -> str:
    """The queue section, when the run has a jobs checker result."""
    jobs = ctx.result(JobsResult)
    if jobs is None:
        return ""
    if not jobs.final_read:
        return section("jobs", "Queued jobs", note(f"not judged: {jobs.summary}"))
    states = [[s, raw(h(jobs.states.get(s, 0)), True)] for s in STATES]
    states += [[s, raw(h(n), True)] for s, n in sorted(jobs.states.items()) if s not in STATES]
    figures = [
        ["enqueues attempted", jobs.attempt_count],
        ["acknowledged", jobs.ok_count],
        ["with an idempotency key", jobs.keyed_count],
        ["executed (element in the set at the end)", jobs.executed_count],
        ["lost (acknowledged, never executed)", len(jobs.lost)],
        ["duplicated (executed more than once)", len(jobs.duplicated)],
        ["… of them with an idempotency key", len(jobs.keyed_duplicated)],
        [f"late (first try > {jobs.late_bound_ms} ms after due)", len(jobs.late)],
        ["early (a try before delayUntil)", len(jobs.early)],
        ["recovered (unacknowledged, yet executed)", len(jobs.recovered)],
        ["unexpected elements", len(jobs.unexpected)],
    ]
    drained = {True: "yes", False: "no (timed out)", None: "not attempted"}[jobs.drained]
    body = (
        '<div class="row">'
        + table(["state at the end", "jobs"], states)
        + table(["figure", "count"], [[k, raw(h(v), True)] for k, v in figures])
        + "</div>"
        + note(f"queue drained on the leader before the final read: {drained}")
    )
    body += _issues("Lost jobs", jobs.lost, "reason", "why", "No acknowledged job was lost.")
    body += _issues(
        "Duplicated jobs", jobs.duplicated, "copies", "copies", "No job ran more than once."
    )
    body += _issues("Late jobs", jobs.late, "late", "late by (ms)", "No job ran late.")
    if jobs.early:
        body += _issues("Early jobs", jobs.early, "reason", "why", "")
    if jobs.failovers:
        rows = [
            [f.old or "?", f.new, "" if f.epoch is None else f.epoch, raw(secs(f.time / 1e9), True)]
            for f in jobs.failovers
        ]
        body += "<h3>Leader changes</h3>" + table(["from", "to", "epoch", "at (s)"], rows)
    return section("jobs", "Queued jobs", body)
