"""Pure verification primitives: canonical JSON, keys, proofs, Merkle logs. No I/O, no server."""
