"""The latest result of each benchmark and backend at a scale, as Markdown tables for
docs/benchmarks.md: `python -m bench.markdown [full|quick]`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.common import RESULTS, number


def latest(scale: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The last record of each (benchmark, backend) at `scale` in the results file."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["scale"] == scale:
            found[record["benchmark"], record["backend"]] = record
    return found


def table(record: dict[str, Any]) -> str:
    """One record as a Markdown table under a heading naming its sizes and load."""
    sizes = ", ".join(
        f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
        for key, value in record["sizes"].items()
    )
    load = record["machine"]["load"][0]
    lines = [
        f"**{record['benchmark']} on {record['backend']}** ({sizes}; load {load:.2f} at {record['at']})",
        "",
        "| figure | value | baseline (same run) | ratio | target |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for figure in record["figures"]:
        baseline = (
            f"{figure['baseline']}: {number(figure['baseline_value'])}"
            if figure["baseline_value"] is not None
            else ""
        )
        ratio = f"{figure['ratio']:.2f}x" if figure["ratio"] is not None else ""
        value = f"{number(figure['value'])} {figure['unit']}"
        lines.append(f"| {figure['name']} | {value} | {baseline} | {ratio} | {figure['target']} |")
    return "\n".join(lines)


def main(scale: str) -> None:
    """Print every latest record at `scale`, benchmark by benchmark."""
    order = ["ingest", "verify", "proofs", "audit", "rebuild"]
    records = sorted(
        latest(scale).values(), key=lambda r: (order.index(r["benchmark"]), r["backend"] != "sqlite")
    )
    print("\n\n".join(table(record) for record in records))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "full")
