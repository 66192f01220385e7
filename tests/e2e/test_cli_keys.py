"""`ledger keys rotate-master` and `ledger keys status` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from ledger.sealing import MasterKey
from tests.e2e.cli_runner import ledger

ULNS = ["9276308686", "1000000019", "4000000038"]


def test_an_operator_rotates_the_master_key(env: dict[str, str]) -> None:
    ledger(env, "init")
    learners = [
        ledger(env, "learner", "add", "--uln", uln, "--name", f"Learner {uln}", "--dob", "2003-05-14").strip()
        for uln in ULNS
    ]
    old = (Path(env["LEDGER_DATA_DIR"]) / "master.key").read_text().strip()
    new = base64.b64encode(os.urandom(32)).decode()
    old_id, new_id = (MasterKey(base64.b64decode(key)).key_id for key in (old, new))
    rotating = {**env, "LEDGER_MASTER_KEY": new, "LEDGER_PREVIOUS_MASTER_KEYS": old}

    status = ledger(rotating, "keys", "status")
    assert f"master key {new_id}; previous keys: {old_id}" in status
    assert f"{old_id}: 3 learner keys (previous)" in status

    output = ledger(rotating, "keys", "rotate-master", "--batch", "2")
    assert "3 learner keys to re-wrap" in output
    assert "re-wrapped 3 learner keys in 2 batches; 0 were already under master key" in output
    assert "ULN index key re-wrapped" in output
    assert f"{new_id}: 3 learner keys (current)" in ledger(rotating, "keys", "status")
    again = ledger(rotating, "keys", "rotate-master")
    assert "re-wrapped 0 learner keys in 0 batches; 3 were already" in again

    new_only = {**env, "LEDGER_MASTER_KEY": new}
    assert "Learner 1000000019" in ledger(new_only, "stream", learners[1])
    duplicate = ledger(
        new_only, "learner", "add", "--uln", ULNS[0], "--name", "X", "--dob", "2001-01-01", code=1
    )
    assert "a learner with this ULN is already registered" in duplicate


def test_rotation_refuses_keys_under_a_master_key_it_was_not_given(env: dict[str, str]) -> None:
    ledger(env, "init")
    learner = ledger(
        env, "learner", "add", "--uln", ULNS[0], "--name", "Carys", "--dob", "2003-05-14"
    ).strip()
    old = (Path(env["LEDGER_DATA_DIR"]) / "master.key").read_text().strip()
    old_id = MasterKey(base64.b64decode(old)).key_id
    wrong = {**env, "LEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}

    output = ledger(wrong, "keys", "rotate-master", code=2)
    assert "unknown-master-key" in output and f"{old_id} (1 learner keys)" in output
    assert "LEDGER_PREVIOUS_MASTER_KEYS" in output
    assert f"wrapped under master key {old_id}" in ledger(wrong, "stream", learner, code=1)
    assert f"{old_id}: 1 learner keys (unknown)" in ledger(wrong, "keys", "status")
    assert "Carys" in ledger(env, "stream", learner)
