"""Checks after ``tools/nightly.sh smoke``: the merged index, junit.xml and the storage bounds.

``python -m harness.soak.smoke ROOT --keep-passing N``: exit 0 when every check
holds, else 1 with one line per failed check. Figures are printed (rounds,
bytes per passing round, harness RSS per round).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.soak.rundir import dir_size
from harness.soak.state import DONE

PASSING_ROUND_MAX_BYTES = 5_000_000


def check(root: Path, keep_passing: int | None) -> list[str]:
    problems: list[str] = []
    merged = root / "merged"
    rounds: list[dict[str, object]] = []
    for shard in sorted(root.glob("shard-*")):
        state = json.loads((shard / "soak.json").read_text())
        rs = state["rounds"]
        rounds += rs
        kept_passing = [r for r in rs if r["status"] == "valid" and not r.get("evicted")]
        if keep_passing is not None and len(kept_passing) > keep_passing:
            problems.append(
                f"{shard.name}: {len(kept_passing)} passing rounds kept > {keep_passing}"
            )
        for r in kept_passing:
            run = shard / str(r["run_dir"])
            if (run / "cluster").exists() or list(run.rglob("toxiproxy.log")):
                problems.append(f"{run}: a passing round kept its data dirs or toxiproxy.log")
            if dir_size(run) > PASSING_ROUND_MAX_BYTES:
                problems.append(f"{run}: {dir_size(run)} bytes > {PASSING_ROUND_MAX_BYTES}")
        for r in rs:
            if r.get("evicted") and (shard / str(r["run_dir"])).exists():
                problems.append(f"{shard.name}: evicted round {r['index']} still on disk")
            if r.get("evicted") and r["status"] != "valid":
                problems.append(f"{shard.name}: a non-passing round {r['index']} was evicted")
        latest = shard / "latest"
        if latest.is_symlink() and not (latest / "results.json").exists():
            problems.append(f"{latest} points at a run without results.json")
    indices = sorted(int(str(r["index"])) for r in rounds)
    if len(set(indices)) != len(indices):
        problems.append(f"shards overlap: plan indices {indices}")
    html = (merged / "index.html").read_text(encoding="utf-8")
    if "<script" in html or re.search(r'(src|href)="(https?:)?//', html):
        problems.append("index.html is not self-contained")
    complete = [r for r in rounds if r["status"] in DONE and not r.get("evicted")]
    for r in complete:
        if str(r["run_dir"]).split("/")[-1] not in html:
            problems.append(f"index.html lacks round {r['index']}")
    cases = ET.parse(merged / "junit.xml").getroot().findall(".//testcase")
    done = [r for r in rounds if r["status"] in DONE]
    if len(cases) != len(done):
        problems.append(f"junit.xml has {len(cases)} testcases, the shards {len(done)} rounds")
    if not (merged / "summary.md").read_text(encoding="utf-8").startswith("# afcheck"):
        problems.append("summary.md is missing its heading")
    passing = [r for r in rounds if r["status"] == "valid" and "size_bytes" in r]
    sizes = [int(str(r["size_bytes"])) for r in passing]
    rss = [int(str(r.get("rss_kb", 0))) // 1024 for r in rounds]
    print(
        f"smoke: {len(rounds)} rounds ({len(complete)} complete and kept), "
        f"passing round size avg {sum(sizes) / max(1, len(sizes)) / 1e3:.0f} kB "
        f"(max {max(sizes, default=0) / 1e3:.0f} kB), harness RSS per round MB {rss}"
    )
    return problems


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m harness.soak.smoke")
    p.add_argument("root")
    p.add_argument("--keep-passing", type=int)
    args = p.parse_args()
    try:
        problems = check(Path(args.root), args.keep_passing)
    except (OSError, ValueError, KeyError, ET.ParseError) as exc:
        problems = [f"cannot read the soak: {type(exc).__name__}: {exc}"]
    for line in problems:
        print(f"soak-smoke: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
