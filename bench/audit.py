"""Audit: `ledger audit` in its own process on ledgers of two sizes (100,000 and 1,000,000 entries at
--full): entries per second, and its peak resident memory (the process's own VmHWM, as
bench/audit_memory.py measures it, and its worker processes' summed), which must not grow with the
ledger. Baselines: reading and
decoding every stored event (the floor of any replay), and the peak of a process that only imports
the ledger.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.audit_memory import AUDIT_AND_REPORT_PEAK, run_audit
from bench.common import Figure, Outcome, Target, fresh
from bench.world import build, read_rate

SCALES = {"smoke": [300], "quick": [2_000, 10_000], "full": [100_000, 1_000_000]}
IMPORT_AND_REPORT_PEAK = AUDIT_AND_REPORT_PEAK.replace("main()", "pass")


def sizes_for(scale: str) -> list[int]:
    """The ledger sizes to audit: BENCH_AUDIT_SIZES (comma-separated) when set, else the scale's."""
    chosen = os.environ.get("BENCH_AUDIT_SIZES")
    return [int(size) for size in chosen.split(",")] if chosen else SCALES[scale]


def run(backend: str, scale: str) -> Outcome:
    """Build and audit a ledger of each size."""
    sizes = sizes_for(scale)
    outcome = Outcome("audit", backend, {"entries": " and ".join(f"{size:,}" for size in sizes)})
    for size in sizes:
        with fresh(backend) as target:
            events = build(target, size)
            ledger = target.open()
            floor = read_rate(ledger)
            leaves = ledger.tlog.state().size
            ledger.close()
            seconds, peak, workers, status = _in_process(target, AUDIT_AND_REPORT_PEAK)
            assert status == 0, f"the audit found something (exit {status})"
            _, import_peak, _, _ = _in_process(target, IMPORT_AND_REPORT_PEAK)
        outcome.figures += [
            Figure(
                f"audit at {size:,} ({leaves:,} leaves)",
                leaves / seconds,
                "entries/s",
                f"read+decode {events:,} events",
                floor,
                "≥ 15,000/s",
            ),
            Figure(
                f"audit peak RSS at {size:,}",
                peak / 1024,
                "MiB",
                "import-only peak",
                import_peak / 1024,
                "flat",
            ),
        ]
        if workers:  # the audit hands pages to worker processes on large ledgers
            outcome.figures.append(
                Figure(f"audit workers' peak RSS at {size:,}, summed", workers / 1024, "MiB", target="flat")
            )
    return outcome


def _in_process(target: Target, script: str) -> tuple[float, int, int, int]:
    """Run a script in its own process against the target: (seconds, its peak RSS KiB, its audit
    workers' summed peak RSS KiB, exit status)."""
    peak_file = Path(target.settings.data_dir) / "peak"
    env = {**target.env(), "PEAK_FILE": str(peak_file)}
    seconds, status, workers = run_audit([sys.executable, "-c", script], env)
    return seconds, int(peak_file.read_text()), workers, status
