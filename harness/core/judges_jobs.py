"""The promise table's rows about the replicated job queue, judged from the jobs checker.

- an acknowledged job is executed: no acknowledged enqueue lost (its element
  absent at the end and the job not done);
- a job with an idempotency key takes effect at most once: no keyed job
  duplicated;
- jobs without a key run at least once: how many ran more than once (a
  measured figure, never promised).
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.checkers.jobs_result import JobsResult
from harness.checkers.result import CheckResult
from harness.core.judges import Judgement, NotMeasured, find_result, missing

SHOWN = 50


def _jobs(results: Mapping[str, CheckResult]) -> JobsResult | Judgement:
    found = find_result(results, JobsResult)
    if not isinstance(found, JobsResult):
        return missing(found, NotMeasured.NOT_EXERCISED, "needs the jobs checker")
    if not found.final_read:
        return Judgement.not_measured(NotMeasured.UNDECIDED, found.summary)
    return found


def acked_jobs_executed(results: Mapping[str, CheckResult]) -> Judgement:
    jobs = _jobs(results)
    if isinstance(jobs, Judgement):
        return jobs
    return Judgement(
        not jobs.lost,
        {
            "acked-jobs": jobs.ok_count,
            "lost-count": len(jobs.lost),
            "lost": [j.to_json() for j in jobs.lost[:SHOWN]],
            "drained": jobs.drained,
        },
    )


def keyed_jobs_once(results: Mapping[str, CheckResult]) -> Judgement:
    jobs = _jobs(results)
    if isinstance(jobs, Judgement):
        return jobs
    keyed = jobs.keyed_duplicated
    return Judgement(
        not keyed,
        {
            "keyed-jobs": jobs.keyed_count,
            "keyed-duplicated-count": len(keyed),
            "keyed-duplicated": [j.to_json() for j in keyed[:SHOWN]],
        },
    )


def unkeyed_jobs_once(results: Mapping[str, CheckResult]) -> Judgement:
    jobs = _jobs(results)
    if isinstance(jobs, Judgement):
        return jobs
    dups = [d for d in jobs.duplicated if not d.keyed]
    return Judgement(
        not dups,
        {
            "unkeyed-jobs": jobs.attempt_count - jobs.keyed_count,
            "duplicated-count": len(dups),
            "duplicated": [j.to_json() for j in dups[:SHOWN]],
        },
    )
