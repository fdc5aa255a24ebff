"""``python -m bench <benchmark>``: Liaison's benchmarks, each against the issue's targets.

Each benchmark is a module of this package with ``add_arguments(parser)`` and
``main(arguments) -> int``; it is imported only when chosen.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "all": "the whole path: publish, poll, long-poll, growth, each against its floor",
    "audit": "audit log: appends/s, checkpoint lag, proof latency",
    "cli": "start-up time of the liaison command (--help, a client command)",
    "exchange": "alert exchange over HTTP: publish and poll throughput",
}


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS), help="which benchmark")
    chosen = parser.parse_args(arguments[:1])
    module = importlib.import_module(f"bench.{chosen.benchmark}")
    sub = argparse.ArgumentParser(
        prog=f"python -m bench {chosen.benchmark}", description=BENCHMARKS[chosen.benchmark]
    )
    module.add_arguments(sub)
    result = module.main(sub.parse_args(arguments[1:]))
    if not isinstance(result, int):
        raise TypeError(f"bench.{chosen.benchmark}.main returned {result!r}, not an exit status")
    return result


if __name__ == "__main__":
    sys.exit(main())
