"""The costly, pure part of checking one opened entry: its commitment recomputed, and its issuer's
eddsa-jcs-2022 proof verified. It depends on nothing but the entry's sealed content and salt, so it
runs inline or in worker processes (ledger/audit_pool.py) with the same results; the checks that
need the audit's state (chain, registry, anchors) stay in ledger/audit_entries.py and
ledger/audit_issuers.py, which report what this found.

A worker can also open the sealed content first, with the learner's data key the audit hands it.
Imports only the standard library, orjson, ledger.sealing and verification/, so that a worker
process starts small.
"""

from __future__ import annotations

import base64
from typing import Any, NamedTuple

import orjson

from ledger.sealing import DataKey, SealBroken
from verification.canonical import canonical_json
from verification.data_integrity import parse_proof, verify_parsed_proof
from verification.entries import commitment
from verification.errors import VerificationError
from verification.keys import VerifyKey

Task = tuple[Any, bytes, bool] | tuple[DataKey, str, object, bool]
"""What examining an entry needs: its opened content, its salt, and whether it holds a credential
whose proof to verify; or what opening it needs first: the learner's data key, the learner,
the sealed content, and whether it is a credential's (a worker then sends back the content and
salt, or why they do not open, and what examining them found)."""


class Examined(NamedTuple):
    """What examining an opened entry found: the commitment its content and salt hash to (or why
    none can be made) and, for a credential, why its proof does not verify or who signed it with
    which key (32 raw bytes).
    """

    commitment: str | None
    commitment_problem: str | None = None
    proof_problem: str | None = None
    controller: str | None = None
    key: bytes | None = None


_keys: dict[str, VerifyKey] = {}
"""Keys read from their Multikey form (base58 in Python is slow; a ledger has few keys)."""


def examine(content: Any, salt: bytes, proof: bool) -> Examined:
    """The commitment of `content` under `salt`, and with `proof` the credential's proof checked."""
    try:
        computed = commitment(salt, canonical_json(content))
    except (ValueError, VerificationError) as error:
        return Examined(None, str(error))
    if not proof:
        return Examined(computed)
    try:
        # verification.issuer_checks.signing_key_of and verify_proof, with the proof parsed once.
        parsed = parse_proof(content)
        controller, _, fragment = parsed.verification_method.partition("#")
        key = _keys.get(fragment) or _read_key(fragment)
        verify_parsed_proof(content, parsed, key)
    except VerificationError as error:
        return Examined(computed, None, str(error))
    return Examined(computed, None, None, controller, key.raw)


def open_sealed(key: DataKey, learner: str, sealed: object) -> tuple[Any, bytes | None, str | None]:
    """The content and salt sealed beside a learner's entry (base64 of the sealed JSON object
    `{"content": …, "salt": base64}`), or why they do not open: (content, salt, None) or
    (None, None, problem).
    """
    try:
        plain = key.open(learner, base64.b64decode(str(sealed), validate=True))
        content, salt = read_opened(plain)
    except (SealBroken, ValueError, KeyError, TypeError) as error:
        return None, None, str(error) or type(error).__name__
    return content, salt, None


def read_opened(plain: bytes) -> tuple[Any, bytes]:
    """The content and salt in what a sealed content opened to; raises ValueError, KeyError or
    TypeError when it does not hold them.
    """
    opened = orjson.loads(plain)
    return opened["content"], base64.b64decode(opened["salt"], validate=True)


def examine_all(tasks: list[Task]) -> list[tuple[Any, ...]]:
    """Examine each task in turn, as plain tuples (what a worker process sends back): Examined's
    fields, or for a task that opens first (what it opened to, why it does not open, Examined's
    fields): the opened bytes, which read_opened reads again, cost less to send than a copy of the
    content.
    """
    return [tuple(examine(*task)) if len(task) == 3 else _open_and_examine(*task) for task in tasks]


def _open_and_examine(key: DataKey, learner: str, sealed: object, credential: bool) -> tuple[Any, ...]:
    """Open a sealed content and examine it as the audit does an opened one (ledger/audit_entries.py:
    the commitment, and a credential's proof when the content is a JSON object)."""
    try:
        plain = key.open(learner, base64.b64decode(str(sealed), validate=True))
        content, salt = read_opened(plain)
    except (SealBroken, ValueError, KeyError, TypeError) as error:  # as open_sealed says it
        return None, str(error) or type(error).__name__, None
    return plain, None, tuple(examine(content, salt, credential and isinstance(content, dict)))


def _read_key(multibase: str) -> VerifyKey:
    key = VerifyKey.from_multibase(multibase)
    if len(_keys) >= 4096:
        _keys.clear()
    _keys[multibase] = key
    return key
