"""``python -m harness.bench NAME [flags]`` or ``python -m harness.bench all``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from harness.bench import BENCHMARKS


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(f"usage: python -m harness.bench {{{','.join([*BENCHMARKS, 'all'])}}} [flags]")
        return 0 if args else 4
    name, rest = args[0], args[1:]
    if name == "all":
        codes = [_run(n, rest) for n in BENCHMARKS]
        return max(codes, default=0)
    if name not in BENCHMARKS:
        print(
            f"harness.bench: unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 4
    return _run(name, rest)


def _run(name: str, argv: list[str]) -> int:
    code: int = importlib.import_module(BENCHMARKS[name]).main(argv)
    return code


if __name__ == "__main__":
    sys.exit(main())
