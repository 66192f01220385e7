"""Run the benchmarks: `python -m bench [NAME ...] [--full] [--backend sqlite|postgres]`."""

from __future__ import annotations

import argparse
import importlib
import time

from bench.common import RESULTS, console, machine, report

BENCHMARKS = ["ingest", "verify", "proofs", "audit", "rebuild"]
BACKENDS = ["sqlite", "postgres"]


def main() -> None:
    """Parse the arguments and run each named benchmark on each backend."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", choices=[[], *BENCHMARKS], metavar="NAME", help=", ".join(BENCHMARKS)
    )
    parser.add_argument("--full", action="store_true", help="the recorded scale (default: quick)")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="default: both")
    arguments = parser.parse_args()
    scale = "full" if arguments.full else "quick"
    console.print(f"machine: {machine()}")
    started = time.perf_counter()
    for name in arguments.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        for backend in arguments.backend or BACKENDS:
            with console.status(f"{name} on {backend} ({scale}) ..."):
                outcome = module.run(backend, scale)
            report(outcome, scale)
    console.print(f"done in {time.perf_counter() - started:.0f} s; results appended to {RESULTS}")


if __name__ == "__main__":
    main()
