"""Kill the projection follower with SIGKILL mid-batch: after a restart the views equal a rebuild."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

from ledger import examples
from ledger.posting import post_batch
from projections.bootstrap import open_projections
from projections.runner import Projections
from tests.conftest import Backend, register_issuer
from tests.integration.test_projections import snapshot

CREDENTIALS = 400


def follower(backend: Backend) -> subprocess.Popen[bytes]:
    """`ledger projections follow` in its own process, in small batches."""
    command = [
        sys.executable,
        "-m",
        "projections.cli",
        "projections",
        "follow",
        "--batch",
        "10",
        "--poll",
        "0.05",
    ]
    return subprocess.Popen(
        command, env=backend.process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for(
    views: Projections, at_least: int, process: subprocess.Popen[bytes], timeout: float = 120
) -> None:
    """Poll until the slowest projection reaches `at_least`; fail if the follower dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if min(views.positions().values()) >= at_least:
            return
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        time.sleep(0.01)
    raise AssertionError(f"the follower did not reach {at_least} in {timeout} s")


def test_sigkill_mid_batch_then_restart_equals_a_rebuild(backend: Backend) -> None:
    ledger = backend.open()
    ledger.after_commit.clear()  # nothing inline: the follower process does all the work
    views = open_projections(ledger, inline=False)
    issuer = register_issuer(ledger, "caerleon", "university", ["enrolment", "award"])
    learners = [ledger.register_learner(uln, "L", "2000-01-01") for uln in ("1000000000", "1000000019")]
    documents = []
    for number in range(CREDENTIALS):
        maker = examples.award if number % 2 else examples.enrolment
        documents.append(examples.sign(maker(issuer.did, learners[number % 2]), issuer.key))
    for start in range(0, CREDENTIALS, 300):
        post_batch(ledger, documents[start : start + 300])
    head = ledger.recorder.max_notification_id()
    assert head is not None
    killed_at = []
    for fraction in (0.1, 0.25, 0.4):  # early, so each kill surely lands before the follower is done
        process = follower(backend)
        wait_for(views, int(head * fraction), process)
        time.sleep(random.uniform(0, 0.002))
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at.append(min(views.positions().values()))
    assert all(position < head for position in killed_at), killed_at
    process = follower(backend)
    wait_for(views, head, process)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    live = snapshot(views)
    assert len(live["view_portfolio_items"]) == CREDENTIALS
    assert sum(row["count"] for row in live["view_statistics"]) == CREDENTIALS
    for name in views.by_name:
        views.rebuild(name)
    assert snapshot(views) == live
    ledger.close()
