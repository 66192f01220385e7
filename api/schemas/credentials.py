"""Request and response models of the credentials area: receipts, batches, records and reports.

Credentials themselves are arbitrary JSON-LD, so requests are read raw (`api.limits.json_body`)
and only described here, as OpenAPI request bodies; the responses are models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.problems import Problem

CREDENTIAL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "a W3C VC 2.0 with an eddsa-jcs-2022 DataIntegrityProof, "
                    "issued by the organisation the token acts for",
                }
            }
        },
    }
}
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["credentials"],
                    "additionalProperties": False,
                    "properties": {
                        "credentials": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "signed credentials, at most the ledger's max_batch",
                        }
                    },
                }
            }
        },
    }
}
VERIFY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": 'a proof bundle (`"type": "LearnerLedgerBundle"`) or a bare signed '
                    "credential (`type` includes `VerifiableCredential`)",
                }
            }
        },
    }
}


class EntryReceipt(BaseModel):
    """What the ledger answers for an accepted credential: its entry and the signed receipt."""

    entry: dict[str, Any] = Field(description="the learner-stream entry (DESIGN §3)")
    entry_hash: str = Field(description="hex SHA-256 of the entry's canonical (JCS) bytes")
    receipt: str | None = Field(
        description="the ledger's signed receipt, a C2SP signed note under the log key: a promise to "
        "integrate the entry into the log"
    )
    position: int = Field(
        description="the event store position of the write; pass it as `?after=` to read your own "
        "write (0 when nothing new was written)"
    )
    duplicate: bool = Field(description="true when the same credential was already recorded")


class BatchRecorded(BaseModel):
    """One batch item the ledger accepted: 201 recorded now, 200 already recorded."""

    status: Literal[200, 201]
    receipt: EntryReceipt


class BatchRefused(BaseModel):
    """One batch item the ledger refused, and why; nothing of it was stored."""

    status: int
    problem: Problem


class BatchResults(BaseModel):
    """A result per posted credential, in the order they were sent."""

    results: list[BatchRecorded | BatchRefused]


class IndexEntry(BaseModel):
    """Where a credential is recorded and what became of it (the credential index)."""

    credential: str
    learner: str
    seq: int
    issuer: str
    kind: str
    status: str = Field(description="valid, superseded, revoked (or erased)")
    changed_by: str | None = Field(description="the StatusCredential that superseded or revoked it")
    leaf_index: int | None = Field(description="its leaf in the transparency log, once integrated")


class CredentialRecord(BaseModel):
    """A recorded credential: its index entry and the signed credential itself."""

    index: IndexEntry
    credential: dict[str, Any]


class CheckOutcome(BaseModel):
    """One named step of a verification."""

    name: str
    outcome: Literal["pass", "fail", "not-checked"]
    sentence: str


class CheckpointSummary(BaseModel):
    """The checkpoint a verification relied on."""

    origin: str
    size: int
    root: str = Field(description="base64 of the tree's root hash")


class VerificationReport(BaseModel):
    """A verification report: a verdict in plain words and one line per check."""

    ok: bool = Field(description="true only when no check failed and every required check passed")
    verdict: str
    checks: list[CheckOutcome]
    notes: list[str]
    checkpoint: CheckpointSummary | None
    bundle: dict[str, Any] | None = Field(
        default=None,
        description="for a bare credential the ledger holds: the proof bundle the report checked",
    )
