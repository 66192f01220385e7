"""What an audit found: findings named by stable slugs, what was counted, and what was covered."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

CHECKS = (
    "chain",
    "commitment",
    "issuer-proof",
    "issuer-key",
    "accreditation",
    "log-leaf",
    "log-order",
    "log-missing",
    "log-extra",
    "checkpoint-root",
    "checkpoint-signature",
    "checkpoint-consistency",
    "projection",
    "since-consistency",
    "unreadable",
    "erasure",
)
"""Every `Finding.check` slug; stable, so scripts and tests may match on them."""


@dataclass(frozen=True)
class Finding:
    """One thing the audit found wrong, and where: stream, `seq` and leaf index when known."""

    check: str
    stream: str | None
    seq: int | None
    leaf_index: int | None
    detail: str

    def where(self) -> str:
        """`stream urn:uuid:… seq 3 leaf 17`, or as much of it as is known."""
        parts = []
        if self.stream is not None:
            parts.append(f"stream {self.stream}")
        if self.seq is not None:
            parts.append(f"seq {self.seq}")
        if self.leaf_index is not None:
            parts.append(f"leaf {self.leaf_index}")
        return " ".join(parts) or "ledger"

    def __str__(self) -> str:
        return f"[{self.check}] {self.where()}: {self.detail}"


@dataclass
class AuditReport:
    """Every finding of an audit, how many things of each kind it checked, and what it covered.

    `counted` keys: `entries`, `streams` (learner and organisation streams whose first entry the
    audit read; every stream in a full audit), `learner-streams`, `organisation-streams`,
    `erased-streams` (learner streams whose data key is destroyed), `erased-entries`, `erasures`
    (ErasureCompleted entries), `credentials`
    (recorded credentials, corrections and revocations included), `corrections`, `revocations`,
    `commitments` and `issuer-proofs` (checked), `leaves`, `checkpoints`, `pending` (entries not yet
    in the log), and with projections `projection-rows`.
    """

    findings: list[Finding]
    counted: dict[str, int]
    covered: dict[str, Any] = field(default_factory=dict)
    """The leaf range audited, the log size, a saved checkpoint's size, whether views were compared."""

    @property
    def ok(self) -> bool:
        """True when the audit found nothing wrong."""
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return {
            "ok": self.ok,
            "covered": dict(self.covered),
            "counted": dict(sorted(self.counted.items())),
            "findings": [asdict(finding) for finding in self.findings],
        }


@dataclass(frozen=True)
class Place:
    """Where a finding is: a stream, an entry of it, and the leaf it is (or should be)."""

    stream: str | None = None
    seq: int | None = None
    leaf_index: int | None = None


class Tally:
    """Where the parts of an audit put their findings and counts."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.counted: Counter[str] = Counter()

    def add(
        self,
        check: str,
        detail: str,
        *,
        stream: str | None = None,
        seq: int | None = None,
        leaf_index: int | None = None,
    ) -> None:
        """Record a finding."""
        assert check in CHECKS, check
        self.findings.append(Finding(check, stream, seq, leaf_index, detail))

    def at(self, place: Place, check: str, detail: str) -> None:
        """Record a finding at a place."""
        self.add(check, detail, stream=place.stream, seq=place.seq, leaf_index=place.leaf_index)

    def count(self, what: str, amount: int = 1) -> None:
        """Count something checked."""
        self.counted[what] += amount
