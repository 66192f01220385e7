"""A ledger of a given size for the audit and rebuild benchmarks, and the floor any replay has:
reading every stored event back and decoding it.
"""

from __future__ import annotations

from bench.common import Stopwatch, Target, register_issuer, register_learners
from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_batch

LEARNERS_PER_1000 = 50
"""As bench/audit_memory.py: learners grow with the entries, streams of about 20 entries."""


def build(target: Target, entries: int) -> int:
    """Post `entries` credentials (batches of 1,000) for 50 learners per 1,000, integrate, sign a
    checkpoint; return the number of stored events.
    """
    ledger = target.open()
    issuer = register_issuer(ledger, "caerleon", ["enrolment"])
    learners = register_learners(ledger, max(1, entries * LEARNERS_PER_1000 // 1000))
    for start in range(0, entries, 1000):
        batch = [
            examples.sign(examples.enrolment(issuer.did, learners[(start + i) % len(learners)]), issuer.key)
            for i in range(min(1000, entries - start))
        ]
        post_batch(ledger, batch)
        ledger.tlog.integrate_all()
    ledger.tlog.sign_checkpoint()
    events = ledger.recorder.max_notification_id() or 0
    ledger.close()
    return events


def read_rate(ledger: Ledger, page: int = 1000) -> float:
    """Stored events read and decoded per second, in pages, from the first to the last."""
    count = 0
    position = 0
    with Stopwatch() as watch:
        while True:
            notifications = ledger.recorder.select_notifications(start=position + 1, limit=page)
            if not notifications:
                break
            for notification in notifications:
                ledger.mapper.to_domain_event(notification)
            count += len(notifications)
            position = notifications[-1].id
    return count / watch.seconds
