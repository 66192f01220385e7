"""The ledger's log key: one Ed25519 key signs checkpoints, receipts and status statements."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import nacl.signing

from verification.note import Verifier, parse_signer_key


@dataclass(frozen=True)
class LogSigner:
    """The ledger's log key: signs checkpoints, receipts and status statements."""

    origin: str
    name: str
    seed: bytes

    @classmethod
    def from_signer_key(cls, origin: str, signer_key: str) -> LogSigner:
        """The signer for a C2SP `PRIVATE+KEY+…` string, checkpointing under `origin`."""
        name, seed = parse_signer_key(signer_key)
        return cls(origin, name, seed)

    @cached_property
    def verifier(self) -> Verifier:
        """The public verifier key (derived once: each derivation is an Ed25519 key generation)."""
        return Verifier(self.name, bytes(nacl.signing.SigningKey(self.seed).verify_key))

    @cached_property
    def verifier_key(self) -> str:
        """The C2SP verifier key string `<name>+<hex key id>+<base64(0x01 ‖ key)>`."""
        return str(self.verifier)

    def __repr__(self) -> str:
        return f"LogSigner({self.verifier_key})"
