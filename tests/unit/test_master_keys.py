"""The master key ring without a database: key ids, picking keys by id, and the previous-keys setting."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ledger.errors import ConfigurationError
from ledger.master_keys import MasterKeyRing, UnknownMasterKey
from ledger.sealing import DataKey, MasterKey, SealBroken
from ledger.settings import Settings
from ledger.storage import LearnerKeyRow

ALICE = "urn:uuid:00000000-0000-4000-8000-000000000001"
OLD, NEW, OTHER = MasterKey(bytes(range(32))), MasterKey(bytes(range(1, 33))), MasterKey(bytes(range(2, 34)))


def b64(key: bytes) -> str:
    """Base64 text of key bytes, as the settings take them."""
    return base64.b64encode(key).decode()


def test_a_key_id_names_one_key_and_reveals_nothing_of_it() -> None:
    assert OLD.key_id == MasterKey(bytes(range(32))).key_id
    assert len({OLD.key_id, NEW.key_id, OTHER.key_id}) == 3
    assert len(OLD.key_id) == 16 and bytes(range(32)).hex()[:16] != OLD.key_id


def test_the_ring_wraps_under_the_current_key_and_unwraps_by_key_id() -> None:
    ring = MasterKeyRing(NEW, [OLD])
    data_key = DataKey.generate()
    sealed = data_key.seal(ALICE, b"x")
    under_old = OLD.wrap(ALICE, data_key)
    assert ring.unwrap(ALICE, under_old, OLD.key_id).open(ALICE, sealed) == b"x"
    assert ring.unwrap(ALICE, ring.wrap(ALICE, data_key), ring.key_id).open(ALICE, sealed) == b"x"
    with pytest.raises(SealBroken):
        ring.unwrap(ALICE, under_old, NEW.key_id)
    with pytest.raises(UnknownMasterKey, match=OTHER.key_id):
        ring.unwrap(ALICE, OTHER.wrap(ALICE, data_key), OTHER.key_id)


def test_a_key_without_an_id_opens_under_whichever_configured_key_fits() -> None:
    data_key = DataKey.generate()
    row = LearnerKeyRow(ALICE, OLD.wrap(ALICE, data_key))
    opened, master = MasterKeyRing(NEW, [OTHER, OLD]).unwrap_row(row)
    assert master is OLD and opened.open(ALICE, data_key.seal(ALICE, b"y")) == b"y"
    rewrapped = MasterKeyRing(NEW, [OLD]).rewrap(row)
    assert rewrapped.master_key_id == NEW.key_id and NEW.unwrap(ALICE, rewrapped.wrapped_key)
    with pytest.raises(UnknownMasterKey, match="none of the 2 configured"):
        MasterKeyRing(NEW, [OTHER]).unwrap_row(row)


def test_a_ring_without_a_key_store_digests_ulns_as_the_master_key_always_did() -> None:
    assert MasterKeyRing(OLD).uln_digest("9276308686") == OLD.uln_digest("9276308686")
    assert (
        repr(MasterKeyRing(NEW, [OLD, NEW]))
        == f"MasterKeyRing(current={NEW.key_id}, previous=['{OLD.key_id}'])"
    )


def test_previous_master_keys_are_read_comma_separated(tmp_path: Path) -> None:
    both = f"{b64(bytes(range(32)))}, {b64(bytes(range(2, 34)))}"
    settings = Settings(data_dir=tmp_path, master_key=b64(bytes(range(1, 33))), previous_master_keys=both)  # type: ignore[arg-type]
    assert settings.previous_master_key_bytes() == [bytes(range(32)), bytes(range(2, 34))]
    ring = MasterKeyRing.from_settings(settings)
    assert ring.key_id == NEW.key_id and [key.key_id for key in ring.previous] == [OLD.key_id, OTHER.key_id]
    assert Settings(data_dir=tmp_path).previous_master_key_bytes() == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("changeme", "key 1\\) is empty or a placeholder"),
        (f"{b64(bytes(range(32)))},", "key 2\\) is empty or a placeholder"),
        ("bm90IGEga2V5", "key 1\\) must be base64 of exactly 32"),
        (b64(bytes(32)), "all zeros"),
    ],
)
def test_malformed_previous_master_keys_are_refused(value: str, words: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mode="production", previous_master_keys=value)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=f"LEDGER_PREVIOUS_MASTER_KEYS \\(.*{words}"):
        settings.previous_master_key_bytes()


def test_previous_master_keys_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEDGER_PREVIOUS_MASTER_KEYS", b64(bytes(range(32))))
    assert Settings(data_dir=tmp_path).previous_master_key_bytes() == [bytes(range(32))]
    assert b64(bytes(range(32))) not in repr(Settings(data_dir=tmp_path))
