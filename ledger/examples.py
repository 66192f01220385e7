"""Example credentials of every kind, and signing as an issuer would: for the demo, CLI and tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ledger.credentials import LEDGER_CONTEXT, OB3_CONTEXT, VC_CONTEXT
from verification.data_integrity import create_proof
from verification.keys import SigningKey


def new_credential_id() -> str:
    """A fresh credential id: the issuer's idempotency key."""
    return f"urn:uuid:{uuid.uuid4()}"


def _base(
    types: list[str], issuer: str, learner: str, valid_from: str, subject: dict[str, Any]
) -> dict[str, Any]:
    context = [VC_CONTEXT, OB3_CONTEXT] if "AchievementCredential" in types else [VC_CONTEXT, LEDGER_CONTEXT]
    return {
        "@context": context,
        "id": new_credential_id(),
        "type": ["VerifiableCredential", *types],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {"id": learner, **subject},
    }


def _qualification(title: str, framework: str, level: str) -> list[dict[str, Any]]:
    return [
        {
            "type": ["Alignment"],
            "targetName": title,
            "targetFramework": framework,
            "targetCode": level,
        }
    ]


def enrolment(issuer: str, learner: str, valid_from: str = "2021-09-01T00:00:00Z") -> dict[str, Any]:
    """An unsigned EnrolmentCredential."""
    subject = {
        "programme": "BSc (Hons) Computer Science",
        "provider": "University of Caerleon",
        "startDate": "2021-09-20",
        "expectedEndDate": "2024-06-30",
    }
    return _base(["EnrolmentCredential"], issuer, learner, valid_from, subject)


def assessment(
    issuer: str,
    learner: str,
    valid_from: str = "2021-08-12T08:00:00Z",
    result: str = "A*",
    title: str = "A level Mathematics",
) -> dict[str, Any]:
    """An unsigned AssessmentResultCredential aligned to an RQF level 3 qualification."""
    subject = {
        "assessment": title,
        "component": "Paper 1: Pure Mathematics",
        "result": result,
        "assessmentDate": "2021-06-10",
        "alignment": _qualification(title, "RQF", "3"),
    }
    return _base(["AssessmentResultCredential"], issuer, learner, valid_from, subject)


def award(issuer: str, learner: str, valid_from: str = "2024-07-01T09:00:00Z") -> dict[str, Any]:
    """An unsigned Open Badges 3.0 AchievementCredential for an FHEQ level 6 degree."""
    subject = {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "urn:uuid:0b5f5a1e-6c1d-4c1e-9a0e-3f8e2b6d7c41",
            "type": ["Achievement"],
            "name": "BSc (Hons) Computer Science",
            "achievementType": "BachelorDegree",
            "criteria": {"narrative": "Completion of a three-year honours programme."},
            "creditsAvailable": 360,
            "alignment": _qualification("Bachelor's degree with honours", "FHEQ", "6"),
        },
        "result": [{"type": ["Result"], "value": "First"}],
    }
    document = _base(["AchievementCredential"], issuer, learner, valid_from, subject)
    document["name"] = "BSc (Hons) Computer Science"
    document["awardedDate"] = valid_from
    return document


def admission(issuer: str, learner: str, valid_from: str = "2021-03-01T00:00:00Z") -> dict[str, Any]:
    """An unsigned AdmissionCredential (a conditional offer)."""
    subject = {
        "institution": "University of Caerleon",
        "programme": "BSc (Hons) Computer Science",
        "decision": "conditional-offer",
        "decisionDate": "2021-03-01",
    }
    return _base(["AdmissionCredential"], issuer, learner, valid_from, subject)


def employment(issuer: str, learner: str, valid_from: str = "2024-09-02T00:00:00Z") -> dict[str, Any]:
    """An unsigned EmploymentCredential."""
    subject = {
        "employer": "Severn Software Ltd",
        "role": "Graduate Software Engineer",
        "startDate": "2024-09-02",
        "qualificationsChecked": True,
    }
    return _base(["EmploymentCredential"], issuer, learner, valid_from, subject)


def status(
    issuer: str,
    learner: str,
    *,
    action: str,
    names: str,
    reason: str,
    replaced_by: str | None = None,
    valid_from: str | None = None,
) -> dict[str, Any]:
    """An unsigned StatusCredential that supersedes or revokes an earlier credential."""
    subject: dict[str, Any] = {action: names, "reason": reason}
    if replaced_by:
        subject["replacedBy"] = replaced_by
    when = valid_from or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _base(["StatusCredential"], issuer, learner, when, subject)


EXAMPLES = {
    "enrolment": enrolment,
    "assessment": assessment,
    "award": award,
    "admission": admission,
    "recruitment": employment,
}


def sign(document: dict[str, Any], key: SigningKey, created: str | None = None) -> dict[str, Any]:
    """Sign a credential as its issuer does: eddsa-jcs-2022 with `<issuer DID>#<key>`."""
    issuer = document["issuer"] if isinstance(document["issuer"], str) else document["issuer"]["id"]
    method = f"{issuer}#{key.verify_key.multibase}"
    when = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return create_proof(document, key, method, when)
