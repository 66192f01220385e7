"""Profile one batch workload of post_batch with pyinstrument: `python -m bench.profile [sqlite|postgres]`."""

from __future__ import annotations

import sys

from pyinstrument import Profiler

from bench.common import fresh
from bench.ingest import _workload
from ledger.posting import post_batch


def main(backend: str, learners: int = 200, batches: int = 3) -> None:
    """Post `batches` batches of 1,000 (after a warm-up batch) under the profiler; print the tree."""
    with fresh(backend) as target:
        ledger, work = _workload(target, learners, batches + 1)
        post_batch(ledger, work[0])
        ledger.tlog.integrate_all()
        profiler = Profiler()
        with profiler:
            for batch in work[1:]:
                post_batch(ledger, batch)
                ledger.tlog.integrate_all()
        ledger.close()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
