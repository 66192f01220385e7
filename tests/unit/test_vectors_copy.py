"""The copy of the published vectors in tests/vectors is byte for byte the workspace's."""

from __future__ import annotations

import pytest

from tests.vectors import SHARED, VECTORS


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/vectors beside this checkout to compare with")
def test_the_copy_equals_the_published_vectors() -> None:
    copied = sorted(path.relative_to(VECTORS) for path in VECTORS.rglob("*") if path.is_file())
    assert len(copied) > 200
    for relative in copied:
        assert (VECTORS / relative).read_bytes() == (SHARED / relative).read_bytes(), relative
