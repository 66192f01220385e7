"""Proof bundles (the format is documented in verification/bundle.py): everything an offline
verifier needs to check one credential against a pinned log key.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ledger.application import Ledger
from ledger.errors import UnknownCredential
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.log import NotYetIntegrated
from ledger.log_store import LogCursor, StoredCheckpoint, TileHashSource
from verification.merkle import consistency_proof, inclusion_proof
from verification.statements import sign_status
from verification.tlog_proof import TlogProof, format_tlog_proof

BUNDLE_TYPE = "LearnerLedgerBundle"
BUNDLE_VERSION = 1


def build_bundle(ledger: Ledger, credential: str, *, since: int | None = None) -> dict[str, Any]:
    """The proof bundle of a recorded credential, under a checkpoint that covers the whole log.

    `since`, a tree size the verifier saw before, adds a consistency proof from that size.
    """
    claim = ledger.find(credential_claim_id(credential), CredentialClaim)
    if claim is None:
        raise UnknownCredential(f"the ledger holds no credential {credential}")
    stream = ledger.learner_stream(claim.learner)
    entry = stream.entries[claim.seq - 1]
    opened = orjson.loads(
        ledger.data_key(claim.learner).open(claim.learner, base64.b64decode(stream.sealed[claim.seq - 1]))
    )
    tlog = ledger.tlog
    tlog.integrate_all()
    checkpoint = _covering_checkpoint(ledger)
    organisation = ledger.organisation_by_did(claim.issuer)
    with tlog.store.reading() as log:
        leaf = log.leaf_of(claim.learner, claim.seq)
        if leaf is None or checkpoint is None or leaf.index >= checkpoint.size:
            raise NotYetIntegrated(f"{credential} is recorded but not yet in a signed checkpoint; retry")
        registry = []
        for registry_entry in organisation.entries:
            registry_leaf = log.leaf_of(f"urn:uuid:{organisation.id}", registry_entry["seq"])
            if registry_leaf is None or registry_leaf.index >= checkpoint.size:
                break
            registry.append({"entry": registry_entry, "proof": _proof(log, registry_leaf.index, checkpoint)})
        bundle: dict[str, Any] = {
            "type": BUNDLE_TYPE,
            "version": BUNDLE_VERSION,
            "credential": opened["content"],
            "salt": opened["salt"],
            "entry": entry,
            "proof": _proof(log, leaf.index, checkpoint),
            "registry": registry,
            "status": _status(ledger, claim, checkpoint),
        }
        if since is not None and 0 < since < checkpoint.size:
            hashes = consistency_proof(since, checkpoint.size, TileHashSource(log))
            bundle["consistency"] = {str(since): [base64.b64encode(node).decode() for node in hashes]}
    return bundle


def _covering_checkpoint(ledger: Ledger) -> StoredCheckpoint | None:
    """The newest checkpoint, signed afresh (on demand) when the log has grown past it."""
    latest = ledger.tlog.latest_checkpoint()
    if latest is None or latest.size < ledger.tlog.state().size:
        return ledger.tlog.sign_checkpoint() or latest
    return latest


def _proof(log: LogCursor, index: int, checkpoint: StoredCheckpoint) -> str:
    hashes = inclusion_proof(index, checkpoint.size, TileHashSource(log))
    return format_tlog_proof(TlogProof(index, tuple(hashes), checkpoint.note))


def _status(ledger: Ledger, claim: CredentialClaim, checkpoint: StoredCheckpoint) -> str:
    signer = ledger.tlog.signer
    return sign_status(
        signer.origin,
        claim.credential,
        claim.state,
        checkpoint.size,
        claim.by,
        signer_name=signer.name,
        seed=signer.seed,
    )
