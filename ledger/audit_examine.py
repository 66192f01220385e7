"""The costly, pure part of checking one opened entry: its commitment recomputed, and its issuer's
eddsa-jcs-2022 proof verified. It depends on nothing but the entry's sealed content and salt, so it
runs inline or in worker processes (ledger/audit_pool.py) with the same results; the checks that
need the audit's state (chain, registry, anchors) stay in ledger/audit_entries.py and
ledger/audit_issuers.py, which report what this found.

Imports only the standard library and verification/, so that a worker process starts small.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from verification.canonical import canonical_json
from verification.data_integrity import parse_proof, verify_parsed_proof
from verification.entries import commitment
from verification.errors import VerificationError
from verification.keys import VerifyKey

Task = tuple[Any, bytes, bool]
"""What examining an entry needs: the sealed content, its salt, and whether it holds a credential
whose proof to verify."""


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


def examine_all(tasks: list[Task]) -> list[tuple[Any, ...]]:
    """Examine each task in turn, as plain tuples (what a worker process sends back)."""
    return [tuple(examine(*task)) for task in tasks]


def _read_key(multibase: str) -> VerifyKey:
    key = VerifyKey.from_multibase(multibase)
    if len(_keys) >= 4096:
        _keys.clear()
    _keys[multibase] = key
    return key
