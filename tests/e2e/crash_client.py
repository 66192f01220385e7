"""An issuer's client process for the crash tests: posts a file of signed credentials in batches
through `LedgerClient`, retrying whatever the server did not acknowledge, and appends every
acknowledged result to a file (one JSON line per credential, flushed before the next batch), so
what was acknowledged survives this process being killed too.

Run as `python -m tests.e2e.crash_client URL TOKEN LOG_KEY CREDENTIALS.jsonl ACKS.jsonl BATCH`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx

from ledger.client import LedgerClient, RemoteRefusal

GIVE_UP_SECONDS = 120


def main(url: str, token: str, log_key: str, source: Path, acks: Path, batch: int) -> int:
    """Post every credential of `source`; 0 when every one was acknowledged as recorded."""
    documents = [json.loads(line) for line in source.read_text().splitlines() if line]
    client = LedgerClient(url, token, log_key=log_key, attempts=6, backoff=0.05)
    client.http.timeout = httpx.Timeout(30)
    refused = 0
    with acks.open("a", encoding="utf-8") as out:
        for start in range(0, len(documents), batch):
            chunk = documents[start : start + batch]
            deadline = time.monotonic() + GIVE_UP_SECONDS
            while True:
                try:
                    results = client.post_batch(chunk)
                    break
                except (httpx.TransportError, RemoteRefusal) as error:
                    # the server is down (killed) or unavailable: not acknowledged, so post again
                    if (
                        isinstance(error, RemoteRefusal)
                        and error.status < 500
                        and error.status not in (409, 429)
                    ):
                        raise  # a refusal, not a fault: retrying cannot help
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            for document, result in zip(chunk, results, strict=True):
                if "receipt" not in result:
                    refused += 1
                    print(json.dumps(result), file=sys.stderr)
                line = {
                    "id": document["id"],
                    "status": result.get("status"),
                    "receipt": result.get("receipt"),
                }
                out.write(json.dumps(line) + "\n")
            out.flush()
            os.fsync(out.fileno())
    return 1 if refused else 0


if __name__ == "__main__":
    url, token, log_key, source, acks, batch = sys.argv[1:7]
    sys.exit(main(url, token, log_key, Path(source), Path(acks), int(batch)))
