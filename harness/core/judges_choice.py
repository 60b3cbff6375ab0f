"""How the promise table's follower-choice row is judged.

"Failover promotes the best GOOD candidate" holds in a run when no failover
job had regret: no eligible candidate held an acknowledged write that the
promoted server lacked (see :mod:`harness.checkers.follower_choice`). It is
measured in both modes; in ``sync`` only the named sync follower is eligible,
so the rule itself makes the regret 0 and the row shows the candidates' ticks.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.checkers.follower_choice_result import FollowerChoiceResult
from harness.checkers.result import CheckResult, Verdict
from harness.core.judges import Judgement, NotMeasured, find_result, missing


def best_follower(results: Mapping[str, CheckResult]) -> Judgement:
    """Regret 0 in every judged failover job; not exercised in a run without failover."""
    fc = find_result(results, FollowerChoiceResult)
    if not isinstance(fc, FollowerChoiceResult):
        return missing(fc, NotMeasured.NOT_EXERCISED, "needs follower-choice")
    if fc.verdict is Verdict.UNKNOWN:
        return Judgement.not_measured(NotMeasured.UNDECIDED, fc.summary)
    if not fc.judged:
        detail = "no failover" if not fc.jobs else f"{len(fc.jobs)} failovers, none judged"
        return Judgement.not_measured(NotMeasured.NOT_EXERCISED, detail)
    return Judgement(
        fc.regret_writes == 0,
        {
            "failovers": len(fc.jobs),
            "judged": len(fc.judged),
            "candidates-compared": fc.compared,
            "regret-writes": fc.regret_writes,
            "regret-per-failover": [
                {"epoch": j.epoch, "new": j.new, "better": j.better, "writes": j.regret_writes}
                for j in fc.judged
            ][:50],
        },
    )
