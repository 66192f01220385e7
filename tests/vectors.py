"""Where the published conformance vectors are: a copy in tests/vectors, so a clone anywhere runs
them; tests/unit/test_vectors_copy.py checks it against the workspace's ../shared/vectors."""

from __future__ import annotations

from pathlib import Path

VECTORS = Path(__file__).resolve().parent / "vectors"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "vectors"
"""The published vectors beside the checkout, where the workspace keeps them (absent elsewhere)."""
