"""The JSON form of what an audit reads, as the API serves it to external auditors
(api/routes/audit.py) and the HTTP source reads it back (ledger/audit_http.py): records, stored
rows and the findings a source made while reading. Bytes travel as base64.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from ledger.audit_report import Finding, Tally
from ledger.audit_source import Anchor, Integration, Opening, Record, Recorded, Row
from verification.merkle import Frontier


def encode_row(row: Row) -> Row:
    """A stored row as JSON: bytes as {"b64": …}, everything else as stored."""
    return {
        name: {"b64": _b64(bytes(value))} if isinstance(value, bytes | memoryview | bytearray) else value
        for name, value in row.items()
    }


def decode_row(row: Row) -> Row:
    """A stored row from its JSON form (encode_row's inverse)."""
    return {
        name: base64.b64decode(value["b64"]) if isinstance(value, dict) and "b64" in value else value
        for name, value in row.items()
    }


def encode_record(record: Record) -> dict[str, Any]:
    """A record as JSON (without the entry's hashes: the reader makes its own)."""
    found = asdict(record)
    del found["hashes"]
    if found["opening"] is not None:
        del found["opening"]["deferred"]
    if record.opening is not None and record.opening.salt is not None:
        found["opening"]["salt"] = _b64(record.opening.salt)
    return found


def decode_record(data: dict[str, Any]) -> Record:
    """A record from its JSON form."""
    opening, anchor = data.get("opening"), data.get("anchor")
    if opening is not None:
        salt = opening.get("salt")
        opening = Opening(**{**opening, "salt": None if salt is None else base64.b64decode(salt)})
    return Record(**{**data, "opening": opening, "anchor": None if anchor is None else Anchor(**anchor)})


def encode_integration(integration: Integration) -> dict[str, Any]:
    """How far the log had integrated, as JSON."""
    frontier = integration.frontier
    return {
        "position": integration.position,
        "size": integration.size,
        "frontier": None if frontier is None else _b64(frontier.to_bytes()),
    }


def decode_integration(data: dict[str, Any]) -> Integration:
    """How far the log had integrated, from its JSON form."""
    frontier = data.get("frontier")
    return Integration(
        int(data["position"]),
        int(data["size"]),
        None if frontier is None else Frontier.from_bytes(base64.b64decode(frontier)),
    )


def encode_recorded(recorded: Recorded | None) -> dict[str, Any] | None:
    """Where a credential is recorded, as JSON."""
    return None if recorded is None else asdict(recorded)


def decode_recorded(data: dict[str, Any] | None) -> Recorded | None:
    """Where a credential is recorded, from its JSON form."""
    return None if data is None else Recorded(**data)


def encode_findings(tally: Tally) -> list[dict[str, Any]]:
    """The findings a source made while reading, as JSON."""
    return [asdict(finding) for finding in tally.findings]


def add_findings(tally: Tally, findings: list[dict[str, Any]]) -> None:
    """Findings a source made on the server's side, into this audit's tally."""
    for finding in findings:
        tally.findings.append(Finding(**finding))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
