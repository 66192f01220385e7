"""Issuer key files: JSON in the Multikey form of the W3C vectors' keyPair.json."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from ledger.errors import LedgerError
from verification.errors import KeyFormatError
from verification.keys import SigningKey


class BadKeyFile(LedgerError):
    """A key file is missing, unreadable or not a Multikey key pair."""

    slug = "bad-key-file"


def key_file_document(key: SigningKey) -> dict[str, str]:
    """The key file's JSON: id (did:key method), controller, public and private multibase."""
    public = key.verify_key
    return {
        "id": public.verification_method,
        "type": "Multikey",
        "controller": public.did_key,
        "publicKeyMultibase": public.multibase,
        "privateKeyMultibase": key.multibase,
    }


def write_key_file(path: Path, key: SigningKey) -> None:
    """Write a new key file readable only by its owner; refuse to overwrite one."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadKeyFile(f"{path} already exists; keys are never overwritten") from None
    except OSError as error:
        raise BadKeyFile(f"cannot write {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(orjson.dumps(key_file_document(key), option=orjson.OPT_INDENT_2) + b"\n")


def read_key_file(path: Path) -> SigningKey:
    """The signing key in a key file, checked against the public key it states."""
    try:
        document = orjson.loads(path.read_bytes())
        key = SigningKey.from_multibase(document["privateKeyMultibase"])
    except OSError as error:
        raise BadKeyFile(f"cannot read {path}: {error.strerror}") from None
    except (orjson.JSONDecodeError, KeyError, TypeError, KeyFormatError) as error:
        raise BadKeyFile(f"{path} is not a Multikey key file: {error}") from None
    if document.get("publicKeyMultibase", key.verify_key.multibase) != key.verify_key.multibase:
        raise BadKeyFile(f"{path}: publicKeyMultibase does not match privateKeyMultibase")
    return key
