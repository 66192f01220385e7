"""The master key ring: the current master key, the previous ones still read, and the ULN index key.

A rotation moves every wrapped key from a previous master key to the current one; until it has,
each row names the key that wraps it and the ring picks that key by id. The ULN index key must not
change with the master key (duplicate-ULN detection compares digests made years apart), so it is
stored wrapped under the current master key; a ledger that never stored it derives it, as before
rotation existed, from the master key it began with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from ledger.errors import ConfigurationError
from ledger.key_store import IndexKeyRow, KeyStore
from ledger.sealing import DataKey, MasterKey, SealBroken, digest_uln
from ledger.settings import Settings
from ledger.storage import LearnerKeyRow

ULN_INDEX = "uln"


class UnknownMasterKey(ConfigurationError):
    """A stored key is wrapped under a master key the ledger was not given."""

    slug = "unknown-master-key"


class MasterKeyRing:
    """The master keys a ledger knows, by key id: the current one wraps, any of them unwraps."""

    def __init__(self, current: MasterKey, previous: Sequence[MasterKey] = ()) -> None:
        self.current = current
        self.previous = [key for key in previous if key.key_id != current.key_id]
        self.keys = {key.key_id: key for key in [*self.previous, current]}
        self.store: KeyStore | None = None
        """Where index keys live, attached by `bootstrap.open_ledger` (None: derive as before rotation)."""
        self._uln_index_key: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MasterKeyRing:
        """LEDGER_MASTER_KEY and LEDGER_PREVIOUS_MASTER_KEYS as a ring."""
        previous = [MasterKey(key) for key in settings.previous_master_key_bytes()]
        return cls(MasterKey(settings.master_key_bytes()), previous)

    def attach(self, store: KeyStore) -> None:
        """Use the ledger's key store, and pin its ULN index key there if it has none yet.

        Pinning as soon as a ledger opens means the index key is stored before anything is wrapped
        under a new master key. When no configured key can tell the index key (a ledger opened
        with the wrong keys) nothing is pinned; the first ULN lookup then says what is missing.
        """
        self.store = store
        with contextlib.suppress(UnknownMasterKey):
            self.pin_index_key()

    @property
    def key_id(self) -> str:
        """The id of the current master key, recorded beside everything it wraps."""
        return self.current.key_id

    def key(self, key_id: str, what: str) -> MasterKey:
        """The master key with that id, or UnknownMasterKey naming what needed it."""
        found = self.keys.get(key_id)
        if found is None:
            raise UnknownMasterKey(
                f"{what} is wrapped under master key {key_id}, which is neither LEDGER_MASTER_KEY "
                f"(key {self.key_id}) nor in LEDGER_PREVIOUS_MASTER_KEYS; add that key to "
                "LEDGER_PREVIOUS_MASTER_KEYS"
            )
        return found

    def wrap(self, learner_id: str, data_key: DataKey) -> bytes:
        """A learner's data key wrapped under the current master key (store it with `key_id`)."""
        return self.current.wrap(learner_id, data_key)

    def unwrap(self, learner_id: str, wrapped: bytes, key_id: str | None) -> DataKey:
        """A learner's data key, unwrapped by the master key `key_id` names (or, unnamed, any that fits)."""
        return self.unwrap_row(LearnerKeyRow(learner_id, wrapped, key_id))[0]

    def unwrap_row(self, row: LearnerKeyRow) -> tuple[DataKey, MasterKey]:
        """A stored learner key unwrapped, and the master key that opened it.

        Raises UnknownMasterKey when no configured key can be the right one, SealBroken when the
        named key is configured but the bytes do not open (altered, or copied from another learner).
        """
        what = f"the data key of {row.learner_id}"
        if row.master_key_id is not None:
            key = self.key(row.master_key_id, what)
            return key.unwrap(row.learner_id, row.wrapped_key), key
        for key in [self.current, *self.previous]:
            try:
                return key.unwrap(row.learner_id, row.wrapped_key), key
            except SealBroken:
                continue
        raise UnknownMasterKey(
            f"{what} was wrapped before master key ids were recorded and opens under none of the "
            f"{len(self.keys)} configured master keys; add the key it was wrapped under to "
            "LEDGER_PREVIOUS_MASTER_KEYS"
        )

    def rewrap(self, row: LearnerKeyRow) -> LearnerKeyRow:
        """The same learner key wrapped under the current master key."""
        data_key, _ = self.unwrap_row(row)
        return LearnerKeyRow(row.learner_id, self.current.wrap(row.learner_id, data_key), self.key_id)

    def rewrap_index_key(self, row: IndexKeyRow) -> IndexKeyRow:
        """The same index key wrapped under the current master key."""
        master = self.key(row.master_key_id, f"the {row.name} index key")
        index_key = master.unwrap_index_key(row.name, row.wrapped_key)
        return IndexKeyRow(row.name, self.current.wrap_index_key(row.name, index_key), self.key_id)

    def uln_digest(self, uln: str) -> bytes:
        """A keyed digest of a ULN, the same under every master key the ledger has rotated through."""
        return digest_uln(self.uln_index_key(), uln)

    def uln_index_key(self) -> bytes:
        """The ULN index key: stored (wrapped) when the ledger has one, else derived as it always was."""
        if self._uln_index_key is None:
            stored = None if self.store is None else self.store.index_key(ULN_INDEX)
            if stored is None:
                self._uln_index_key = self._original_key().derived_index_key()
            else:
                key = self.key(stored.master_key_id, "the ULN index key")
                self._uln_index_key = key.unwrap_index_key(ULN_INDEX, stored.wrapped_key)
        return self._uln_index_key

    def pin_index_key(self) -> bool:
        """Store the ULN index key under the current master key unless one is stored; True if it was."""
        if self.store is None or self.store.index_key(ULN_INDEX) is not None:
            return False
        index_key = self.uln_index_key()
        self.store.add_index_key(
            IndexKeyRow(ULN_INDEX, self.current.wrap_index_key(ULN_INDEX, index_key), self.key_id)
        )
        self._uln_index_key = None  # read back what is stored: a concurrent pin may have won
        return True

    def _original_key(self) -> MasterKey:
        """The master key the ledger began with: the one wrapping its oldest learner key."""
        first = None if self.store is None else self.store.first_learner_key()
        return self.current if first is None else self.unwrap_row(first)[1]

    def __repr__(self) -> str:
        return f"MasterKeyRing(current={self.key_id}, previous={[key.key_id for key in self.previous]})"
