"""Kill the log integrator with SIGKILL mid-batch, again and again: the log stays exact."""

from __future__ import annotations

import itertools
import random
import signal
import subprocess
import sys
import time

from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_batch
from tests.conftest import Backend, register_issuer
from verification.canonical import canonical_json
from verification.merkle import leaf_hash, root_from_leaves, verify_consistency

ENTRIES = 1200


def follower(backend: Backend) -> subprocess.Popen[bytes]:
    """`ledger log follow` in its own process, on the backend's ledger, in small batches."""
    command = [sys.executable, "-m", "ledger.cli", "log", "follow", "--batch", "2", "--interval", "0.05"]
    return subprocess.Popen(
        command, env=backend.process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for_size(
    ledger: Ledger, at_least: int, process: subprocess.Popen[bytes], timeout: float = 120
) -> int:
    """Poll the log's size until it reaches `at_least`; fail if the follower dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        size = ledger.tlog.state().size
        if size >= at_least:
            return size
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        time.sleep(0.01)
    raise AssertionError(f"the follower did not reach {at_least} leaves in {timeout} s")


def test_sigkill_mid_batch_never_loses_duplicates_or_reorders_a_leaf(backend: Backend) -> None:
    ledger = backend.open()
    ledger.after_commit.clear()  # everything is left to the follower process
    issuer = register_issuer(ledger, "caerleon", "university", ["enrolment"])
    learners = [
        ledger.register_learner(uln, "L", "2000-01-01") for uln in ("1000000000", "1000000019", "1000000027")
    ]
    documents = [
        examples.sign(examples.enrolment(issuer.did, learners[i % 3]), issuer.key) for i in range(ENTRIES)
    ]
    for start in range(0, ENTRIES, 500):
        post_batch(ledger, documents[start : start + 500])
    expected = [
        entry
        for notification in ledger.recorder.select_notifications(start=1, limit=10 * ENTRIES)
        if (entry := getattr(ledger.mapper.to_domain_event(notification), "entry", None)) is not None
    ]
    total = len(expected)
    sizes_at_kill = []
    for fraction in (0.1, 0.25, 0.4):  # early, so each kill surely lands before the follower is done
        process = follower(backend)
        wait_for_size(ledger, int(total * fraction), process)
        time.sleep(random.uniform(0, 0.002))
        process.send_signal(signal.SIGKILL)
        process.wait()
        sizes_at_kill.append(ledger.tlog.state().size)
    process = follower(backend)
    wait_for_size(ledger, total, process)
    time.sleep(0.3)  # let it sign the final checkpoint
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert all(size < total for size in sizes_at_kill), sizes_at_kill  # each kill interrupted the work

    with ledger.tlog.store.reading() as log:
        leaves = log.leaves(0, total + 10)
        checkpoints = log.checkpoints()
    assert [leaf.index for leaf in leaves] == list(range(total))  # dense, nothing extra
    assert [(leaf.stream, leaf.seq) for leaf in leaves] == [
        (entry.get("learner") or entry["organisation"], entry["seq"]) for entry in expected
    ]
    assert [leaf.hash for leaf in leaves] == [leaf_hash(canonical_json(entry)) for entry in expected]
    assert ledger.tlog.state().frontier.root() == root_from_leaves([leaf.hash for leaf in leaves])
    assert len(checkpoints) >= 2 and checkpoints[-1].size == total
    for checkpoint in checkpoints:
        assert checkpoint.root == root_from_leaves([leaf.hash for leaf in leaves[: checkpoint.size]])
    for older, newer in itertools.pairwise(checkpoints):
        proof = ledger.tlog.consistency(older.size, newer.size)
        verify_consistency(older.size, newer.size, proof, older.root, newer.root)
    ledger.close()
