"""A small world built with pure code only: a log key, an organisation's stream, a signed
credential, a learner entry, a Merkle tree, a checkpoint, tlog-proofs, a status note; and from it,
a proof bundle. The shapes follow ledger/streams.py and ledger/examples.py, copied, not imported.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from verification.bundle import assemble_bundle
from verification.canonical import canonical_json
from verification.checkpoint import Checkpoint, sign_checkpoint
from verification.data_integrity import create_proof
from verification.entries import GENESIS, commitment, entry_hash
from verification.keys import SigningKey, VerifyKey
from verification.merkle import (
    ListHashSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaves,
)
from verification.note import generate_signer_key, parse_signer_key
from verification.statements import sign_status
from verification.tlog_proof import TlogProof

ORIGIN = "ledger.example/log"
SIGNER_KEY, VERIFIER_KEY = generate_signer_key(ORIGIN)
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
LEDGER_CONTEXT = "https://w3id.org/learner-ledger/v1"
LEARNER = "urn:uuid:7d3f1e2a-5b6c-4d8e-9f01-23456789abcd"
ORGANISATION = "urn:uuid:8cedbe1b-89e9-5f28-9506-538055cd3a11"
DID = "did:web:ledger.example:orgs:caerleon"
AWARD_ID = "urn:uuid:3c1d2e4f-0a1b-4c2d-8e3f-405162738495"
STATUS_ID = "urn:uuid:11111111-2222-4333-8444-555555555555"
ISSUER_KEY = SigningKey.from_seed(b"\x11" * 32)
OTHER_KEY = SigningKey.from_seed(b"\x22" * 32)
SALT = bytes(range(100, 132))


def award(issuer: str = DID, valid_from: str = "2024-07-01T09:00:00Z") -> dict[str, Any]:
    """An Open Badges 3.0 AchievementCredential for an FHEQ level 6 degree (ledger/examples.py)."""
    return {
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        "id": AWARD_ID,
        "type": ["VerifiableCredential", "AchievementCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": LEARNER,
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "urn:uuid:0b5f5a1e-6c1d-4c1e-9a0e-3f8e2b6d7c41",
                "type": ["Achievement"],
                "name": "BSc (Hons) Computer Science",
                "achievementType": "BachelorDegree",
                "criteria": {"narrative": "Completion of a three-year honours programme."},
                "creditsAvailable": 360,
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "Bachelor's degree with honours",
                        "targetFramework": "FHEQ",
                        "targetCode": "6",
                    }
                ],
            },
            "result": [{"type": ["Result"], "value": "First"}],
        },
        "name": "BSc (Hons) Computer Science",
        "awardedDate": valid_from,
    }


def revocation(names: str = AWARD_ID, issuer: str = DID) -> dict[str, Any]:
    """A StatusCredential revoking an earlier credential (ledger/examples.py `status`)."""
    return {
        "@context": [VC_CONTEXT, LEDGER_CONTEXT],
        "id": STATUS_ID,
        "type": ["VerifiableCredential", "StatusCredential"],
        "issuer": issuer,
        "validFrom": "2024-09-01T00:00:00Z",
        "credentialSubject": {"id": LEARNER, "revokes": names, "reason": "issued in error"},
    }


def sign(document: dict[str, Any], key: SigningKey = ISSUER_KEY, controller: str = DID) -> dict[str, Any]:
    """Sign as an issuer does: eddsa-jcs-2022 with `<issuer DID>#<key>`."""
    return create_proof(document, key, f"{controller}#{key.verify_key.multibase}", "2024-07-01T09:00:00Z")


@dataclass
class Organisation:
    """An organisation's stream, built as ledger/streams.py builds it."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def append(
        self, kind: str, data: dict[str, Any], recorded_at: str = "2020-01-01T00:00:00.000000Z"
    ) -> None:
        """Chain one more entry."""
        self.entries.append(
            {
                "v": 1,
                "organisation": ORGANISATION,
                "seq": len(self.entries) + 1,
                "prev": entry_hash(self.entries[-1]) if self.entries else GENESIS,
                "kind": kind,
                "data": data,
                "recorded_at": recorded_at,
            }
        )


def organisation(
    kind: str = "university",
    kinds: Sequence[str] | None = ("enrolment", "award", "admission"),
    scopes: Sequence[str] = ("FHEQ",),
    key_valid_from: str = "2020-01-01T00:00:00.000000Z",
) -> Organisation:
    """A registered organisation with ISSUER_KEY, accredited for `kinds` in `scopes` (None: never)."""
    stream = Organisation()
    stream.append(
        "organisation-registered",
        {"slug": "caerleon", "name": "University of Caerleon", "kind": kind, "did": DID},
    )
    stream.append("key-added", {"key": ISSUER_KEY.verify_key.multibase, "validFrom": key_valid_from})
    if kinds is not None:
        accreditation = {
            "kinds": list(kinds),
            "scopes": list(scopes),
            "validFrom": "2020-01-01T00:00:00.000000Z",
        }
        stream.append("accreditation-granted", {**accreditation, "validUntil": None})
    return stream


