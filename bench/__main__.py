"""Run the benchmarks: `python -m bench [NAME ...] [--smoke | --full] [--backend sqlite|postgres]`."""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from bench.common import RESULTS, console, machine, report

BENCHMARKS = ["ingest", "verify", "proofs", "audit", "rebuild"]
BACKENDS = ["sqlite", "postgres"]


def main() -> None:
    """Parse the arguments and run each named benchmark on each backend."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", choices=[[], *BENCHMARKS], metavar="NAME", help=", ".join(BENCHMARKS)
    )
    scales = parser.add_mutually_exclusive_group()
    scales.add_argument("--full", action="store_true", help="the recorded scale (default: quick)")
    scales.add_argument(
        "--smoke", action="store_true", help="a few seconds each: checks they run, its figures mean nothing"
    )
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="default: both")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    arguments = parser.parse_args()
    scale = "full" if arguments.full else "smoke" if arguments.smoke else "quick"
    console.print(f"machine: {machine()}")
    started = time.perf_counter()
    for name in arguments.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        for backend in arguments.backend or BACKENDS:
            with console.status(f"{name} on {backend} ({scale}) ..."):
                outcome = module.run(backend, scale)
            report(outcome, scale, arguments.results)
    console.print(f"done in {time.perf_counter() - started:.0f} s; results appended to {arguments.results}")


if __name__ == "__main__":
    main()
