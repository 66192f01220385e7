"""Proofs: inclusion and consistency proofs at random indices of a log of synthetic leaves (ten
million at --full), p50/p99, against one indexed leaf read on the same database as the baseline.
"""

from __future__ import annotations

import random

from bench.common import Figure, Outcome, Stopwatch, fresh, percentile
from bench.synthetic_log import fill, synthetic_hash
from verification.merkle import root_from_leaves, verify_consistency, verify_inclusion

SCALES = {
    "smoke": {"leaves": 1_000, "samples": 20},
    "quick": {"leaves": 100_000, "samples": 300},
    "full": {"leaves": 10_000_000, "samples": 2_000},
}


def run(backend: str, scale: str) -> Outcome:
    """Fill the log, then time proofs and leaf reads at random indices."""
    sizes = SCALES[scale]
    size, samples = sizes["leaves"], sizes["samples"]
    outcome = Outcome("proofs", backend, dict(sizes))
    chooser = random.Random(9)
    with fresh(backend) as target:
        ledger = target.open()
        with Stopwatch() as filling:
            fill(target, ledger, size)
        root = ledger.tlog.latest_checkpoint().root  # type: ignore[union-attr]
        for index in (0, size // 2, size - 1):  # the proofs are right, not just fast
            verify_inclusion(synthetic_hash(index), index, size, ledger.tlog.inclusion(index, size), root)
        old = min(size, 1000)
        old_root = root_from_leaves([synthetic_hash(index) for index in range(old)])
        verify_consistency(old, size, ledger.tlog.consistency(old, size), old_root, root)
        inclusion, consistency, reads = [], [], []
        for _ in range(samples):
            index = chooser.randrange(size)
            with Stopwatch() as one:
                ledger.tlog.inclusion(index, size)
            inclusion.append(one.seconds * 1000)
            old = chooser.randrange(1, size)
            with Stopwatch() as one:
                ledger.tlog.consistency(old, size)
            consistency.append(one.seconds * 1000)
            with Stopwatch() as one, ledger.tlog.store.one_statement() as log:
                log.leaf(chooser.randrange(size))
            reads.append(one.seconds * 1000)
        ledger.close()
    outcome.sizes["fill_seconds"] = round(filling.seconds, 1)
    read = percentile(reads, 50)
    outcome.figures += [
        Figure("inclusion p50", percentile(inclusion, 50), "ms", "one leaf read p50", read),
        Figure(
            "inclusion p99",
            percentile(inclusion, 99),
            "ms",
            "one leaf read p99",
            percentile(reads, 99),
            "≤ 5 ms",
        ),
        Figure("consistency p50", percentile(consistency, 50), "ms", "one leaf read p50", read),
        Figure(
            "consistency p99", percentile(consistency, 99), "ms", "one leaf read p99", percentile(reads, 99)
        ),
    ]
    return outcome
