"""The log side of an audit: stored leaves matched to entries in commit order, the tree's root
recomputed leaf by leaf (a compact frontier: O(log n) memory) and compared with every signed
checkpoint, each checkpoint's signature and its consistency with the one before, and a saved
checkpoint's consistency with the ledger's newest one.

Rows are read in pages and parsed defensively: a tampered row is a finding, never an exception.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ledger.audit_entries import Decoded
from ledger.audit_report import Place, Tally
from ledger.audit_rows import parse_leaf
from ledger.audit_source import AuditSource
from ledger.log_store import Leaf
from verification.checkpoint import Checkpoint, open_checkpoint
from verification.errors import MerkleError, VerificationError
from verification.merkle import Frontier, verify_consistency

_HASHES_HELD = 256
"""At most this many leaf hashes wait to be added to the frontier."""


@dataclass(frozen=True)
class _Signed:
    """A stored checkpoint: its size, and the root its signed note vouches for."""

    size: int
    root: bytes


class LogAuditor:
    """Matches leaves [start, end) to entries, and checks the checkpoints of sizes in (start, end]."""

    def __init__(
        self, source: AuditSource, tally: Tally, *, start: int, end: int, integrated: int, page: int
    ) -> None:
        self.source = source
        self.tally = tally
        self.start = start
        self.end = end
        self.integrated = integrated
        """Entries from notifications up to here were integrated when the audit began."""
        self.page = page
        self.frontier: Frontier | None = Frontier()
        self.broken = ""
        self._hashes: list[bytes] = []
        """Leaf hashes taken but not yet added to the frontier (added before it is looked at)."""
        """Why the root can no longer be recomputed, once it cannot."""
        self.offset = 0
        self.previous: _Signed | None = None
        self._leaves = self._leaf_pages()
        self._next_leaf = next(self._leaves, None)
        # A checkpoint of size `start` covers nothing in the range: it is only the one before.
        self._checkpoints = self._checkpoint_pages(start + 1 if start else 0, end)
        self._next_checkpoint = next(self._checkpoints, None)

    def first_notification(self, index: int) -> int:
        """Where the entry at `index` of the commit order is, or after: just after the leaf before it."""
        return self.source.last_notification_before(index) + 1 if index else 1

    def begin(self, saved: Checkpoint | None = None) -> None:
        """The tree as of `start`, from the stored tiles; with `saved`, it must be that checkpoint's."""
        if self.start == 0:
            return
        try:
            hashes, offset = [], 0
            for bit in reversed(range(self.start.bit_length())):
                if self.start >> bit & 1:
                    hashes.append(self.source.subtree_root(offset, offset + (1 << bit)))
                    offset += 1 << bit
            self.frontier = Frontier(self.start, tuple(hashes))
            rows = self.source.checkpoint_rows(0, self.start, 1, newest_first=True)
            before = rows[0] if rows else None
        except (LookupError, MerkleError) as error:
            self.frontier, self.broken = None, f"the leaves before {self.start} cannot be read: {error}"
            self.tally.add("log-missing", self.broken, leaf_index=self.start)
            return
        if before is not None:
            self.previous = self._signed(before, check=False)
        if saved is not None and self.frontier.root() != saved.root:
            self.tally.add(
                "since-consistency",
                f"the stored leaves before {saved.size} hash to {_b64(self.frontier.root())}, "
                f"not to the saved checkpoint's root {_b64(saved.root)}",
            )

    def match(self, position: int, item: Decoded) -> int | None:
        """The leaf holding the entry at `position` of the commit order, checked; None if it has none."""
        notification = item.notification_id
        while self._next_leaf is not None and self._next_leaf.notification_id < notification:
            self._extra(self._take())
        leaf = self._next_leaf
        if leaf is None or leaf.notification_id != notification:
            if notification <= self.integrated:
                self.tally.at(
                    Place(item.stream, item.version, position),
                    "log-missing",
                    f"the entry (notification {notification}, number {position} in commit order) has no leaf",
                )
            else:
                self.tally.count("pending")
            return None
        self._take()
        place = Place(item.stream, item.version, leaf.index)
        if leaf.index - position != self.offset:
            self.offset = leaf.index - position
            self.tally.at(
                place, "log-order", f"leaf {leaf.index} holds the entry number {position} in commit order"
            )
        if (leaf.stream, leaf.seq) != (item.stream, item.version):
            self.tally.at(
                place,
                "log-leaf",
                f"the leaf records {leaf.stream} seq {leaf.seq}, "
                f"but notification {notification} is this entry",
            )
        if item.leaf_hash is not None and leaf.hash != item.leaf_hash:
            self.tally.at(
                place,
                "log-leaf",
                f"the leaf hash is {leaf.hash.hex()}, but the entry hashes to {item.leaf_hash.hex()}",
            )
        return leaf.index

    def finish(self, stored: Frontier | None, *, later: bool) -> None:
        """Leaves no entry claimed, the remaining checkpoints, the stored frontier (what the next
        checkpoint will sign), and with `later` any checkpoint beyond the log.
        """
        while self._next_leaf is not None:
            self._extra(self._take())
        self._settle(self.end)
        self._extend()
        ours = self.frontier
        if (
            stored is not None
            and ours is not None
            and ours.size == stored.size
            and ours.root() != stored.root()
        ):
            self.tally.add(
                "checkpoint-root",
                f"the log's stored frontier at size {stored.size} has root {_b64(stored.root())}, but the "
                f"leaves hash to {_b64(ours.root())}: the next checkpoint would be refused",
            )
        if not later:
            return
        size = self.source.integration(Tally()).size  # now: later ones are legitimate
        for row in self._checkpoint_pages(size + 1, 2**63 - 1):
            self.tally.add("checkpoint-root", f"a checkpoint covers {row.size} leaves; the log holds {size}")

    # -- leaves -------------------------------------------------------------------------------

    def _leaf_pages(self) -> Iterator[Leaf]:
        start = self.start
        while start < self.end:
            rows = self.source.leaf_rows(start, self.end, self.page)
            for row in rows:
                leaf = parse_leaf(row)
                if isinstance(leaf, Leaf):
                    yield leaf
                else:
                    self.tally.add(
                        "unreadable", f"the leaf row does not parse: {leaf}", leaf_index=row["leaf_index"]
                    )
            if len(rows) < self.page:
                return
            start = int(rows[-1]["leaf_index"]) + 1

    def _take(self) -> Leaf:
        leaf = self._next_leaf
        assert leaf is not None
        if self.frontier is not None and leaf.index != self.frontier.size + len(self._hashes):
            self.broken = f"leaf {self.frontier.size + len(self._hashes)} is missing"
            self.frontier, self._hashes = None, []
        self._settle(leaf.index)
        if self.frontier is not None:
            self._hashes.append(leaf.hash)
            if len(self._hashes) >= _HASHES_HELD:
                self._extend()
        self.tally.count("leaves")
        self._next_leaf = next(self._leaves, None)
        return leaf

    def _extra(self, leaf: Leaf) -> None:
        self.tally.at(
            Place(leaf.stream, leaf.seq, leaf.index),
            "log-extra",
            f"the leaf records notification {leaf.notification_id}, which carries no entry",
        )

    # -- checkpoints --------------------------------------------------------------------------

    def _checkpoint_pages(self, low: int, high: int) -> Iterator[_Signed]:
        while low <= high:
            rows = self.source.checkpoint_rows(low, high, self.page)
            for row in rows:
                signed = self._signed(row, check=True)
                if signed is not None:
                    yield signed
            if len(rows) < self.page:
                return
            low = int(rows[-1]["size"]) + 1

    def _signed(self, row: Any, *, check: bool) -> _Signed | None:
        """The checkpoint a row holds, with its signature (and stored columns) checked when asked."""
        try:
            size, root, note = int(row["size"]), bytes(row["root"]), str(row["note"])
        except (TypeError, ValueError) as error:
            self.tally.add("unreadable", f"a checkpoint row does not parse: {error}")
            return None
        if not check:
            return _Signed(size, root)
        try:
            opened = open_checkpoint(note, self.source.verifier, self.source.origin)
        except VerificationError as error:
            self.tally.add("checkpoint-signature", f"the checkpoint of size {size} does not verify: {error}")
            return _Signed(size, root)
        if (opened.size, opened.root) != (size, root):
            self.tally.add(
                "checkpoint-root",
                f"the checkpoint row says size {size}, root {_b64(root)}; its signed note says "
                f"size {opened.size}, root {_b64(opened.root)}",
            )
        return _Signed(size, opened.root)

    def _settle(self, upto: int) -> None:
        """Check every checkpoint the leaves read so far complete (size <= upto)."""
        while self._next_checkpoint is not None and self._next_checkpoint.size <= upto:
            self._extend()
            self._check(self._next_checkpoint)
            self._next_checkpoint = next(self._checkpoints, None)

    def _extend(self) -> None:
        """Add the leaf hashes taken since to the frontier, in one go (one Frontier made, not one a
        leaf: the same frontier as appending each)."""
        if self._hashes:
            if self.frontier is not None:
                self.frontier = self.frontier.extend(self._hashes)
            self._hashes = []

    def _check(self, checkpoint: _Signed) -> None:
        self.tally.count("checkpoints")
        size = checkpoint.size
        if self.frontier is None:
            self.tally.add(
                "checkpoint-root", f"the root of the {size}-leaf tree cannot be recomputed: {self.broken}"
            )
        elif self.frontier.size != size:
            self.tally.add(
                "checkpoint-root", f"the log holds {self.frontier.size} of the checkpoint's {size} leaves"
            )
        elif self.frontier.root() != checkpoint.root:
            self.tally.add(
                "checkpoint-root",
                f"the checkpoint of size {size} signs root {_b64(checkpoint.root)}, but the stored leaves "
                f"hash to {_b64(self.frontier.root())}",
            )
        previous, self.previous = self.previous, checkpoint
        if previous is None or not 0 < previous.size < size:
            return
        problem = prove_consistent(self.source, previous, checkpoint)
        if problem:
            self.tally.add(
                "checkpoint-consistency",
                f"the checkpoint of size {size} is not proved consistent with that of size {previous.size}: "
                f"{problem}",
            )


def prove_consistent(source: AuditSource, old: _Signed | Checkpoint, new: _Signed | Checkpoint) -> str:
    """Why the stored tiles do not prove `new` extends `old` (requires old.size <= new.size); or ''."""
    if old.size == new.size:
        return "" if old.root == new.root else "two different roots for the same size"
    if old.size == 0:
        return ""
    try:
        proof = source.consistency_proof(old.size, new.size)
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except (LookupError, MerkleError) as error:
        return str(error) or type(error).__name__
    return ""


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")
