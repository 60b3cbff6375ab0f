"""The report's "Was the best follower promoted?" section.

One row per candidate of every failover job supervision recorded: the tick its
last heartbeat reported (what supervision chose by), the tick of the failed
leader's epoch it really held when the job ran, and the acknowledged writes it
held beyond the promoted server. A job's regret is what its best eligible
alternative would have kept. Everything comes from the follower-choice
checker's result in ``results.json``; nothing is recomputed here.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.follower_choice_result import (
    NAME,
    CandidateTicks,
    FollowerChoiceResult,
    JobChoice,
)
from reports.context import Context
from reports.html import code, long_table, note, raw, secs, section, table

HEADERS = [
    "epoch",
    "failover",
    "new epoch seen (s)",
    "candidate",
    "health",
    "eligible",
    "heartbeat tick",
    "held tick",
    "held tick from",
    "ticks beyond promoted",
    "acked writes kept",
    "job regret (writes)",
]


def _candidate_row(job: JobChoice, c: CandidateTicks, first: bool) -> list[Any]:
    seen = secs(job.seen_at / 1e9) if job.seen_at is not None else ""
    name = f"{c.server} (promoted)" if c.promoted else c.server
    if job.better == c.server:
        name += " (better)"
    return [
        job.epoch if first else "",
        f"{job.old} → {job.new}" if first else "",
        raw(seen, True) if first else "",
        name,
        c.health,
        "yes" if c.eligible else "no",
        "" if c.heartbeat_tick is None else c.heartbeat_tick,
        "" if c.held_tick is None else c.held_tick,
        c.held_from,
        c.ticks_beyond if not c.promoted else "",
        c.writes_kept if not c.promoted else "",
        (job.regret_writes if job.decided else "undecided") if first else "",
    ]


def _rows(fc: FollowerChoiceResult) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for job in fc.jobs:
        ordered = sorted(job.candidates, key=lambda c: (not c.promoted, c.server))
        for n, c in enumerate(ordered):
            rows.append(_candidate_row(job, c, n == 0))
    return rows


def _figures(fc: FollowerChoiceResult) -> str:
    per = [j.regret_writes for j in fc.judged]
    return table(
        ["failovers", "judged", "candidates compared", "regret (writes)", "with regret", "max"],
        [
            [
                len(fc.jobs),
                len(fc.judged),
                fc.compared,
                fc.regret_writes,
                len(fc.regretted),
                max(per) if per else 0,
            ]
        ],
    )


def follower_choice(ctx: Context) -> str:
    fc = ctx.result(FollowerChoiceResult)
    title = "Was the best follower promoted?"
    if fc is None:
        if NAME not in ctx.results:
            return ""
        return section("follower-choice", title, note(f"not measured: {ctx.results[NAME].summary}"))
    if not fc.jobs:
        return section("follower-choice", title, note(fc.summary or "no failover job"))
    body = _figures(fc) + long_table(HEADERS, _rows(fc), shown=30, what="candidates")
    for job in fc.regretted:
        body += (
            f"<p>epoch {job.epoch}: {code(job.better)} held {job.regret_writes} acknowledged"
            f" writes that {code(job.new)} lacked: {code(list(job.regret[:20]))}</p>"
        )
    for job in fc.jobs:
        if job.note:
            body += note(f"epoch {job.epoch}: {job.note}")
    body += note(
        "supervision chooses by the heartbeat tick (up to one heartbeat old); the held tick"
        " is the highest tick of the failed leader's epoch the server held when the job ran,"
        " from its log and rollback files, capped by the tick it reported after the job"
    )
    return section("follower-choice", title, body)
