"""Worker processes that open and examine an audit's credentials (ledger/audit_examine.py) while the
audit process reads and checks the next page: sealed contents opened with the learners' data keys
(handed over the worker's private pipe), commitments and issuer proofs, half or more of an audit's
work, spread over the machine's cores.

Each worker is `python -m ledger.audit_pool`, which imports only verification/ and ledger.sealing
(not the program that started the audit, as multiprocessing's spawn would), reads pickled chunks of
tasks on its stdin and writes back their results in order. It ignores Ctrl-C, which the audit process handles
by stopping every worker; a worker that dies makes the audit raise, never report. One chunk per
worker is in flight at a time, so memory does not grow with the ledger.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from queue import SimpleQueue
from typing import IO, Any

from ledger.audit_examine import Task, examine_all

_LENGTH = struct.Struct("!Q")
_ROOT = str(Path(__file__).resolve().parents[1])
_FINISH_SECONDS = 5


class WorkerStopped(RuntimeError):
    """An audit worker process ended before answering."""


class ExaminerPool:
    """`workers` processes, each examining one chunk of tasks at a time in the background."""

    def __init__(self, workers: int) -> None:
        # The ledger's settings (its master key among them) are no business of a worker's.
        env = {name: value for name, value in os.environ.items() if not name.startswith("LEDGER_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
        self.workers = [_Worker(env) for _ in range(workers)]

    def submit(self, tasks: list[Task]) -> Callable[[], list[tuple[Any, ...]]]:
        """Send the tasks out in one chunk per worker; returns what waits for all their results
        (as ledger/audit_examine.py's examine_all gives them)."""
        size = -(-len(tasks) // len(self.workers)) or 1
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        futures = [worker.send(chunk) for worker, chunk in zip(self.workers, chunks, strict=False)]
        return lambda: [found for future in futures for found in future.result()]

    def close(self, *, at_once: bool = False) -> None:
        """Stop every worker: once its work is done, or `at_once` (on Ctrl-C or an error)."""
        for worker in self.workers:
            worker.stop(at_once=at_once)


class _Worker:
    """One worker process and the thread that feeds it, so the audit process never blocks on a pipe."""

    def __init__(self, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "ledger.audit_pool"]  # this interpreter, this module
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(command, stdin=pipe, stdout=pipe, env=env)  # noqa: S603
        self.inbox: SimpleQueue[tuple[list[Task], Future[list[Any]]] | None] = SimpleQueue()
        self.thread = threading.Thread(target=self._feed, name="audit-worker", daemon=True)
        self.thread.start()

    def send(self, tasks: list[Task]) -> Future[list[Any]]:
        """Queue a chunk for this worker; its results arrive in the future."""
        future: Future[list[Any]] = Future()
        self.inbox.put((tasks, future))
        return future

    def stop(self, *, at_once: bool) -> None:
        """End the feeding thread and the process: killed `at_once`, else told to finish (its
        stdin closed) and killed only if it has not within a few seconds.
        """
        self.inbox.put(None)
        if at_once:
            self.process.kill()
        self.thread.join()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):  # a dead worker's pipe: nothing more to send or read
                if pipe is not None:
                    pipe.close()
        try:
            self.process.wait(timeout=_FINISH_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _feed(self) -> None:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        while (item := self.inbox.get()) is not None:
            tasks, future = item
            try:
                _write(stdin, pickle.dumps(tasks, protocol=pickle.HIGHEST_PROTOCOL))
                found = pickle.loads(_read(stdout))  # noqa: S301 (our own worker's answer)
            except (OSError, EOFError, pickle.PickleError) as error:
                code = self.process.poll()
                future.set_exception(WorkerStopped(f"an audit worker stopped (exit code {code}): {error}"))
                continue
            if isinstance(found, BaseException):
                future.set_exception(found)
            else:
                future.set_result(found)


def _write(pipe: IO[bytes], data: bytes) -> None:
    pipe.write(_LENGTH.pack(len(data)) + data)
    pipe.flush()


def _read(pipe: IO[bytes]) -> bytes:
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the worker's pipe closed")
    (length,) = _LENGTH.unpack(head)
    data = pipe.read(length)
    if len(data) < length:
        raise EOFError("the worker's pipe closed mid-answer")
    return data


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """A worker's loop: examine each chunk read, write its results (or the exception it raised)."""
    while True:
        try:
            tasks = pickle.loads(_read(stdin))  # noqa: S301 (from the audit process that started us)
        except EOFError:
            return
        try:
            answer: Any = examine_all(tasks)
        except Exception as error:  # raised in the audit process, as if examined there
            answer = error
        _write(stdout, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the audit process stops its workers on Ctrl-C
    serve(sys.stdin.buffer, sys.stdout.buffer)
