"""The audit's source over the ledger's HTTP API, for an auditor without database access: it reads
with an auditor token what the server's own DatabaseSource reads (api/routes/audit.py), so the same
checks (ledger/audit.py) reach the same verdict as a local audit.

The log's key is pinned by the auditor (`log_key`) or, failing that, taken from `/v1/log/key`; the
origin is the newest checkpoint's first line. A route the server refuses raises RemoteRefusal.
"""

from __future__ import annotations

import base64

import httpx

from ledger.audit_report import Tally
from ledger.audit_source import Integration, Record, Recorded, Row
from ledger.audit_wire import (
    add_findings,
    decode_integration,
    decode_record,
    decode_recorded,
    decode_row,
)
from ledger.client import LedgerClient
from ledger.streams import Entry
from verification.errors import MerkleError
from verification.note import parse_verifier_key


class HttpSource:
    """An audit's reads through the API with an auditor token, one page or one entry at a time."""

    def __init__(
        self, base_url: str, token: str, *, log_key: str | None = None, http: httpx.Client | None = None
    ) -> None:
        self.client = LedgerClient(base_url, token, http=http, attempts=3)
        key = log_key or self._text("/v1/log/key").strip()
        self.verifier = parse_verifier_key(key)
        self.origin = self._text("/v1/log/checkpoint").split("\n", 1)[0]
        most = self.client.get("/v1/audit/state").get("max_page")
        self.max_page: int | None = int(most) if isinstance(most, int) else None
        """The server's page limit: an audit's pages are no larger (a larger ask is refused)."""

    def integration(self, tally: Tally) -> Integration:
        """How far the log had integrated, as the server read it."""
        answer = self.client.get("/v1/audit/state")
        add_findings(tally, answer["findings"])
        return decode_integration(answer)

    def head(self) -> int:
        """The newest notification id of the ledger's event store."""
        return int(self.client.get("/v1/audit/state")["head"])

    def records(
        self, start: int, stop: int, *, page: int, registry_only: bool, tally: Tally
    ) -> tuple[list[Record], int]:
        """A page of entry-carrying events, decoded, opened and anchored by the server."""
        params = {"start": start, "stop": stop, "limit": page, "registry_only": registry_only}
        answer = self.client.get("/v1/audit/records", params=params)
        add_findings(tally, answer["findings"])
        return [decode_record(record) for record in answer["records"]], int(answer["next"])

    def entry_before(self, stream: str, version: int) -> tuple[int | None, Entry | None]:
        """The stream's last stored event before `version`: its version and entry."""
        answer = self.client.get("/v1/audit/entry-before", params={"stream": stream, "seq": version})
        return answer["version"], answer["entry"]

    def entries_before(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], Entry | None]:
        """The entry at version - 1 of each (stream, version), asked for one by one."""
        found: dict[tuple[str, int], Entry | None] = {}
        for stream, version in wanted:
            at, entry = self.entry_before(stream, version)
            if at == version - 1:
                found[stream, version] = entry
        return found

    def recorded(self, credential: str) -> Recorded | None:
        """Where a credential is recorded, by its index claim."""
        answer = self.client.get("/v1/audit/recorded", params={"credential": credential})
        return decode_recorded(answer["recorded"])

    def leaf_rows(self, start: int, stop: int, limit: int) -> list[Row]:
        """Up to `limit` stored leaf rows with index in [start, stop)."""
        answer = self.client.get("/v1/audit/leaves", params={"start": start, "stop": stop, "limit": limit})
        return [decode_row(row) for row in answer["leaves"]]

    def checkpoint_rows(self, low: int, high: int, limit: int, *, newest_first: bool = False) -> list[Row]:
        """Up to `limit` stored checkpoints with size in [low, high]."""
        params = {"from": low, "to": high, "limit": limit, "newest_first": newest_first}
        answer = self.client.get("/v1/log/checkpoints", params=params)
        return [decode_row(row) for row in answer["checkpoints"]]

    def last_notification_before(self, index: int) -> int:
        """The notification id of the last leaf before `index` (0 when there is none)."""
        return int(self.client.get("/v1/audit/leaves/before", params={"index": index})["notification_id"])

    def subtree_root(self, start: int, end: int) -> bytes:
        """The stored tree's root over leaves [start, end)."""
        answer = self.client.get("/v1/audit/tree/root", params={"start": start, "end": end})
        if answer.get("problem"):
            raise LookupError(answer["problem"])
        return base64.b64decode(answer["root"])

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """A consistency proof from the stored tiles, made by the server (and verified here)."""
        answer = self.client.get("/v1/audit/tree/consistency", params={"from": old_size, "to": new_size})
        if answer.get("problem"):
            raise MerkleError(answer["problem"])
        return [base64.b64decode(digest) for digest in answer["hashes"]]

    def _text(self, path: str) -> str:
        return str(self.client.get(path, text=True))

    def close(self) -> None:
        """Let go of the connection."""
        self.client.http.close()
