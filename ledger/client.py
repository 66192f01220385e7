"""The issuer client: what an exam body's own system uses to talk to a remote ledger.

It posts signed credentials in batches, retrying what was not acknowledged (posting is
idempotent: the credential id is the key, so a retry never records twice), checks every receipt's
ledger signature against the pinned log key, and fetches proof bundles.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from ledger.errors import LedgerError
from verification.entries import entry_hash
from verification.errors import VerificationError
from verification.note import parse_verifier_key
from verification.statements import open_receipt

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class RemoteRefusal(LedgerError):
    """The ledger refused a request; `problem` holds its RFC 9457 body."""

    slug = "remote-refusal"

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"[{status}] {problem.get('detail', problem)}")
        self.status = status
        self.problem = problem


class BadReceipt(LedgerError):
    """A receipt is not signed by the pinned log key, or does not match its entry."""

    slug = "bad-receipt"


class LedgerClient:
    """A client of the ledger's HTTP API for one token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        log_key: str | None = None,
        http: httpx.Client | None = None,
        attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.log_key = log_key
        self.attempts = attempts
        self.backoff = backoff

    def post_batch(
        self,
        credentials: Sequence[dict[str, Any]],
        *,
        batch_size: int = 1000,
        progress: Callable[[int], None] = lambda _: None,
    ) -> list[dict[str, Any]]:
        """Post credentials in batches; one result per credential, in order, receipts checked."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(credentials), batch_size):
            chunk = list(credentials[start : start + batch_size])
            answer = self._request("POST", "/v1/credentials/batch", json={"credentials": chunk})
            for item in answer["results"]:
                if "receipt" in item:
                    self.check_receipt(item["receipt"])
                results.append(item)
            progress(len(chunk))
        return results

    def post(self, credential: dict[str, Any]) -> dict[str, Any]:
        """Post one credential; its checked receipt."""
        receipt: dict[str, Any] = self._request("POST", "/v1/credentials", json=credential)
        self.check_receipt(receipt)
        return receipt

    def bundle(self, credential_id: str, since: int | None = None) -> dict[str, Any]:
        """The proof bundle of a credential."""
        params = {} if since is None else {"since": since}
        bundle: dict[str, Any] = self._request(
            "GET", f"/v1/credentials/{credential_id}/bundle", params=params
        )
        return bundle

    def check_receipt(self, receipt: dict[str, Any]) -> None:
        """Refuse a receipt that the pinned log key did not sign or that names another entry."""
        if self.log_key is None:
            return
        verifier = parse_verifier_key(self.log_key)
        try:
            signed = open_receipt(receipt["receipt"], verifier, verifier.name)
        except (VerificationError, KeyError, TypeError) as error:
            raise BadReceipt(f"the receipt is not signed by the pinned log key: {error}") from error
        entry = receipt.get("entry", {})
        if signed.entry_hash != entry_hash(entry) or signed.entry_hash != receipt.get("entry_hash"):
            raise BadReceipt("the signed receipt names another entry than the one returned")

    def get(self, path: str, *, params: dict[str, Any] | None = None, text: bool = False) -> Any:
        """A GET answered with JSON (or text), retried as every request is."""
        return self._request("GET", path, params=params, text=text)

    def _request(self, method: str, path: str, *, text: bool = False, **kwargs: Any) -> Any:
        """One request, retried on connection failures, 408/429/5xx and stream conflicts, pausing longer."""
        for attempt in range(self.attempts):
            try:
                response = self.http.request(method, path, headers=self.headers, **kwargs)
            except httpx.TransportError:
                if attempt == self.attempts - 1:
                    raise
            else:
                if response.status_code < 400:
                    return response.text if text else response.json()
                if not _retryable(response) or attempt == self.attempts - 1:
                    raise RemoteRefusal(response.status_code, _problem(response))
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


def _retryable(response: httpx.Response) -> bool:
    """Worth sending again: a transient status, or a 409 saying concurrent writers collided."""
    if response.status_code in RETRYABLE:
        return True
    # a stream conflict recorded nothing, and posting is idempotent: the same request may succeed
    return response.status_code == 409 and str(_problem(response).get("type", "")).endswith(
        "/stream-conflict"
    )


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:500]}
    return body if isinstance(body, dict) else {"detail": str(body)}
