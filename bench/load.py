"""HTTP load for the served benchmarks: wrk (C, from Debian's packages) when it is installed, else
a pool of Python clients. Both keep `concurrency` requests in flight, send the bodies in turn, and
count every answer that is not 200 (and, for bodies, not `"ok":true`) as bad.

A Python client costs about as much CPU per request as the server's cheapest route, and shares the
machine's cores with it, so it caps what it can measure (~1,000 requests/s on two cores); wrk does
not, which is why the recorded figures use it.

wrk's load is split into up to four runs of equal length, each with new connections. Its
connections stay open, and the kernel hands them to a server's workers unevenly: now and then all
eight go to one of two workers, which halves the rate. One long run is a draw; the figure is the
requests of all runs over their time, p50 the runs' median p50, p99 the highest run's p99. A
first run of one second, not counted, warms the server (its first requests fill its caches).
"""

from __future__ import annotations

import itertools
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import percentile

_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local n = 0
bad = 0  -- a global: done() runs in another Lua state and reads it through thread:get
wrk.method = os.getenv("BENCH_METHOD")
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, os.getenv("BENCH_PATH"), nil, bodies[n] ~= "" and bodies[n] or nil)
end
response = function(status, headers, body)
  local checked = #bodies[1] > 0
  if status ~= 200 or (checked and not string.find(body, '"ok":true', 1, true)) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  io.write(string.format("bench requests %d us %d bad %d p50 %d p99 %d\\n",
    summary.requests, summary.duration, failed, latency:percentile(50), latency:percentile(99)))
end
"""
_DONE = re.compile(r"bench requests (\d+) us (\d+) bad (\d+) p50 (\d+) p99 (\d+)")


@dataclass(frozen=True)
class Load:
    """What one load run measured: requests per second, latency percentiles in ms, the client used."""

    rate: float
    p50: float
    p99: float
    client: str


def run_load(url: str, method: str, path: str, bodies: list[bytes], seconds: float, concurrency: int) -> Load:
    """Keep `concurrency` requests in flight for `seconds`; AssertionError if any answer was bad."""
    if shutil.which("wrk"):
        return _wrk(url, method, path, bodies, seconds, concurrency)
    return _python(url, method, path, bodies, seconds, concurrency)


def _wrk(url: str, method: str, path: str, bodies: list[bytes], seconds: float, concurrency: int) -> Load:
    runs = min(4, max(1, int(seconds)))
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "load.lua"
        script.write_text(_LUA)
        lines = Path(folder) / "bodies.jsonl"
        lines.write_bytes(b"".join(body.replace(b"\n", b" ") + b"\n" for body in bodies))
        env = {"BENCH_BODIES": str(lines), "BENCH_METHOD": method, "BENCH_PATH": path}
        each = max(1, round(seconds / runs))
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{each}s", "-s", str(script), url]
        _wrk_run([*command[:2], "-d1s", *command[3:]], env, 1)  # warm-up, not counted
        results = [_wrk_run(command, env, each) for _ in range(runs)]
    requests = sum(result[0] for result in results)
    microseconds = sum(result[1] for result in results)
    p50 = statistics.median(result[2] for result in results)
    p99 = max(result[3] for result in results)
    client = f"wrk -t1, {runs} run(s) of {each} s"
    return Load(requests / (microseconds / 1e6), p50 / 1000, p99 / 1000, client)


def _wrk_run(command: list[str], env: dict[str, str], seconds: int) -> tuple[int, int, int, int]:
    """One wrk run: its requests, microseconds, p50 and p99 (us); every answer must have been good."""
    answer = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    found = _DONE.search(answer.stdout)
    assert found is not None, answer.stdout + answer.stderr
    requests, microseconds, bad, p50, p99 = (int(group) for group in found.groups())
    assert bad == 0, f"{bad} of {requests} answers were not 200 ok:\n{answer.stdout}"
    return requests, microseconds, p50, p99


def _python(url: str, method: str, path: str, bodies: list[bytes], seconds: float, concurrency: int) -> Load:
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            headers = {"Content-Type": "application/json"}
            for body in itertools.islice(itertools.cycle(bodies), offset, None):
                started = time.perf_counter()
                if started > deadline:
                    return
                answer = http.request(method, path, content=body or None, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200 or (body and not answer.json().get("ok")):
                    failures.append(answer.text[:300])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert not failures, failures[:2]
    return Load(
        len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), "Python httpx"
    )
