"""Verify: `POST /v1/verify` with valid proof bundles, 8 in flight (bench/load.py), against a served ledger
whose log holds a million leaves at --full (synthetic, then real credentials after them), and the
offline `verify_bundle` per second in one process. Baselines: `GET /healthz` at the same
concurrency (the server's floor), and Ed25519 verifications per second on one core.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import orjson

from bench.common import (
    CALIBRATION_SECONDS,
    Figure,
    Outcome,
    Stopwatch,
    ed25519_per_core,
    fresh,
    register_issuer,
    register_learners,
)
from bench.load import Load, run_load
from bench.served import Served
from bench.synthetic_log import fill
from ledger import examples
from ledger.bundles import build_bundle
from ledger.posting import post_batch
from verification.bundle import verify_bundle

SCALES: dict[str, dict[str, Any]] = {
    "smoke": {"leaves": 1_000, "credentials": 10, "seconds": 0.3, "offline": 20},
    "quick": {"leaves": 100_000, "credentials": 200, "seconds": 2, "offline": 1_500},
    "full": {"leaves": 1_000_000, "credentials": 1_000, "seconds": 20, "offline": 3_000},
}
CONCURRENCY = 8
WORKERS = os.cpu_count() or 1
"""Server processes (`ledger serve --workers`) for the figure the targets apply to: one per core."""


def run(backend: str, scale: str) -> Outcome:
    """Build the log and bundles, then load the served ledger and time verify_bundle offline."""
    sizes = SCALES[scale]
    outcome = Outcome("verify", backend, {**sizes, "concurrency": CONCURRENCY})
    with fresh(backend) as target:
        ledger = target.open()
        fill(target, ledger, sizes["leaves"])
        issuer = register_issuer(ledger, "caerleon", ["enrolment"])
        learners = register_learners(ledger, min(50, sizes["credentials"]))
        documents = [
            examples.sign(examples.enrolment(issuer.did, learners[i % len(learners)]), issuer.key)
            for i in range(sizes["credentials"])
        ]
        post_batch(ledger, documents)
        ledger.tlog.integrate_all()
        ledger.tlog.sign_checkpoint()
        outcome.sizes["log_size"] = ledger.tlog.state().size
        bundles = [build_bundle(ledger, document["id"]) for document in documents]
        log_key = ledger.tlog.signer.verifier_key
        ledger.close()
        offline = _offline(bundles, log_key, sizes["offline"])
        bodies = [orjson.dumps(bundle) for bundle in bundles]
        for workers in sorted({1, WORKERS}):
            with Served(target.env(), workers) as served:
                verify = run_load(served.url, "POST", "/v1/verify", bodies, sizes["seconds"], CONCURRENCY)
                floor = run_load(served.url, "GET", "/healthz", [b""], sizes["seconds"], CONCURRENCY)
            outcome.figures += _served_figures(workers, verify, floor)
    outcome.sizes["load_client"] = verify.client
    outcome.sizes["workers"] = WORKERS
    outcome.figures += [
        Figure(
            "verify_bundle offline, 1 process",
            offline,
            "bundles/s",
            "Ed25519 verify/s, 1 core",
            ed25519_per_core(CALIBRATION_SECONDS[scale]),
            "≥ 5,000/s",
        ),
    ]
    return outcome


def _served_figures(workers: int, verify: Load, floor: Load) -> list[Figure]:
    """Throughput and latency of /v1/verify against /healthz, from `workers` server processes; the
    targets apply to the server using every core."""
    served = f"{workers} worker{'s' if workers > 1 else ''}"
    rate_target, p99_target = ("≥ 2,000/s", "≤ 25 ms") if workers == WORKERS else ("", "")
    return [
        Figure(f"POST /v1/verify, {served}", verify.rate, "verif/s", "GET /healthz", floor.rate, rate_target),
        Figure(f"POST /v1/verify p50, {served}", verify.p50, "ms", "GET /healthz p50", floor.p50),
        Figure(f"POST /v1/verify p99, {served}", verify.p99, "ms", "GET /healthz p99", floor.p99, p99_target),
    ]


def _offline(bundles: list[dict[str, object]], log_key: str, count: int) -> float:
    """verify_bundle calls per second in this process (every verification must be ok)."""
    failures = []
    with Stopwatch() as watch:
        for bundle in itertools.islice(itertools.cycle(bundles), count):
            report = verify_bundle(bundle, [log_key])
            if not report.ok:
                failures.append(report)
    assert not failures, f"{len(failures)} of {count} verifications failed, the first: {failures[0]}"
    return count / watch.seconds
