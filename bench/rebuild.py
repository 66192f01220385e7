"""Rebuild: each projection emptied and replayed from the whole event store, then all four together
(`ledger projections rebuild`), events per second,
against reading and decoding every stored event (the floor of any replay) as the baseline.
"""

from __future__ import annotations

from bench.common import Figure, Outcome, Stopwatch, fresh
from bench.world import build, read_rate
from projections.bootstrap import open_projections

SCALES = {"smoke": 300, "quick": 5_000, "full": 100_000}


def run(backend: str, scale: str) -> Outcome:
    """Build a ledger, then rebuild every projection and all of them."""
    entries = SCALES[scale]
    outcome = Outcome("rebuild", backend, {"entries": entries})
    with fresh(backend) as target:
        events = build(target, entries)
        outcome.sizes["events"] = events
        ledger = target.open()
        floor = read_rate(ledger)
        projections = open_projections(ledger, inline=False)
        for name in projections.by_name:
            with Stopwatch() as watch:
                projections.rebuild(name)
            outcome.figures.append(
                Figure(f"rebuild {name} alone", events / watch.seconds, "events/s", "read+decode", floor)
            )
        with Stopwatch() as watch:
            projections.rebuild()
        ledger.close()
    outcome.figures.append(
        Figure("rebuild all four", events / watch.seconds, "events/s", "read+decode", floor, "≥ 30,000/s")
    )
    return outcome
