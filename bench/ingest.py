"""Ingest: signed eddsa-jcs-2022 credentials for many learners, in batches of 1,000, every check on,
committed and integrated into the log; through `post_batch` directly and through
`POST /v1/credentials/batch` on a served ledger. Baselines: the stock eventsourcing application
saving one unsigned event per save() and in large batches, and the Ed25519 verification bound.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import (
    CALIBRATION_SECONDS,
    Figure,
    Outcome,
    Stopwatch,
    Target,
    ed25519_per_core,
    fresh,
    percentile,
    register_issuer,
    register_learners,
)
from bench.served import Served
from ledger import examples
from ledger.posting import post_batch
from ledger.storage import parse_database_url
from projections.bootstrap import open_projections

BATCH = 1000
WORKERS = os.cpu_count() or 1
"""Server processes and clients for the parallel HTTP figure: one per core."""
SCALES = {
    "smoke": {"learners": 10, "batches": 2, "batch": 50},
    "quick": {"learners": 200, "batches": 2, "batch": BATCH},
    "full": {"learners": 5_000, "batches": 20, "batch": BATCH},
}


class Counter(Aggregate):
    """The baseline's aggregate: one unsigned event carrying a small payload."""

    @event("Counted")
    def __init__(self, payload: str) -> None:
        self.payload = payload


class Baseline(Application[Any]):
    """The stock eventsourcing application, nothing of the ledger's."""

    name = "Baseline"


def run(backend: str, scale: str) -> Outcome:
    """Post the same workload directly and over HTTP into fresh ledgers; measure the baselines."""
    sizes = SCALES[scale]
    learners, batches, batch = sizes["learners"], sizes["batches"], sizes["batch"]
    total = batches * batch
    outcome = Outcome("ingest", backend, {"credentials": total, "batch": batch, "learners": learners})
    direct_rate, direct_batches = _direct(backend, learners, batches, batch)
    http_rate, http_batches = _http(backend, learners, batches, batch, 1)
    parallel_rate, _ = _http(backend, learners, batches, batch, WORKERS)
    one, many = _baselines(backend, total, batch)
    bound = ed25519_per_core(CALIBRATION_SECONDS[scale]) * (os.cpu_count() or 1)
    many_label = f"(b) {batch:,} events per save()"
    target = "≥ 10,000/s and ≥ 10x (a)" if backend == "postgres" else "≥ 5,000/s"
    outcome.figures += [
        Figure("post_batch (direct)", direct_rate, "cred/s", "(a) one event per save()", one, target),
        Figure("post_batch (direct)", direct_rate, "cred/s", many_label, many),
        Figure("post_batch (direct)", direct_rate, "cred/s", "(c) Ed25519 verify/s x cores", bound),
        Figure("post_batch p50 per batch", percentile(direct_batches, 50), "s"),
        Figure("post_batch p99 per batch", percentile(direct_batches, 99), "s"),
        Figure("POST /v1/credentials/batch", http_rate, "cred/s", "post_batch (direct)", direct_rate),
        Figure("HTTP p50 per batch", percentile(http_batches, 50), "s"),
        Figure("HTTP p99 per batch", percentile(http_batches, 99), "s"),
        Figure(
            f"POST …/batch, {WORKERS} workers, {WORKERS} clients",
            parallel_rate,
            "cred/s",
            "one process, one client",
            http_rate,
        ),
    ]
    return outcome


def _workload(
    target: Target, learners: int, batches: int, batch: int = BATCH
) -> tuple[Any, list[list[dict[str, Any]]]]:
    """An issuer, registered learners, and `batches` batches of `batch` signed enrolments spread over
    them.
    """
    ledger = target.open()
    issuer = register_issuer(ledger, "caerleon", ["enrolment"])
    ids = register_learners(ledger, learners)
    ledger.tlog.integrate_all()
    work = [
        [
            examples.sign(examples.enrolment(issuer.did, ids[(number * batch + i) % learners]), issuer.key)
            for i in range(batch)
        ]
        for number in range(batches)
    ]
    return ledger, work


def _direct(backend: str, learners: int, batches: int, batch: int) -> tuple[float, list[float]]:
    """Credentials/s and per-batch seconds of post_batch plus log integration."""
    with fresh(backend) as target:
        ledger, work = _workload(target, learners, batches, batch)
        times = []
        with Stopwatch() as total:
            for documents in work:
                with Stopwatch() as one:
                    results = post_batch(ledger, documents)
                    ledger.tlog.integrate_all()
                times.append(one.seconds)
                refused = [r for r in results if isinstance(r, Exception)]
                assert not refused, refused[:3]
        ledger.close()
    return batches * batch / total.seconds, times


def _http(backend: str, learners: int, batches: int, batch: int, workers: int) -> tuple[float, list[float]]:
    """Credentials/s (until the log has integrated everything) and per-request seconds over HTTP, from
    `workers` server processes and as many clients posting side by side, each taking batches in turn
    and posting again what a concurrent batch's stream conflict refused (as the issuer client does).
    """
    with fresh(backend) as target:
        ledger, work = _workload(target, learners, batches, batch)
        token, _ = ledger.tokens.create("issuer", organisation="caerleon")
        open_projections(ledger, inline=False).catch_up()  # the server starts with its views current
        ledger.close()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        times: list[float] = []

        def post(share: list[list[dict[str, Any]]]) -> None:
            with httpx.Client(base_url=served.url, timeout=120) as client:
                for documents in share:
                    pending = documents
                    while pending:
                        with Stopwatch() as one:
                            body = orjson.dumps({"credentials": pending})
                            answer = client.post("/v1/credentials/batch", content=body, headers=headers)
                        assert answer.status_code in (200, 201, 207), answer.text[:500]
                        times.append(one.seconds)
                        pending = _conflicted(pending, answer.json()["results"])

        with (
            Served(target.env(), workers) as served,
            ThreadPoolExecutor(workers) as clients,
            Stopwatch() as total,
        ):
            for done in [clients.submit(post, work[n::workers]) for n in range(workers)]:
                done.result()
            with httpx.Client(base_url=served.url) as client:
                served.wait_integrated(client)
    return batches * batch / total.seconds, times


def _conflicted(documents: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents refused only for a stream conflict (to post again); any other refusal fails."""
    again = []
    for document, result in zip(documents, results, strict=True):
        if result["status"] == 409 and result["problem"]["type"].endswith("/stream-conflict"):
            again.append(document)
        else:
            assert result["status"] in (200, 201), result
    return again


def _baselines(backend: str, total: int, batch: int) -> tuple[float, float]:
    """The stock application on the same database: events/s one per save(), then `batch` per save()."""
    with fresh(backend) as target:
        database = parse_database_url(target.settings.resolved_database_url(), schema=target.schema)
        env = dict(database.env)
        env.pop("APPLICATION_RECORDER_TOPIC")
        if backend == "sqlite":
            env["SQLITE_DBNAME"] = str(target.settings.data_dir / "baseline.sqlite3")
        app = Baseline(env)
        with Stopwatch() as one:
            for number in range(total):
                app.save(Counter(payload=f"item {number}"))
        with Stopwatch() as many:
            for start in range(0, total, batch):
                app.save(*(Counter(payload=f"item {number}") for number in range(start, start + batch)))
        app.close()
    return total / one.seconds, total / many.seconds
