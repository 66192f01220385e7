"""Chunked work on a worker thread comes back complete and in order, whatever the chunking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ledger.worker_tasks import CHUNK, Chunked


def _squares(items: list[int]) -> list[int]:
    return [item * item for item in items]


def test_results_come_back_in_order_across_chunks() -> None:
    with ThreadPoolExecutor(max_workers=1) as worker:
        for count in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 3):
            chunked: Chunked[int, int] = Chunked(worker, _squares)
            for item in range(count):
                chunked.add(item)
            assert list(chunked.results()) == [item * item for item in range(count)]
            assert len(chunked.tasks) == -(-count // CHUNK)
