"""How the audit's memory and time grow with the ledger: builds SQLite ledgers of the given sizes,
then runs `ledger audit` on each in its own process and reports that process's peak resident memory
and its worker processes' (summed).

    .venv/bin/python bench/audit_memory.py 10000 100000                # learners grow with entries
    LEARNERS=500 .venv/bin/python bench/audit_memory.py 10000 100000   # a fixed number of learners

No baseline applies (there is nothing else that audits this ledger); the figure that matters is
that peak memory stays flat while the ledger grows tenfold. Issue 9 folds this into the harness.

The peak is the audit process's own VmHWM, read from /proc at its exit. `ru_maxrss` from `wait4`
is not used: Linux carries a parent's high-water mark into a child it forks (or vforks) and execs,
so it reported the builder's memory (which grows with long streams) as the audit's.
"""

from __future__ import annotations

import base64
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import examples  # noqa: E402
from ledger.bootstrap import init, open_ledger  # noqa: E402
from ledger.posting import post_batch  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from tests.conftest import register_issuer  # noqa: E402

LEARNERS_PER_1000 = 50


def valid_ulns(count: int) -> list[str]:
    """`count` distinct valid ULNs."""
    found: list[str] = []
    number = 1_000_000_000
    while len(found) < count:
        text = str(number)
        if sum(int(d) * w for d, w in zip(text, range(10, 0, -1), strict=True)) % 11 == 10:
            found.append(text)
        number += 1
    return found


def learner_count(entries: int) -> int:
    """How many learners a ledger of `entries` has: LEARNERS if set, else 50 per 1,000 entries."""
    fixed = os.environ.get("LEARNERS")
    return int(fixed) if fixed else max(1, entries * LEARNERS_PER_1000 // 1000)


def build(folder: Path, entries: int) -> Settings:
    """A ledger of about `entries` credential entries, integrated and checkpointed."""
    master = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(data_dir=folder, master_key=master)  # type: ignore[arg-type]
    init(settings)
    ledger = open_ledger(settings)
    ledger.after_commit.clear()
    issuer = register_issuer(ledger, "caerleon", "university", ["enrolment"])
    learners = [
        ledger.register_learner(uln, "Learner", "2004-01-01") for uln in valid_ulns(learner_count(entries))
    ]
    for start in range(0, entries, 1000):
        batch = [
            examples.sign(examples.enrolment(issuer.did, learners[(start + i) % len(learners)]), issuer.key)
            for i in range(min(1000, entries - start))
        ]
        post_batch(ledger, batch)
    ledger.tlog.integrate_all()
    ledger.tlog.sign_checkpoint()
    ledger.close()
    return settings


AUDIT_AND_REPORT_PEAK = """
import atexit, os, sys
def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_FILE"], "w") as out:
        out.write(peak)
atexit.register(report)
sys.argv = ["ledger", "audit"]
from ledger.cli import main
main()
"""
"""Run `ledger audit` and write this process's peak resident memory (KiB) to PEAK_FILE at exit."""


WORKER_MODULE = b"ledger.audit_pool"


def run_audit(command: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Run an audit command: (seconds, exit status, the sum of its worker processes' peak resident
    memory in KiB), the workers' peaks polled from /proc while it runs (a worker's VmHWM is its own
    from its exec on; a child not yet running the worker module is skipped).
    """
    peaks: dict[int, int] = {}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None:
        for pid in _children(process.pid):
            peak = _worker_peak(pid)
            if peak is not None:
                peaks[pid] = max(peaks.get(pid, 0), peak)
        time.sleep(0.05)
    return time.perf_counter() - started, process.returncode, sum(peaks.values())


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry))
    return found


def _worker_peak(pid: int) -> int | None:
    """An audit worker's peak resident memory so far (KiB); None for another process or a gone one."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if WORKER_MODULE not in cmdline.read():
                return None
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        return None


def audit_in_process(settings: Settings) -> tuple[float, int, int, int]:
    """Run `ledger audit` in its own process: (seconds, its own peak RSS in KiB, its workers' summed
    peak RSS in KiB, exit status)."""
    peak_file = Path(settings.data_dir) / "audit-peak"
    env = {**os.environ, "LEDGER_DATA_DIR": str(settings.data_dir), "PEAK_FILE": str(peak_file)}
    env["LEDGER_MASTER_KEY"] = settings.master_key.get_secret_value() if settings.master_key else ""
    env["PYTHONPATH"] = str(ROOT)
    seconds, status, workers = run_audit([sys.executable, "-c", AUDIT_AND_REPORT_PEAK], env)
    return seconds, int(peak_file.read_text()), workers, status


def own_peak() -> int:
    """This (building) process's peak resident memory so far, in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))


def main(sizes: list[int]) -> None:
    """Build and audit a ledger of each size; print a table."""
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    print(
        f"{'entries':>9} {'leaves':>9} {'audit s':>8} {'leaves/s':>10} {'peak RSS MiB':>13}"
        f" {'workers MiB':>12} {'exit':>5} {'builder MiB':>12}"
    )
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            settings = build(Path(folder), size)
            seconds, peak, workers, status = audit_in_process(settings)
            leaves = size + learner_count(size) + 3
            rate = leaves / seconds
            print(
                f"{size:>9} {leaves:>9} {seconds:>8.1f} {rate:>10.0f} {peak / 1024:>13.1f}"
                f" {workers / 1024:>12.1f} {status:>5} {own_peak() / 1024:>12.1f}"
            )


if __name__ == "__main__":
    main([int(argument) for argument in sys.argv[1:]] or [10_000, 100_000])
