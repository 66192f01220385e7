"""Proof bundles (the format is documented in verification/bundle.py): everything an offline
verifier needs to check one credential against a pinned log key.
"""

from __future__ import annotations

from typing import Any

from ledger.application import Ledger
from ledger.errors import UnknownCredential
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.log import NotYetIntegrated
from ledger.log_store import LogCursor, StoredCheckpoint, SubtreeRoots, in_one_read
from verification.bundle_shape import assemble_bundle
from verification.entries import entry_hash
from verification.merkle import consistency_proof, inclusion_proof
from verification.statements import sign_status
from verification.tlog_proof import TlogProof


def build_bundle(ledger: Ledger, credential: str, *, since: int | None = None) -> dict[str, Any]:
    """The proof bundle of a recorded credential, under a checkpoint that covers the whole log.

    `since`, a tree size the verifier saw before, adds a consistency proof from that size.
    """
    claim = ledger.find(credential_claim_id(credential), CredentialClaim)
    if claim is None:
        raise UnknownCredential(f"the ledger holds no credential {credential}")
    stream = ledger.learner_stream(claim.learner)
    entry = stream.entries[claim.seq - 1]
    content, salt = ledger.opened(claim.learner, claim.seq)
    tlog = ledger.tlog
    tlog.integrate_all()
    checkpoint = _covering_checkpoint(ledger)
    organisation = ledger.organisation_by_did(claim.issuer)
    roots = tlog.store.roots  # the subtree roots proofs served before found
    with tlog.store.reading() as log:
        leaf = log.leaf_of(claim.learner, claim.seq)
        if leaf is None or checkpoint is None or leaf.index >= checkpoint.size:
            raise NotYetIntegrated(f"{credential} is recorded but not yet in a signed checkpoint; retry")
        # The organisation's entries the checkpoint covers: a prefix of its stream, as the log
        # integrates every stream in order. The last of them is the registry head the status signs.
        registry = []
        for registry_entry in organisation.entries:
            registry_leaf = log.leaf_of(f"urn:uuid:{organisation.id}", registry_entry["seq"])
            if registry_leaf is None or registry_leaf.index >= checkpoint.size:
                break
            registry.append((registry_entry, _proof(log, registry_leaf.index, checkpoint, roots)))
        if not registry:
            raise NotYetIntegrated(f"{claim.issuer} is registered but not yet in a signed checkpoint; retry")
        consistency: dict[int, list[bytes]] = {}
        if since is not None and 0 < since < checkpoint.size:
            consistency[since] = in_one_read(
                log, lambda source: consistency_proof(since, checkpoint.size, source), roots
            )
        return assemble_bundle(
            content,
            salt,
            entry,
            _proof(log, leaf.index, checkpoint, roots),
            registry=registry,
            status=_status(ledger, claim, checkpoint, registry[-1][0]),
            consistency=consistency,
        )


def _covering_checkpoint(ledger: Ledger) -> StoredCheckpoint | None:
    """The newest checkpoint, signed afresh (on demand) when the log has grown past it."""
    latest = ledger.tlog.latest_checkpoint()
    if latest is None or latest.size < ledger.tlog.state().size:
        return ledger.tlog.sign_checkpoint() or latest
    return latest


def _proof(log: LogCursor, index: int, checkpoint: StoredCheckpoint, roots: SubtreeRoots) -> TlogProof:
    hashes = in_one_read(log, lambda source: inclusion_proof(index, checkpoint.size, source), roots)
    return TlogProof(index, tuple(hashes), checkpoint.note)


def _status(
    ledger: Ledger, claim: CredentialClaim, checkpoint: StoredCheckpoint, registry_head: dict[str, Any]
) -> str:
    """The signed status of the credential, with its issuer's registry head, as of the checkpoint."""
    signer = ledger.tlog.signer
    return sign_status(
        signer.origin,
        claim.credential,
        claim.state,
        checkpoint.size,
        claim.by,
        issuer=registry_head["organisation"],
        issuer_seq=registry_head["seq"],
        issuer_head=entry_hash(registry_head),
        signer_name=signer.name,
        seed=signer.seed,
    )
