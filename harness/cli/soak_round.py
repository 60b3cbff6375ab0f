"""One soak round in a process of its own: ``python -m harness.cli.soak_round``.

``afcheck soak`` runs every round through this module so that whatever a round
allocates (its history, checkers, report) goes back to the system when the
round's process exits: the soak process itself stays flat over hours.

* ``run TEST_JSON OUTCOME_JSON`` runs the test in ``TEST_JSON`` (a
  ``test.json``) and writes ``{"run_dir", "error", "cancelled",
  "peak_rss_kb"}`` to ``OUTCOME_JSON``. The first SIGTERM/SIGINT ends the
  workload early (the round still heals, runs its final reads and is
  checked); the second cancels the round.
* ``report RUN_DIR`` renders ``RUN_DIR/report.html`` again.

Exit status: 0 when the outcome (or the report) was written, 3 otherwise.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

# signals are counted from the first instruction on: the soak may forward one
# before this process has finished importing the harness
_signals = {"count": 0}
_react: list[Any] = []


def _on_signal(signum: int, frame: object) -> None:
    _signals["count"] += 1
    for react in _react:
        react()


def _install_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)


def run(test_json: str, outcome_json: str) -> int:
    import asyncio
    import json
    from pathlib import Path

    from harness.cli.registry import REGISTRY
    from harness.core.run_files import write_json
    from harness.core.runner import run_test
    from harness.core.test import Test
    from harness.soak.runner import harness_rss_kb

    outcome: dict[str, Any] = {"run_dir": None, "error": "", "cancelled": False}
    try:
        test = Test.from_json(json.loads(Path(test_json).read_text(encoding="utf-8")), REGISTRY)
    except (OSError, ValueError) as exc:
        outcome["error"] = f"cannot read the round's test {test_json}: {exc}"
        write_json(Path(outcome_json), outcome)
        return 3

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        task = asyncio.create_task(run_test(test, stop=stop))

        def react() -> None:
            if _signals["count"] >= 1:
                stop.set()
            if _signals["count"] >= 2:
                task.cancel()

        _react.append(lambda: loop.call_soon_threadsafe(react))
        react()  # a signal that came in while this process was starting
        try:
            result = await task
            outcome["run_dir"] = str(result.run_dir)
        except asyncio.CancelledError:
            outcome["cancelled"] = True
        except Exception as exc:  # a harness failure: the soak records it and goes on
            first = str(exc).splitlines()[0] if str(exc) else ""
            outcome["error"] = f"{type(exc).__name__}: {first}"

    asyncio.run(main())
    outcome.update(peak_rss_kb=harness_rss_kb()["peak_rss_kb"])
    write_json(Path(outcome_json), outcome)
    return 0


def report(run_dir: str) -> int:
    from pathlib import Path

    from reports.render import render_report

    try:
        render_report(Path(run_dir))
    except Exception as exc:
        print(f"soak_round report: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    return 0


def main(argv: list[str]) -> int:
    _install_handlers()
    if len(argv) == 3 and argv[0] == "run":
        return run(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "report":
        return report(argv[1])
    print(
        "usage: python -m harness.cli.soak_round run TEST_JSON OUTCOME_JSON\n"
        "       python -m harness.cli.soak_round report RUN_DIR",
        file=sys.stderr,
    )
    return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
