"""The soak's memory hygiene: everything a round runs is imported up front, and
freed memory goes back to the OS after each round."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from harness.soak import memory


def _in_fresh_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_import_all_imports_every_round_module_but_no_pytest_module() -> None:
    out = _in_fresh_python(
        """
        import sys
        from harness.cli.soak import ROUND_PACKAGES
        from harness.soak import memory
        failed = memory.import_all(ROUND_PACKAGES)
        mods = set(sys.modules)
        print(failed, "reports.render" in mods, "harness.checkers.linearizable" in mods,
              any(m.startswith("nemesis.test_") for m in mods))
        """
    )
    assert out == "[] True True False"


def test_import_all_names_what_cannot_be_imported() -> None:
    assert memory.import_all(["no_such_package_anywhere"]) == ["no_such_package_anywhere"]


def test_release_gives_freed_pages_back() -> None:
    """Many 1 kB objects (beyond Python's small-object allocator, so from glibc's heap),
    freed but for a few survivors: without a trim glibc keeps their pages."""
    out = _in_fresh_python(
        """
        from harness.soak import memory
        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
        before = rss()
        junk = [bytes(1000) + i.to_bytes(4, "little") for i in range(200_000)]
        keep = junk[::2000]  # a few survivors scattered over the heap
        del junk
        import gc; gc.collect()
        held = rss()
        trimmed = memory.release()
        print(before, held, rss(), trimmed, len(keep))
        """
    )
    before, held, after, trimmed, _ = out.split()
    if trimmed == "False":  # not glibc: nothing to measure
        return
    assert int(held) - int(before) > 50  # the freed objects' pages were still resident
    assert int(after) - int(before) < (int(held) - int(before)) / 2, out
