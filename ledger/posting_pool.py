"""Worker processes that take a large batch's pure per-credential work off the posting process: they
check its Ed25519 signatures, seal its contents and sign its receipts while the posting process
parses, checks and records. The one way for one `post_batch` to use a second core, as a thread
cannot (posting is Python, and handing work to a thread costs more GIL than Ed25519 frees).

A batch of at least `SMALL_BATCH` items borrows an idle worker for its whole length (`session`); a
smaller batch, one that finds every worker busy, or `LEDGER_POSTING_PROCESSES=0` does it all inline,
as before. The posting process sends only bytes and plain values, a chunk at a time: for a signature
the 32-byte key, the 64-byte signature and the 64-byte hashData it signs (`signing_input`, computed
here from the parsed credential); for a content its learner's data key and the plaintext; for a
receipt its formatted note text and the log key. The worker answers each item, in order. No answer
decides anything alone: an item whose signature the worker refuses is verified again here, raising
exactly the refusal it always did, and the chunks of a worker that fails or dies are done here. So
a batch's outcome never depends on its worker, only its speed.

Each worker is `python -m ledger.posting_pool` (this interpreter, this module, no `LEDGER_*`
variable), started at the first large batch of a process and stopped at its exit, or when its
pipes close; a process forked from one with workers starts its own. The posting process writes
without blocking, reading the worker's answers whenever its pipe is full, so neither ever waits on
the other's full pipe.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.sealing import DataKey

SMALL_BATCH = 64
"""Batches with fewer items do everything inline: handing them over costs more than it saves."""
CHUNK = 64
"""Items of one kind a message to a worker carries."""
_HEAD = struct.Struct("!cI")
_WORK, _ANSWER, _FAILED = b"W", b"A", b"E"
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_ROOT = str(Path(__file__).resolve().parents[1])
_FINISH_SECONDS = 5


class WorkerFailed(RuntimeError):
    """A posting worker answered with an error, or stopped; the chunk is done inline instead."""


class PostingWorker:
    """One worker process and its two pipes, lent to one batch at a time."""

    def __init__(self) -> None:
        # The ledger's settings (its master key among them) are no business of a worker's.
        env = {name: value for name, value in os.environ.items() if not name.startswith("LEDGER_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "ledger.posting_pool"]
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(command, stdin=pipe, stdout=pipe, env=env, bufsize=0)  # noqa: S603
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._out = self.process.stdin.fileno()
        self._in = self.process.stdout.fileno()
        for descriptor in (self._out, self._in):
            with contextlib.suppress(OSError):  # a larger pipe only saves waits
                fcntl.fcntl(descriptor, _F_SETPIPE_SZ, _PIPE_BYTES)
            os.set_blocking(descriptor, False)
        self._received = bytearray()
        self._arrived: deque[tuple[bytes, bytes]] = deque()
        self._unclaimed: dict[int, tuple[bytes, bytes]] = {}
        self._sent = 0
        self._read = 0
        self.broken = False

    def send(self, kind: str, args: tuple[Any, ...], items: list[tuple[Any, ...]]) -> int:
        """Queue a chunk of items of a kind of work (`worker_functions`); a ticket for its answer."""
        return self._send(pickle.dumps((kind, args, items), protocol=pickle.HIGHEST_PROTOCOL))

    def answer(self, ticket: int) -> list[Any]:
        """The answers to a ticket's items, taken once (answers read on the way wait for theirs)."""
        if ticket not in self._unclaimed:
            if ticket < self._read or ticket >= self._sent:
                raise ValueError(f"ticket {ticket} was never sent or is already answered")
            if self.broken:
                raise WorkerFailed("the posting worker stopped")
            while self._read <= ticket:
                self._unclaimed[self._read] = self._next()
                self._read += 1
        kind, payload = self._unclaimed.pop(ticket)
        if kind != _ANSWER:
            raise WorkerFailed(payload.decode("utf-8", "replace"))
        answers: list[Any] = pickle.loads(payload)  # noqa: S301 (our own worker's answer)
        return answers

    def drain(self) -> None:
        """Read every answer still owed and drop those never claimed, so the next batch starts
        clean (a batch built again after a write conflict leaves its first build's unclaimed)."""
        while self._read < self._sent:
            self._next()
            self._read += 1
        self._unclaimed.clear()

    def close(self) -> None:
        """End the worker: its stdin closed, killed if it has not ended within a few seconds."""
        self.broken = True
        _close_pipes(self)
        try:
            self.process.wait(timeout=_FINISH_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _send(self, payload: bytes) -> int:
        if self.broken:
            raise WorkerFailed("the posting worker stopped")
        data = memoryview(_HEAD.pack(_WORK, len(payload)) + payload)
        try:
            while data:
                try:
                    data = data[os.write(self._out, data) :]
                except BlockingIOError:
                    # Its pipe is full: read what it has answered (it may be waiting on us to).
                    readable, _, _ = select.select([self._in], [self._out], [])
                    if readable:
                        self._receive()
        except OSError as error:
            self.broken = True
            raise WorkerFailed(f"the posting worker stopped: {error}") from error
        self._sent += 1
        self._receive()  # take what it has answered, so it never waits on a full pipe to us
        return self._sent - 1

    def _next(self) -> tuple[bytes, bytes]:
        while not self._arrived:
            select.select([self._in], [], [])
            self._receive()
        return self._arrived.popleft()

    def _receive(self) -> None:
        try:
            data = os.read(self._in, _PIPE_BYTES)
        except BlockingIOError:
            return
        except OSError as error:
            self.broken = True
            raise WorkerFailed(f"the posting worker stopped: {error}") from error
        if not data:
            self.broken = True
            raise WorkerFailed(f"the posting worker stopped (exit code {self.process.poll()})")
        received = self._received
        received += data
        start = 0
        while len(received) - start >= _HEAD.size:
            kind, length = _HEAD.unpack_from(received, start)
            end = start + _HEAD.size + length
            if len(received) < end:
                break
            self._arrived.append((kind, bytes(received[start + _HEAD.size : end])))
            start = end
        del received[:start]


def _close_pipes(worker: PostingWorker) -> None:
    for pipe in (worker.process.stdin, worker.process.stdout):
        with contextlib.suppress(OSError):
            if pipe is not None:
                pipe.close()


class PostingPool:
    """Up to `processes` workers of this process, each lent to one batch at a time."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pid = os.getpid()
        self.started: list[PostingWorker] = []
        self._idle: list[PostingWorker] = []
        self._lock = threading.Lock()

    def take(self) -> PostingWorker | None:
        """An idle worker (started if fewer than `processes` are), or None when all are busy."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if not worker.broken and worker.process.poll() is None:
                    return worker
                self.started.remove(worker)
                worker.close()
            if len(self.started) >= self.processes:
                return None
            try:
                worker = PostingWorker()
            except OSError:
                return None
            self.started.append(worker)
            return worker

    def give_back(self, worker: PostingWorker) -> None:
        """Take a worker back after its batch: kept if it answered everything, else stopped."""
        with contextlib.suppress(WorkerFailed):
            worker.drain()
        with self._lock:
            if not worker.broken and worker in self.started and len(self.started) <= self.processes:
                self._idle.append(worker)
                return
            if worker in self.started:
                self.started.remove(worker)
        worker.close()

    def close(self) -> None:
        """Stop the idle workers; busy ones stop when given back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self.processes = 0
            for worker in idle:
                self.started.remove(worker)
        for worker in idle:
            worker.close()


class _ThisProcess:
    """This process's pool, made at its first large batch, and the worker count it is made with."""

    def __init__(self) -> None:
        self.pool: PostingPool | None = None
        self.processes: int | None = None
        self.lock = threading.Lock()

    def current(self) -> PostingPool:
        with self.lock:
            if self.pool is None or self.pool.pid != os.getpid():
                self.pool = PostingPool(self._processes())
            return self.pool

    def configure(self, processes: int | None) -> None:
        with self.lock:
            if processes is not None and processes == self.processes:
                return  # the same count again: the running workers stay
            self.processes = processes
            pool, self.pool = self.pool, None
        if pool is not None and pool.pid == os.getpid():
            pool.close()

    def _processes(self) -> int:
        if self.processes is not None:
            return self.processes
        from ledger.settings import Settings  # a worker process never reads them

        return Settings().posting_processes

    def close_at_exit(self) -> None:
        if self.pool is not None and self.pool.pid == os.getpid():
            self.pool.close()

    def forget_in_child(self) -> None:
        """A forked child neither uses nor stops its parent's workers, nor holds their pipes open."""
        if self.pool is not None:
            for worker in self.pool.started:
                _close_pipes(worker)
        self.pool = None
        self.lock = threading.Lock()


_this_process = _ThisProcess()
atexit.register(_this_process.close_at_exit)
os.register_at_fork(after_in_child=_this_process.forget_in_child)


def configure(processes: int | None) -> None:
    """Set this process's worker count (None: `LEDGER_POSTING_PROCESSES` again); idle workers stop,
    unless the count is the one already set."""
    _this_process.configure(processes)


@contextlib.contextmanager
def session(items: int) -> Iterator[PostingWorker | None]:
    """A worker for a batch of `items`, or None to do everything inline (a small batch, or no
    worker configured or idle)."""
    if items < SMALL_BATCH:
        yield None
        return
    pool = _this_process.current()
    worker = pool.take() if pool.processes > 0 else None
    if worker is None:
        yield None
        return
    try:
        yield worker
    finally:
        pool.give_back(worker)


class Chunks:
    """Items of one kind sent to a batch's worker a chunk at a time (`add` each, then `get` any
    index, or `all`); without a worker, or for a chunk it cannot answer, `inline` does each here."""

    def __init__(
        self, worker: PostingWorker | None, kind: str, inline: Callable[..., Any], args: tuple[Any, ...] = ()
    ) -> None:
        self.worker = worker
        self.kind = kind
        self.inline = inline
        self.args = args
        """What the worker's function for `kind` is made with (`worker_functions`)."""
        self._pending: list[tuple[Any, ...]] = []
        self._chunks: list[tuple[int, list[tuple[Any, ...]]]] = []
        """(ticket, or -1 if never sent, and the chunk's items) in order."""
        self._answers: dict[int, list[Any]] = {}
        self._count = 0

    def add(self, *item: Any) -> int:
        """Queue one item (the arguments of `inline`); its index."""
        self._pending.append(item)
        self._count += 1
        if len(self._pending) == CHUNK:
            self.flush()
        return self._count - 1

    def flush(self) -> None:
        """Send the items queued since the last chunk."""
        if not self._pending:
            return
        items, self._pending = self._pending, []
        ticket = -1
        if self.worker is not None:
            with contextlib.suppress(WorkerFailed):
                ticket = self.worker.send(self.kind, self.args, items)
        self._chunks.append((ticket, items))

    def get(self, index: int) -> Any:
        """The answer for the item at `index`."""
        number, offset = divmod(index, CHUNK)
        if number == len(self._chunks):
            self.flush()
        if number not in self._answers:
            self._answers[number] = self._answer(*self._chunks[number])
        return self._answers[number][offset]

    def all(self) -> list[Any]:
        """Every item's answer, in order."""
        self.flush()
        return [answer for number in range(len(self._chunks)) for answer in self._chunk(number)]

    def _chunk(self, number: int) -> list[Any]:
        answers = self._answers.pop(number, None)
        return self._answer(*self._chunks[number]) if answers is None else answers

    def _answer(self, ticket: int, items: list[tuple[Any, ...]]) -> list[Any]:
        if ticket >= 0 and self.worker is not None:
            with contextlib.suppress(WorkerFailed):
                answers = self.worker.answer(ticket)
                if len(answers) == len(items):
                    return answers
        return [self.inline(*item) for item in items]


# -- what a worker does -----------------------------------------------------------------------------


def verify(key: bytes, signature: bytes, canonical: bytes) -> bool:
    """Whether the eddsa-jcs-2022 signature by the 32-byte Ed25519 key holds for the credential
    whose canonical (JCS) bytes these are: `verification.data_integrity.signing_input` of them
    parsed, checked by `verification.keys.ed25519_verify` (as `VerifyKey.verify`).

    Parsing canonical bytes gives back a value with the same canonical form (the canonical form
    is a fixed point of parsing, tests/unit/test_canonical.py) and a part's canonical form is made
    of its members' (RFC 8785), so the hashData is the credential's own. A document it cannot
    hash is a False: the posting process, which has the credential itself, decides then.
    """
    import orjson

    from verification.data_integrity import signing_input
    from verification.keys import ed25519_verify

    try:
        return ed25519_verify(key, signing_input(orjson.loads(canonical)), signature)
    except Exception:  # not hashable here: the posting process decides
        return False


def seal(key: DataKey, learner: str, plaintext: bytes) -> str:
    """What `Ledger.seal` returns for the plaintext it makes: base64 of `DataKey.seal`."""
    return base64.b64encode(key.seal(learner, plaintext)).decode()


def _signer(name: str, seed: bytes) -> Callable[[str], str]:
    from verification.note import sign_note

    return lambda text: sign_note(text, name, seed)


worker_functions: dict[str, Callable[..., Callable[..., Any]]] = {
    "verify": lambda: verify,
    "seal": lambda: seal,
    "sign": _signer,
}
"""What each kind of item is done with in a worker, made from a chunk's `args`."""


def work(payload: bytes) -> bytes:
    """A chunk's answers, pickled: each item done by the function its kind names."""
    kind, args, items = pickle.loads(payload)  # noqa: S301 (from the process that started us)
    function = worker_functions[kind](*args)
    return pickle.dumps([function(*item) for item in items], protocol=pickle.HIGHEST_PROTOCOL)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """A worker's loop: answer each chunk read, in order, until stdin closes."""
    while (head := _read_exactly(stdin, _HEAD.size)) is not None:
        _, length = _HEAD.unpack(head)
        payload = _read_exactly(stdin, length)
        if payload is None:
            return
        try:
            answer, kind = work(payload), _ANSWER
        except Exception as error:  # the posting process does the chunk itself
            answer, kind = repr(error).encode(), _FAILED
        stdout.write(_HEAD.pack(kind, len(answer)) + answer)
        stdout.flush()


def _read_exactly(pipe: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        more = pipe.read(size - len(data))
        if not more:
            return None
        data += more
    return data


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the posting process ends its workers
    serve(sys.stdin.buffer, sys.stdout.buffer)