def learner_entry(credential: dict[str, Any], kind: str = "award", salt: bytes = SALT) -> dict[str, Any]:
    """The learner-stream entry the ledger records for a credential (ledger/posting.py)."""
    method = credential["proof"]["verificationMethod"]
    return {
        "v": 1,
        "learner": LEARNER,
        "seq": 1,
        "prev": GENESIS,
        "kind": kind,
        "credential": credential["id"],
        "issuer": credential["issuer"],
        "key": VerifyKey.from_multibase(method.partition("#")[2]).verification_method,
        "commitment": commitment(salt, canonical_json(credential)),
        "recorded_at": "2024-07-01T09:00:05.000000Z",
    }


@dataclass
class World:
    """Everything one bundle is made of, and the log it came from."""

    bundle: dict[str, Any]
    leaves: list[bytes]
    checkpoint: Checkpoint
    signer: tuple[str, bytes]
    registry_head: dict[str, Any]
    """The issuer's last registry entry in the log: the head the status statement names."""

    def status(self, credential: str = AWARD_ID, **changes: Any) -> str:
        """A status note signed by the log key, for this checkpoint and registry head unless changed."""
        fields: dict[str, Any] = {
            "state": "valid",
            "checkpoint_size": self.checkpoint.size,
            "by": None,
            "issuer": self.registry_head["organisation"],
            "issuer_seq": self.registry_head["seq"],
            "issuer_head": entry_hash(self.registry_head),
            "signer_name": self.signer[0],
            "seed": self.signer[1],
        } | changes
        state, size, by = fields.pop("state"), fields.pop("checkpoint_size"), fields.pop("by")
        return sign_status(ORIGIN, credential, state, size, by, **fields)

    def older_checkpoint(self, size: int) -> Checkpoint:
        """The checkpoint the log had at `size` leaves."""
        return Checkpoint(ORIGIN, size, root_from_leaves(self.leaves[:size]))

    def consistency_from(self, size: int) -> list[bytes]:
        """The RFC 9162 consistency proof from `size` to this checkpoint."""
        return consistency_proof(size, len(self.leaves), ListHashSource(self.leaves))


def build(
    credential: dict[str, Any] | None = None,
    stream: Organisation | None = None,
    later: Sequence[tuple[str, dict[str, Any]]] = (),
    entry_kind: str = "award",
    state: tuple[str, str | None] = ("valid", None),
    consistency_sizes: Sequence[int] = (),
) -> World:
    """A bundle for `credential` (a signed award by default) issued by `stream`'s organisation.

    `later` are organisation entries logged after the learner's entry (a later compromise).
    """
    credential = credential if credential is not None else sign(award())
    stream = copy.deepcopy(stream) if stream is not None else organisation()
    entry = learner_entry(credential, entry_kind)
    filler = [
        {"v": 1, "learner": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000", "seq": 1} for n in range(5)
    ]
    before = len(stream.entries)
    for kind, data in later:
        stream.append(kind, data, "2024-12-01T00:00:00.000000Z")
    logged = [*stream.entries[:before], *filler[:3], entry, *filler[3:], *stream.entries[before:]]
    leaves = [leaf_hash(canonical_json(item)) for item in logged]
    source = ListHashSource(leaves)
    checkpoint = Checkpoint(ORIGIN, len(leaves), root_from_leaves(leaves))
    name, seed = parse_signer_key(SIGNER_KEY)
    note = sign_checkpoint(checkpoint, name, seed)

    def proof_of(item: dict[str, Any]) -> TlogProof:
        index = next(position for position, other in enumerate(logged) if other is item)
        return TlogProof(index, tuple(inclusion_proof(index, len(leaves), source)), note)

    head = stream.entries[-1]
    status = sign_status(
        ORIGIN,
        credential["id"],
        state[0],
        len(leaves),
        state[1],
        issuer=head["organisation"],
        issuer_seq=head["seq"],
        issuer_head=entry_hash(head),
        signer_name=name,
        seed=seed,
    )
    bundle = assemble_bundle(
        credential,
        SALT,
        entry,
        proof_of(entry),
        registry=[(item, proof_of(item)) for item in stream.entries],
        status=status,
        consistency={size: consistency_proof(size, len(leaves), source) for size in consistency_sizes},
    )
    return World(bundle, leaves, checkpoint, (name, seed), head)
