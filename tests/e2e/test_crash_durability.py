"""Crash durability: a real `ledger serve` SIGKILLed at random moments while several client
processes post batches; after restarts and client retries, nothing acknowledged is lost or doubled,
nothing unacknowledged is half there, and the chains, the log, the checkpoints and the views hold.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from ledger import examples
from ledger.application import Ledger
from tests.conftest import Backend, Issuer, register_issuer
from tests.e2e.served import Served

CLIENTS = 3
PER_CLIENT = 240
ABANDONED = 60
"""Credentials of a fourth client that is itself SIGKILLed mid-run and never retries."""
BATCH = 20
LEARNERS = 6
KILLS = ((0.10, 0.30), (0.40, 0.55), (0.65, 0.80))
"""Each kill lands at a random point of this share of the acknowledged credentials."""


def signed_files(
    tmp_path: Path, issuers: list[Issuer], learners: list[str]
) -> tuple[list[Path], dict[str, dict[str, Any]]]:
    """A JSONL file of signed enrolments per client (each to every learner), and all of them by id."""
    files, documents = [], {}
    for number, issuer in enumerate(issuers):
        count = ABANDONED if number == CLIENTS else PER_CLIENT
        lines = []
        for index in range(count):
            document = examples.sign(examples.enrolment(issuer.did, learners[index % LEARNERS]), issuer.key)
            documents[document["id"]] = document
            lines.append(json.dumps(document))
        path = tmp_path / f"client-{number}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
    return files, documents


def client(served: Served, token: str, log_key: str, source: Path, acks: Path) -> subprocess.Popen[bytes]:
    """An issuer's client process (tests/e2e/crash_client.py) posting `source` in batches."""
    command = [sys.executable, "-m", "tests.e2e.crash_client", served.url, token, log_key]
    command += [str(source), str(acks), str(BATCH)]
    with source.with_suffix(".err").open("ab") as errors:
        return subprocess.Popen(command, env=served.env, stdout=subprocess.DEVNULL, stderr=errors)


def acknowledged(acks: Path) -> list[dict[str, Any]]:
    """The results a client has been given so far (whole lines only: it may be killed mid-write)."""
    if not acks.exists():
        return []
    lines = acks.read_text().splitlines(keepends=True)
    return [json.loads(line) for line in lines if line.endswith("\n")]


def wait_for_checkpoint(served: Served, size: int, timeout: float = 30) -> str:
    """The served checkpoint once the sequencer has signed one of `size` (it signs every interval)."""
    deadline = time.monotonic() + timeout
    while True:
        note = httpx.get(f"{served.url}/v1/log/checkpoint").text
        if note.splitlines()[1] == str(size) or time.monotonic() > deadline:
            return note
        time.sleep(0.1)


def test_sigkill_the_server_while_clients_post_loses_nothing_acknowledged(
    backend: Backend, ledger: Ledger, tmp_path: Path
) -> None:
    ledger.after_commit.clear()  # this process only sets up; the server does the integrating
    issuers = [
        register_issuer(ledger, f"university-{number}", "university", ["enrolment"])
        for number in range(CLIENTS + 1)
    ]
    tokens = [ledger.tokens.create("issuer", organisation=issuer.slug)[0] for issuer in issuers]
    learners = [
        ledger.register_learner(uln, f"Learner {uln}", "2001-01-01")
        for uln in ("1000000000", "1000000019", "1000000027", "1000000035", "1000000043", "1000000051")
    ]
    files, documents = signed_files(tmp_path, issuers, learners)
    ack_files = [tmp_path / f"acks-{number}.jsonl" for number in range(CLIENTS + 1)]
    served = Served(backend.process_env(), tmp_path / "server.log")
    clients: list[subprocess.Popen[bytes]] = []
    try:
        served.start()
        log_key = httpx.get(f"{served.url}/v1/log/key").text.strip()
        clients = [
            client(served, token, log_key, source, acks)
            for token, source, acks in zip(tokens, files, ack_files, strict=True)
        ]
        total = CLIENTS * PER_CLIENT + ABANDONED
        kills = []
        for low, high in KILLS:
            threshold = int(total * random.uniform(low, high))
            deadline = time.monotonic() + 90
            while sum(len(acknowledged(path)) for path in ack_files) < threshold:
                assert time.monotonic() < deadline, "no progress: " + "".join(
                    path.with_suffix(".err").read_text()[-2000:] for path in files
                )
                time.sleep(0.005)
            time.sleep(random.uniform(0, 0.05))
            served.kill()
            kills.append(sum(len(acknowledged(path)) for path in ack_files))
            if clients[CLIENTS].poll() is None and len(kills) == 1:
                clients[
                    CLIENTS
                ].kill()  # the abandoning client: whatever it had in flight stays unacknowledged
                clients[CLIENTS].wait(timeout=10)
            served.start()
        for process in clients[:CLIENTS]:
            assert process.wait(timeout=120) == 0, "".join(
                path.with_suffix(".err").read_text() for path in files
            )
        lags = served.wait_caught_up()
        checkpoint = wait_for_checkpoint(served, ledger.tlog.state().size)
        print(f"\n{backend.name}: killed after {kills} of {total} acknowledged; lags {lags}")
    finally:
        for process in clients:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        served.stop()
    assert all(kill < total for kill in kills), "every kill must land while clients are posting"

    acks = [acknowledged(path) for path in ack_files]
    for results in acks[:CLIENTS]:
        assert len(results) == PER_CLIENT
    for results in acks:
        assert all(result["status"] in (200, 201) for result in results), results

    # every acknowledged credential is present exactly once, exactly as its receipt says
    ledger.close()
    ledger = backend.open()
    recorded: Counter[str] = Counter()
    stored_entries: dict[str, dict[str, Any]] = {}
    for learner in learners:
        report = ledger.read_stream(learner)
        assert report.findings == [], report.findings  # the chain and commitments are intact
        for item in report.items[1:]:
            recorded[item.entry["credential"]] += 1
            stored_entries[item.entry["credential"]] = item.entry
    assert all(count == 1 for count in recorded.values()), recorded.most_common(3)
    assert set(recorded) <= set(documents)  # nothing invented
    for results in acks:
        for result in results:
            assert recorded[result["id"]] == 1
            assert stored_entries[result["id"]] == result["receipt"]["entry"]

    # the abandoned client's unacknowledged batches are each wholly there or wholly absent
    abandoned = [json.loads(line)["id"] for line in files[CLIENTS].read_text().splitlines()]
    acked_ids = {result["id"] for result in acks[CLIENTS]}
    for start in range(0, ABANDONED, BATCH):
        batch = abandoned[start : start + BATCH]
        if set(batch) & acked_ids:
            continue
        present = [credential in recorded for credential in batch]
        assert all(present) or not any(present), present

    # the log is dense and covers every event; checkpoints, chains and views hold (the audit)
    state = ledger.tlog.state()
    assert state.position == ledger.recorder.max_notification_id()
    assert checkpoint.splitlines()[1] == str(state.size)
    ledger.close()
    audit = subprocess.run(
        [sys.executable, "-m", "api.cli", "audit", "--projections", "--json", str(tmp_path / "audit.json")],
        env=backend.process_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads((tmp_path / "audit.json").read_text())
    assert report["findings"] == []
    counted = report["counted"]
    assert counted["credentials"] == len(recorded)
    assert counted["leaves"] == counted["entries"] == state.size
    assert counted.get("pending", 0) == 0
    assert counted["checkpoints"] >= 1
    assert counted["projection-rows"] > 0
